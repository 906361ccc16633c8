"""One ingestion pass: choose feeds → fetch → parse → normalise → compare with the store → tag → write.

Each step has one job; the decisions (back-off, reprints, language, topics, projects) are pure functions
in their own modules. Everything CPU-heavy (parsing, tagging) runs off the event loop (bot.ingest.analyse:
a thread, or worker processes in the service) so that a pass over hundreds of feeds never stalls the bot.

What stays in this process is kept off the event loop too: building the pass's reprint and story indexes,
and deciding each batch's reprints and stories against them, run in a thread (one at a time, under the
pass's write lock), so the loop gets the interpreter lock back every few milliseconds instead of waiting
for a whole batch or a whole index. The indexes are loaded only once a feed has new entries to write
(`_PassIndexes`): a pass over unchanged feeds never loads them. And during a pass the objects alive at its
start are hidden from the cyclic garbage collector (`_collector_spared`), whose full collections otherwise
walk the whole heap, indexes included, and stop every thread for 50-100 ms each time.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from bot import memory, metrics
from bot.clock import Clock, utc_now
from bot.ingest.analyse import Analyser, Tagged, WorkersUnavailable
from bot.ingest.backoff import next_attempt
from bot.ingest.fetch import Fetcher
from bot.ingest.normalize import NormalEntry
from bot.ingest.parse import FeedParseError
from bot.ingest.projects import ProjectCatalog
from bot.ingest.reprints import ReprintIndex, prints
from bot.ingest.stories import STORY_WINDOW, StoryIndex
from bot.topics import TopicRules
from storage import FeedSpec, FeedState, NewArticle, RecentFingerprint, Storage
from storage.models import InsertedArticle, RecentStorySignals

log = logging.getLogger(__name__)

REPRINT_WINDOW = timedelta(hours=72)
WRITE_CHUNK = 200
# Feeds being fetched, parsed, tagged or written at once. Without a bound every feed of a pass is fetched at
# once and each body waits in memory for a worker: over 200 full-text feeds (63 MB of XML) the process grew
# by 126 MB during the pass, and by 67 MB with this bound, in the same time. The workers parse a few feeds at
# a time, so more in flight would only hide more network latency.
FEEDS_IN_FLIGHT = 24


def _outlets_interleaved(urls: Sequence[str]) -> list[int]:
    """The feeds' positions in the order their passes take a slot: one feed of each host in turn.

    A feed holds its slot (FEEDS_IN_FLIGHT) while it waits for the fetcher's per-host limit; in the
    configured order, an outlet with many feeds listed together would fill the slots with feeds queued for
    that one host while other outlets' feeds waited for a slot."""
    turn: dict[str, int] = {}
    keyed = []
    for k, url in enumerate(urls):
        host = urlsplit(url).hostname or ""
        keyed.append((turn.get(host, 0), k))
        turn[host] = turn.get(host, 0) + 1
    return [k for _, k in sorted(keyed)]


# Passes (of any Ingestor in this process) that have the collector's view frozen; see _collector_spared.
_frozen_passes = 0


@contextmanager
def _collector_spared() -> Iterator[None]:
    """Move every object alive now out of the cyclic collector's reach until the pass ends.

    A full (generation 2) collection visits every tracked object; with a pass's indexes, the tagged
    entries and the bot's own state that is a few hundred thousand objects and 50-100 ms during which no
    thread runs, the event loop included. Frozen objects are still freed by reference counting; only
    cycles among them wait until the end of the pass, when everything frozen is handed back. Nested or
    overlapping passes (tests run several Ingestors) hand back only when the last one ends.
    `_spare_survivors` freezes again as the pass goes, so what it adds to its indexes is spared too.
    """
    global _frozen_passes
    gc.freeze()
    _frozen_passes += 1
    try:
        yield
    finally:
        _frozen_passes -= 1
        if _frozen_passes == 0 and not memory.long_lived_frozen():  # see bot/memory.py
            gc.unfreeze()


def _spare_survivors() -> None:
    """During a pass, also freeze what has been created since the last freeze (mostly index entries)."""
    if _frozen_passes:
        gc.freeze()


def _build_indexes(
    fingerprints: Sequence[RecentFingerprint], story_rows: Sequence[RecentStorySignals]
) -> tuple[ReprintIndex, StoryIndex]:
    """The reprint and story indexes of a pass (CPU work over thousands of rows: run in a thread)."""
    index = ReprintIndex()
    index.extend((r.id, r.root_id, r.lang, r.fingerprint) for r in fingerprints)
    return index, StoryIndex.from_recent(story_rows)


