"""Following a project: the button under its timeline, and the alerts the delivery tick sends when a new
story about it appears (through the same ledger and sender as digests, at most one per project per hour)."""

from __future__ import annotations

from bot.scheduler import deliver_due
from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    button_texts,
    project,
    t,
    tn,
)
from tests.delivery_support import FAST
from tests.fake_telegram import SentMessage

CHAT = 500
OTHER = 501
SATIMOLA = project("satimola", ru="Сатимола", kk="Сатимола", latin="Satimola")
METHANOL = project("methanol", ru="Метанол Плюс", kk="Метанол Плюс")


async def tick(app: BotApp, **advance: float) -> list[SentMessage]:
    """Move the clock, run one delivery tick as the scheduler would; what it sent."""
    app.clock.advance(**advance)
    before = len(app.fake.sent)
    await deliver_due(app.store, app.bot, app.catalogs, app.settings, app.clock(), options=FAST)
    return [m for m in app.fake.sent[before:] if m.method == "sendMessage"]


def alerts(sent: list[SentMessage], chat: int) -> list[str]:
    return [m.visible_text for m in sent if m.chat_id == chat and m.visible_text.startswith("🔔")]


async def follow(app: BotApp, chat: int, query: str, lang: str = "ru") -> SentMessage:
    await app.say(chat, "/start", lang=lang)
    [timeline] = await app.say(chat, f"/project {query}", lang=lang)
    assert button_texts(timeline) == [t(lang, "project.follow_button")]
    [edited], answer = await app.press(chat, timeline, t(lang, "project.follow_button"), lang=lang)
    assert answer == t(lang, "project.followed", name="Сатимола")
    assert edited.method == "editMessageReplyMarkup"
    assert button_texts(app.current(chat, timeline)) == [t(lang, "project.unfollow_button")]
    return timeline


async def test_a_follower_gets_one_alert_per_new_story_at_most_hourly(bot_app: BotApp) -> None:
    await bot_app.add_article("Старая новость о месторождении «Сатимола»", projects=(SATIMOLA,), hours_ago=5)
    await follow(bot_app, CHAT, "Сатимола")
    await bot_app.say(OTHER, "/start")  # a subscriber who follows nothing

    # Nothing new yet: the old news is not an alert.
    assert alerts(await tick(bot_app, minutes=1), CHAT) == []

    first = await bot_app.add_article("На «Сатимоле» начали бурение", projects=(SATIMOLA,), hours_ago=0)
    sent = await tick(bot_app, minutes=1)
    [alert] = alerts(sent, CHAT)
    assert alert.splitlines()[0] == "🔔 Сатимола: новое в новостях"
    assert "начали бурение" in alert and "Старая новость" not in alert
    assert alerts(sent, OTHER) == []

    # Within the hour: a second story waits; a further report of the alerted story is not news at all.
    await bot_app.add_article("Бурение на Сатимоле: подробности", projects=(SATIMOLA,), story_of=first, hours_ago=0)
    await bot_app.add_article("«Сатимола» нашла подрядчика", projects=(SATIMOLA,), hours_ago=0)
    await bot_app.add_article("Сатимола: второй подрядчик", projects=(SATIMOLA,), hours_ago=0)
    assert alerts(await tick(bot_app, minutes=30), CHAT) == []

    # After the hour, the waiting stories come merged into one alert, and only them.
    [merged] = alerts(await tick(bot_app, minutes=31), CHAT)
    assert "нашла подрядчика" in merged and "второй подрядчик" in merged
    assert "подробности" not in merged and "начали бурение" not in merged

    # Every alert went through the ledger, as alerts: the day's digest (at 09:00) is still to come.
    parts = await bot_app.store.deliveries.for_chat(CHAT)
    assert [(p.kind, p.status) for p in parts] == [("alert", "sent"), ("alert", "sent")]
    subscriber = await bot_app.store.subscribers.get(CHAT)
    assert subscriber is not None and subscriber.last_digest_date is None
    sent = await tick(bot_app, hours=2)
    assert alerts(sent, CHAT) == []
    assert [m.chat_id for m in sent].count(CHAT) == 1  # the digest, and no alert


