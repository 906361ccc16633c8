"""/healthz and /metrics on a local HTTP port (HEALTH_PORT), for operators and their monitoring.

/healthz answers 200 when the database takes writes, the scheduler runs, ingestion succeeded recently
and no digest part has waited too long; otherwise 503, with the reasons in the JSON body.
/metrics is Prometheus text from prometheus-client (the metrics are declared in bot/metrics.py): the
counters move as ingestion passes finish and the broadcaster sends, the gauges are read from the database
at scrape time, so they are right after a restart too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.clock import Clock, utc_now
from bot.metrics import ARTICLES, FEEDS_FAILING, LAG, LAST_INGEST, QUEUE, REGISTRY
from storage import Storage
from storage.maintenance import MaintenanceStore


@dataclass(frozen=True)
class HealthPolicy:
    ingest_stale_after: timedelta
    delivery_lag_limit: timedelta = timedelta(hours=2)


async def check(storage: Storage, policy: HealthPolicy, scheduler_running: Callable[[], bool], now: datetime) -> tuple[bool, dict[str, object]]:
    facts = await MaintenanceStore(storage.db).facts()
    problems: list[str] = []
    if not facts.writable:
        problems.append("database is not writable")
    if not scheduler_running():
        problems.append("scheduler is not running")
    if facts.feeds and (facts.last_ingest_success is None or now - facts.last_ingest_success > policy.ingest_stale_after):
        problems.append("no feed fetched successfully recently")
    if facts.oldest_open_part is not None and now - facts.oldest_open_part > policy.delivery_lag_limit:
        problems.append("digest parts are waiting too long")
    body: dict[str, object] = {
        "status": "ok" if not problems else "unhealthy",
        "problems": problems,
        "database_writable": facts.writable,
        "scheduler_running": scheduler_running(),
        "last_ingest_success": facts.last_ingest_success.isoformat() if facts.last_ingest_success else None,
        "last_delivery": facts.last_delivery.isoformat() if facts.last_delivery else None,
        "digest_queue": facts.open_parts,
    }
    return not problems, body


async def refresh_gauges(storage: Storage, now: datetime) -> None:
    counts = await storage.stats.counts()
    for lang in ("ru", "kk"):
        ARTICLES.labels(lang=lang).set(counts.articles_by_lang.get(lang, 0))
    FEEDS_FAILING.set(counts.feeds_failing)
    facts = await MaintenanceStore(storage.db).facts()
    QUEUE.set(facts.open_parts)
    LAG.set((now - facts.oldest_open_part).total_seconds() if facts.oldest_open_part else 0)
    LAST_INGEST.set(facts.last_ingest_success.timestamp() if facts.last_ingest_success else 0)


def create_health_app(
    storage: Storage, policy: HealthPolicy, scheduler_running: Callable[[], bool], clock: Clock = utc_now
) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        ok, body = await check(storage, policy, scheduler_running, clock())
        return web.Response(status=200 if ok else 503, text=json.dumps(body), content_type="application/json")

    async def metrics(request: web.Request) -> web.Response:
        await refresh_gauges(storage, clock())
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_health_server(app: web.Application, port: int, host: str = "127.0.0.1") -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
