"""/start: a new user is subscribed at once in their Telegram language; the command menu; /help."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    button_texts,
    running_bot,
    t,
    visible,
)
from tests.fake_telegram import FakeTelegram
from tests.feed_server import FeedServer

CHAT = 100


def welcome(lang: str, greeting: str, topics: str, time: str = "09:00") -> str:
    return visible(
        t(lang, "start.body", greeting=t(lang, greeting), topics=topics, time=time, zone="Asia/Almaty")
    )


async def test_start_subscribes_a_russian_speaker_with_defaults(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/start", lang="ru")

    assert reply.visible_text == welcome("ru", "start.hello_new", "Инвестиции, Китай, Крупные проекты")
    assert "Ежедневный дайджест приходит в 09:00" in reply.visible_text
    assert button_texts(reply) == ["Қазақша", "Русский", t("ru", "button.choose_topics")]
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.active
    assert (sub.ui_lang, sub.news_langs, sub.digest_time, sub.timezone) == (
        "ru",
        "both",
        "09:00",
        "Asia/Almaty",
    )
    assert sub.topics == ("china", "investments", "projects")


async def test_start_speaks_kazakh_to_a_kazakh_telegram(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/start", lang="kk")

    assert reply.visible_text == welcome("kk", "start.hello_new", "Инвестициялар, Қытай, Ірі жобалар")
    assert reply.visible_text.startswith("Сәлеметсіз бе!")
    assert "Күнделікті дайджест уақыты: 09:00" in reply.visible_text
    assert button_texts(reply) == ["Қазақша", "Русский", "Тақырыптарды таңдау"]
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.ui_lang == "kk"


@pytest.mark.parametrize("code", [None, "en", "uk", "kk-KZ"])
async def test_interface_language_follows_language_code(bot_app: BotApp, code: str | None) -> None:
    [reply] = await bot_app.say(CHAT, "/start", lang=code)
    expected = "kk" if code == "kk-KZ" else "ru"
    assert reply.visible_text.startswith(visible(t(expected, "start.hello_new")))


async def test_second_start_keeps_what_the_subscriber_chose(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    await bot_app.say(CHAT, "/settings time 07:30")
    await bot_app.store.subscribers.toggle_topic(CHAT, "energy")

    [reply] = await bot_app.say(CHAT, "/start", lang="kk")  # even from a Kazakh Telegram now

    assert reply.visible_text == welcome(
        "ru", "start.hello_again", "Инвестиции, Китай, Крупные проекты, Энергетика", time="07:30"
    )
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.digest_time == "07:30" and sub.ui_lang == "ru"


async def test_language_button_switches_the_whole_interface(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/start", lang="ru")

    [edited], answer = await bot_app.press(CHAT, reply, "Қазақша")

    assert edited.method == "editMessageText" and edited.message_id == reply.message_id
    assert edited.visible_text == welcome("kk", "start.lang_changed", "Инвестициялар, Қытай, Ірі жобалар")
    assert "Интерфейс тілі: қазақша" in edited.visible_text
    assert answer == t("kk", "start.lang_changed")
    # From now on every reply is Kazakh, although Telegram still says the user speaks Russian.
    [help_reply] = await bot_app.say(CHAT, "/help", lang="ru")
    assert help_reply.visible_text == visible(t("kk", "help.text"))
    assert "тақырыптарды таңдау" in help_reply.visible_text

    [back], _ = await bot_app.press(CHAT, edited, "Русский")
    assert "Язык интерфейса: русский." in back.visible_text


async def test_choose_topics_button_opens_the_picker(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/start", lang="kk")

    [picker], answer = await bot_app.press(CHAT, reply, "Тақырыптарды таңдау", lang="kk")

    assert picker.method == "sendMessage"
    assert picker.visible_text.startswith("Тақырыптарды таңдаңыз")
    assert "✅ Қытай" in button_texts(picker)
    assert answer is None


async def test_help_in_both_languages(bot_app: BotApp) -> None:
    [ru] = await bot_app.say(CHAT, "/help", lang="ru")
    [kk] = await bot_app.say(CHAT + 1, "/help", lang="kk")
    assert ru.visible_text == visible(t("ru", "help.text"))
    assert kk.visible_text == visible(t("kk", "help.text"))
    assert "поиск по новостям" in ru.visible_text and "жаңалықтардан іздеу" in kk.visible_text


async def test_command_menu_is_registered_per_language(bot_app: BotApp) -> None:
    commands = bot_app.fake.commands
    assert set(commands) == {("default", ""), ("default", "ru"), ("default", "kk")}
    kk = {c["command"]: c["description"] for c in commands[("default", "kk")]}
    ru = {c["command"]: c["description"] for c in commands[("default", "ru")]}
    assert list(kk) == ["start", "help", "topics", "digest", "project", "search", "trends", "settings", "stop"]
    assert kk["topics"] == t("kk", "menu.topics") == "Тақырыптарды таңдау"
    assert ru["stop"] == t("ru", "menu.stop") == "Отписаться"
    assert commands[("default", "")] == commands[("default", "ru")]


async def test_failing_command_menu_is_logged_and_the_bot_still_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeTelegram() as fake, FeedServer() as feeds:
        fake.fail_next("setMyCommands", status=500)
        with caplog.at_level(logging.WARNING, logger="bot.app"):
            async with running_bot(tmp_path, fake, feeds) as app:
                [reply] = await app.say(CHAT, "/start")
        assert reply.visible_text.startswith(t("ru", "start.hello_new"))
    assert any("could not set the command menu" in r.getMessage() for r in caplog.records)
