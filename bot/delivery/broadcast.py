"""The sender: takes the ledger's open parts and delivers them at Telegram's pace, losing nothing.

Each chat's parts go strictly in order by one worker at a time (part 2 never overtakes part 1); many
workers run at once so that the achieved rate reaches the limiter's, even with the 1 message/s per-chat
spacing of multi-part digests. What happens after an error is decided by `classify` (a pure function);
see storage/deliveries.py for the ledger's states and the at-least-once policy for in-doubt parts.

Every part is claimed (`sending`, committed) before its request and acknowledged (`sent`, committed)
after Telegram's answer; claims and acks of different workers that coincide share a transaction
(groupcommit.py), so the ledger keeps up with hundreds of messages a second.

The flood-control middleware of `create_bot` is switched off for the broadcast's requests
(`caller_handles_flood_control`): the broadcaster must see every 429 to pause all workers at once.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import LinkPreviewOptions

from bot import metrics
from bot.config import MAX_BROADCAST_RATE, Settings
from bot.delivery.groupcommit import GroupCommit
from bot.delivery.ratelimit import RateLimiter, Sleep
from bot.logs import redact
from bot.telegram.session import caller_handles_flood_control
from storage import Ack, Delivery, Storage

log = logging.getLogger(__name__)

MAX_WORKERS = 512
MAX_MIGRATIONS_PER_PART = 3


class Verdict(enum.Enum):
    """What to do after a failed send."""

    FLOOD = "flood"  # 429: everyone waits retry_after, then the same part is sent again
    MIGRATED = "migrated"  # the group became a supergroup: follow it and send again
    BLOCKED = "blocked"  # 403: the user blocked the bot / it was kicked; deactivate, drop the rest
    GONE = "chat_not_found"  # the chat does not exist any more; deactivate, drop the rest
    TRANSIENT = "transient"  # network, 5xx, garbled answer: retry with back-off, later `failed`
    REJECTED = "rejected"  # Telegram will never take this text (bad markup, too long): give the digest up
    FATAL = "fatal"  # the token is wrong or revoked: stop the whole broadcast, keep every part


def classify(exc: BaseException) -> Verdict:
    if isinstance(exc, TelegramRetryAfter):
        return Verdict.FLOOD
    if isinstance(exc, TelegramMigrateToChat):
        return Verdict.MIGRATED
    if isinstance(exc, TelegramForbiddenError):
        return Verdict.BLOCKED
    if isinstance(exc, TelegramUnauthorizedError | TelegramNotFound):
        return Verdict.FATAL  # 404 on sendMessage means the URL (token) is wrong, not the chat
    if isinstance(exc, TelegramEntityTooLarge):
        return Verdict.REJECTED
    if isinstance(exc, TelegramBadRequest):
        text = exc.message.lower()
        if "chat not found" in text or "user not found" in text or "peer_id_invalid" in text:
            return Verdict.GONE
        return Verdict.REJECTED
    # TelegramNetworkError, TelegramServerError, RestartingTelegram, ClientDecodeError (a proxy's HTML
    # error page), any other API error and anything unexpected: worth another try later.
    return Verdict.TRANSIENT


def backoff_delay(tries: int, base: float, cap: float) -> float:
    """Seconds before request number `tries + 1` after `tries` transient failures: base, 2·base, 4·base…"""
    return min(cap, base * 2 ** max(0, tries - 1))


@dataclass(frozen=True)
class BroadcastOptions:
    """How fast and how stubbornly to send. Production takes the rate from BROADCAST_RATE (≤ 30)."""

    rate: float = 25.0
    # Aim this much below `rate`: requests reach Telegram with some jitter, and pacing exactly at the limit
    # lets two of them bunch into one window now and then; each 429 then costs everyone retry_after.
    headroom: float = 0.03
    per_chat_interval: float = 1.0
    concurrency: int | None = None
    tries: int = 3  # requests per part in one run on network errors / 5xx before leaving it `failed`
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    # A `failed` part waits before a later run takes it again: 5 min, then 15, 45, 135 (×3 each run), so
    # an outage of a few hours delays digests instead of using up their attempts in minutes.
    retry_wait: float = 300.0
    max_attempts: int = 15  # requests per part over all runs (5 runs of 3), then it is dropped

    @property
    def pace(self) -> float:
        """Messages per second the limiter aims at: `rate` less the headroom."""
        return self.rate * (1 - self.headroom)

    @classmethod
    def from_settings(cls, settings: Settings) -> BroadcastOptions:
        return cls(rate=min(settings.broadcast_rate, MAX_BROADCAST_RATE))

    def workers(self, chats: int) -> int:
        """Enough workers to keep the limiter busy while some wait out a chat's 1 s spacing."""
        wanted = self.concurrency or math.ceil(self.pace * (self.per_chat_interval + 0.5)) + 4
        return max(1, min(chats, wanted, MAX_WORKERS))


