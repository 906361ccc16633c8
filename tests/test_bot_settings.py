"""/settings: interface language, news languages, digest time (buttons or typed), pause; next delivery."""

from __future__ import annotations

import pytest

from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    button_texts,
    t,
    visible,
)
from tests.fake_telegram import SentMessage

CHAT = 600

RU_BUTTONS = [
    "Қазақша", "✅ Русский",
    "📰 Русский", "📰 Казахский", "✅ 📰 Оба языка",
    "07:00", "08:00", "✅ 09:00",
    "12:00", "18:00", "21:00",
    "Другое время…",
    "⏸ Приостановить дайджест",
]  # fmt: skip


def summary(lang: str, *, ui: str, news: str, time: str, tail: str) -> str:
    head = t(lang, "settings.summary", lang=ui, news=news, time=time, zone="Asia/Almaty")
    return visible(head) + "\n" + tail


async def open_settings(app: BotApp, lang: str = "ru") -> SentMessage:
    await app.say(CHAT, "/start", lang=lang)
    [screen] = await app.say(CHAT, "/settings", lang=lang)
    return screen


async def test_settings_screen(bot_app: BotApp) -> None:
    screen = await open_settings(bot_app)

    assert screen.visible_text == summary(
        "ru", ui="Русский", news="русский и казахский", time="09:00", tail="Следующий дайджест: 12.05 09:00"
    )
    assert button_texts(screen) == RU_BUTTONS
    assert all(len(d.encode()) <= 64 for d in screen.callback_data)


async def test_preset_time(bot_app: BotApp) -> None:
    screen = await open_settings(bot_app)

    [edited], answer = await bot_app.press(CHAT, screen, "18:00")

    assert (
        answer == t("ru", "settings.time_saved", time="18:00") == "Готово: дайджест будет приходить в 18:00."
    )
    assert "Время дайджеста: 18:00 (Asia/Almaty)" in edited.visible_text
    assert "Следующий дайджест: 12.05 18:00" in edited.visible_text
    assert "✅ 18:00" in button_texts(edited) and "09:00" in button_texts(edited)
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.digest_time == "18:00"


async def test_time_already_passed_today_means_tomorrow(bot_app: BotApp) -> None:
    screen = await open_settings(bot_app)
    await bot_app.store.subscribers.mark_digest(CHAT, local_date="2025-05-12", at=bot_app.clock())
    [edited], _ = await bot_app.press(CHAT, screen, "08:00")
    assert "Следующий дайджест: 13.05 08:00" in edited.visible_text


async def test_news_languages(bot_app: BotApp) -> None:
    screen = await open_settings(bot_app)

    [edited], answer = await bot_app.press(CHAT, screen, "📰 Казахский")

    assert answer == "Сохранено"
    assert "Языки новостей: казахский" in edited.visible_text
    assert "✅ 📰 Казахский" in button_texts(edited) and "📰 Оба языка" in button_texts(edited)
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.news_langs == "kk"


async def test_interface_language_switch(bot_app: BotApp) -> None:
    screen = await open_settings(bot_app)

    [edited], answer = await bot_app.press(CHAT, screen, "Қазақша")

    assert answer == "Сақталды"
    assert edited.visible_text == summary(
        "kk", ui="Қазақша", news="орыс және қазақ тілдері", time="09:00", tail="Келесі дайджест: 12.05 09:00"
    )
    assert edited.visible_text.startswith("Баптаулар\nИнтерфейс тілі: Қазақша")
    assert "⏸ Дайджестті тоқтата тұру" in button_texts(edited)
    [reply] = await bot_app.say(CHAT, "/digest", lang="ru")
    assert reply.visible_text == t("kk", "digest.empty")


async def test_pause_and_resume(bot_app: BotApp) -> None:
    screen = await open_settings(bot_app)

    [paused], answer = await bot_app.press(CHAT, screen, "⏸ Приостановить дайджест")
    assert answer == "Дайджест приостановлен"
    assert paused.visible_text.endswith("\nДайджест приостановлен.")
    assert "▶️ Возобновить дайджест" in button_texts(paused)
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.paused
    assert CHAT not in [s.chat_id for s in await bot_app.store.subscribers.active()]

    [resumed], answer = await bot_app.press(CHAT, screen, "▶️ Возобновить дайджест")
    assert answer == "Дайджест снова включён"
    assert resumed.visible_text.endswith("Следующий дайджест: 12.05 09:00")
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and not sub.paused


async def test_other_time_typed_after_the_button(bot_app: BotApp) -> None:
    screen = await open_settings(bot_app, lang="kk")

    [prompt], _ = await bot_app.press(CHAT, screen, "Басқа уақыт…", lang="kk")
    assert prompt.visible_text == t("kk", "settings.ask_time")

    [wrong] = await bot_app.say(CHAT, "25:61", lang="kk")
    assert wrong.visible_text == t("kk", "settings.time_invalid")
    [saved] = await bot_app.say(CHAT, "7:30", lang="kk")
    assert saved.visible_text.startswith("Сақталды: дайджест уақыты — 07:30.\n\nБаптаулар")
    assert "Келесі дайджест: 12.05 07:30" in saved.visible_text
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.digest_time == "07:30"

    [after] = await bot_app.say(CHAT, "06:00", lang="kk")  # no longer waiting for a time
    assert after.visible_text == t("kk", "fallback.hint")


async def test_commands_still_work_while_a_time_is_awaited(bot_app: BotApp) -> None:
    screen = await open_settings(bot_app)
    await bot_app.press(CHAT, screen, "Другое время…")
    [help_reply] = await bot_app.say(CHAT, "/help")
    assert help_reply.visible_text == visible(t("ru", "help.text"))
    [saved] = await bot_app.say(CHAT, "21:15")
    assert saved.visible_text.startswith("Готово: дайджест будет приходить в 21:15.")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("07:30", "07:30"), ("7:05", "07:05"), ("23:59", "23:59"), ("00:00", "00:00")],
)
async def test_time_from_the_command_line(bot_app: BotApp, typed: str, expected: str) -> None:
    await bot_app.say(CHAT, "/start")
    [reply] = await bot_app.say(CHAT, f"/settings time {typed}")
    assert reply.visible_text.startswith(t("ru", "settings.time_saved", time=expected))
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.digest_time == expected


@pytest.mark.parametrize("typed", ["24:00", "7", "07:3", "07:30:00", "семь", "-1:00", "07:30 pm", "07.30"])
async def test_bad_times_are_refused(bot_app: BotApp, typed: str) -> None:
    await bot_app.say(CHAT, "/start")
    [reply] = await bot_app.say(CHAT, f"/settings time {typed}")
    assert reply.visible_text in (t("ru", "settings.time_invalid"), t("ru", "settings.usage"))
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.digest_time == "09:00"


async def test_unknown_arguments_give_usage(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start", lang="kk")
    [reply] = await bot_app.say(CHAT, "/settings colour blue", lang="kk")
    assert reply.visible_text == t("kk", "settings.usage")


async def test_settings_before_start(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/settings")
    assert reply.visible_text == t("ru", "common.need_start")


@pytest.mark.parametrize("data", ["tm:2500", "tm:0761", "tm:", "n:en", "l:en:m", "l:kk:z", "s:delete"])
async def test_forged_settings_buttons(bot_app: BotApp, data: str) -> None:
    screen = await open_settings(bot_app)
    sent, answer = await bot_app.tap(CHAT, screen, data)
    assert sent == []
    assert answer == t("ru", "error.stale_button")
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and (sub.digest_time, sub.news_langs, sub.ui_lang) == ("09:00", "both", "ru")
