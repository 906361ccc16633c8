"""/digest [topic]: the last 24 hours on the subscriber's topics, or one topic named in either language."""

from __future__ import annotations

import pytest

from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    t,
)
from tests.fake_telegram import utf16_len

CHAT = 300


async def seed(app: BotApp) -> None:
    await app.add_article(
        "Китайская компания вложит $500 млн в завод в Актобе", topics=("investments", "china")
    )
    await app.add_article("Қытай инвесторлары БҚО-да зауыт салады", lang="kk", topics=("china",), hours_ago=3)
    await app.add_article("В Экибастузе запустили новый энергоблок", topics=("energy",), hours_ago=2)
    await app.add_article("Старая новость об инвестициях", topics=("investments",), hours_ago=30)


async def test_digest_on_the_subscribers_topics(bot_app: BotApp) -> None:
    await seed(bot_app)
    await bot_app.say(CHAT, "/start")

    [digest] = await bot_app.say(CHAT, "/digest")

    text = digest.visible_text
    assert text.startswith(t("ru", "digest.header", date="12.05.2025"))
    assert "Китайская компания вложит $500 млн в завод в Актобе" in text
    assert "Қытай инвесторлары БҚО-да зауыт салады" in text  # both news languages by default
    assert "энергоблок" not in text  # not a subscribed topic
    assert "Старая новость" not in text  # older than 24 hours
    # Each article once, under its first topic in the subscriber's order; times in Almaty (UTC+5).
    assert text.count("Актобе") == 1
    assert "Инвестиции\n" in text and "Китай\n" in text
    assert "рус · Тест & <Ньюс> </a> · 12.05 06:00" in text


async def test_digest_in_kazakh_and_only_kazakh_news(bot_app: BotApp) -> None:
    await seed(bot_app)
    await bot_app.say(CHAT, "/start", lang="kk")
    await bot_app.store.subscribers.update(CHAT, bot_app.clock(), news_langs="kk")

    [digest] = await bot_app.say(CHAT, "/digest", lang="kk")

    assert digest.visible_text.startswith(t("kk", "digest.header", date="12.05.2025"))
    assert "жаңалықтар дайджесі" in digest.visible_text
    assert "Қытай инвесторлары" in digest.visible_text
    assert "Китайская компания" not in digest.visible_text
    assert "қаз · " in digest.visible_text


@pytest.mark.parametrize("asked", ["energy", "Энергетика", "энергетике", "ENERGY", "/energy"])
async def test_one_topic_by_key_or_name(bot_app: BotApp, asked: str) -> None:
    await seed(bot_app)
    await bot_app.say(CHAT, "/start")

    [digest] = await bot_app.say(CHAT, f"/digest {asked}")

    assert "В Экибастузе запустили новый энергоблок" in digest.visible_text
    assert "Актобе" not in digest.visible_text


async def test_one_topic_named_in_kazakh(bot_app: BotApp) -> None:
    await seed(bot_app)
    [digest] = await bot_app.say(CHAT, "/digest Қытай", lang="kk")  # works before /start too
    assert "Қытай инвесторлары" in digest.visible_text and "Актобе" in digest.visible_text
    assert "энергоблок" not in digest.visible_text


