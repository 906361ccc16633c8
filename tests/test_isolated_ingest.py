"""The service's passes run in a child process at a lower priority (bot/ingest/isolated.py): against feeds
on 127.0.0.1 and a real SQLite file, what the child stores, what the bot hears back, and that a failed or
stopped child leaves the bot running and no process behind."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import metrics
from bot.config import Settings
from bot.ingest.isolated import IngestProcessError, IsolatedIngestor
from storage import FeedSpec, Storage
from tests.feed_server import FeedServer, feed_server  # noqa: F401
from tests.feedgen import Item, rss

NOW = datetime.now(UTC).replace(microsecond=0)
ITEMS = [
    Item(
        "Китайская компания построит в Актобе завод по выпуску удобрений",
        "https://ru.example.kz/news/101",
        "Инвестиции в проект оцениваются в 200 миллионов долларов.",
        published=NOW - timedelta(hours=2),
    ),
    Item(
        "Қытай инвесторлары Ақтөбеде тыңайтқыш зауытын салады",
        "https://kk.example.kz/zhanalyq/101",
        "Жобаға салынатын инвестиция 200 миллион долларға бағаланады.",
        published=NOW - timedelta(hours=1),
    ),
]


def settings_for(db_path: Path, **overrides: object) -> Settings:
    return Settings(_env_file=None, database_path=db_path, **overrides)  # type: ignore[arg-type]


def children(of: int | None = None) -> dict[int, int]:
    """The child processes (of this one by default) and their nice values, from /proc."""
    parent = os.getpid() if of is None else of
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:  # stat's fields from the 3rd on: [1] the parent pid, [16] the nice value
            found[int(entry.name)] = int(fields[16])
    return found


def running(pid: int) -> bool:
    """Alive, not a zombie waiting to be reaped (this sandbox's init does not reap orphans)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_a_pass_runs_in_a_child_and_the_bot_gets_its_report(
    feed_server: FeedServer, db_path: Path  # noqa: F811
) -> None:
    feed_server.add_feed("/news.xml", rss(ITEMS))
    feed_server.add_status("/gone.xml", 404)
    ingested_before = metrics.INGESTED._value.get()
    report = await IsolatedIngestor(settings_for(db_path)).run_pass(
        [FeedSpec(feed_server.url("/news.xml"), "Outlet", "auto"), FeedSpec(feed_server.url("/gone.xml"), "Gone", "ru")]
    )
    by_name = {f.name: f for f in report.feeds}
    assert (by_name["Outlet"].status, by_name["Outlet"].new) == ("ok", 2)
    assert by_name["Gone"].status == "failed" and "404" in (by_name["Gone"].reason or "")
    assert report.finished is not None and report.finished >= report.started
    assert metrics.INGESTED._value.get() == ingested_before + 2  # counted in the bot's /metrics

    storage = await Storage.open(db_path)
    try:
        stored = [a async for a in storage.articles.iter_all()]
    finally:
        await storage.close()
    assert sorted((a.lang, a.title) for a in stored) == sorted(
        [("ru", ITEMS[0].title), ("kk", ITEMS[1].title)]
    )
    assert all("china" in a.topics and "investments" in a.topics for a in stored)
    assert children() == {}


async def test_the_child_runs_at_a_lower_priority_and_passes_never_overlap(
    feed_server: FeedServer, db_path: Path  # noqa: F811
) -> None:
    feed_server.add_slow("/slow.xml", delay=3.0)
    ingestor = IsolatedIngestor(settings_for(db_path))
    spec = [FeedSpec(feed_server.url("/slow.xml"), "Slow", "ru")]
    first = asyncio.create_task(ingestor.run_pass(spec))
    second = asyncio.create_task(ingestor.run_pass(spec))
    expected = os.nice(0) + 10
    seen: dict[int, int] = {}
    for _ in range(200):  # the child lowers its priority once it has read its request
        await asyncio.sleep(0.05)
        seen = children()
        if expected in seen.values():
            break
    assert ingestor.running
    assert len(seen) == 1, seen  # the second pass waits for the first: one child at a time
    assert list(seen.values()) == [expected]
    await asyncio.gather(first, second)
    assert not ingestor.running


async def test_a_child_that_fails_raises_a_clear_error_and_the_bot_carries_on(
    feed_server: FeedServer, db_path: Path, tmp_path: Path  # noqa: F811
) -> None:
    feed_server.add_feed("/news.xml", rss(ITEMS))
    broken = settings_for(db_path, topics_file=tmp_path / "missing-topics.yaml")
    with pytest.raises(IngestProcessError, match="exited with status 1"):
        await IsolatedIngestor(broken).run_pass([FeedSpec(feed_server.url("/news.xml"), "Outlet", "ru")])
    # The next pass, with the file back, works.
    report = await IsolatedIngestor(settings_for(db_path)).run_pass([FeedSpec(feed_server.url("/news.xml"), "Outlet", "ru")])
    assert report.new == 2


async def test_a_pass_cancelled_when_the_bot_stops_leaves_no_process_behind(
    feed_server: FeedServer, db_path: Path  # noqa: F811
) -> None:
    feed_server.add_slow("/slow.xml", delay=30.0)
    ingestor = IsolatedIngestor(settings_for(db_path))
    task = asyncio.create_task(ingestor.run_pass([FeedSpec(feed_server.url("/slow.xml"), "Slow", "ru")]))
    for _ in range(200):
        await asyncio.sleep(0.05)
        if children():
            break
    await asyncio.sleep(1.5)  # the child is inside its pass, its workers started
    descendants = list(children())
    for pid in descendants:
        descendants.extend(children(of=pid))
    assert len(descendants) >= 3  # the child, the workers' fork server, the workers
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.5)  # the workers see the pool shut down
    assert [pid for pid in descendants if running(pid)] == []
    assert not ingestor.running
