"""Delivery benchmark (run by hand: `.venv/bin/python benchmarks/bench_broadcast.py`); results go to
benchmarks/RESULTS.md under "Broadcast".

1. Broadcast: the fake Bot API server enforces L messages/s (429 above, like Telegram's flood control) and
   6,000 subscribers get today's digest from a separate process whose limiter is set to L. Reported: the
   achieved rate as a share of L (≥ 0.95 wanted), duplicates, lost parts, and 429s after the first second.
2. Rendering: planning the daily digest of 100,000 subscribers over 5,000 fresh articles — load, group,
   build and render each distinct digest once, write the ledger (≤ 10 s and ≤ 300 MB peak wanted).

Each part runs in its own process, so memory figures are not mixed up with the other part's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe  # noqa: E402
from bot.config import DEFAULT_TOPICS_FILE  # noqa: E402
from bot.delivery.plan import not_served_today, plan_digests  # noqa: E402
from bot.topics import TopicRules  # noqa: E402
from storage import FeedSpec, NewArticle, Storage, Subscriber  # noqa: E402

LIMIT = 300  # messages per second the fake server accepts
BROADCAST_SUBSCRIBERS = 6_000
RENDER_SUBSCRIBERS = 100_000
RENDER_ARTICLES = 5_000
NOW = datetime(2025, 8, 8, 4, 30, tzinfo=UTC)  # 09:30 in Almaty
WORDS_RU = "инвестиции Китай завод метанол месторождение аким проект энергетика зерно экспорт торговля".split()
WORDS_KK = "инвестиция Қытай зауыт метанол кен орны жоба әкім энергетика астық экспорт сауда".split()


# --- data ------------------------------------------------------------------------------------------


async def seed_articles(storage: Storage, count: int, rules: TopicRules, rng: random.Random) -> None:
    specs = [FeedSpec(f"https://outlet{i}.kz/rss", f"Outlet {i}", "ru" if i % 2 else "kk") for i in range(40)]
    feeds = await storage.feeds.sync(specs, NOW)
    batch: list[NewArticle] = []
    for i in range(count):
        feed = feeds[i % len(feeds)]
        lang = feed.lang_hint
        words = WORDS_RU if lang == "ru" else WORDS_KK
        seen = NOW - timedelta(minutes=rng.randint(1, 47 * 60))
        batch.append(
            NewArticle(
                feed_id=feed.id,
                url=f"https://outlet{feed.id}.kz/news/{i}",
                guid=None,
                title=" ".join(rng.choice(words) for _ in range(rng.randint(6, 14))).capitalize(),
                summary="",
                lang=lang,
                published_at=seen - timedelta(minutes=rng.randint(0, 90)),
                first_seen_at=seen,
                topics=tuple(rng.sample(rules.keys, rng.choice((1, 1, 1, 2)))),
            )
        )
        if len(batch) == 500:
            await storage.articles.insert_many(batch)
            batch = []
    if batch:
        await storage.articles.insert_many(batch)


async def seed_subscribers(storage: Storage, count: int, rules: TopicRules, rng: random.Random) -> None:
    """Settings spread like a real audience: many keep the onboarding topics, the rest choose their own."""
    yesterday = NOW - timedelta(days=1, minutes=30)
    subs = []
    for chat in range(1, count + 1):
        chosen = ("investments", "china", "projects") if rng.random() < 0.5 else rng.sample(rules.keys, rng.randint(1, 4))
        news = rng.choices(("both", "ru", "kk"), (5, 3, 2))[0]
        ui = rng.choices(("ru", "kk"), (6, 4))[0]
        last = yesterday if rng.random() < 0.9 else None
        subs.append(
            Subscriber(
                chat_id=chat, user_id=chat, ui_lang=ui, news_langs=news, digest_time="09:00", timezone="Asia/Almaty",
                active=True, paused=False, notify_empty=True, topics=tuple(chosen), last_digest_date=None,
                last_digest_at=last, created_at=NOW,
            )
        )  # fmt: skip
    await storage.subscribers.add_many(subs, NOW)


# --- 1. broadcast ------------------------------------------------------------------------------------


async def broadcast_worker(db: str, url: str, token: str, rate: float) -> None:
    """The sender, in its own process (Telegram is not in our process either)."""
    from bot.config import Settings
    from bot.delivery.broadcast import BroadcastOptions
    from bot.delivery.run import deliver
    from bot.telegram.session import create_bot

    storage = await Storage.open(db)
    bot = create_bot(Settings(bot_token=token, telegram_api_url=url))
    started = time.monotonic()
    try:
        report = await deliver(
            storage,
            bot,
            TopicRules.load(DEFAULT_TOPICS_FILE),
            NOW,
            options=BroadcastOptions(rate=rate, per_chat_interval=1.0),
            due=not_served_today,
        )
    finally:
        await bot.session.close()
        await storage.close()
    print(json.dumps({"total_seconds": time.monotonic() - started, "plan_digests": report.plan.digests,
                      **report.broadcast.__dict__}))


async def bench_broadcast(limit: int, subscribers: int) -> dict[str, object]:
    from tests.fake_telegram import FakeTelegram

    class TimedFake(FakeTelegram):
        """Also timestamps every answer, to tell the first second's 429s from later ones."""

        def __init__(self) -> None:
            super().__init__()
            self.answers: list[tuple[float, str]] = []

        def _log(self, method: str, chat_id: object, outcome: str, description: str = "") -> None:
            self.answers.append((time.monotonic(), outcome))
            super()._log(method, chat_id, outcome, description)  # type: ignore[arg-type]

        def _format(self, raw: str | None, params: dict[str, object], **kwargs: object) -> tuple[str, list, str]:
            # The HTML check (a Python port of tdlib's parser, ~1.5 ms a message) is what the tests are for;
            # here it would make the instrument, not the sender, the bottleneck of a small machine.
            return raw or "", [], "HTML"

    rng = random.Random(1)
    rules = TopicRules.load(DEFAULT_TOPICS_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        storage = await Storage.open(db)
        await seed_articles(storage, 400, rules, rng)
        await seed_subscribers(storage, subscribers, rules, rng)
        await storage.close()

        fake = TimedFake()
        fake.rate_limit = limit
        await fake.start()
        # The fake keeps every message it accepted; a full garbage collection over those stalls its loop for
        # ~0.1-0.2 s, after which it takes the queued requests in a burst and its own sliding window sees
        # more than L a second: an artefact of the instrument, not of the sender. The sender keeps its GC.
        gc.disable()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--worker", str(db), fake.base_url, fake.token, str(limit),
                stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp,
            )
            out, _ = await proc.communicate()
        finally:
            gc.enable()
            await fake.stop()
        worker = json.loads(out.decode().strip().splitlines()[-1])

        storage = await Storage.open(db)
        async with storage.db.conn.execute(
            "SELECT d.chat_id, t.body FROM deliveries d JOIN delivery_texts t ON t.id = d.text_id"
        ) as cur:
            planned = Counter((r[0], r[1]) for r in await cur.fetchall())
        await storage.close()

    got = Counter((int(m.chat_id), m.text) for m in fake.sent)  # type: ignore[arg-type]
    times = sorted(m.time for m in fake.sent)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    first = fake.answers[0][0]
    late_429 = sum(1 for t, outcome in fake.answers if outcome == "429" and t - first > 1.0)
    return {
        "limit": limit,
        "subscribers": subscribers,
        "messages": len(fake.sent),
        "distinct_digests": worker["plan_digests"],
        "send_seconds": round(times[-1] - times[0], 2),
        "achieved_rate": round(achieved, 1),
        "ratio": round(achieved / limit, 3),
        "duplicates": sum(n - 1 for n in got.values() if n > 1),
        "lost": sum(1 for key in planned if got[key] == 0),
        "429_total": sum(1 for _, outcome in fake.answers if outcome == "429"),
        "429_after_first_second": late_429,
        "worker_total_seconds": round(worker["total_seconds"], 2),
    }


