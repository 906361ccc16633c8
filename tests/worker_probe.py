"""Run as `python -m tests.worker_probe` by tests/test_analyse.py: parse and tag one feed in worker processes
started the way the service's pass starts them (its main module run with -m), and print what came back.

`python -m tests.worker_probe gone` gives the workers a topics file that does not exist, and prints what
parsing then raises. `python -m tests.worker_probe early` holds the workers' start while this process parses
and tags, and prints what was done where. (In a process of its own: a fork server, once started, lives as long
as its parent.)"""

from __future__ import annotations

import asyncio
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from bot.config import DEFAULT_PROJECTS_FILE, DEFAULT_TOPICS_FILE
from bot.ingest import language
from bot.ingest.analyse import ProcessAnalyser, WorkersUnavailable
from bot.ingest.projects import ProjectCatalog
from bot.topics import TopicRules
from tests.feedgen import Item, rss

ITEMS = [
    Item("Қытай компаниясы Орал маңында зауыт салады", "https://kk.example.kz/1", "Жобаға инвестиция тартылды."),
    Item("Китайская компания построит завод под Уральском", "https://ru.example.kz/1", "Инвестиции привлечены."),
    # A bare short headline: language is decided with lingua's help.
    Item("Теміржол вокзалы жөндеуден кейін ашылды", "https://kk.example.kz/2", ""),
]


def lingua_loaded() -> bool:
    """Run in a worker before it has analysed anything: are lingua's models there already (from the server)?"""
    return language._detector.cache_info().currsize == 1  # noqa: SLF001


async def while_starting(analyser: ProcessAnalyser) -> None:
    """The workers' start held until this process has done what it can meanwhile."""
    gate = threading.Event()
    start_workers = analyser._start_workers  # noqa: SLF001

    def held() -> None:
        gate.wait(10)  # without the parent's help meanwhile, parse waits for the start: let it go
        start_workers()

    analyser._start_workers = held  # type: ignore[method-assign]  # noqa: SLF001
    starting = asyncio.ensure_future(analyser.start())
    await asyncio.sleep(0)  # the start begins (and waits at the gate)
    now = datetime.now(UTC)
    russian = await analyser.parse(rss(ITEMS[1:2]), "https://example.kz/ru", None, now)
    tagged_here = await analyser.tag(russian.entries, "auto")
    print("parsed and tagged while the workers started:", not starting.done(), [t.lang for t in tagged_here])
    # These need lingua, whose models belong in the workers' server: tagged once the workers are up.
    kazakh = await analyser.parse(rss([ITEMS[0], ITEMS[2]]), "https://example.kz/kk", None, now)
    tagging = asyncio.ensure_future(analyser.tag(kazakh.entries, "auto"))
    gate.set()
    print("tagged by the workers:", [t.lang for t in await tagging], starting.done())
    print("lingua loaded in this process:", language._detector.cache_info().currsize == 1)  # noqa: SLF001


async def main(mode: str) -> None:
    rules_gone = mode == "gone"
    topics, projects = TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE)
    topics_file = Path("/nonexistent/habar/topics.toml") if rules_gone else DEFAULT_TOPICS_FILE
    analyser = ProcessAnalyser(topics, projects, topics_file, DEFAULT_PROJECTS_FILE, workers=2)
    try:
        if mode == "early":
            await while_starting(analyser)
            return
        if rules_gone:
            try:
                await analyser.parse(rss(ITEMS), "https://example.kz/rss", None, datetime.now(UTC))
            except WorkersUnavailable as exc:
                print(f"WorkersUnavailable: {exc}")
            return
        await analyser.start()
        loaded = [analyser._pool.submit(lingua_loaded) for _ in range(2)]  # noqa: SLF001
        print("lingua models in the workers before any text:", all(f.result() for f in loaded))
        parsed = await analyser.parse(rss(ITEMS), "https://example.kz/rss", None, datetime.now(UTC))
        for tagged in await analyser.tag(parsed.entries, "auto"):
            print(tagged.lang, ",".join(tagged.topics), tagged.entry.title)
    finally:
        analyser.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
