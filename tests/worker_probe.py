"""Run as `python -m tests.worker_probe` by tests/test_analyse.py: parse and tag one feed in worker processes
started the way the service's pass starts them (its main module run with -m), and print what came back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.config import DEFAULT_PROJECTS_FILE, DEFAULT_TOPICS_FILE
from bot.ingest.analyse import ProcessAnalyser
from bot.ingest.projects import ProjectCatalog
from bot.topics import TopicRules
from tests.feedgen import Item, rss

ITEMS = [
    Item("Қытай компаниясы Орал маңында зауыт салады", "https://kk.example.kz/1", "Жобаға инвестиция тартылды."),
    Item("Китайская компания построит завод под Уральском", "https://ru.example.kz/1", "Инвестиции привлечены."),
]


async def main() -> None:
    topics, projects = TopicRules.load(DEFAULT_TOPICS_FILE), ProjectCatalog.load(DEFAULT_PROJECTS_FILE)
    analyser = ProcessAnalyser(topics, projects, DEFAULT_TOPICS_FILE, DEFAULT_PROJECTS_FILE, workers=2)
    try:
        await analyser.start()
        parsed = await analyser.parse(rss(ITEMS), "https://example.kz/rss", None, datetime.now(UTC))
        for tagged in await analyser.tag(parsed.entries, "auto"):
            print(tagged.lang, ",".join(tagged.topics), tagged.entry.title)
    finally:
        analyser.close()


if __name__ == "__main__":
    asyncio.run(main())
