"""One delivery run: recover what a crash left in flight, plan who is due (and, from the scheduler, the
followers' alerts), send everything open.

Shared by the scheduler's minute tick (`bot.scheduler.deliver_due`) and `digest --send`; they differ only
in who counts as due (their chosen time has passed / not served today at all).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot

from bot.delivery.alerts import AlertReport, plan_alerts
from bot.delivery.broadcast import BroadcastOptions, BroadcastReport, broadcast
from bot.delivery.plan import DuePredicate, PlanReport, TopicCatalog, plan_digests
from bot.delivery.ratelimit import Sleep
from bot.digest.schedule import is_due
from storage import Storage

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    recovered: int  # parts found in flight after a crash, to be resent (at-least-once)
    expired: int  # open parts dropped as too old or for subscribers who left
    plan: PlanReport
    broadcast: BroadcastReport
    alerts: AlertReport | None = None  # None: this run did not plan alerts (digest --send)


async def deliver(
    storage: Storage,
    bot: Bot,
    topics: TopicCatalog,
    now: datetime,
    *,
    options: BroadcastOptions,
    due: DuePredicate = is_due,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    alerts: bool = False,
) -> DeliveryReport:
    """Must not run concurrently with another delivery on the same database (see storage/deliveries.py)."""
    recovered = await storage.deliveries.recover_in_doubt(now)
    if recovered:
        log.warning("resending %d digest parts that were in flight when the sender stopped", recovered)
    expired = await storage.deliveries.expire(now)
    plan = await plan_digests(storage, topics, now, due=due)
    if plan.due:
        log.info(
            "planned due=%d new=%d already=%d empty_skipped=%d distinct_digests=%d",
            plan.due, plan.planned, plan.already_planned, plan.empty_skipped, plan.digests,
        )
    alert_report = await plan_alerts(storage, now) if alerts else None
    sent = await broadcast(storage, bot, options, now=now, monotonic=monotonic, sleep=sleep)
    return DeliveryReport(recovered=recovered, expired=expired, plan=plan, broadcast=sent, alerts=alert_report)
