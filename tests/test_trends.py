"""The trends chart: a real PNG whose bars are the stored story counts, localized, cached per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import DEFAULT_TOPICS_FILE
from bot.i18n import t
from bot.topics import TopicRules
from bot.trends import TrendCharts, load_trends, render_png
from storage import FeedSpec, NewArticle, Storage

NOW = datetime(2025, 10, 8, 7, 0, tzinfo=UTC)  # 12:00 in Almaty
ZONE = ZoneInfo("Asia/Almaty")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def seed(storage: Storage) -> None:
    [feed] = await storage.feeds.sync([FeedSpec("https://a.kz/rss", "A")], NOW)
    rows = []
    n = 0

    def add(days_ago: int, lang: str, topics: tuple[str, ...], reprint_of: int | None = None) -> None:
        nonlocal n
        n += 1
        rows.append(
            NewArticle(
                feed_id=feed.id, url=f"https://a.kz/{n}", guid=None, title=f"Новость {n}", summary="", lang=lang,
                published_at=NOW - timedelta(days=days_ago), first_seen_at=NOW, topics=topics, reprint_of=reprint_of,
            )
        )

    add(0, "ru", ("investments", "china"))
    add(0, "ru", ("investments",))
    add(0, "kk", ("investments",))
    add(2, "kk", ("energy",))
    add(2, "kk", ("energy",))
    add(40, "ru", ("energy",))  # outside the 30-day window
    await storage.articles.insert_many(rows)
    # A reprint of the first article: same story, must not add a bar.
    await storage.articles.insert_many(
        [NewArticle(feed_id=feed.id, url="https://a.kz/copy", guid=None, title="Новость 1", summary="", lang="ru",
                    published_at=NOW, first_seen_at=NOW, topics=("investments", "china"), reprint_of=1)]
    )


async def test_drawn_bars_match_stored_counts(storage: Storage) -> None:
    await seed(storage)
    rules = TopicRules.load(DEFAULT_TOPICS_FILE)
    data = await load_trends(storage.db, rules, now=NOW, zone=ZONE, days=30, ui="kk")
    png, drawn = render_png(data, "kk")
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    today = len(data.days) - 1
    assert drawn[("investments", "ru")][today] == 2
    assert drawn[("investments", "kk")][today] == 1
    assert drawn[("china", "ru")][today] == 1
    assert drawn[("energy", "kk")][today - 2] == 2
    total = sum(sum(v) for v in drawn.values())
    assert total == 2 + 1 + 1 + 2  # the 40-day-old article and the reprint are not drawn
    assert data.topic_names["investments"] == rules.name("investments", "kk")


async def test_chart_is_drawn_once_a_day_and_reused(storage: Storage, monkeypatch) -> None:  # noqa: ANN001
    await seed(storage)
    charts = TrendCharts(storage.db, TopicRules.load(DEFAULT_TOPICS_FILE), ZONE)
    calls = []
    import bot.trends as trends

    real = trends.render_png
    monkeypatch.setattr(trends, "render_png", lambda data, ui: calls.append(ui) or real(data, ui))
    first = await charts.chart(now=NOW, ui="ru")
    again = await charts.chart(now=NOW + timedelta(hours=3), ui="ru")
    assert first == again and calls == ["ru"]
    await charts.chart(now=NOW + timedelta(days=1), ui="ru")
    await charts.chart(now=NOW, ui="kk")
    assert calls == ["ru", "ru", "kk"]


def test_labels_are_localized() -> None:
    assert t("ru", "trends.title", days=30) != t("kk", "trends.title", days=30)
    assert "30" in t("kk", "trends.title", days=30)
