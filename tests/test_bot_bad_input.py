"""What users (and the network) throw at the bot: junk text, forged buttons, floods, failures, flood control."""

from __future__ import annotations

import logging
import time

import pytest

from storage import Storage
from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    t,
    visible,
)

CHAT = 900


@pytest.mark.parametrize(
    "text",
    [
        "привет",
        "x" * 4000,
        "🔥" * 1000,
        "مرحبا \u202eкалий\u202c שלום",
        "<b>hi</b> & </a>",
        "\u200b",
    ],
)
async def test_plain_text_gets_a_hint(bot_app: BotApp, text: str) -> None:
    [reply] = await bot_app.say(CHAT, text)
    assert reply.visible_text == t("ru", "fallback.hint")


@pytest.mark.parametrize("lang", ["ru", "kk"])
async def test_unknown_command(bot_app: BotApp, lang: str) -> None:
    [reply] = await bot_app.say(CHAT, "/weather Алматы", lang=lang)
    assert reply.visible_text == t(lang, "fallback.unknown_command")
    assert ("Такой команды нет" if lang == "ru" else "Мұндай команда жоқ") in reply.visible_text


async def test_commands_addressed_to_this_bot_by_name(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/help@habar_test_bot")
    assert reply.visible_text == visible(t("ru", "help.text"))


async def test_huge_arguments_everywhere(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    junk = "<a href='x'>&amp;" + "ж🔥" * 1300  # about 4,000 characters with markup and astral emoji
    for command in ("/digest", "/project", "/search", "/settings", "/topics", "/help", "/stop"):
        replies = await bot_app.say(CHAT, f"{command} {junk}")
        assert len(replies) == 1, command
        assert replies[0].visible_text != t("ru", "error.internal"), command


async def test_group_chatter_is_ignored(bot_app: BotApp) -> None:
    assert await bot_app.say(-1001, "всем привет", user_id=5, chat_type="supergroup") == []
    [reply] = await bot_app.say(-1001, "/help", user_id=5, chat_type="supergroup")
    assert reply.visible_text == visible(t("ru", "help.text"))


async def test_non_text_messages(bot_app: BotApp) -> None:
    update_id = bot_app.fake.push_update(
        {
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": CHAT, "type": "private", "first_name": "T"},
                "from": {"id": CHAT, "is_bot": False, "first_name": "T", "language_code": "kk"},
                "location": {"latitude": 43.25, "longitude": 76.95},
            }
        }
    )
    await bot_app.handled(update_id)
    [reply] = bot_app.fake.messages_to(CHAT)
    assert reply.visible_text == t("kk", "fallback.hint")


@pytest.mark.parametrize(
    "data",
    [
        "",
        "garbage",
        ":::",
        "t:",
        "t:" + "a" * 61,
        "t:Energy",
        "t:energy:extra",
        "l:en:s",
        "x:maybe",
        "tp:close",
        "p:-5",
        "\u202e\U0001f525",
        "z" * 64,
    ],
)
async def test_forged_buttons_get_a_polite_answer(bot_app: BotApp, data: str) -> None:
    [welcome] = await bot_app.say(CHAT, "/start", lang="kk")

    sent, answer = await bot_app.tap(CHAT, welcome, data, lang="kk")

    assert sent == []
    assert answer == t("kk", "error.stale_button") == "Бұл батырма ескірген. Команданы қайта жіберіңіз."
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.topics == ("china", "investments", "projects") and sub.active


async def test_buttons_on_a_message_telegram_no_longer_shows(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    sent, answer = await bot_app.tap(CHAT, 99_999, "t:energy")  # an inaccessible message
    assert sent == []
    assert answer == t("ru", "topics.added", name="Энергетика")


async def test_buttons_pressed_before_start(bot_app: BotApp) -> None:
    for data in ("t:energy", "l:kk:s", "n:ru", "tm:0700", "s:pause", "tp:open", "tp:done"):
        sent, answer = await bot_app.tap(CHAT, 1, data, lang="kk")
        assert (sent, answer) == ([], t("kk", "common.need_start")), data
    assert await bot_app.store.subscribers.get(CHAT) is None


async def test_a_flooding_user_is_throttled(bot_app: BotApp) -> None:
    limit = bot_app.throttle.limit
    for _ in range(limit + 5):
        bot_app.fake.push_message(CHAT, "/help", language_code="kk")
    bot_app.fake.push_message(CHAT + 1, "/help", language_code="ru")  # someone else is unaffected
    await bot_app.fake.wait_for(limit + 1, chat_id=CHAT)
    await bot_app.fake.wait_for(1, chat_id=CHAT + 1)
    await bot_app.fake.wait_until(lambda: bot_app.fake.pending_updates == 0)
    await bot_app.idle()

    texts = [m.visible_text for m in bot_app.fake.messages_to(CHAT)]
    assert texts.count(visible(t("kk", "help.text"))) == limit
    assert texts.count(t("kk", "error.throttled")) == 1
    assert len(texts) == limit + 1


async def test_a_failing_handler_apologises_in_the_users_language(
    bot_app: BotApp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("database is on fire")

    monkeypatch.setattr(bot_app.store.articles, "search", broken)
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        [ru] = await bot_app.say(CHAT, "/search калий")
        [kk] = await bot_app.say(CHAT + 1, "/search калий", lang="kk")

    assert ru.visible_text == t("ru", "error.internal")
    assert kk.visible_text == t("kk", "error.internal") and kk.visible_text.startswith("Кешіріңіз")
    assert any("database is on fire" in r.getMessage() for r in caplog.records)
    [still_fine] = await bot_app.say(CHAT, "/help")
    assert still_fine.visible_text == visible(t("ru", "help.text"))


async def test_a_failing_subscriber_lookup_still_apologises(
    bot_app: BotApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: object, chat_id: int) -> None:
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(type(bot_app.store.subscribers), "get", broken)
    [reply] = await bot_app.say(CHAT, "/start", lang="kk")
    assert reply.visible_text == t("kk", "error.internal")
    assert isinstance(bot_app.store, Storage)


async def test_flood_control_on_send_delays_the_reply(bot_app: BotApp) -> None:
    bot_app.fake.fail_next("sendMessage", status=429, retry_after=1)
    started = time.monotonic()

    [reply] = await bot_app.say(CHAT, "/help", lang="kk")

    assert reply.visible_text == visible(t("kk", "help.text"))
    assert time.monotonic() - started >= 0.9
    outcomes = [r.outcome for r in bot_app.fake.requests_for("sendMessage")]
    assert outcomes == ["429", "ok"]
