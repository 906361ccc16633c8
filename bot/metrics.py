"""The process's Prometheus metrics, and the calls the ingestion pipeline and the broadcaster make to move them.

Counters count events of this process since it started (Prometheus handles restarts); gauges describing the
store (articles, failing feeds, digest queue, delivery lag) are set from the database when /metrics is
scraped (bot/health.py), so they are right after a restart too. Only prometheus-client is imported here,
so the pipeline and the sender can report without pulling in the HTTP server.
"""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

# Counted as they happen.
INGEST_PASSES = Counter("habar_ingest_passes", "Ingestion passes finished by this process", registry=REGISTRY)
INGESTED = Counter("habar_articles_ingested", "Articles stored by ingestion passes of this process", registry=REGISTRY)
FEED_FAILURES = Counter(
    "habar_feed_failures", "Feed fetches that failed in ingestion passes of this process", registry=REGISTRY
)
MESSAGES_SENT = Counter("habar_messages_sent", "Messages the broadcaster delivered (Telegram acknowledged them)", registry=REGISTRY)
FLOOD_WAITS = Counter("habar_telegram_429", "429 Too Many Requests answers from Telegram during broadcasts", registry=REGISTRY)
SEND_ERRORS = Counter(
    "habar_send_errors",
    "Failed broadcast sends, by verdict (flood, blocked, chat_not_found, migrated, transient, rejected, fatal)",
    ["verdict"],
    registry=REGISTRY,
)

# Set from the database at scrape time (bot.health.refresh_gauges).
ARTICLES = Gauge("habar_articles", "Articles stored", ["lang"], registry=REGISTRY)
FEEDS_FAILING = Gauge("habar_feeds_failing", "Feeds whose last fetch failed", registry=REGISTRY)
QUEUE = Gauge("habar_digest_queue", "Digest parts planned but not yet acknowledged", registry=REGISTRY)
LAG = Gauge("habar_delivery_lag_seconds", "Age of the oldest digest part not yet acknowledged", registry=REGISTRY)
LAST_INGEST = Gauge("habar_last_ingest_success_timestamp", "Unix time of the last successful feed fetch", registry=REGISTRY)


class PassReport(Protocol):
    """What `ingest_pass` needs of bot.ingest.pipeline.IngestReport."""

    @property
    def new(self) -> int: ...

    @property
    def failed(self) -> int: ...


def ingest_pass(report: PassReport) -> None:
    INGEST_PASSES.inc()
    INGESTED.inc(report.new)
    FEED_FAILURES.inc(report.failed)


def message_sent() -> None:
    MESSAGES_SENT.inc()


def flood_wait() -> None:
    FLOOD_WAITS.inc()


def send_error(verdict: str) -> None:
    SEND_ERRORS.labels(verdict=verdict).inc()
