"""The broadcast limiter, driven by a fake monotonic clock: nothing here sleeps."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.delivery.broadcast import BroadcastOptions
from bot.delivery.ratelimit import RateLimiter


class FakeTime:
    """A monotonic clock whose sleep() just moves time forward (and can run a hook while "asleep")."""

    def __init__(self) -> None:
        self.now = 100.0
        self.on_sleep: list = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        while self.on_sleep:
            self.on_sleep.pop(0)()
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most events in any half-open window [t, t + window)."""
    best = 0
    recent: deque[float] = deque()
    for t in sorted(times):
        recent.append(t)
        while recent[0] <= t - window + 1e-9:
            recent.popleft()
        best = max(best, len(recent))
    return best


def release_times(limiter: RateLimiter, wanted: list[float]) -> list[float]:
    """When messages wanted at these moments actually go, one after another."""
    out = []
    for t in wanted:
        t = t + limiter.release_delay(t)
        limiter.released(t)
        out.append(t)
    return out


def test_messages_are_spaced_evenly_never_in_a_burst() -> None:
    limiter = RateLimiter(10, tolerance=0.0)
    assert release_times(limiter, [0.0] * 5) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    # After a quiet spell there is no saved-up burst: the next two are still 0.1 s apart.
    assert release_times(limiter, [10.0, 10.0]) == pytest.approx([10.0, 10.1])


def test_a_stall_is_not_made_up_for_with_a_burst() -> None:
    """Ten messages were due during a 1 s stall of the process: afterwards they still go 0.1 s apart."""
    limiter = RateLimiter(10)
    release_times(limiter, [0.0])
    after = release_times(limiter, [1.0] * 10)
    assert after == pytest.approx([1.0 + i / 10 for i in range(10)])


def test_tolerance_absorbs_late_timers_without_losing_rate() -> None:
    """A pacer that always wakes 1 ms late still averages the full rate."""
    limiter = RateLimiter(300)
    t = 0.0
    sent = []
    for _ in range(3000):
        t += limiter.release_delay(t) + 0.001
        limiter.released(t)
        sent.append(t)
    assert (len(sent) - 1) / (sent[-1] - sent[0]) == pytest.approx(300, rel=0.001)
    assert max_in_window(sent) <= 300


async def test_never_more_than_the_rate_in_any_second() -> None:
    time = FakeTime()
    limiter = RateLimiter(30, per_chat_interval=1.0, clock=time.clock, sleep=time.sleep)
    sent: list[float] = []
    for i in range(600):
        await limiter.acquire(chat_id=i % 200)  # 200 chats, so each also gets a message every few seconds
        sent.append(time.now)
    assert max_in_window(sent) <= 30
    assert sent[-1] - sent[0] == pytest.approx(599 / 30)  # and no slower than that either


async def test_one_chat_gets_at_most_one_message_a_second() -> None:
    time = FakeTime()
    limiter = RateLimiter(1000, clock=time.clock, sleep=time.sleep)
    sent = []
    for _ in range(4):
        await limiter.acquire(chat_id=42)
        sent.append(time.now)
    assert [b - a for a, b in zip(sent, sent[1:], strict=False)] == pytest.approx([1.0, 1.0, 1.0])


def test_a_chat_waiting_for_its_second_does_not_hold_up_the_others() -> None:
    limiter = RateLimiter(10)
    limiter.note_sent(1, 0.0)
    assert limiter.chat_delay(1, 0.0) == 1.0
    assert limiter.chat_delay(2, 0.0) == 0.0
    assert limiter.release_delay(0.0) == 0.0  # chat 1's wait takes nothing from the global pace
    assert limiter.chat_delay(1, 1.0) == 0.0


