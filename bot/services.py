"""Loading what every command shares: settings-driven data files and the store.

Kept free of aiogram so the offline commands start fast.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.feeds_file import load_feeds
from bot.ingest.projects import ProjectCatalog
from bot.topics import TopicRules
from storage import FeedSpec


@dataclass(frozen=True)
class Catalogs:
    feeds: list[FeedSpec]
    topics: TopicRules
    projects: ProjectCatalog


def load_catalogs(settings: Settings) -> Catalogs:
    """Raises FeedsFileError / TopicsFileError with a message naming the file and the problem."""
    return Catalogs(
        feeds=load_feeds(settings.feeds_file),
        topics=TopicRules.load(settings.topics_file),
        projects=ProjectCatalog.load(settings.projects_file),
    )
