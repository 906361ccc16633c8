"""What a subscriber reads: every news-language choice (ru, kk, both) in both interface languages.

The digest is built from a real store and rendered exactly as the broadcaster sends it; each message is
checked with the fake server's port of Telegram's HTML parser, so "valid markup" means what Telegram means.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.build import DigestRequest, build_digest
from bot.digest.render import TELEGRAM_LIMIT, render_digest
from bot.i18n import t, tn
from storage import FeedSpec, NewArticle, Storage
from tests.delivery_support import topic_rules
from tests.fake_telegram import parse_html, utf16_len

UNTIL = datetime(2025, 8, 8, 7, 0, tzinfo=UTC)  # 12:00 in Almaty
ZONE = ZoneInfo("Asia/Almaty")
HOSTILE = 'Китай & <b>КНР</b> "сделка" </a>'
HOSTILE_URL = "https://ru.example.kz/china?a=1&b=<2>"
TOPICS = ("investments", "china", "energy", "trade")
LANG_CHOICES = {"ru": ("ru",), "kk": ("kk",), "both": ("ru", "kk")}


async def seed(storage: Storage) -> None:
    feeds = await storage.feeds.sync(
        [
            FeedSpec("https://ru.example.kz/rss", "Outlet RU", "ru"),
            FeedSpec("https://kk.example.kz/rss", "Outlet KK", "kk"),
            FeedSpec("https://other.example.kz/rss", "Другое СМИ", "ru"),
            FeedSpec("https://third.example.kz/rss", "Үшінші", "kk"),
        ],
        UNTIL,
    )
    ru, kk, other, third = (f.id for f in feeds)
    seen = UNTIL - timedelta(hours=3)

    def article(feed: int, lang: str, slug: str, title: str, topics: tuple[str, ...], hours_ago: float,
                reprint_of: int | None = None, url: str | None = None) -> NewArticle:
        published = UNTIL - timedelta(hours=hours_ago)
        return NewArticle(
            feed_id=feed, url=url or f"https://{lang}.example.kz/{slug}", guid=None, title=title, summary="",
            lang=lang, published_at=published, first_seen_at=min(seen, published + timedelta(hours=1)), topics=topics,
            reprint_of=reprint_of,
        )

    [widely] = await storage.articles.insert_many(
        [article(ru, "ru", "widely", "RU-WIDELY перепечатанная новость", ("investments",), 9)]
    )
    await storage.articles.insert_many(
        [
            article(other, "ru", "copy1", "RU-COPY перепечатка", ("investments",), 8, reprint_of=widely),
            article(third, "kk", "copy2", "KK-COPY көшірме", ("investments",), 8, reprint_of=widely),
            *[article(ru, "ru", f"inv{i}", f"RU-INV-{i} инвестиции", ("investments",), 1 + i / 10) for i in range(7)],
            article(kk, "kk", "inv-kk", "KK-INV инвестиция жаңалығы", ("investments",), 2),
            article(ru, "ru", "china", HOSTILE, ("china", "energy"), 2, url=HOSTILE_URL),
            article(kk, "kk", "china-kk", "KK-CHINA Қытай жаңалығы", ("china",), 2),
            article(kk, "kk", "energy-kk", "KK-ENERGY энергетика", ("energy",), 2),
            article(ru, "ru", "old", "RU-OLD вне окна", ("energy",), 30),  # first seen before the window
        ]
    )


def visible(messages: list[str]) -> str:
    """What the subscriber sees, after Telegram's own parsing (which also proves the markup valid)."""
    out = []
    for message in messages:
        text, _ = parse_html(message)
        assert utf16_len(text) <= TELEGRAM_LIMIT
        out.append(text)
    return "\n".join(out)


