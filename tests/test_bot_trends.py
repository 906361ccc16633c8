"""/trends [days]: a chart photo with a localized caption; bad arguments get a localized hint."""

from __future__ import annotations

from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    t,
)

CHAT = 900
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_trends_sends_a_chart_in_the_readers_language(bot_app: BotApp) -> None:
    await bot_app.add_article("Китайская компания вложит средства в завод в Уральске", hours_ago=1)
    [photo] = await bot_app.say(CHAT, "/trends 14", lang="kk")
    assert photo.method == "sendPhoto"
    assert photo.photo is not None and photo.photo.startswith(PNG_MAGIC)
    assert photo.visible_text == t("kk", "trends.caption", days=14)


async def test_trends_rejects_nonsense_days(bot_app: BotApp) -> None:
    for arg in ("0", "abc", "1000", "٣"):
        [reply] = await bot_app.say(CHAT, f"/trends {arg}")
        assert reply.visible_text == t("ru", "trends.bad_days", max=90)
