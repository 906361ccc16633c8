"""Running for months: webhook mode, /healthz and /metrics, retention, upgrades from every schema."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
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


async def test_every_earlier_schema_upgrades_to_the_latest(tmp_path: Path) -> None:
    for version in range(1, LATEST_VERSION):
        path = tmp_path / f"v{version}.sqlite3"
        conn = sqlite3.connect(path)
        for script in MIGRATIONS[:version]:
            conn.executescript(script)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("INSERT INTO feeds (url, name, created_at) VALUES ('https://a.kz/rss', 'A', 0)")
        conn.execute(
            "INSERT INTO articles (feed_id, url, title, lang, published_at, first_seen_at) "
            "VALUES (1, 'https://a.kz/1', 'Сатимола', 'ru', 0, 0)"
        )
        conn.commit()
        conn.close()
        store = await Storage.open(path)
        try:
            assert await store.db.schema_version() == LATEST_VERSION
            assert [a.title for a in await store.articles.search("сатимола")] == ["Сатимола"]
            counts = await store.stats.counts()
            assert counts.articles_total == 1
        finally:
            await store.close()
