"""Pacing a broadcast: Telegram takes about 30 messages a second from a bot, and 1 a second in one chat.

The global limit is GCRA (the "generic cell rate algorithm" of traffic shaping): a theoretical time for the
next message advances by 1/rate with every message released, so messages go out evenly spaced, never a
second's worth in a burst (which is what trips flood control). A single pacer hands out the go-aheads, one
at a time, to workers queued in order. That matters after a stall (a GC pause, a slow disk): a scheme in
which every worker books its own future slot and sleeps until it fires all the overdue slots at once when
the process wakes up; the pacer instead resumes from "now". Only a wake-up at most `tolerance` late keeps
the schedule (so the event loop's millisecond timer granularity and small hiccups do not eat into the
rate); by default that is two intervals (at most 10 ms), so at most two messages are ever caught up.

A 429 means we were too fast anyway (other traffic of the bot, jitter on the way): nobody is released
until `retry_after` has passed, the rate drops by `slowdown`, and it climbs back linearly over `recovery`.

The per-chat limit is waited out *before* joining the queue, so a chat's second message never holds the
global queue (and everyone behind it) while it waits for its own second to pass.

Decisions are plain methods taking `now` (monotonic seconds); the clock and sleep are injected, so tests
drive them without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    def __init__(
        self,
        rate: float,
        *,
        per_chat_interval: float = 1.0,
        tolerance: float | None = None,
        slowdown: float = 0.9,
        min_factor: float = 0.25,
        recovery: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        self.tolerance = min(2.0 / rate, 0.01) if tolerance is None else tolerance
        self.slowdown = slowdown
        self.min_rate = rate * min_factor
        self.recovery = recovery
        self.clock = clock
        self.sleep = sleep
        self._tat = -math.inf  # theoretical arrival time of the next message
        self._paused_until = -math.inf
        self._reduced_rate = rate
        self._reduced_at = -math.inf
        self._chat_next: dict[int, float] = {}
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pacer: asyncio.Task[None] | None = None

    # --- decisions (pure functions of `now` and the state) ----------------------------------------

    def current_rate(self, now: float) -> float:
        """The rate after the last 429, recovering linearly back to the configured one."""
        if self._reduced_rate >= self.rate:
            return self.rate
        regained = max(0.0, now - self._reduced_at) * self.rate / self.recovery
        return min(self.rate, self._reduced_rate + regained)

    def release_delay(self, now: float) -> float:
        """Seconds until the next message may go (0: now). Never early."""
        return max(0.0, max(self._tat, self._paused_until) - now)

    def released(self, now: float) -> None:
        """A message goes now. The next is due 1/rate after this one's due time if we are at most
        `tolerance` late (a timer firing a little late does not cost rate), else 1/rate from now:
        a longer stall is never made up for with a burst."""
        base = self._tat if now - self._tat <= self.tolerance else now
        self._tat = base + 1.0 / self.current_rate(now)

    def chat_delay(self, chat_id: int, now: float) -> float:
        """Seconds until this chat may get its next message (0: now)."""
        return max(0.0, self._chat_next.get(chat_id, -math.inf) - now)

    def note_sent(self, chat_id: int, now: float) -> None:
        """A message to `chat_id` goes out at `now`: its next one waits `per_chat_interval`."""
        self._chat_next[chat_id] = now + self.per_chat_interval
        if len(self._chat_next) > 50_000:  # forget chats whose wait is over, so memory stays bounded
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}

    def penalize(self, retry_after: float, now: float) -> None:
        """Telegram said 429: nobody goes before `retry_after` has passed, and then more slowly.

        The requests already on their way when the first 429 came back get 429s too; those answers are
        the same flood, so they extend the pause but do not slow us down again.
        """
        if now >= self._paused_until:
            self._reduced_rate = max(self.min_rate, self.current_rate(now) * self.slowdown)
        self._paused_until = max(self._paused_until, now + retry_after)
        self._reduced_at = self._paused_until
        self._tat = max(self._tat, self._paused_until)

    # --- the async shell -----------------------------------------------------------------------------

    async def acquire(self, chat_id: int) -> None:
        """Wait until one message to `chat_id` may be sent, and count it as sent from then on."""
        while (wait := self.chat_delay(chat_id, self.clock())) > 0:
            await self.sleep(wait)
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        if self._pacer is None or self._pacer.done():
            self._pacer = asyncio.create_task(self._pace())
        await turn
        self.note_sent(chat_id, self.clock())

    async def _pace(self) -> None:
        while self._waiters:
            if self._waiters[0].done():  # its worker was cancelled
                self._waiters.popleft()
                continue
            delay = self.release_delay(self.clock())
            if delay > 0:
                await self.sleep(delay)
                continue
            self.released(self.clock())
            self._waiters.popleft().set_result(None)

    async def close(self) -> None:
        """Stop the pacer (a broadcast that ends early, e.g. on shutdown, leaves nothing running)."""
        if self._pacer is not None and not self._pacer.done():
            self._pacer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pacer