@pytest.mark.parametrize(("news", "ui"), list(itertools.product(LANG_CHOICES, ("ru", "kk"))))
async def test_digest_in_every_language_combination(storage: Storage, news: str, ui: str) -> None:
    await seed(storage)
    rules = topic_rules()
    langs = LANG_CHOICES[news]
    request = DigestRequest(topics=TOPICS, langs=langs, ui_lang=ui, since=UNTIL - timedelta(hours=24), until=UNTIL)
    digest = await build_digest(storage, request, rules.keys)
    names = {k: rules.name(k, ui) for k in rules.keys}
    messages = render_digest(digest, names, ZONE)
    seen = visible(messages)

    # Header and labels in the interface language.
    assert messages[0].startswith(f"<b>{t(ui, 'digest.header', date='08.08.2025')}</b>")
    for lang in langs:
        assert f"{t(ui, f'lang.{lang}')} · " in seen
    other_ui = "kk" if ui == "ru" else "ru"
    assert t(other_ui, "digest.header", date="08.08.2025") not in seen

    # Items only in the chosen news languages; nothing outside the window; reprints are not items.
    assert {r.lang for s in digest.sections for story in s.items for r in story.reports} == set(langs)
    assert ("RU-INV-0" in seen) == ("ru" in langs)
    assert ("KK-CHINA" in seen) == ("kk" in langs)
    assert "RU-OLD" not in seen
    assert "RU-COPY" not in seen and "KK-COPY" not in seen

    # Grouped by topic, in the catalog's order, each under its name in the interface language.
    sections = [s.topic for s in digest.sections]
    assert sections == [k for k in rules.keys if k in sections]
    positions = [seen.index(names[k]) for k in sections]
    assert positions == sorted(positions)
    assert "trade" not in sections  # a topic without news gets no heading
    # Energy has its Kazakh item; the Russian one on China and energy is shown once, under China.
    assert ("energy" in sections) == ("kk" in langs)

    if "ru" in langs:
        investments = digest.sections[0]
        # The story several outlets carried ranks first although it is the oldest.
        assert investments.items[0].lead.title.startswith("RU-WIDELY")
        if news == "both":
            assert f"{t(ui, 'digest.also')} Другое СМИ ({t(ui, 'lang.ru')}), Үшінші ({t(ui, 'lang.kk')})" in seen
        else:  # a reader of Russian news only gets no link to the Kazakh reprint
            assert f"{t(ui, 'digest.also')} Другое СМИ ({t(ui, 'lang.ru')})\n" in seen
            assert "Үшінші" not in seen
        # More than fit: "…and K more: /digest investments" in the interface language.
        assert investments.more > 0
        more = tn(ui, "digest.more_one", "digest.more_many", investments.more, topic="investments")
        assert more in seen and "/digest investments" in more
        # An article on two topics appears once, under the first of them; hostile text is escaped.
        assert seen.count(HOSTILE) == 1
        china = next(s for s in digest.sections if s.topic == "china")
        assert HOSTILE in [story.lead.title for story in china.items]
        assert "&lt;b&gt;КНР&lt;/b&gt;" in "".join(messages) and "<b>КНР</b>" not in "".join(messages)
        _, entities = parse_html("".join(m for m in messages if "КНР" in m))
        assert HOSTILE_URL in [e.get("url") for e in entities]


@pytest.mark.parametrize("ui", ["ru", "kk"])
async def test_nothing_new_is_said_in_the_interface_language(storage: Storage, ui: str) -> None:
    await seed(storage)
    request = DigestRequest(topics=("trade",), langs=("ru", "kk"), ui_lang=ui, since=UNTIL - timedelta(hours=24),
                            until=UNTIL)
    digest = await build_digest(storage, request, topic_rules().keys)
    assert digest.empty
    assert render_digest(digest, {}, ZONE) == [t(ui, "digest.empty")]


async def seed_bilingual_story(storage: Storage) -> None:
    """One event reported by three outlets in two languages (a story), next to two single reports."""
    feeds = await storage.feeds.sync(
        [
            FeedSpec("https://ru.example.kz/rss", "Outlet RU", "ru"),
            FeedSpec("https://kk.example.kz/rss", "Outlet KK", "kk"),
            FeedSpec("https://other.example.kz/rss", "Другое СМИ", "ru"),
        ],
        UNTIL,
    )
    ru, kk, other = (f.id for f in feeds)

    def article(feed: int, lang: str, slug: str, title: str, hours_ago: float, story: int | None = None) -> NewArticle:
        published = UNTIL - timedelta(hours=hours_ago)
        return NewArticle(
            feed_id=feed, url=f"https://{lang}.example.kz/{slug}", guid=None, title=title, summary="", lang=lang,
            published_at=published, first_seen_at=published, topics=("investments",), story_id=story,
        )

    [first] = await storage.articles.insert_many([article(ru, "ru", "plant", "RU-PLANT завод запущен", 6)])
    await storage.articles.insert_many(
        [
            article(kk, "kk", "plant-kk", "KK-PLANT зауыт іске қосылды", 5, story=first),
            article(other, "ru", "plant-2", "RU-PLANT-2 запуск завода", 4, story=first),
            article(ru, "ru", "lone", "RU-LONE свежая одиночная новость", 1),
            article(kk, "kk", "lone-kk", "KK-LONE жалғыз жаңалық", 1),
        ]
    )