@dataclass
class BroadcastReport:
    chats: int = 0
    parts: int = 0
    sent: int = 0
    completed: int = 0  # digests whose last part went out in this run
    failed: int = 0  # parts left `failed` for a later run
    dropped: int = 0  # parts that will never be sent (blocked, gone, rejected, gave up)
    blocked: int = 0
    gone: int = 0
    migrated: int = 0
    flood_waits: int = 0  # 429 answers
    retries: int = 0  # requests repeated after network errors / 5xx
    seconds: float = 0.0
    fatal: str | None = None

    def summary(self) -> str:
        return (
            f"chats={self.chats} parts={self.parts} sent={self.sent} completed={self.completed} "
            f"failed={self.failed} dropped={self.dropped} blocked={self.blocked} not_found={self.gone} "
            f"migrated={self.migrated} 429s={self.flood_waits} retries={self.retries} "
            f"seconds={self.seconds:.1f}"
        )


@dataclass
class ChatJob:
    """One chat's parts to send, in order; `chat_id` follows a group's migration."""

    chat_id: int
    parts: list[Delivery] = field(default_factory=list)


def retry_due(part: Delivery, now: datetime, options: BroadcastOptions) -> bool:
    """May this run send `part`? Pending and in-doubt parts: yes. A failed one: once it has waited
    `retry_wait`, tripled for every earlier run that failed it."""
    if part.status != "failed":
        return True
    runs = max(1, part.attempts // max(1, options.tries))
    return (now - part.updated_at).total_seconds() >= options.retry_wait * 3 ** (runs - 1)


def chat_jobs(parts: Sequence[Delivery], now: datetime, options: BroadcastOptions) -> list[ChatJob]:
    """Group open parts (ordered by chat, date, part) into one job per chat, preserving their order;
    a chat whose next part is a failed one still waiting for its retry is left for a later run."""
    jobs: dict[int, ChatJob] = {}
    for part in parts:
        jobs.setdefault(part.chat_id, ChatJob(part.chat_id)).parts.append(part)
    return [job for job in jobs.values() if retry_due(job.parts[0], now, options)]


@dataclass
class _Tries:
    transient: int = 0
    migrations: int = 0


class Broadcaster:
    """One run over the ledger's open parts. Not reusable: build one per run."""

    def __init__(
        self,
        storage: Storage,
        bot: Bot,
        options: BroadcastOptions,
        *,
        now: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._storage = storage
        self._ledger = storage.deliveries
        self._bot = bot
        self._options = options
        self._now = now
        self._monotonic = monotonic
        self._sleep = sleep
        self._limiter = RateLimiter(
            options.pace,
            per_chat_interval=options.per_chat_interval,
            clock=monotonic,
            sleep=sleep,
        )
        self._secrets = (bot.token,)
        self._claims: GroupCommit[int, bool] = GroupCommit(self._claim_many)
        self._acks: GroupCommit[Ack, bool] = GroupCommit(self._ack_many)
        self._fatal: BaseException | None = None
        self.report = BroadcastReport()

    async def run(self) -> BroadcastReport:
        started = self._monotonic()
        jobs = chat_jobs(await self._ledger.open_parts(), self._now(), self._options)
        self.report.chats = len(jobs)
        self.report.parts = sum(len(j.parts) for j in jobs)
        if jobs:
            texts = await self._ledger.texts(p.text_id for j in jobs for p in j.parts)
            queue = deque(jobs)
            try:
                with caller_handles_flood_control():
                    workers = [self._worker(queue, texts) for _ in range(self._options.workers(len(jobs)))]
                    await asyncio.gather(*workers)
            finally:
                await self._limiter.close()
        self.report.seconds = self._monotonic() - started
        if self.report.parts:
            log.info("broadcast %s", self.report.summary())
        if self._fatal is not None:
            self.report.fatal = self._error_text(self._fatal)
            log.error("broadcast stopped: %s", self.report.fatal)
        return self.report

    async def _worker(self, queue: deque[ChatJob], texts: dict[int, str]) -> None:
        while queue and self._fatal is None:
            job = queue.popleft()
            for part in job.parts:
                if not await self._send_part(job, part, texts[part.text_id]):
                    break

    async def _claim_many(self, ids: Sequence[int]) -> list[bool]:
        claimed = await self._ledger.claim_many(ids, self._now())
        return [i in claimed for i in ids]

    async def _ack_many(self, acks: Sequence[Ack]) -> list[bool]:
        return await self._ledger.mark_sent_many(acks, self._now())

    def _error_text(self, exc: BaseException) -> str:
        return redact(f"{type(exc).__name__}: {exc}", self._secrets)

    async def _send_part(self, job: ChatJob, part: Delivery, text: str) -> bool:
        """Deliver one part; True when it was sent and the chat's next part may follow."""
        if self._fatal is not None or not await self._claims.submit(part.id):
            return False
        tries = _Tries()
        while True:
            await self._limiter.acquire(job.chat_id)
            if self._fatal is not None:
                await self._ledger.release(part, self._now())
                return False
            try:
                message = await self._bot.send_message(
                    chat_id=job.chat_id,
                    text=text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except Exception as exc:  # every failure is classified; nothing escapes a worker
                if await self._again(job, part, exc, tries):
                    continue
                return False
            done = await self._acks.submit(Ack(part, job.chat_id, message.message_id))
            self.report.sent += 1
            metrics.message_sent()
            self.report.completed += done
            return True

    async def _again(self, job: ChatJob, part: Delivery, exc: Exception, tries: _Tries) -> bool:
        """Act on a failed send; True to send the same part again (possibly to a new chat id)."""
        verdict = classify(exc)
        error = self._error_text(exc)
        metrics.send_error(verdict.value)
        if verdict is Verdict.FLOOD:
            assert isinstance(exc, TelegramRetryAfter)
            self.report.flood_waits += 1
            metrics.flood_wait()
            self._limiter.penalize(exc.retry_after, self._monotonic())
            log.warning("flood control: pausing the broadcast for %s s", exc.retry_after)
            return True
        if verdict is Verdict.MIGRATED and tries.migrations < MAX_MIGRATIONS_PER_PART:
            assert isinstance(exc, TelegramMigrateToChat)
            tries.migrations += 1
            return await self._migrate(job, exc.migrate_to_chat_id)
        if verdict in (Verdict.BLOCKED, Verdict.GONE):
            await self._storage.subscribers.deactivate(job.chat_id, verdict.value, self._now())
            self.report.dropped += await self._ledger.drop_chat(job.chat_id, verdict.value, self._now())
            if verdict is Verdict.BLOCKED:
                self.report.blocked += 1
            else:
                self.report.gone += 1
            log.info("chat %s deactivated: %s", job.chat_id, verdict.value)
            return False
        if verdict is Verdict.FATAL:
            self._fatal = exc
            await self._ledger.release(part, self._now())
            return False
        if verdict is Verdict.TRANSIENT:
            tries.transient += 1
            if not isinstance(exc, TelegramAPIError | ClientDecodeError):
                log.warning("unexpected error sending to chat %s", job.chat_id, exc_info=exc)
            if tries.transient < self._options.tries:
                self.report.retries += 1
                await self._ledger.retrying(part.id, error, self._now())
                opts = self._options
                await self._sleep(backoff_delay(tries.transient, opts.backoff_base, opts.backoff_cap))
                return True
            dropped = await self._ledger.fail(part, error, self._now(), max_attempts=self._options.max_attempts)
            self.report.dropped += dropped
            self.report.failed += not dropped
            state = "dropped" if dropped else "failed"
            log.warning("part %s to chat %s left %s: %s", part.part, job.chat_id, state, error)
            return False
        # REJECTED, or a chat that keeps migrating.
        self.report.dropped += await self._ledger.give_up(part, error, self._now())
        log.error("part %s to chat %s rejected by Telegram: %s", part.part, job.chat_id, error)
        return False

    async def _migrate(self, job: ChatJob, new_chat_id: int) -> bool:
        """Move the subscription (and, by cascade, its ledger rows) to the supergroup's id."""
        old = job.chat_id
        try:
            await self._storage.subscribers.migrate_chat(old, new_chat_id, self._now())
        except sqlite3.IntegrityError:
            # The supergroup subscribed on its own already: it gets its own digest; retire the old chat.
            await self._storage.subscribers.deactivate(old, "migrated", self._now())
            self.report.dropped += await self._ledger.drop_chat(old, "migrated", self._now())
            return False
        job.chat_id = new_chat_id
        self.report.migrated += 1
        log.info("chat %s migrated to %s", old, new_chat_id)
        return True


async def broadcast(
    storage: Storage,
    bot: Bot,
    options: BroadcastOptions,
    *,
    now: datetime,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> BroadcastReport:
    """Send every open part in the ledger. Ledger times are `now` plus the run's elapsed time."""
    start = monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=monotonic() - start)

    return await Broadcaster(storage, bot, options, now=clock, monotonic=monotonic, sleep=sleep).run()
