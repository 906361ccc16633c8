"""/topics: toggle buttons with ✅ marks, the message redrawn in place."""

from __future__ import annotations

from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    button_texts,
    t,
    visible,
)

CHAT = 200


async def test_picker_marks_the_subscribed_topics(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    [picker] = await bot_app.say(CHAT, "/topics")

    assert picker.visible_text == visible(
        t("ru", "topics.choose", topics="Инвестиции, Китай, Крупные проекты")
    )
    assert button_texts(picker) == [
        "✅ Инвестиции",
        "✅ Китай",
        "✅ Крупные проекты",
        "Энергетика",
        "Промышленность",
        "Сельское хозяйство",
        "Торговля",
        "Готово",
    ]
    assert all(len(data.encode()) <= 64 for data in picker.callback_data)


async def test_tapping_toggles_and_redraws_in_place(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    [picker] = await bot_app.say(CHAT, "/topics")

    [edited], answer = await bot_app.press(CHAT, picker, "Энергетика")

    assert edited.method == "editMessageText" and edited.message_id == picker.message_id
    assert "✅ Энергетика" in button_texts(edited)
    assert answer == t("ru", "topics.added", name="Энергетика")
    assert "Инвестиции, Китай, Крупные проекты, Энергетика" in edited.visible_text
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and "energy" in sub.topics

    [again], answer = await bot_app.press(CHAT, edited, "✅ Китай")
    assert "Китай" in button_texts(again) and "✅ Китай" not in button_texts(again)
    assert answer == "Тема убрана: Китай"
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and sub.topics == ("energy", "investments", "projects")


async def test_done_closes_the_picker(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    [picker] = await bot_app.say(CHAT, "/topics")

    [closed], _ = await bot_app.press(CHAT, picker, "Готово")

    assert closed.visible_text == t("ru", "topics.saved", topics="Инвестиции, Китай, Крупные проекты")
    assert closed.buttons == []


async def test_picker_in_kazakh(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start", lang="kk")
    [picker] = await bot_app.say(CHAT, "/topics", lang="kk")

    assert picker.visible_text.startswith("Тақырыптарды таңдаңыз")
    assert button_texts(picker)[:4] == ["✅ Инвестициялар", "✅ Қытай", "✅ Ірі жобалар", "Энергетика"]
    assert button_texts(picker)[-1] == "Дайын"

    [edited], answer = await bot_app.press(CHAT, picker, "Сауда", lang="kk")
    assert "✅ Сауда" in button_texts(edited)
    assert answer == "Тақырып қосылды: Сауда"

    for label in ("✅ Инвестициялар", "✅ Қытай", "✅ Ірі жобалар", "✅ Сауда"):
        await bot_app.press(CHAT, picker, label, lang="kk")
    assert bot_app.current(CHAT, picker).visible_text.endswith("Қазір: таңдалмаған.")


async def test_topics_before_start_asks_to_subscribe(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/topics", lang="kk")
    assert reply.visible_text == t("kk", "common.need_start")


async def test_a_removed_topic_key_gets_a_polite_answer(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    [picker] = await bot_app.say(CHAT, "/topics")

    edits, answer = await bot_app.tap(CHAT, picker, "t:sports")

    assert edits == []
    assert answer == t("ru", "error.stale_button")
    sub = await bot_app.store.subscribers.get(CHAT)
    assert sub is not None and "sports" not in sub.topics
