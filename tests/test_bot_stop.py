"""/stop: confirmed with a button; then nothing more is sent, and /start brings the subscriber back."""

from __future__ import annotations

from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    button_texts,
    t,
    visible,
)

CHAT = 700


async def active_ids(app: BotApp) -> list[int]:
    return [s.chat_id for s in await app.store.subscribers.active()]


async def test_stop_asks_then_unsubscribes(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")

    [question] = await bot_app.say(CHAT, "/stop")
    assert question.visible_text == t("ru", "stop.confirm")
    assert button_texts(question) == ["Да, отписаться", "Нет, остаться"]
    assert CHAT in await active_ids(bot_app)  # nothing happens before the confirmation

    [done], _ = await bot_app.press(CHAT, question, "Да, отписаться")

    assert done.message_id == question.message_id and done.buttons == []
    assert done.visible_text == t("ru", "stop.done")
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and not sub.active
    assert CHAT not in await active_ids(bot_app)

    [again] = await bot_app.say(CHAT, "/stop")
    assert again.visible_text == t("ru", "stop.not_subscribed")


async def test_stop_in_kazakh_and_changing_ones_mind(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start", lang="kk")
    [question] = await bot_app.say(CHAT, "/stop", lang="kk")
    assert question.visible_text.startswith("Хабарға жазылымды тоқтатқыңыз келе ме?")

    [kept], _ = await bot_app.press(CHAT, question, "Жоқ, қала беремін", lang="kk")

    assert kept.visible_text == "Жақсы, жазылым сақталады."
    assert CHAT in await active_ids(bot_app)

    [question] = await bot_app.say(CHAT, "/stop", lang="kk")
    [done], _ = await bot_app.press(CHAT, question, "Иә, жазылымды тоқтату", lang="kk")
    assert done.visible_text.startswith("Жазылым тоқтатылды.")


async def test_start_brings_them_back_with_their_settings(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    await bot_app.say(CHAT, "/settings time 21:00")
    [question] = await bot_app.say(CHAT, "/stop")
    await bot_app.press(CHAT, question, "Да, отписаться")

    [back] = await bot_app.say(CHAT, "/start")

    assert back.visible_text.startswith(t("ru", "start.hello_back"))
    assert "приходит в 21:00" in back.visible_text
    assert CHAT in await active_ids(bot_app)


async def test_a_stale_confirmation_after_leaving(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    [first] = await bot_app.say(CHAT, "/stop")
    [second] = await bot_app.say(CHAT, "/stop")
    await bot_app.press(CHAT, first, "Да, отписаться")

    [edited], _ = await bot_app.press(CHAT, second, "Да, отписаться")

    assert edited.visible_text == t("ru", "stop.not_subscribed")


async def test_stop_before_start(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/stop", lang="kk")
    assert reply.visible_text == visible(t("kk", "stop.not_subscribed"))