class _PassIndexes:
    """The reprint and story indexes of one pass, loaded from the store when first needed.

    Deciding reprints and stories and writing the chunk are one step under `lock`, so two feeds of the pass
    never both claim to be the original of the same press release; the indexes are loaded under the same
    lock, before the pass's first write, so they hold exactly what they would have held at its start.
    """

    def __init__(self, storage: Storage, now: datetime) -> None:
        self.lock = asyncio.Lock()
        self._storage = storage
        self._now = now
        self._built: tuple[ReprintIndex, StoryIndex] | None = None

    async def get(self) -> tuple[ReprintIndex, StoryIndex]:
        """The indexes, loaded on the first call (callers hold `lock`)."""
        if self._built is None:
            fingerprints = await self._storage.articles.recent_fingerprints(self._now - REPRINT_WINDOW)
            story_rows = await self._storage.articles.recent_story_signals(self._now - STORY_WINDOW)
            self._built = await asyncio.to_thread(_build_indexes, fingerprints, story_rows)
            _spare_survivors()
        return self._built

    def release(self) -> None:
        """Drop the indexes (a later `get` loads them again): between passes they are only memory."""
        self._built = None


@dataclass
class FeedReport:
    """What one feed gave in one pass; `status` is ok, unchanged, not_modified, failed or skipped."""

    name: str
    url: str
    status: str
    new: int = 0
    duplicate: int = 0
    reprints: int = 0
    skipped_entries: int = 0
    reason: str | None = None
    problem: str | None = None


@dataclass
class IngestReport:
    started: datetime
    finished: datetime | None = None
    feeds: list[FeedReport] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(f.new for f in self.feeds)

    @property
    def duplicate(self) -> int:
        return sum(f.duplicate for f in self.feeds)

    @property
    def failed(self) -> int:
        return sum(1 for f in self.feeds if f.status == "failed")


class PassRunner(Protocol):
    """What the scheduler and `/ingest` need: the in-process `Ingestor`, or the service's
    `bot.ingest.isolated.IsolatedIngestor`, which runs each pass in a child process."""

    @property
    def running(self) -> bool: ...

    async def run_pass(self, specs: Sequence[FeedSpec], *, respect_backoff: bool = True) -> IngestReport: ...