async def test_an_alert_in_kazakh_heads_stories_in_kazakh(bot_app: BotApp) -> None:
    await follow(bot_app, CHAT, "Сатимола", lang="kk")
    ru = await bot_app.add_article("«Сатимола» получит 50 млрд тенге", projects=(SATIMOLA,), hours_ago=0)
    await bot_app.add_article("«Сатимола» 50 млрд теңге алады", lang="kk", story_of=ru, hours_ago=0)
    [alert] = alerts(await tick(bot_app, minutes=1), CHAT)
    lines = alert.splitlines()
    assert lines[0] == "🔔 Сатимола: жаңалықтарда жаңа оқиға"
    assert lines[1].startswith("• «Сатимола» 50 млрд теңге алады")
    assert t("kk", "lang.ru") in lines[3] and "получит" not in alert


async def test_many_stories_are_counted_and_unfollowing_stops_alerts(bot_app: BotApp) -> None:
    timeline = await follow(bot_app, CHAT, "Сатимола")
    for i in range(7):
        await bot_app.add_article(f"Сатимола: новость номер {i}", projects=(SATIMOLA,), hours_ago=0)
    [alert] = alerts(await tick(bot_app, minutes=1), CHAT)
    assert alert.count("• ") == 5
    assert tn("ru", "alert.more_one", "alert.more_many", 2, name="Сатимола") in alert
    assert "…и ещё 2 истории: /project Сатимола" in alert

    [edited], answer = await bot_app.press(CHAT, timeline, t("ru", "project.unfollow_button"))
    assert answer == t("ru", "project.unfollowed", name="Сатимола")
    assert button_texts(bot_app.current(CHAT, timeline)) == [t("ru", "project.follow_button")]
    await bot_app.add_article("Сатимола: после отписки", projects=(SATIMOLA,), hours_ago=0)
    assert alerts(await tick(bot_app, hours=2), CHAT) == []


async def test_blocked_followers_and_other_languages(bot_app: BotApp) -> None:
    await follow(bot_app, CHAT, "Сатимола")
    # Reading Kazakh news only: a Russian report is not news for them (quietly skipped, no alert).
    settings_msg = (await bot_app.say(CHAT, "/settings"))[0]
    await bot_app.press(CHAT, settings_msg, t("ru", "button.news_kk"))
    await bot_app.add_article("Сатимола: только по-русски", projects=(SATIMOLA,), hours_ago=0)
    assert alerts(await tick(bot_app, minutes=1), CHAT) == []
    await bot_app.add_article("Сатимола: қазақша жаңалық", lang="kk", projects=(SATIMOLA,), hours_ago=0)
    [alert] = alerts(await tick(bot_app, minutes=1), CHAT)
    assert "қазақша жаңалық" in alert and "только по-русски" not in alert

    # A follower who blocked the bot: the alert is dropped and they become inactive, as with digests.
    bot_app.fake.block(CHAT)
    await bot_app.add_article("Сатимола: ещё одна", lang="kk", projects=(SATIMOLA,), hours_ago=0)
    assert alerts(await tick(bot_app, hours=2), CHAT) == []
    subscriber = await bot_app.store.subscribers.get(CHAT)
    assert subscriber is not None and not subscriber.active


async def test_following_needs_a_subscription(bot_app: BotApp) -> None:
    await bot_app.add_article("Новость о «Сатимоле»", projects=(SATIMOLA,))
    [timeline] = await bot_app.say(CHAT, "/project Сатимола")
    assert button_texts(timeline) == []  # no button before /start
    sent, answer = await bot_app.tap(CHAT, timeline, "f:1:1")
    assert sent == [] and answer == t("ru", "common.need_start")


async def test_the_project_list_marks_followed_projects(bot_app: BotApp) -> None:
    await bot_app.add_article("Новость о «Сатимоле»", projects=(SATIMOLA,), hours_ago=2)
    await bot_app.add_article("Новость о «Метанол Плюс»", projects=(METHANOL,), hours_ago=1)
    await follow(bot_app, CHAT, "Сатимола")
    [listing] = await bot_app.say(CHAT, "/project")
    assert set(button_texts(listing)) == {t("ru", "project.followed_mark", name="Сатимола"), "Метанол Плюс"}


async def test_a_catalogued_project_can_be_followed_before_its_first_news(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    [timeline] = await bot_app.say(CHAT, "/project Сатимола")
    assert timeline.visible_text == t("ru", "project.no_news", name="Сатимола")
    await bot_app.press(CHAT, timeline, t("ru", "project.follow_button"))
    await bot_app.add_article("Первая новость о «Сатимоле»", projects=(SATIMOLA,), hours_ago=0)
    [alert] = alerts(await tick(bot_app, minutes=1), CHAT)
    assert "Первая новость" in alert
