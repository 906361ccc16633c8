"""Running for months: webhook mode, /healthz and /metrics, retention, upgrades from every schema."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_dispatcher, create_webhook_app
from bot.config import Settings
from bot.health import HealthPolicy, create_health_app
from bot.ingest.pipeline import Ingestor
from bot.services import load_catalogs
from bot.telegram.session import create_bot
from storage import FeedSpec, NewArticle, Storage
from storage.maintenance import MaintenanceStore
from storage.migrations import LATEST_VERSION, MIGRATIONS
from tests.fake_telegram import FakeTelegram

NOW = datetime(2025, 10, 8, 6, 0, tzinfo=UTC)
SECRET = "s3cret-token_for-webhook"


def update(update_id: int, chat_id: int, text: str) -> dict[str, object]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": "kk"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": int(NOW.timestamp()), "chat": {"id": chat_id, "type": "private"},
            "from": user, "text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def test_webhook_accepts_updates_with_the_secret_and_rejects_others(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=fake.token, telegram_api_url=fake.base_url, database_path=tmp_path / "db.sqlite3",
            webhook_url="https://bot.example.kz/tg/hook",
        )
        catalogs = load_catalogs(settings)
        store = await Storage.open(settings.database_path)
        bot = create_bot(settings)
        dp = create_dispatcher(
            storage=store, settings=settings, catalogs=catalogs,
            ingestor=Ingestor(store, catalogs.topics, catalogs.projects),
        )
        server = TestServer(create_webhook_app(dp, bot, secret=SECRET, path="/tg/hook"), host="127.0.0.1")
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as http:
                url = str(server.make_url("/tg/hook"))
                async with http.post(url, json=update(1, 77, "/help")) as resp:
                    assert resp.status == 401
                headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                async with http.post(url, json=update(2, 77, "/help"), headers=headers) as resp:
                    assert resp.status == 401
                assert fake.messages_to(77) == []
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                async with http.post(url, json=update(3, 77, "/help"), headers=headers) as resp:
                    assert resp.status == 200
            [reply] = await fake.wait_for(1, chat_id=77)
            assert "жаңалықтардан іздеу" in reply.visible_text  # /help, in the sender's Kazakh
        finally:
            await server.close()
            await bot.session.close()
            await store.close()


async def _health(storage: Storage, running: bool = True) -> tuple[int, dict[str, object], str]:
    app = create_health_app(
        storage, HealthPolicy(ingest_stale_after=timedelta(hours=2)), lambda: running, clock=lambda: NOW
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(server.make_url("/healthz")) as resp:
                status, body = resp.status, json.loads(await resp.text())
            async with http.get(server.make_url("/metrics")) as resp:
                metrics = await resp.text()
    finally:
        await server.close()
    return status, body, metrics


async def test_healthz_turns_unhealthy_when_ingestion_keeps_failing(storage: Storage) -> None:
    [feed] = await storage.feeds.sync([FeedSpec("https://a.kz/rss", "A")], NOW - timedelta(days=1))
    await storage.feeds.record_success(
        feed.id, now=NOW - timedelta(minutes=30), status="ok", etag=None, last_modified=None, body_sha256="x",
        problem=None,
    )
    status, body, _ = await _health(storage)
    assert status == 200 and body["status"] == "ok" and body["database_writable"] is True

    for hours in (3, 2, 1):
        await storage.feeds.record_failure(feed.id, now=NOW - timedelta(hours=hours) + timedelta(hours=3), reason="HTTP 500", next_attempt_at=None)
    async with storage.db.write() as conn:  # the last success is now long ago
        await conn.execute("UPDATE feeds SET last_success_at = ?", (int((NOW - timedelta(hours=5)).timestamp()),))
    status, body, metrics = await _health(storage)
    assert status == 503 and "no feed fetched successfully recently" in body["problems"]  # type: ignore[operator]
    families = {f.name: f for f in text_string_to_metric_families(metrics)}
    assert families["habar_feeds_failing"].samples[0].value == 1
    assert {"habar_messages_sent", "habar_telegram_429", "habar_digest_queue", "habar_delivery_lag_seconds"} <= set(families)

    status, body, _ = await _health(storage, running=False)
    assert status == 503 and "scheduler is not running" in body["problems"]  # type: ignore[operator]


async def test_retention_removes_old_articles_and_their_index_entries(storage: Storage) -> None:
    [feed] = await storage.feeds.sync([FeedSpec("https://a.kz/rss", "A")], NOW)
    rows = [
        NewArticle(
            feed_id=feed.id, url=f"https://a.kz/{n}", guid=None, title=f"Метанол {n}", summary="", lang="ru",
            published_at=NOW - timedelta(days=n), first_seen_at=NOW, topics=("industry",),
        )
        for n in range(0, 1200, 3)
    ]
    await storage.articles.insert_many(rows)
    removed = await MaintenanceStore(storage.db).remove_older_than(NOW - timedelta(days=365), batch=50, pause=0)
    kept = [a async for a in storage.articles.iter_all()]
    assert removed == len(rows) - len(kept) and all(a.published_at >= NOW - timedelta(days=365) for a in kept)
    async with storage.db.conn.execute("SELECT count(*) FROM article_search") as cur:
        assert (await cur.fetchone())[0] == len(kept)
    async with storage.db.conn.execute("SELECT count(*) FROM article_topics") as cur:
        assert (await cur.fetchone())[0] == len(kept)


# Rows a database of an earlier version may hold: each statement runs when its table exists at that version.
# A new migration needs nothing here to be tested; add rows for the tables it creates.
SEED_ROWS = (
    "INSERT INTO feeds (id, url, name, created_at) VALUES (1, 'https://a.kz/rss', 'A', 0)",
    "INSERT INTO articles (id, feed_id, url, title, lang, published_at, first_seen_at) "
    "VALUES (1, 1, 'https://a.kz/1', 'Сатимола', 'ru', 1754600000, 1754600000)",
    "INSERT INTO article_topics (topic, article_id) VALUES ('projects', 1)",
    "INSERT INTO projects (id, key, name_ru, known, created_at) VALUES (1, 'satimola', 'Сатимола', 1, 0)",
    "INSERT INTO project_mentions (project_id, article_id, surface) VALUES (1, 1, 'Сатимола')",
    "INSERT INTO subscribers (chat_id, user_id, ui_lang, news_langs, digest_time, created_at, updated_at) "
    "VALUES (5, 5, 'kk', 'kk', '08:30', 0, 0)",
    "INSERT INTO subscriber_topics (chat_id, topic) VALUES (5, 'china')",
    "INSERT INTO delivery_texts (id, sha256, body) VALUES (1, 'x', 'Дайджест')",
    "INSERT INTO deliveries (chat_id, local_date, part, parts, text_id, digest_until, status, created_at, updated_at) "
    "VALUES (5, '2025-08-08', 1, 1, 1, 0, 'sent', 0, 0)",
)


def database_at(path: Path, version: int) -> dict[str, int]:
    """A database as Habar left it at schema `version`, with rows in every table; returns the row counts."""
    conn = sqlite3.connect(path)
    try:
        for script in MIGRATIONS[:version]:
            conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {version}")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for statement in SEED_ROWS:
            if statement.split()[2] in tables:
                conn.execute(statement)
        conn.commit()
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
async def test_every_earlier_schema_upgrades_to_the_latest_keeping_its_data(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.sqlite3"
    before = database_at(path, version)
    assert (version == 0) == (not before)

    store = await Storage.open(path)  # the upgrade runs at start, as in `run`
    try:
        assert await store.db.schema_version() == LATEST_VERSION
        async with store.db.conn.execute("PRAGMA integrity_check") as cur:
            assert (await cur.fetchone())[0] == "ok"
        for table, rows in before.items():  # nothing lost, whatever the migrations did
            async with store.db.conn.execute(f'SELECT count(*) FROM "{table}"') as cur:
                assert (await cur.fetchone())[0] == rows, table
        if "articles" in before:
            [found] = await store.articles.search("сатимола")
            article = await store.articles.get(found.id)
            assert article is not None and article.topics == ("projects",) and article.feed_name == "A"
            assert [a.url for a in [x async for x in store.articles.iter_all()]] == ["https://a.kz/1"]
        if "subscribers" in before:
            subscriber = await store.subscribers.get(5)
            assert subscriber is not None and subscriber.ui_lang == "kk" and subscriber.topics == ("china",)
            assert subscriber.digest_time == "08:30" and subscriber.active
        if "deliveries" in before:
            assert (await store.stats.counts()).deliveries == {"sent": 1}
        # And the upgraded database takes new data.
        [feed] = await store.feeds.sync([FeedSpec("https://b.kz/rss", "B")], NOW)
        await store.articles.insert_many([
            NewArticle(feed_id=feed.id, url="https://b.kz/1", guid=None, title="Метанол", summary="", lang="ru",
                       published_at=NOW, first_seen_at=NOW, topics=("industry",)),
        ])
        assert [a.title for a in await store.articles.search("метанол")] == ["Метанол"]
    finally:
        await store.close()
