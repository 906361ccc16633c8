"""The CPU-heavy steps of a pass — parsing, normalising, tagging — kept off the event loop.

Two ways to run them, same functions: in a thread (tests, small installs) or in a pool of worker
processes (the service and the CLI). Threads keep the loop responsive but share one interpreter lock,
so a pass over hundreds of feeds is CPU-bound on one core and the loop still waits for the lock in
turns; processes let parsing use every core and leave the event loop's interpreter to the bot.

With processes, what crosses the pipe is pickled on one side and unpickled on the other, and the
unpickling of results happens in the parent under its interpreter lock: so results carry only what
the parent does not already have (`_tag_in_worker` sends back the tags, not the entries it was given).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.ingest.language import detect_language, needs_lingua
from bot.ingest.normalize import NormalEntry, SkipReason, normalize_entry
from bot.ingest.parse import parse_feed
from bot.ingest.projects import ProjectCatalog
from bot.ingest.reprints import fingerprint
from bot.ingest.stories import AliasTable, StorySignals, signals
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


# What tagging adds to one entry: language, topics, project mentions, reprint fingerprint, story signals.
Tags = tuple[str, tuple[str, ...], tuple[ProjectRef, ...], str, StorySignals]


def tag(entries: list[NormalEntry], hint: str, topics: TopicRules, projects: ProjectCatalog) -> list[Tagged]:
    tags = tags_of(entries, hint, topics, projects)
    return [Tagged(entry, *t) for entry, t in zip(entries, tags, strict=True)]


def tags_of(entries: list[NormalEntry], hint: str, topics: TopicRules, projects: ProjectCatalog) -> list[Tags]:
    """The tags of each entry, in order (without the entry: a worker process need not send it back)."""
    known = {p.key: p for p in projects.known}
    out: list[Tags] = []
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
        story = signals(entry.title, entry.summary, lang)
        # The flat keys are asked for several times during linking and storing; computed here, in a worker,
        # they travel with the signals (pickled with them) instead of costing the parent's CPU.
        story.keys()
        out.append(
            (lang, tuple(topics.match(text, lang)), tuple(refs), fingerprint(entry.title, entry.summary), story)
        )
    return out


class WorkersUnavailable(RuntimeError):
    """The worker processes could not be started: nothing can be parsed, and no feed is to blame."""


class Analyser:
    """Runs the heavy steps in a worker thread with rules already loaded in this process."""

    def __init__(self, topics: TopicRules, projects: ProjectCatalog) -> None:
        self._topics = topics
        self._projects = projects

    async def start(self) -> None:
        """Get ready for a pass (nothing to do for threads).

        A pass runs this alongside its first fetches, so `parse` and `tag` must not depend on it having
        returned: an analyser that needs it waits for it there.
        """

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
    AliasTable.default()  # loaded now rather than during the first pass
    # The compiled rules live as long as the worker: taken out of the cyclic collector's view, so its
    # full collections (triggered by the garbage every feed leaves) do not walk them again and again.
    gc.freeze()


def _ready() -> None:
    """A no-op job: submitted once per worker to have the pool start its processes."""


def _tag_in_worker(entries: list[NormalEntry], hint: str) -> list[Tags]:
    assert _worker_rules is not None, "worker started without its rules"
    return tags_of(entries, hint, *_worker_rules)


def _preload() -> list[str]:
    """What the fork server imports before it forks workers: this module, lingua's models, and the parent's
    main module.

    A worker runs the parent's main module again, as `__mp_main__` (that is how multiprocessing finds what
    a job may name there); with the same module imported in the server, what it imports is there already.
    That works for a module run with `-m`, such as the service's pass (`python -m bot.ingest.isolated`),
    named here as it is. A script is left to each worker: multiprocessing's own "__main__" entry is meant
    for it, but on Python 3.11 the server is never given the script's path. A `-m` module named `__main__`
    (`python -m bot`) is not run again in workers, so not here either. Running the main module's top level
    in the server is as safe as in every worker: a program that starts processes keeps its work under
    `if __name__ == "__main__"`.
    """
    # forkserver_lingua loads lingua's models, so that the workers share them.
    preload = ["__main__", __name__, "bot.ingest.forkserver_lingua"]
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is None or spec.name.endswith("__main__"):
        return preload
    # The module runs again in each worker; forkserver_quiet keeps runpy from warning about it there.
    return [*preload, "bot.ingest.forkserver_quiet", spec.name]


class ProcessAnalyser(Analyser):
    """The same steps in a pool of processes that load the rules files once each.

    `forkserver` rather than fork: the parent has threads (aiosqlite, the default executor), and forking
    a threaded process can copy a held lock into the child.

    Tagging jumps the queue: at most two parse jobs per worker are in the pool at a time (one running, one
    ready, so no worker waits for the event loop to hand it the next), so a feed that has been parsed is
    tagged (and then written, on the parent's side) while other feeds are still being parsed, instead of
    after all of them. The parent's share of a pass (deciding and writing) then overlaps the workers'
    share, and parsed feeds do not pile up in the parent's memory.
    """

    def __init__(
        self, topics: TopicRules, projects: ProjectCatalog, topics_file: Path, projects_file: Path,
        workers: int | None = None,
    ) -> None:
        super().__init__(topics, projects)
        context = multiprocessing.get_context("forkserver")
        # Workers are forked from the fork server; with these modules imported there (once, when it starts),
        # a worker starts with them instead of importing them again. Under `run` each pass is a fresh process
        # with a fresh server, so this is paid every pass: starting 2 workers took 0.96 s of CPU, then 0.48;
        # loading lingua's models there adds 0.3 s once, which each worker that needed them paid before.
        # "__main__" is multiprocessing's default, kept. (Only the server's first start reads the list.)
        context.set_forkserver_preload(_preload())
        self._workers = workers or max(1, min(4, multiprocessing.cpu_count()))
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(str(topics_file), str(projects_file)),
        )
        self._parse_slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._starting: asyncio.Future[None] | None = None
        self._started = False
        self._busy_here = False

    async def start(self) -> None:
        """Start the worker processes from a thread, once; whoever calls meanwhile waits for the same start.

        The pool starts a process at a submit that finds no idle worker, in the submitting thread, and the
        first one also starts the fork server (a fresh interpreter importing the main module): done from
        the event loop, that blocks it for a good part of a second at the first pass. `parse` and `tag`
        call this first, so a pass can fetch while the workers start.

        Raises WorkersUnavailable if they cannot be started.
        """
        if self._started:
            return
        loop = asyncio.get_running_loop()
        if self._starting is None or self._starting.get_loop() is not loop:
            self._starting = asyncio.ensure_future(asyncio.to_thread(self._start_workers))
        try:
            # Shielded: one caller being cancelled must not cancel the start the others wait for.
            await asyncio.shield(self._starting)
        except Exception as exc:
            raise WorkersUnavailable(f"the worker processes did not start: {type(exc).__name__}: {exc}") from exc
        self._started = True

    def _start_workers(self) -> None:
        # Submitted back to back while the first workers still load their rules, so each finds none idle.
        for future in [self._pool.submit(_ready) for _ in range(self._workers)]:
            future.result()

    def _still_starting(self) -> bool:
        """Whether the workers are still starting and this process is free to do a job meanwhile.

        Their server imports our modules and loads lingua's models (about 0.6 s of one core), while this
        process has its first feeds fetched and would wait idle: it parses and tags them itself, one job at a
        time in a thread, until the workers are up. (Measured with `make bench-ingest`, this is what keeps
        loading lingua in the server from delaying the pass by those 0.3 s.)
        """
        return not self._started and self._starting is not None and not self._starting.done() and not self._busy_here

    @contextmanager
    def _working_here(self) -> Iterator[None]:
        """One job at a time in this process while the workers start (see _still_starting)."""
        self._busy_here = True
        try:
            yield
        finally:
            self._busy_here = False

    async def parse(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Parsed:
        if self._still_starting():
            with self._working_here():
                return await super().parse(body, url, content_type, now)
        await self.start()
        loop = asyncio.get_running_loop()
        if self._parse_slots is None or self._parse_slots[0] is not loop:  # a semaphore serves one loop
            self._parse_slots = (loop, asyncio.Semaphore(2 * self._workers))
        async with self._parse_slots[1]:
            return await loop.run_in_executor(self._pool, parse_and_normalise, body, url, content_type, now)

    async def tag(self, entries: list[NormalEntry], hint: str) -> list[Tagged]:
        if not entries:
            return []
        # Not an item that needs lingua: its models are loaded in the workers' server, to be shared, not here.
        if self._still_starting() and not any(needs_lingua(e.title, e.summary, hint) for e in entries):
            with self._working_here():
                return await super().tag(entries, hint)
        await self.start()
        loop = asyncio.get_running_loop()
        tags = await loop.run_in_executor(self._pool, _tag_in_worker, entries, hint)
        return [Tagged(entry, *t) for entry, t in zip(entries, tags, strict=True)]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