# --- 2. rendering ------------------------------------------------------------------------------------


async def seed_render_db(db: str, subscribers: int, articles: int) -> None:
    rng = random.Random(2)
    rules = TopicRules.load(DEFAULT_TOPICS_FILE)
    storage = await Storage.open(db)
    try:
        await seed_articles(storage, articles, rules, rng)
        await seed_subscribers(storage, subscribers, rules, rng)
    finally:
        await storage.close()


async def bench_render(subscribers: int, articles: int) -> dict[str, object]:
    """Seeding runs in another process, so this process's peak memory is the planning's own."""
    rules = TopicRules.load(DEFAULT_TOPICS_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "render.sqlite3")
        subprocess.run(
            [sys.executable, __file__, "--seed-render", db, str(subscribers), str(articles)],
            check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        storage = await Storage.open(db)
        try:
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            started = time.perf_counter()
            report = await plan_digests(storage, rules, NOW, due=not_served_today)
            seconds = time.perf_counter() - started
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

            # The same planning again (the next day) under tracemalloc, for the peak of Python allocations.
            tracemalloc.start()
            again = await plan_digests(storage, rules, NOW + timedelta(days=1), due=not_served_today)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            counts = await storage.deliveries.counts()
            async with storage.db.conn.execute("SELECT count(*) FROM delivery_texts") as cur:
                row = await cur.fetchone()
                texts = row[0] if row else 0
        finally:
            await storage.close()
    return {
        "subscribers": subscribers,
        "fresh_articles": articles,
        "planned": report.planned,
        "distinct_digests": report.digests,
        "second_day_planned": again.planned,
        "ledger_rows": sum(counts.values()),
        "stored_texts": texts,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(rss_after, 1),
        "rss_before_planning_mb": round(rss_before, 1),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
    }


# --- main ----------------------------------------------------------------------------------------------


def run_part(flag: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, flag], check=True, capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    return describe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="broadcast runs (the machine may be shared)")
    parser.add_argument("--worker", nargs=4, metavar=("DB", "URL", "TOKEN", "RATE"), help=argparse.SUPPRESS)
    parser.add_argument("--broadcast-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--render-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed-render", nargs=3, metavar=("DB", "SUBSCRIBERS", "ARTICLES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_render:
        db, subs, arts = args.seed_render
        asyncio.run(seed_render_db(db, int(subs), int(arts)))
        return
    if args.worker:
        db, url, token, rate = args.worker
        asyncio.run(broadcast_worker(db, url, token, float(rate)))
        return
    if args.broadcast_only:
        print(json.dumps(asyncio.run(bench_broadcast(LIMIT, BROADCAST_SUBSCRIBERS))))
        return
    if args.render_only:
        print(json.dumps(asyncio.run(bench_render(RENDER_SUBSCRIBERS, RENDER_ARTICLES))))
        return
    print("machine:", machine())
    for run in range(1, args.repeat + 1):
        load = os.getloadavg()[0]
        broadcast = run_part("--broadcast-only")
        print(f"broadcast run {run} (load average before: {load:.2f}):", json.dumps(broadcast))
    render = run_part("--render-only")
    print("render:", json.dumps(render))


if __name__ == "__main__":
    main()