class Ingestor:
    """Runs passes; holds only what is shared across feeds of one pass (the fetcher and the indexes)."""

    def __init__(
        self,
        storage: Storage,
        topics: TopicRules,
        projects: ProjectCatalog,
        *,
        clock: Clock = utc_now,
        fetcher_options: dict[str, object] | None = None,
        analyser: Analyser | None = None,
    ) -> None:
        self._storage = storage
        self._analyser = analyser or Analyser(topics, projects)
        self._clock = clock
        self._fetcher_options = fetcher_options or {}
        self._lock = asyncio.Lock()
        # The indexes of the current (or last) pass; `_write_chunk` loads them again if asked after the pass.
        self._indexes: _PassIndexes | None = None

    @property
    def running(self) -> bool:
        return self._lock.locked()

    async def run_pass(self, specs: Sequence[FeedSpec], *, respect_backoff: bool = True) -> IngestReport:
        """One pass over the feeds; passes never overlap (a second caller waits for the first)."""
        async with self._lock:
            now = self._clock()
            report = IngestReport(started=now)
            # Worker processes start (from a thread: see ProcessAnalyser.start) while the first feeds are
            # fetched; parsing waits for them. Over the network that hides their start-up (0.3-0.5 s).
            starting = asyncio.ensure_future(self._analyser.start())
            try:
                report.feeds = await self._all_feeds(specs, now, respect_backoff)
            finally:
                # Workers that could not start fail the pass as a whole (WorkersUnavailable), here.
                await starting
            report.finished = self._clock()
            log.info(
                "ingest pass feeds=%d new=%d duplicate=%d failed=%d seconds=%.1f",
                len(report.feeds),
                report.new,
                report.duplicate,
                report.failed,
                (report.finished - report.started).total_seconds(),
            )
            metrics.ingest_pass(report)
            return report

    async def _all_feeds(self, specs: Sequence[FeedSpec], now: datetime, respect_backoff: bool) -> list[FeedReport]:
        """Every feed of the pass, concurrently; the reports in the order of `specs`."""
        feeds = await self._storage.feeds.sync(specs, now)
        # The last pass's indexes go first, so two never sit in memory together.
        if self._indexes is not None:
            self._indexes.release()
        self._indexes = indexes = _PassIndexes(self._storage, now)
        try:
            with _collector_spared():
                async with Fetcher(**self._fetcher_options) as fetcher:  # type: ignore[arg-type]
                    slots = asyncio.Semaphore(FEEDS_IN_FLIGHT)
                    order = _outlets_interleaved([feed.url for feed in feeds])
                    done = await asyncio.gather(
                        *(self._one_feed(fetcher, feeds[k], indexes, respect_backoff, slots) for k in order)
                    )
                    by_feed = dict(zip(order, done, strict=True))
                    return [by_feed[k] for k in range(len(feeds))]
        finally:
            indexes.release()

    async def _one_feed(
        self,
        fetcher: Fetcher,
        feed: FeedState,
        indexes: _PassIndexes,
        respect_backoff: bool,
        slots: asyncio.Semaphore,
    ) -> FeedReport:
        report = FeedReport(name=feed.name, url=feed.url, status="ok")
        try:
            async with slots:
                await self._ingest_feed(fetcher, feed, indexes, respect_backoff, report)
        except WorkersUnavailable as exc:
            # Not the feed's fault: nothing is recorded against it, and run_pass raises once all feeds are done.
            report.status, report.reason = "failed", str(exc)
        except Exception as exc:  # one broken feed must never stop the others
            log.exception("feed failed unexpectedly feed=%s", feed.url)
            await self._fail(feed, report, f"internal error: {type(exc).__name__}: {exc}", None)
        return report

    async def _fail(self, feed: FeedState, report: FeedReport, reason: str, retry_after: float | None) -> None:
        now = self._clock()
        report.status, report.reason = "failed", reason
        await self._storage.feeds.record_failure(
            feed.id, now=now, reason=reason, next_attempt_at=next_attempt(now, feed.failure_count + 1, retry_after)
        )
        log.warning("feed failed feed=%s reason=%r", feed.url, reason)

    async def _ingest_feed(
        self, fetcher: Fetcher, feed: FeedState, indexes: _PassIndexes, respect_backoff: bool, report: FeedReport
    ) -> None:
        now = self._clock()
        if respect_backoff and feed.next_attempt_at is not None and feed.next_attempt_at > now:
            report.status = "skipped"
            report.reason = f"backing off after {feed.failure_count} failures until {feed.next_attempt_at:%Y-%m-%d %H:%M} UTC"
            return
        result = await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if result.status == "failed":
            await self._fail(feed, report, result.error or "unknown fetch error", result.retry_after)
            return
        if result.status == "not_modified":
            report.status = "not_modified"
            await self._storage.feeds.record_success(
                feed.id, now=self._clock(), status="not_modified", etag=None, last_modified=None,
                body_sha256=None, problem=feed.last_problem,
            )
            return
        body = result.body or b""
        digest = hashlib.sha256(body).hexdigest()
        if digest == feed.body_sha256:
            # Byte-identical to last time (a server without validators): nothing to parse.
            report.status = "unchanged"
            await self._storage.feeds.record_success(
                feed.id, now=self._clock(), status="unchanged", etag=result.etag,
                last_modified=result.last_modified, body_sha256=digest, problem=feed.last_problem,
            )
            return
        try:
            parsed = await self._analyser.parse(body, result.final_url or feed.url, result.content_type, now)
        except FeedParseError as exc:
            await self._fail(feed, report, str(exc), None)
            return
        report.skipped_entries = parsed.skipped
        report.problem = parsed.problem
        fresh = await self._drop_known(feed, parsed.entries, report)
        prepared = await self._analyser.tag(fresh, feed.lang_hint)
        await self._write(feed, prepared, indexes, report)
        await self._storage.feeds.record_success(
            feed.id, now=self._clock(), status="ok", etag=result.etag, last_modified=result.last_modified,
            body_sha256=digest, problem=parsed.problem,
        )

    async def _drop_known(self, feed: FeedState, entries: list[NormalEntry], report: FeedReport) -> list[NormalEntry]:
        """One article per canonical URL (any feed) and per guid (this feed); repeats count as duplicates."""
        urls = [e.url for e in entries]
        guids = [e.guid for e in entries if e.guid]
        seen_urls, seen_guids = await self._storage.articles.existing(feed.id, urls, guids)
        fresh: list[NormalEntry] = []
        for entry in entries:
            if entry.url in seen_urls or (entry.guid and entry.guid in seen_guids):
                report.duplicate += 1
                continue
            seen_urls.add(entry.url)
            if entry.guid:
                seen_guids.add(entry.guid)
            fresh.append(entry)
        return fresh

    async def _write(self, feed: FeedState, prepared: list[Tagged], indexes: _PassIndexes, report: FeedReport) -> None:
        seen_at = self._clock()
        for start in range(0, len(prepared), WRITE_CHUNK):
            chunk = prepared[start : start + WRITE_CHUNK]
            # Deciding reprints and writing are one step per chunk, so two feeds of the pass never both
            # claim to be the original of the same press release.
            async with indexes.lock:
                reprints, _ = await indexes.get()
                await self._write_chunk(feed, chunk, reprints, report, seen_at)

    async def _write_chunk(
        self, feed: FeedState, chunk: list[Tagged], index: ReprintIndex, report: FeedReport, seen_at: datetime
    ) -> None:
        """Decide and write one chunk (the caller holds the pass's write lock, or is the only writer)."""
        if self._indexes is None:  # only when called outside a pass (benchmarks)
            self._indexes = _PassIndexes(self._storage, self._clock())
        _, stories = await self._indexes.get()
        # Deciding is CPU work against indexes of thousands of articles: in a thread, one chunk at a time
        # (only code under the write lock touches the indexes).
        rows = await asyncio.to_thread(self._decide, feed, chunk, index, stories, seen_at)
        stored = await self._storage.articles.insert_linked(rows)
        await asyncio.to_thread(self._settle, rows, stored, index, stories, report)

    @staticmethod
    def _decide(
        feed: FeedState, chunk: list[Tagged], index: ReprintIndex, stories: StoryIndex, seen_at: datetime
    ) -> list[NewArticle]:
        """The rows of a chunk with their reprint and story decisions; its items enter the indexes as placeholders."""
        rows = []
        for position, item in enumerate(chunk):
            split = prints(item.fingerprint)
            original = index.original_of(item.lang, split)
            # Items of this chunk enter the indexes at once under a negative placeholder id, so a reprint or a
            # report of the same story later in the same chunk finds them; storage resolves the placeholders.
            in_batch = -original - 1 if original is not None and original < 0 else None
            placeholder = -position - 1
            story_id: int | None = None
            story_in_batch: int | None = None
            if original is not None:
                # A reprint keeps its original's story (storage takes it from reprint_of).
                known = stories.story_of(original)
                story = placeholder if known is None else known
            else:
                found = stories.best_story(item.story, item.entry.published, item.topics)
                story = placeholder if found is None else found
                if found is not None and found < 0:
                    story_in_batch = -found - 1
                else:
                    story_id = found
            rows.append(
                NewArticle(
                    feed_id=feed.id,
                    url=item.entry.url,
                    guid=item.entry.guid,
                    title=item.entry.title,
                    summary=item.entry.summary,
                    lang=item.lang,
                    published_at=item.entry.published,
                    first_seen_at=seen_at,
                    topics=item.topics,
                    projects=item.projects,
                    reprint_of=None if in_batch is not None else original,
                    fingerprint=item.fingerprint,
                    reprint_of_batch_index=in_batch,
                    story_id=story_id,
                    story_of_batch_index=story_in_batch,
                    story_signals=item.story.keys(),
                )
            )
            index.add(placeholder, original if original is not None else placeholder, item.lang, split)
            stories.add(placeholder, story, item.story, item.entry.published, item.topics)
        return rows

    @staticmethod
    def _settle(
        rows: list[NewArticle],
        stored: list[InsertedArticle | None],
        index: ReprintIndex,
        stories: StoryIndex,
        report: FeedReport,
    ) -> None:
        """Replace a written chunk's placeholders in the indexes by the stored ids; count what was new."""
        for position, (row, inserted) in enumerate(zip(rows, stored, strict=True)):
            if inserted is None:
                index.remove(-position - 1)
                stories.remove(-position - 1)
                report.duplicate += 1
                continue
            report.new += 1
            root = row.reprint_of
            if row.reprint_of_batch_index is not None:
                first = stored[row.reprint_of_batch_index]
                root = None if first is None else first.id
            if root is not None:
                report.reprints += 1
            index.rekey(-position - 1, inserted.id, root or inserted.id)
            stories.rekey(-position - 1, inserted.id, inserted.story_id)
        _spare_survivors()
