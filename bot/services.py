"""Loading what every command shares: settings-driven data files and the store.

Kept free of aiogram so the offline commands start fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.feeds_file import load_feeds
from bot.ingest.analyse import Analyser, ProcessAnalyser
from bot.ingest.pipeline import Ingestor
from bot.ingest.projects import ProjectCatalog
from bot.topics import TopicRules
from storage import FeedSpec, Storage


@dataclass(frozen=True)
class Catalogs:
    feeds: list[FeedSpec]
    topics: TopicRules
    projects: ProjectCatalog


def create_ingestor(storage: Storage, settings: Settings, catalogs: Catalogs, **options: Any) -> tuple[Ingestor, Analyser]:
    """The ingestor the service and the CLI use: tagging in worker processes (close the analyser when done)."""
    analyser = ProcessAnalyser(catalogs.topics, catalogs.projects, settings.topics_file, settings.projects_file)
    return Ingestor(storage, catalogs.topics, catalogs.projects, analyser=analyser, **options), analyser


def load_catalogs(settings: Settings) -> Catalogs:
    """Raises FeedsFileError / TopicsFileError with a message naming the file and the problem."""
    return Catalogs(
        feeds=load_feeds(settings.feeds_file),
        topics=TopicRules.load(settings.topics_file),
        projects=ProjectCatalog.load(settings.projects_file),
    )
