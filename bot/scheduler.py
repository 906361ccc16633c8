"""The scheduler of `run`: feeds every INGEST_INTERVAL_MINUTES, and a delivery tick every minute.

Nobody gets a job of their own. Each minute the tick asks the database who is due (their local digest time
has passed and today's date is not recorded yet, `bot.digest.schedule.is_due`), so a restart after
someone's time, or a tick missed while the machine slept, still delivers, and the recorded date (plus
the ledger's one plan per chat and day) means nobody gets a second digest the same day.

Jobs never overlap themselves (`max_instances=1`); a tick that is still sending when the next minute comes
simply absorbs it (`coalesce`). The tick is also a plain function, `deliver_due`, which the tests call
with a driven clock instead of running APScheduler.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.delivery.broadcast import BroadcastOptions
from bot.delivery.run import DeliveryReport, deliver
from bot.ingest.isolated import IngestProcessError
from storage import Storage

if TYPE_CHECKING:
    from bot.ingest.pipeline import PassRunner
    from bot.services import Catalogs

log = logging.getLogger(__name__)

LEDGER_KEEP = timedelta(days=30)


async def deliver_due(
    storage: Storage,
    bot: Bot,
    catalogs: Catalogs,
    settings: Settings,
    now: datetime,
    *,
    options: BroadcastOptions | None = None,
) -> DeliveryReport:
    """One tick: plan and send the digest of everyone due at `now` and the alerts of project followers
    with news, and finish anything left open."""
    return await deliver(
        storage, bot, catalogs.topics, now, options=options or BroadcastOptions.from_settings(settings), alerts=True
    )


def create_scheduler(
    *,
    settings: Settings,
    storage: Storage,
    catalogs: Catalogs,
    ingestor: PassRunner,
    bot: Bot,
    clock: Clock = utc_now,
) -> AsyncIOScheduler:
    """Ingestion (first pass right away), the minute delivery tick and a nightly ledger clean-up."""
    scheduler = AsyncIOScheduler(timezone=settings.zone)

    async def ingest() -> None:
        try:
            await ingestor.run_pass(catalogs.feeds)  # the ingestor also serialises passes started elsewhere
        except IngestProcessError as exc:
            log.error("ingest pass failed: %s; the next runs in %d min", exc, settings.ingest_interval_minutes)

    async def tick() -> None:
        await deliver_due(storage, bot, catalogs, settings, clock())

    async def prune() -> None:
        removed = await storage.deliveries.prune(clock() - LEDGER_KEEP)
        log.info("ledger pruned rows=%d", removed)

    scheduler.add_job(
        ingest,
        IntervalTrigger(minutes=settings.ingest_interval_minutes, timezone=settings.zone),
        id="ingest",
        name="ingest feeds",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=settings.ingest_interval_minutes * 60,
        next_run_time=clock(),
    )
    scheduler.add_job(
        tick,
        CronTrigger(second=0, timezone=settings.zone),
        id="deliver",
        name="deliver due digests",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(
        prune,
        CronTrigger(hour=4, minute=17, timezone=settings.zone),
        id="prune-ledger",
        name="prune the delivery ledger",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    return scheduler
