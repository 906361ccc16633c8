"""Run as `python -m tests.worker_probe` by tests/test_analyse.py: parse and tag one feed in worker processes
started the way the service's pass starts them (its main module run with -m), and print what came back.

`python -m tests.worker_probe gone` gives the workers a topics file that does not exist, and prints what
parsing then raises. (In a process of its own: a fork server, once started, lives as long as its parent.)"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config import DEFAULT_PROJECTS_FILE, DEFAULT_TOPICS_FILE
from bot.ingest.analyse import ProcessAnalyser, WorkersUnavailable
from bot.ingest.projects import ProjectCatalog
from bot.topics import TopicRules
from tests.feedgen import Item, rss

ITEMS = [
    Item("Қытай компаниясы Орал маңында зауыт салады", "https://kk.example.kz/1", "Жобаға инвестиция тартылды."),
    Item("Китайская компания построит завод под Уральском", "https://ru.example.kz/1", "Инвестиции привлечены."),
]


async def main(rules_gone: bool) -> None:
    topics, projects = TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE)
    topics_file = Path("/nonexistent/habar/topics.toml") if rules_gone else DEFAULT_TOPICS_FILE
    analyser = ProcessAnalyser(topics, projects, topics_file, DEFAULT_PROJECTS_FILE, workers=2)
    try:
        if rules_gone:
            try:
                await analyser.parse(rss(ITEMS), "https://example.kz/rss", None, datetime.now(UTC))
            except WorkersUnavailable as exc:
                print(f"WorkersUnavailable: {exc}")
            return
        await analyser.start()
        parsed = await analyser.parse(rss(ITEMS), "https://example.kz/rss", None, datetime.now(UTC))
        for tagged in await analyser.tag(parsed.entries, "auto"):
            print(tagged.lang, ",".join(tagged.topics), tagged.entry.title)
    finally:
        analyser.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] == ["gone"]))