async def test_unknown_topic_lists_the_topics(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/digest футбол")
    lines = reply.visible_text.splitlines()
    assert (
        lines[0]
        == t("ru", "digest.unknown_topic", query="футбол")
        == "Тема «футбол» не найдена. Доступные темы:"
    )
    assert lines[1:] == [
        "/digest investments — Инвестиции",
        "/digest china — Китай",
        "/digest projects — Крупные проекты",
        "/digest energy — Энергетика",
        "/digest industry — Промышленность",
        "/digest agriculture — Сельское хозяйство",
        "/digest trade — Торговля",
    ]

    [kk] = await bot_app.say(CHAT, "/digest <футбол>", lang="kk")
    assert kk.visible_text.startswith("«<футбол>» тақырыбы табылмады.")
    assert "/digest china — Қытай" in kk.visible_text


async def test_nothing_new(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start")
    [reply] = await bot_app.say(CHAT, "/digest")
    assert reply.visible_text == t("ru", "digest.empty")

    [one] = await bot_app.say(CHAT, "/digest trade")
    assert one.visible_text == t("ru", "digest.empty_topic", topic="Торговля")


async def test_no_topics_chosen(bot_app: BotApp) -> None:
    await bot_app.say(CHAT, "/start", lang="kk")
    for key in ("investments", "china", "projects"):
        await bot_app.store.subscribers.toggle_topic(CHAT, key)
    [reply] = await bot_app.say(CHAT, "/digest", lang="kk")
    assert reply.visible_text == t("kk", "digest.no_topics")


async def test_hostile_titles_are_escaped(bot_app: BotApp) -> None:
    title = '<b>Инвестиции</b> & </a> <a href="x">«Жаңалық»</a> &amp; 1 < 2'
    await bot_app.add_article(title, topics=("investments",), url="https://x.kz/?q=<script>&a=\"'")
    await bot_app.say(CHAT, "/start")

    [digest] = await bot_app.say(CHAT, "/digest")

    assert title in digest.visible_text  # shown literally: the fake accepted the HTML, so it was escaped


async def test_a_long_digest_is_split_between_items(bot_app: BotApp) -> None:
    long_title = "Крупный инвестиционный проект " + "очень подробно " * 20
    for i in range(8):
        for topic in ("investments", "china", "projects", "energy", "industry", "agriculture", "trade"):
            await bot_app.add_article(f"{i} {topic} {long_title}", topics=(topic,), hours_ago=1 + i / 10)
    await bot_app.say(CHAT, "/start")
    for key in ("energy", "industry", "agriculture", "trade"):
        await bot_app.store.subscribers.toggle_topic(CHAT, key)

    messages = await bot_app.say(CHAT, "/digest")

    assert len(messages) >= 2
    assert all(utf16_len(m.visible_text or "") <= 4096 for m in messages)
    text = "\n".join(m.visible_text or "" for m in messages)
    assert text.count("Крупный инвестиционный проект") == 7 * 5  # five a topic, the rest counted
    assert "…и ещё 3 новости: /digest trade" in text


@pytest.mark.parametrize("ui", ["ru", "kk"])
async def test_a_story_told_in_both_languages_is_one_item(bot_app: BotApp, ui: str) -> None:
    ru = await bot_app.add_article(
        "Китайская CHN Energy построит ветропарк на 1 ГВт", topics=("china",), hours_ago=4,
        url="https://news.example.kz/ru/wind",
    )
    await bot_app.add_article(
        "CHN Energy 1 ГВт жел электр станциясын салады", lang="kk", topics=("china",), hours_ago=3,
        story_of=ru, url="https://news.example.kz/kk/wind",
    )
    await bot_app.add_article("Қытаймен жаңа сауда келісімі", lang="kk", topics=("china",), hours_ago=1)
    await bot_app.say(CHAT, "/start", lang=ui)

    [digest] = await bot_app.say(CHAT, "/digest china", lang=ui)

    text = digest.visible_text
    # The story first (two languages outrank the newer single report), headed in the reader's language,
    # with the other language's report as a marked link; the other headline is not repeated.
    wind_ru, wind_kk = "построит ветропарк", "жел электр станциясын"
    headline, other = (wind_ru, wind_kk) if ui == "ru" else (wind_kk, wind_ru)
    assert text.count(headline) == 1 and other not in text
    assert text.index(headline) < text.index("сауда келісімі")
    lang_mark = t(ui, "lang.kk" if ui == "ru" else "lang.ru")
    assert f"{t(ui, 'digest.also')} Тест & <Ньюс> </a> ({lang_mark})" in text
    links = [e["url"] for e in digest.entities if e.get("type") == "text_link"]
    assert {"https://news.example.kz/ru/wind", "https://news.example.kz/kk/wind"} <= set(links)