def test_429_pauses_everyone_and_slows_down_then_recovers() -> None:
    limiter = RateLimiter(20, tolerance=0.0, slowdown=0.5, recovery=10.0)
    limiter.released(0.0)
    limiter.penalize(retry_after=3, now=1.0)
    assert limiter.release_delay(1.0) == pytest.approx(3.0)  # nobody before the pause ends
    assert limiter.current_rate(4.0) == pytest.approx(10.0)  # halved
    assert release_times(limiter, [4.0, 4.0]) == pytest.approx([4.0, 4.1])  # spaced at the slower rate
    assert limiter.current_rate(9.0) == pytest.approx(20.0)  # +2/s per second: back after 5 s
    assert limiter.current_rate(100.0) == 20.0


def test_429s_from_one_flood_slow_down_once() -> None:
    limiter = RateLimiter(20, slowdown=0.5)
    for offset in (0.0, 0.01, 0.02):  # three requests in flight all answered 429
        limiter.penalize(retry_after=1, now=5.0 + offset)
    assert limiter.current_rate(6.02) == pytest.approx(10.0)
    assert limiter.release_delay(5.02) == pytest.approx(1.0)


def test_repeated_429s_never_push_the_rate_below_the_floor() -> None:
    limiter = RateLimiter(20, slowdown=0.5, min_factor=0.25)
    for i in range(10):
        limiter.penalize(retry_after=1, now=float(i))
    assert limiter.current_rate(10.0) == pytest.approx(5.0)


async def test_a_429_holds_everyone_already_waiting() -> None:
    time = FakeTime()
    limiter = RateLimiter(1, clock=time.clock, sleep=time.sleep)
    await limiter.acquire(1)  # goes at t=100; the next may go at t=101
    start = time.now
    # While the next sender waits for t=101, another worker hits a 429 with retry_after=5.
    time.on_sleep.append(lambda: limiter.penalize(5, start + 0.5))
    await limiter.acquire(2)
    assert time.now >= start + 0.5 + 5
    await limiter.close()


async def test_many_waiting_workers_go_one_by_one_at_the_rate() -> None:
    time = FakeTime()
    limiter = RateLimiter(50, per_chat_interval=1.0, clock=time.clock, sleep=time.sleep)
    sent: list[tuple[int, float]] = []

    async def worker(chat: int, parts: int) -> None:
        for _ in range(parts):
            await limiter.acquire(chat)
            sent.append((chat, time.now))

    await asyncio.gather(*(worker(chat, 3) for chat in range(100)))
    await limiter.close()
    times = [t for _, t in sent]
    assert len(times) == 300 and max_in_window(times) <= 51
    for chat in range(100):
        mine = [t for c, t in sent if c == chat]
        assert all(b - a >= 1.0 for a, b in zip(mine, mine[1:], strict=False))


async def test_limiter_paces_concurrent_workers_on_a_real_loop() -> None:
    """With the real event loop and tiny intervals: concurrent acquirers are spaced, not bunched."""
    limiter = RateLimiter(200, per_chat_interval=0.0)
    loop = asyncio.get_running_loop()
    stamps: list[float] = []

    async def worker(chat: int) -> None:
        await limiter.acquire(chat)
        stamps.append(loop.time())

    await asyncio.gather(*(worker(i) for i in range(20)))
    await limiter.close()
    assert stamps[-1] - stamps[0] >= 19 / 200 * 0.9


def test_broadcast_rate_never_above_30() -> None:
    fastest = BroadcastOptions.from_settings(Settings(broadcast_rate=30))
    assert fastest.rate == 30 and 29 < fastest.pace < 30  # aims a little below, for jitter on the way
    assert BroadcastOptions.from_settings(Settings()).rate == 25
    with pytest.raises(ConfigError, match="BROADCAST_RATE"):
        load_settings(broadcast_rate=31)


def test_enough_workers_to_keep_the_limiter_busy() -> None:
    options = BroadcastOptions(rate=30, per_chat_interval=1.0)
    assert options.workers(10_000) >= 30  # multi-part chats idle a second between parts
    assert options.workers(3) == 3
    assert BroadcastOptions(rate=30, concurrency=5).workers(100) == 5
