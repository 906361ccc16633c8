"""Robustness: feedparser's own test corpus (1,700+ odd feeds) through fetch → parse → normalise in one pass.

Not part of `make test` (slow); run with `make robustness` or
`.venv/bin/pytest -m robustness -o addopts=''`. The corpus lives beside the repository in
../shared/corpus/feedparser. Every file must end either parsed (zero or more normalised entries) or
failed with a reason; nothing may raise and the pass must finish.

`collect_outcomes` is the reusable part: give it URLs, get one `Outcome` per URL.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pytest

from bot.ingest.fetch import Fetcher
from bot.ingest.normalize import SkipReason, normalize_entry
from bot.ingest.parse import FeedParseError, parse_feed_in_thread
from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401

pytestmark = pytest.mark.robustness

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "feedparser"
NOW = datetime(2025, 10, 8, 12, 0, tzinfo=UTC)
PASS_TIMEOUT = 300.0
CONCURRENCY = 16
# Test files describe the HTTP headers they expect in a leading comment: "Header: Content-type: text/xml".
HEADER_COMMENT = re.compile(rb"^Header:\s+([A-Za-z-]+):[ \t]*(.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    """What one feed URL came to in a pass."""

    status: Literal["ok", "failed", "crashed"]
    entries: int = 0  # normalised entries
    skipped: Mapping[str, int] | None = None  # skip reason → count
    reason: str | None = None  # failed: why; crashed: the exception
    problem: str | None = None  # parsed, but the feed is broken (bozo)


Ingest = Callable[[Fetcher, str], Awaitable[Outcome]]


async def ingest_one(fetcher: Fetcher, url: str) -> Outcome:
    """Fetch, parse and normalise one feed; the pipeline engineer can swap this for the real pipeline."""
    result = await fetcher.fetch(url)
    if result.status == "failed":
        return Outcome("failed", reason=result.error or "")
    if result.status == "not_modified" or result.body is None:
        return Outcome("ok")
    try:
        feed = await parse_feed_in_thread(
            result.body, url=result.final_url or url, content_type=result.content_type
        )
    except FeedParseError as error:
        return Outcome("failed", reason=str(error))
    normalised = [normalize_entry(raw, now=NOW) for raw in feed.entries]
    skipped = Counter(str(n) for n in normalised if isinstance(n, SkipReason))
    return Outcome(
        "ok", entries=len(normalised) - sum(skipped.values()), skipped=dict(skipped), problem=feed.problem
    )


async def collect_outcomes(
    urls: Mapping[str, str],
    *,
    ingest: Ingest = ingest_one,
    concurrency: int = CONCURRENCY,
    time_limit: float = PASS_TIMEOUT,
) -> dict[str, Outcome]:
    """Run `ingest` over every URL (name → URL) with bounded concurrency; one Outcome per name.

    An exception inside one feed is recorded as "crashed" (with its type and message) instead of
    aborting the pass, so a single run shows every offending file.
    """
    slots = asyncio.Semaphore(concurrency)
    outcomes: dict[str, Outcome] = {}

    async def run(name: str, url: str, fetcher: Fetcher) -> None:
        async with slots:
            try:
                outcomes[name] = await ingest(fetcher, url)
            except Exception as error:  # noqa: BLE001 - recorded and asserted on by the caller
                outcomes[name] = Outcome("crashed", reason=f"{type(error).__name__}: {error}")

    async with (
        asyncio.timeout(time_limit),
        Fetcher(per_host=concurrency, max_connections=concurrency) as fetcher,
    ):
        async with asyncio.TaskGroup() as group:
            for name, url in urls.items():
                group.create_task(run(name, url, fetcher))
    return outcomes


def summarize(outcomes: Mapping[str, Outcome]) -> str:
    """Counts by status and by reason, line numbers folded so that like reasons group together."""
    by_status = Counter(o.status for o in outcomes.values())
    reasons = Counter(_reason_kind(o.reason or "") for o in outcomes.values() if o.status != "ok")
    problems = Counter(_reason_kind(o.problem) for o in outcomes.values() if o.status == "ok" and o.problem)
    skipped: Counter[str] = Counter()
    for outcome in outcomes.values():
        skipped.update(outcome.skipped or {})
    entries = sum(o.entries for o in outcomes.values())
    lines = [
        f"{len(outcomes)} files: "
        + ", ".join(f"{count} {status}" for status, count in by_status.most_common()),
        f"normalised entries: {entries}; skipped: "
        + (", ".join(f"{n} {r}" for r, n in skipped.most_common()) or "none"),
        "failed by reason:",
        *(f"  {count:5}  {reason}" for reason, count in reasons.most_common()),
        "parsed with a problem:",
        *(f"  {count:5}  {problem}" for problem, count in problems.most_common()),
    ]
    return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    return re.sub(r"line \d+", "line N", reason)


def corpus_files() -> list[Path]:
    return sorted(p for p in (CORPUS / "tests").rglob("*") if p.is_file())


def serve_corpus(server: FeedServer, files: list[Path]) -> dict[str, str]:
    """Register every file on the server with the headers its comment asks for; name → URL."""
    urls = {}
    for path in files:
        name = path.relative_to(CORPUS).as_posix()
        body = path.read_bytes()
        headers = {
            key.decode(): value.decode("latin-1") for key, value in HEADER_COMMENT.findall(body[:2048])
        }
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "application/xml")
        extra = {
            k: v
            for k, v in headers.items()
            if k.lower() not in {"content-type", "etag", "last-modified"} and v
        }
        server.add_feed("/" + name, body, content_type=content_type, headers=extra)
        urls[name] = server.url("/" + name)
    return urls


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"feedparser corpus not found at {CORPUS}")
async def test_feedparser_corpus_in_one_pass(feed_server: FeedServer) -> None:
    files = corpus_files()
    assert files, f"no files under {CORPUS / 'tests'}"
    urls = serve_corpus(feed_server, files)
    started = time.monotonic()
    outcomes = await collect_outcomes(urls)
    elapsed = time.monotonic() - started
    print(f"\nfeedparser corpus, one pass in {elapsed:.1f} s\n{summarize(outcomes)}")

    assert set(outcomes) == set(urls)
    crashed = {name: o.reason for name, o in outcomes.items() if o.status == "crashed"}
    assert not crashed, f"exceptions escaped for {len(crashed)} files: {crashed}"
    unexplained = [name for name, o in outcomes.items() if o.status == "failed" and not o.reason]
    assert not unexplained, f"failed without a reason: {unexplained}"
    assert all(o.entries >= 0 for o in outcomes.values())


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"feedparser corpus not found at {CORPUS}")
async def test_feedparser_corpus_through_the_whole_pipeline(feed_server: FeedServer, tmp_path: Path) -> None:
    """The real thing: every corpus file as a feed of one ingestion pass into a real SQLite store."""
    from bot.config import DEFAULT_PROJECTS_FILE, DEFAULT_TOPICS_FILE
    from bot.ingest.pipeline import Ingestor
    from bot.ingest.projects import ProjectCatalog
    from bot.topics import TopicRules
    from storage import FeedSpec, Storage

    urls = serve_corpus(feed_server, corpus_files())
    storage = await Storage.open(tmp_path / "corpus.sqlite3")
    try:
        ingestor = Ingestor(
            storage, TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE),
            fetcher_options={"per_host": CONCURRENCY, "max_connections": CONCURRENCY},
        )
        started = time.monotonic()
        async with asyncio.timeout(PASS_TIMEOUT):
            report = await ingestor.run_pass([FeedSpec(url, name) for name, url in urls.items()])
        elapsed = time.monotonic() - started
        statuses = Counter(f.status for f in report.feeds)
        print(f"\npipeline over the corpus in {elapsed:.1f} s: {dict(statuses)}, {report.new} articles stored")
        assert len(report.feeds) == len(urls)
        internal = [(f.name, f.reason) for f in report.feeds if (f.reason or "").startswith("internal error")]
        assert not internal, internal
        assert all(f.reason for f in report.feeds if f.status == "failed")
        assert await storage.articles.count() == report.new
    finally:
        await storage.close()
