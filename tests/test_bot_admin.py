"""Operators' /stats, /feeds and /ingest; for anyone else they do not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.ingest.isolated import IsolatedIngestor
from tests.bot_harness import (
    ADMIN_ID,
    BAD_FEED_PATH,
    FEED_NAME,
    OK_FEED_PATH,
    BotApp,
    bot_app_fixture,  # noqa: F401  (the fixture)
    running_bot,
    t,
    visible,
)
from tests.fake_telegram import FakeTelegram
from tests.feed_server import FeedServer
from tests.feedgen import Item, rss


@pytest.mark.parametrize("command", ["/stats", "/feeds", "/ingest"])
@pytest.mark.parametrize("lang", ["ru", "kk"])
async def test_not_for_ordinary_users(bot_app: BotApp, command: str, lang: str) -> None:
    [reply] = await bot_app.say(123, command, lang=lang)
    assert reply.visible_text == t(lang, "fallback.unknown_command")
    assert bot_app.feeds.hits.total() == 0


async def test_stats(bot_app: BotApp) -> None:
    await bot_app.add_article("Инвестиции в Китае", topics=("investments", "china"))
    await bot_app.add_article("Қытай", lang="kk", topics=("china",))
    await bot_app.say(1, "/start")
    await bot_app.say(2, "/start")
    [question] = await bot_app.say(2, "/stop")
    await bot_app.press(2, question, "Да, отписаться")

    [reply] = await bot_app.say(ADMIN_ID, "/stats")

    assert reply.visible_text.splitlines() == [
        "Статистика",
        "Ленты: 2 в порядке, 0 с ошибками",
        "Статьи: 2 (рус. 1, каз. 1)",
        "• Китай: 2",
        "• Инвестиции: 1",
        "Проекты и компании: 0",
        "Подписчики: активных — 1, неактивных — 1",
    ]
    [kk] = await bot_app.say(ADMIN_ID, "/stats", lang="kk")
    assert "Жазылушылар: 1 белсенді, 1 белсенді емес" in kk.visible_text


async def test_feed_health(bot_app: BotApp) -> None:
    [ok, bad] = await bot_app.store.feeds.enabled()
    now = bot_app.clock()
    await bot_app.store.feeds.record_success(
        ok.id,
        now=now - timedelta(hours=1),
        status="ok",
        etag=None,
        last_modified=None,
        body_sha256=None,
        problem=None,
    )
    await bot_app.store.feeds.record_failure(
        bad.id, now=now, reason="HTTP 500 <html><body>Oops & </a>", next_attempt_at=None
    )

    [reply] = await bot_app.say(ADMIN_ID, "/feeds")

    assert reply.visible_text.splitlines() == [
        "Ленты: 1 в порядке, 1 с ошибками",
        f"✅ {FEED_NAME} — последняя удачная загрузка 12.05 06:00",
        "❌ Жабық <b>арна</b> — ошибок подряд: 1; HTTP 500 <html><body>Oops & </a>; последняя удачная загрузка: не было",
    ]
    [kk] = await bot_app.say(ADMIN_ID, "/feeds", lang="kk")
    assert kk.visible_text.startswith("Таспалар: 1 жұмыс істеп тұр, 1 қатемен")


async def test_feeds_never_fetched(bot_app: BotApp) -> None:
    [reply] = await bot_app.say(ADMIN_ID, "/feeds", lang="kk")
    assert f"⏳ {FEED_NAME} — әлі тексерілмеген" in reply.visible_text


async def test_ingest_runs_a_pass_and_reports(bot_app: BotApp) -> None:
    published = bot_app.clock() - timedelta(hours=1)
    bot_app.feeds.add_feed(
        OK_FEED_PATH,
        rss(
            [
                Item(
                    "Китай инвестирует в завод в Актобе",
                    "https://ok.example.kz/1",
                    "Инвестиции",
                    published=published,
                ),
                Item(
                    "В Астане открылся новый технопарк",
                    "https://ok.example.kz/2",
                    "Новость",
                    published=published,
                ),
            ]
        ),
    )
    bot_app.feeds.add_status(BAD_FEED_PATH, 404)

    [started, report] = await bot_app.say(ADMIN_ID, "/ingest")

    assert started.visible_text == t("ru", "admin.ingest_started")
    lines = report.visible_text.splitlines()
    assert lines[0] == visible(t("ru", "admin.ingest_done", feeds=2, new=2, duplicate=0, failed=1))
    assert lines[1].startswith("❌ Жабық <b>арна</b>: ")
    assert "404" in lines[1]
    assert await bot_app.store.articles.count() == 2

    [again, second] = await bot_app.say(ADMIN_ID, "/ingest", lang="kk")
    assert again.visible_text == "Жаңалықтарды жинау басталды…"
    assert second.visible_text.startswith("Жинау аяқталды: таспалар 2, жаңа мақалалар 0")


async def test_ingest_in_the_services_child_process_reports_and_a_crashed_pass_is_told(tmp_path: Path) -> None:
    """As `run` wires it (bot/ingest/isolated.py): the pass runs in a child process on the real clock."""
    published = datetime.now(UTC) - timedelta(hours=1)
    (tmp_path / "ok").mkdir()
    (tmp_path / "broken").mkdir()
    async with FakeTelegram() as fake, FeedServer() as feeds:
        feeds.add_feed(OK_FEED_PATH, rss([Item("Китай инвестирует в завод в Актобе", "https://ok.example.kz/1", "Инвестиции", published=published)]))
        feeds.add_status(BAD_FEED_PATH, 404)
        async with running_bot(tmp_path / "ok", fake, feeds, ingestor=IsolatedIngestor) as app:
            [started, report] = await app.say(ADMIN_ID, "/ingest")
            assert started.visible_text == t("ru", "admin.ingest_started")
            lines = report.visible_text.splitlines()
            assert lines[0] == visible(t("ru", "admin.ingest_done", feeds=2, new=1, duplicate=0, failed=1))
            assert lines[1].startswith("❌ Жабық <b>арна</b>: ") and "404" in lines[1]
            assert [a.title async for a in app.store.articles.iter_all()] == ["Китай инвестирует в завод в Актобе"]

        def broken(settings: Settings) -> IsolatedIngestor:  # the child cannot load its topics file
            return IsolatedIngestor(settings.model_copy(update={"topics_file": tmp_path / "gone.toml"}))

        async with running_bot(tmp_path / "broken", fake, feeds, ingestor=broken) as app:
            [started, crashed] = await app.say(ADMIN_ID, "/ingest", lang="kk")
            assert started.visible_text == "Жаңалықтарды жинау басталды…"
            assert crashed.visible_text == t("kk", "admin.ingest_crashed")
