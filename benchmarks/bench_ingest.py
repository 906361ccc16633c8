"""Ingestion benchmark (run by hand: `make bench-ingest`, i.e. `python -m benchmarks.bench_ingest`).

Results go to benchmarks/RESULTS.md. Serves 200 feeds × 50 items from a local aiohttp server on 127.0.0.1
and measures, in one run:
- throughput of the whole pipeline against feedparser alone on the same fetched bytes (ratio ≥ 0.75 wanted).
  "feedparser alone" is one process, sequentially: fetch all 200 feeds through the same Fetcher, then call
  feedparser.parse(body) on each body in turn. "Pipeline" is Ingestor.run_pass as the service runs it (the
  ProcessAnalyser pool: parsing, normalising, tagging and story signals in worker processes; reprint and story
  decisions and the SQLite writes in this process), from an empty database to 10,000 stored articles;
- a second pass over the unchanged feeds as a share of the first (≤ 5 % wanted);
- the longest event-loop stall during a pass, seen by a 5 ms heartbeat task (≤ 50 ms wanted);
- peak memory of the process (≤ 200 MB wanted), and of each worker process;
- start-to-finish time of `python -m bot stats` on a small database (≤ 1.5 s wanted).
The load average is printed before and after: on a shared machine other jobs' CPU shows in every figure.

`--without signals` or `--without tagging` takes part of the workers' work out of the pass (story signals; or
language, topics, projects and story signals), to measure what that part costs in the ratio. The product never
runs like that: it is a measurement, printed as such.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from bot.config import DEFAULT_PROJECTS_FILE, DEFAULT_TOPICS_FILE  # noqa: E402
from bot.ingest.analyse import ProcessAnalyser  # noqa: E402
from bot.ingest.fetch import Fetcher  # noqa: E402
from bot.ingest.pipeline import Ingestor  # noqa: E402
from bot.ingest.projects import ProjectCatalog  # noqa: E402
from bot.topics import TopicRules  # noqa: E402
from storage import FeedSpec, Storage  # noqa: E402
from tests.feed_server import FeedServer  # noqa: E402
from tests.feedgen import Item, rss  # noqa: E402

FEEDS = 200
ITEMS = 50
RU_WORDS = (
    "инвестиции Китай завод метанол месторождение Сатимола аким Уральск проект энергетика зерно экспорт "
    "торговля промышленность договор компания строительство область регион рабочие места налоги"
).split()
KK_WORDS = (
    "инвестиция Қытай зауыт метанол кен орны жоба әкім Орал энергетика астық экспорт сауда өнеркәсіп "
    "келісім компания құрылыс облыс өңір жұмыс орындары салық"
).split()


# `--without PART`: set here for the worker processes, whose fork server imports this module (see _take_out).
WITHOUT_ENV = "HABAR_BENCH_WITHOUT"
WITHOUT_PARTS = ("signals", "tagging")


def _take_out(part: str) -> None:
    """Replace `part` of tagging by a constant in this process (monkeypatching: a benchmark-only measurement).

    Tagging runs in the worker processes, forked from a server that imports this module (it is the main module,
    run with -m): the variable WITHOUT_ENV, inherited by the server, has it patch the workers too.
    """
    from bot.ingest import analyse
    from bot.ingest.stories import StorySignals

    if part not in WITHOUT_PARTS:
        raise SystemExit(f"--without takes one of {', '.join(WITHOUT_PARTS)}, not {part!r}")
    empty = StorySignals()
    analyse.signals = lambda title, summary, lang: empty  # type: ignore[assignment]
    if part == "tagging":
        analyse.detect_language = lambda title, summary="", hint="auto": "ru"  # type: ignore[assignment]
        TopicRules.match = lambda self, text, lang: []  # type: ignore[method-assign]
        ProjectCatalog.find = lambda self, text, lang: []  # type: ignore[method-assign]


if os.environ.get(WITHOUT_ENV):
    _take_out(os.environ[WITHOUT_ENV])


def make_feed(n: int, now: datetime, paragraphs: int = 1) -> bytes:
    """A feed of ITEMS items whose descriptions are `paragraphs` paragraphs of 40 words: 1 is a lead, as most
    outlets send; more is a feed that carries the whole article."""
    rng = random.Random(n)
    words = KK_WORDS if n % 2 else RU_WORDS
    items = []
    for i in range(ITEMS):
        title = " ".join(rng.choice(words) for _ in range(8)).capitalize()
        body = "".join(
            "<p>" + " ".join(rng.choice(words) for _ in range(40)) + "</p>" for _ in range(paragraphs)
        )
        items.append(Item(title, f"https://site{n}.kz/news/{i}", body, guid=f"{n}-{i}",
                          published=now - timedelta(minutes=i)))
    return rss(items, title=f"Feed {n}")


def worker_peak_mb(analyser: ProcessAnalyser) -> list[float]:
    """Peak RSS (VmHWM) of each worker process of the pool, read from /proc before the pool shuts down."""
    peaks = []
    for pid in list(analyser._pool._processes):  # noqa: SLF001 - a benchmark may look inside
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


async def heartbeat(stop: asyncio.Event, gaps: list[float]) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last - 0.005)
        last = now


async def feedparser_only(urls: list[str]) -> float:
    start = time.perf_counter()
    async with Fetcher() as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    for r in results:
        assert r.body is not None
        feedparser.parse(r.body)
    return time.perf_counter() - start


async def main(paragraphs: int, without: str | None = None) -> None:
    if without:
        os.environ[WITHOUT_ENV] = without  # before the pass starts the workers' fork server
        _take_out(without)
    now = datetime.now(UTC)
    server = FeedServer()
    await server.start()
    bodies = [make_feed(n, now, paragraphs) for n in range(FEEDS)]
    for n, body in enumerate(bodies):
        server.add_feed(f"/f{n}.xml", body)
    urls = [server.url(f"/f{n}.xml") for n in range(FEEDS)]
    specs = [FeedSpec(u, f"Feed {n}", "auto") for n, u in enumerate(urls)]
    topics = TopicRules.load(DEFAULT_TOPICS_FILE)
    projects = ProjectCatalog.load(DEFAULT_PROJECTS_FILE)

    load_before = os.getloadavg()
    fp_time = await feedparser_only(urls)

    with tempfile.TemporaryDirectory() as tmp:
        storage = await Storage.open(Path(tmp) / "bench.sqlite3")
        # As the service runs it: parsing and tagging in worker processes.
        analyser = ProcessAnalyser(topics, projects, DEFAULT_TOPICS_FILE, DEFAULT_PROJECTS_FILE)
        ingestor = Ingestor(storage, topics, projects, analyser=analyser)
        stop = asyncio.Event()
        gaps: list[float] = []
        beat = asyncio.create_task(heartbeat(stop, gaps))
        start = time.perf_counter()
        first = await ingestor.run_pass(specs)
        first_time = time.perf_counter() - start
        first_gaps = len(gaps)
        start = time.perf_counter()
        second = await ingestor.run_pass(specs)
        second_time = time.perf_counter() - start
        stop.set()
        await beat
        workers_mb = worker_peak_mb(analyser)
        analyser.close()
        await storage.close()

        env = {**os.environ, "DATABASE_PATH": str(Path(tmp) / "bench.sqlite3"), "PYTHONPATH": str(ROOT)}
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bot", "stats"], env=env, check=True, capture_output=True)
            runs.append(time.perf_counter() - t0)
    await server.stop()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    items = FEEDS * ITEMS
    load_after = os.getloadavg()
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f}")
    print(f"feeds x items: {FEEDS} x {ITEMS} = {items} ({paragraphs} paragraph(s) of 40 words each, "
          f"{sum(map(len, bodies)) / 1e6:.1f} MB); stored {first.new}, failed {first.failed}")
    if without:
        print(f"WITHOUT {without}: a measurement of what it costs, not the product")
    print(f"feedparser only (fetch + parse): {fp_time:.2f} s = {items / fp_time:.0f} items/s")
    print(f"pipeline first pass:             {first_time:.2f} s = {items / first_time:.0f} items/s")
    print(f"ratio pipeline/feedparser throughput: {fp_time / first_time:.2f}")
    print(f"second pass (unchanged): {second_time:.3f} s = {100 * second_time / first_time:.1f} % of the first "
          f"(statuses: {sorted({f.status for f in second.feeds})})")
    print(f"longest event-loop stall: first pass {max(gaps[:first_gaps]) * 1000:.1f} ms, "
          f"second pass {max(gaps[first_gaps:], default=0) * 1000:.1f} ms")
    print(f"peak RSS: main process {peak_mb:.0f} MB, worker processes "
          + ", ".join(f"{mb:.0f}" for mb in workers_mb) + " MB")
    print(f"`python -m bot stats` wall time: median {sorted(runs)[2]:.2f} s, max {max(runs):.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--paragraphs", type=int, default=1,
        help="paragraphs of 40 words per description (1, the default, is a lead; more is a full-text feed)",
    )  # fmt: skip
    parser.add_argument(
        "--without", choices=WITHOUT_PARTS,
        help="take story signals, or all tagging (language, topics, projects, signals), out of the pass",
    )  # fmt: skip
    args = parser.parse_args()
    asyncio.run(main(args.paragraphs, args.without))
