"""The CPU-heavy steps of a pass — parsing, normalising, tagging — kept off the event loop.

Two ways to run them, same functions: in a thread (tests, small installs) or in a pool of worker
processes (the service and the CLI). Threads keep the loop responsive but share one interpreter lock,
so a pass over hundreds of feeds is CPU-bound on one core and the loop still waits for the lock in
turns; processes let parsing use every core and leave the event loop's interpreter to the bot.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.ingest.language import detect_language
from bot.ingest.normalize import NormalEntry, SkipReason, normalize_entry
from bot.ingest.parse import parse_feed
from bot.ingest.projects import ProjectCatalog
from bot.ingest.reprints import fingerprint
from bot.ingest.stories import StorySignals, signals
from bot.topics import TopicRules
from storage import ProjectRef


@dataclass(frozen=True)
class Parsed:
    problem: str | None
    entries: list[NormalEntry]
    skipped: int


@dataclass(frozen=True)
class Tagged:
    entry: NormalEntry
    lang: str
    topics: tuple[str, ...]
    projects: tuple[ProjectRef, ...]
    fingerprint: str
    # What story linking compares across outlets and languages; extracted here, in the workers, because it
    # is CPU work the event loop should not do.
    story: StorySignals = StorySignals()


def parse_and_normalise(body: bytes, url: str, content_type: str | None, now: datetime) -> Parsed:
    """Raises FeedParseError (picklable: its message is its only argument)."""
    feed = parse_feed(body, url=url, content_type=content_type)
    entries: list[NormalEntry] = []
    skipped = 0
    for raw in feed.entries:
        normal = normalize_entry(raw, now=now)
        if isinstance(normal, SkipReason):
            skipped += 1
        else:
            entries.append(normal)
    return Parsed(feed.problem, entries, skipped)


def tag(entries: list[NormalEntry], hint: str, topics: TopicRules, projects: ProjectCatalog) -> list[Tagged]:
    known = {p.key: p for p in projects.known}
    out = []
    for entry in entries:
        lang = detect_language(entry.title, entry.summary, hint)
        text = f"{entry.title}\n{entry.summary}"
        refs = []
        for mention in projects.find(text, lang):
            names = known[mention.key].names if mention.key in known else {}
            refs.append(
                ProjectRef(
                    key=mention.key,
                    name=mention.name,
                    kind=mention.kind,
                    known=mention.known,
                    surface=mention.surface,
                    name_ru=names.get("ru"),
                    name_kk=names.get("kk"),
                    name_latin=names.get("latin") or (mention.name if mention.name.isascii() else None),
                )
            )
        out.append(
            Tagged(
                entry,
                lang,
                tuple(topics.match(text, lang)),
                tuple(refs),
                fingerprint(entry.title, entry.summary),
                signals(entry.title, entry.summary, lang),
            )
        )
    return out


class Analyser:
    """Runs the heavy steps in a worker thread with rules already loaded in this process."""

    def __init__(self, topics: TopicRules, projects: ProjectCatalog) -> None:
        self._topics = topics
        self._projects = projects

    async def parse(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Parsed:
        return await asyncio.to_thread(parse_and_normalise, body, url, content_type, now)

    async def tag(self, entries: list[NormalEntry], hint: str) -> list[Tagged]:
        if not entries:
            return []
        return await asyncio.to_thread(tag, entries, hint, self._topics, self._projects)

    def close(self) -> None:
        """Nothing to release for threads."""


# --- worker processes ---------------------------------------------------------------------------

_worker_rules: tuple[TopicRules, ProjectCatalog] | None = None


def _init_worker(topics_file: str, projects_file: str) -> None:
    global _worker_rules
    _worker_rules = (TopicRules.load(Path(topics_file)), ProjectCatalog.load(Path(projects_file)))


def _tag_in_worker(entries: list[NormalEntry], hint: str) -> list[Tagged]:
    assert _worker_rules is not None, "worker started without its rules"
    return tag(entries, hint, *_worker_rules)


class ProcessAnalyser(Analyser):
    """The same steps in a pool of processes that load the rules files once each.

    `forkserver` rather than fork: the parent has threads (aiosqlite, the default executor), and forking
    a threaded process can copy a held lock into the child.
    """

    def __init__(
        self, topics: TopicRules, projects: ProjectCatalog, topics_file: Path, projects_file: Path,
        workers: int | None = None,
    ) -> None:
        super().__init__(topics, projects)
        context = multiprocessing.get_context("forkserver")
        self._pool = ProcessPoolExecutor(
            max_workers=workers or max(1, min(4, multiprocessing.cpu_count())),
            mp_context=context,
            initializer=_init_worker,
            initargs=(str(topics_file), str(projects_file)),
        )

    async def parse(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Parsed:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, parse_and_normalise, body, url, content_type, now)

    async def tag(self, entries: list[NormalEntry], hint: str) -> list[Tagged]:
        if not entries:
            return []
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _tag_in_worker, entries, hint)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
