"""/search <words>: ranked search in both languages; whatever is typed is plain words and never an error."""

from __future__ import annotations

import pytest

from tests.bot_harness import (
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    t,
    visible,
)
from tests.fake_telegram import utf16_len

CHAT = 500


async def seed(app: BotApp) -> None:
    await app.add_article("В ЗКО начнут добывать калий на месторождении Сатимола", summary="Калийные соли")
    await app.add_article("Сатимола кен орнында калий өндіріледі", lang="kk", hours_ago=2)
    await app.add_article("Ветровая электростанция заработала в Жамбылской области", hours_ago=3)


async def test_usage_hint_without_words(bot_app: BotApp) -> None:
    [ru] = await bot_app.say(CHAT, "/search")
    [kk] = await bot_app.say(CHAT, "/search   ", lang="kk")
    assert ru.visible_text == t("ru", "search.usage")
    assert kk.visible_text == t("kk", "search.usage")
    assert "Например" in ru.visible_text and "Мысалы" in kk.visible_text


async def test_finds_news_in_both_languages(bot_app: BotApp) -> None:
    await seed(bot_app)

    [reply] = await bot_app.say(CHAT, "/search калий")

    lines = reply.visible_text.splitlines()
    assert lines[0] == visible(t("ru", "search.header", query="калий")) == "Найдено по запросу «калий»:"
    found = reply.visible_text
    assert "добывать калий" in found and "калий өндіріледі" in found
    assert "Ветровая" not in found
    assert [e["url"] for e in reply.entities if e["type"] == "text_link"][:2]  # headlines are links


async def test_prefixes_and_yo(bot_app: BotApp) -> None:
    await seed(bot_app)
    [reply] = await bot_app.say(CHAT, "/search ветров электростанц")
    assert "Ветровая электростанция заработала" in reply.visible_text


async def test_nothing_found_in_kazakh(bot_app: BotApp) -> None:
    await seed(bot_app)
    [reply] = await bot_app.say(CHAT, "/search футбол", lang="kk")
    assert reply.visible_text == "«футбол» сұрауы бойынша ештеңе табылмады."


@pytest.mark.parametrize(
    "query",
    [
        '"калий',
        "калий*",
        "калий NEAR Сатимола",
        "NEAR(калий Сатимола, 3)",
        "-калий",
        "калий -Сатимола",
        "калий AND OR NOT",
        "title:калий",
        "(калий",
        "^калий",
        '"" * - : ( ) { } [ ]',
    ],
)
async def test_fts5_syntax_is_plain_words(bot_app: BotApp, query: str) -> None:
    await seed(bot_app)
    [reply] = await bot_app.say(CHAT, f"/search {query}")
    assert reply.method == "sendMessage"
    assert reply.visible_text.startswith(("Найдено по запросу", "По запросу"))
    assert t("ru", "error.internal") not in reply.visible_text


async def test_html_in_a_query_is_shown_not_obeyed(bot_app: BotApp) -> None:
    await seed(bot_app)
    query = '<b>калий</b> & </a> <a href="http://evil">x</a>'
    [reply] = await bot_app.say(CHAT, f"/search {query}")
    assert reply.visible_text == f"По запросу «{query}» ничего не найдено."  # every word must match
    assert reply.entities == []

    [found] = await bot_app.say(CHAT, "/search калий </> &<>")
    assert found.visible_text.startswith("Найдено по запросу «калий </> &<>»:")


@pytest.mark.parametrize(
    "query", ["🔥🇰🇿 калий 👍", "مرحبا بالعالم", "שלום \u202eкалий\u202c", "\u200b\u200d"]
)
async def test_emoji_and_right_to_left_text(bot_app: BotApp, query: str) -> None:
    await seed(bot_app)
    [reply] = await bot_app.say(CHAT, f"/search {query}")
    assert reply.visible_text.startswith(("Найдено по запросу", "По запросу"))


async def test_too_long_a_query(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(CHAT, "/search " + "калий " * 700)  # ~4000 characters
    assert reply.visible_text == t("ru", "error.too_long", limit=200)
    [kk] = await bot_app.say(CHAT, "/search " + "ж" * 201, lang="kk")
    assert kk.visible_text == "Сұрау тым ұзын: 200 таңбадан аспауы керек."
    [fits] = await bot_app.say(CHAT, "/search " + "ж" * 200)
    assert fits.visible_text.startswith("По запросу «")


async def test_long_results_stay_within_telegrams_limit(bot_app: BotApp) -> None:
    for i in range(12):
        await bot_app.add_article(f"Калий {i} " + "очень длинный заголовок " * 40, hours_ago=1 + i)

    messages = await bot_app.say(CHAT, "/search калий")

    assert all(utf16_len(m.visible_text or "") <= 4096 for m in messages)
    assert sum((m.visible_text or "").count("Калий ") for m in messages) == 10


@pytest.mark.parametrize("ui", ["ru", "kk"])
async def test_hits_reporting_one_event_are_one_result(bot_app: BotApp, ui: str) -> None:
    ru = await bot_app.add_article("Метанол зауыты: в Уральске построят завод метанола", hours_ago=2)
    await bot_app.add_article("Орал маңында метанол зауыты салынады", lang="kk", hours_ago=1, story_of=ru)
    await bot_app.add_article("Цены на метанол выросли", hours_ago=3)

    [reply] = await bot_app.say(CHAT, "/search метанол", lang=ui)

    text = reply.visible_text
    assert text.count("• ") == 2  # the plant story once, the prices story
    headline, other = ("построят завод", "маңында метанол") if ui == "ru" else ("маңында метанол", "построят завод")
    assert headline in text and other not in text
    assert f"{t(ui, 'digest.also')} " in text