@pytest.mark.parametrize("ui", ["ru", "kk"])
async def test_a_story_is_shown_once_headed_in_the_interface_language(storage: Storage, ui: str) -> None:
    await seed_bilingual_story(storage)
    rules = topic_rules()
    request = DigestRequest(topics=("investments",), langs=("ru", "kk"), ui_lang=ui,
                            since=UNTIL - timedelta(hours=24), until=UNTIL)
    digest = await build_digest(storage, request, rules.keys)
    messages = render_digest(digest, {k: rules.name(k, ui) for k in rules.keys}, ZONE)
    seen = visible(messages)
    _, entities = parse_html("".join(messages))
    links = [e.get("url") for e in entities if e.get("type") == "text_link"]

    [section] = digest.sections
    assert len(section.items) == 3  # the story once, the two lone reports
    # Three outlets in two languages rank above the newer single reports.
    top = section.items[0]
    assert top.lead.lang == ui
    assert top.lead.title.startswith("RU-PLANT" if ui == "ru" else "KK-PLANT")
    # Only the lead's headline is shown; the other reports are links marked with outlet and language.
    headlines = [h for h in ("RU-PLANT завод", "KK-PLANT", "RU-PLANT-2") if h in seen]
    assert headlines == (["RU-PLANT завод"] if ui == "ru" else ["KK-PLANT"])
    for url in ("https://ru.example.kz/plant", "https://kk.example.kz/plant-kk", "https://ru.example.kz/plant-2"):
        assert links.count(url) == 1
    other = "Outlet KK (" + t(ui, "lang.kk") + ")" if ui == "ru" else "Outlet RU (" + t(ui, "lang.ru") + ")"
    assert other in seen and "Другое СМИ (" + t(ui, "lang.ru") + ")" in seen


async def test_a_story_keeps_only_the_chosen_news_language(storage: Storage) -> None:
    await seed_bilingual_story(storage)
    request = DigestRequest(topics=("investments",), langs=("kk",), ui_lang="ru",
                            since=UNTIL - timedelta(hours=24), until=UNTIL)
    digest = await build_digest(storage, request, topic_rules().keys)
    [section] = digest.sections
    assert [s.lead.title for s in section.items] == ["KK-LONE жалғыз жаңалық", "KK-PLANT зауыт іске қосылды"]
    assert all(r.lang == "kk" for s in section.items for r in s.reports)


async def seed_continuing_story(storage: Storage) -> None:
    """Yesterday a Russian report of an event; today its Kazakh version and another Russian outlet's."""
    feeds = await storage.feeds.sync(
        [FeedSpec("https://ru.example.kz/rss", "Outlet RU", "ru"), FeedSpec("https://kk.example.kz/rss", "Outlet KK", "kk")],
        UNTIL,
    )
    ru, kk = (f.id for f in feeds)

    def article(feed: int, lang: str, slug: str, title: str, hours_ago: float, topics: tuple[str, ...],
                story: int | None = None) -> NewArticle:
        when = UNTIL - timedelta(hours=hours_ago)
        return NewArticle(
            feed_id=feed, url=f"https://{lang}.example.kz/{slug}", guid=None, title=title, summary="", lang=lang,
            published_at=when, first_seen_at=when, topics=topics, story_id=story,
        )

    [yesterday] = await storage.articles.insert_many(
        [article(ru, "ru", "y", "RU-YESTERDAY сделка", 30, ("investments",))]
    )
    [energy_old] = await storage.articles.insert_many(
        [article(ru, "ru", "e", "RU-ENERGY-OLD энергоблок", 30, ("energy",))]
    )
    await storage.articles.insert_many(
        [
            article(kk, "kk", "y-kk", "KK-TODAY келісім", 5, ("investments",), story=yesterday),
            article(ru, "ru", "y-2", "RU-TODAY-2 сделка подробно", 4, ("investments",), story=yesterday),
            # The earlier report was on a topic this reader does not follow: for them the story is new.
            article(ru, "ru", "e-2", "RU-ENERGY-NEW инвестиции в энергоблок", 3, ("investments",), story=energy_old),
        ]
    )


@pytest.mark.parametrize("news", ["ru", "kk", "both"])
async def test_a_story_told_in_an_earlier_digest_is_not_repeated(storage: Storage, news: str) -> None:
    from bot.delivery.plan import DigestFactory

    await seed_continuing_story(storage)
    rules = topic_rules()
    request = DigestRequest(topics=("investments",), langs=LANG_CHOICES[news], ui_lang="ru",
                            since=UNTIL - timedelta(hours=24), until=UNTIL)
    digest = await build_digest(storage, request, rules.keys)
    seen = visible(render_digest(digest, {k: rules.name(k, "ru") for k in rules.keys}, ZONE))

    if news == "kk":  # yesterday's report was Russian: a Kazakh-only reader has not had this story
        assert "KK-TODAY" in seen
    else:  # told yesterday in Russian: neither today's Kazakh version nor another outlet is news
        assert "KK-TODAY" not in seen and "RU-TODAY-2" not in seen and "RU-YESTERDAY" not in seen
    assert ("RU-ENERGY-NEW" in seen) == (news != "kk")
    # The daily broadcast selects from its pool exactly as /digest does.
    assert (await DigestFactory(storage, rules).build(request)).sections == digest.sections
