"""/metrics moves with the running service: the scheduler's ingestion job and delivery tick, as `run` wires them,
against feeds and a Bot API served on 127.0.0.1; then /metrics is read with Prometheus's own text parser."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from aiogram import Bot
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import Clock
from bot.config import DEFAULT_PROJECTS_FILE, Settings
from bot.delivery.plan import plan_digests
from bot.health import HealthPolicy, create_health_app
from bot.ingest.pipeline import Ingestor
from bot.ingest.projects import ProjectCatalog
from bot.scheduler import create_scheduler
from storage import FeedSpec, Storage
from tests import fake_telegram as fake_module
from tests.delivery_support import Catalog, add_subscribers, at, bot_fixture, topic_rules  # noqa: F401  ("bot")
from tests.fake_telegram import FakeTelegram
from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401  (fixture "feed_server")
from tests.feedgen import Item, rss

fake_telegram = fake_module.fake_telegram  # the fixture

NOW = at("09:05")  # everyone's 09:00 digest is due

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(storage: Storage, clock: Clock) -> Samples:
    """GET /metrics from the health app as `run` serves it, parsed by prometheus_client.parser."""
    app = create_health_app(storage, HealthPolicy(ingest_stale_after=timedelta(hours=2)), lambda: True, clock=clock)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/metrics")) as resp:
            assert resp.status == 200
            text = await resp.text()
    finally:
        await server.close()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def news(n: int) -> list[Item]:
    return [
        Item(
            f"Китайские инвесторы вложат {n + i} млрд тенге в завод в ЗКО",
            f"https://ru.example.kz/invest/{n + i}",
            "Проект обсудили на инвестиционном штабе в Уральске вместе с партнерами из Китая.",
            guid=f"ru-{n + i}",
            published=NOW - timedelta(hours=1),
        )
        for i in range(3)
    ]


async def test_ingestion_and_a_broadcast_move_the_metrics(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram, feed_server: FeedServer
) -> None:
    feed_server.add_feed("/ok.rss", rss(news(0)))
    feed_server.add_status("/broken.rss", 500)
    catalogs = Catalog(
        topic_rules(), (FeedSpec(feed_server.url("/ok.rss"), "OK", "ru"), FeedSpec(feed_server.url("/broken.rss"), "Broken"))
    )
    settings = Settings(_env_file=None, bot_token=fake_telegram.token, telegram_api_url=fake_telegram.base_url)  # type: ignore[call-arg]
    ingestor = Ingestor(
        storage, topic_rules(), ProjectCatalog.load(DEFAULT_PROJECTS_FILE), clock=lambda: NOW,
        fetcher_options={"total_timeout": 3, "connect_timeout": 2},
    )
    scheduler = create_scheduler(
        settings=settings, storage=storage, catalogs=catalogs, ingestor=ingestor, bot=bot, clock=lambda: NOW  # type: ignore[arg-type]
    )
    jobs = {job.id: job for job in scheduler.get_jobs()}
    start = await scrape(storage, lambda: NOW)

    await jobs["ingest"].func()  # the scheduler's ingestion job, as `run` runs it

    ingested = await scrape(storage, lambda: NOW)
    assert moved(start, ingested, "habar_ingest_passes_total") == 1
    assert moved(start, ingested, "habar_articles_ingested_total") == 3
    assert moved(start, ingested, "habar_feed_failures_total") == 1
    assert value(ingested, "habar_feeds_failing") == 1
    assert value(ingested, "habar_articles", lang="ru") == 3
    assert value(ingested, "habar_last_ingest_success_timestamp") == NOW.timestamp()

    # Three subscribers due; the ledger is planned first, so the queue and its lag show before anything is sent.
    await add_subscribers(storage, [11, 12, 13], NOW - timedelta(days=1), topics=topic_rules().keys)
    plan = await plan_digests(storage, topic_rules(), NOW)
    assert plan.planned == 3
    queued = await scrape(storage, lambda: NOW + timedelta(minutes=5))
    parts = value(queued, "habar_digest_queue")
    assert parts >= 3
    assert value(queued, "habar_delivery_lag_seconds") == 300

    fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
    fake_telegram.block(13)
    await jobs["deliver"].func()  # the minute tick: sends what is planned

    sent = await scrape(storage, lambda: NOW + timedelta(minutes=6))
    delivered = [m for m in fake_telegram.sent if m.method == "sendMessage"]
    assert moved(queued, sent, "habar_messages_sent_total") == len(delivered) > 0
    assert moved(queued, sent, "habar_telegram_429_total") == 1
    assert moved(queued, sent, "habar_send_errors_total", verdict="flood") == 1
    assert moved(queued, sent, "habar_send_errors_total", verdict="blocked") == 1
    assert value(sent, "habar_digest_queue") == 0
    assert value(sent, "habar_delivery_lag_seconds") == 0
