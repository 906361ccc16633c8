"""The SQLite store. All SQL of the project lives in this package; nothing here imports the layers above."""

from __future__ import annotations

from pathlib import Path

from storage.articles import ArticleStore, fts_query
from storage.db import Database, StorageError
from storage.deliveries import Ack, Delivery, DeliveryStore, PlannedDigest
from storage.feeds import FeedStore
from storage.follows import Follow, FollowStore
from storage.models import (
    Counts,
    EarlierReport,
    FeedSpec,
    FeedState,
    NewArticle,
    ProjectRef,
    ProjectSummary,
    RecentFingerprint,
    ReprintSource,
    StoredArticle,
    StoryStanding,
    Subscriber,
)
from storage.projects import ProjectStore
from storage.stats import StatsStore
from storage.subscribers import SubscriberStore

__all__ = [
    "Ack",
    "ArticleStore",
    "Counts",
    "Database",
    "Delivery",
    "EarlierReport",
    "DeliveryStore",
    "FeedSpec",
    "FeedState",
    "FeedStore",
    "Follow",
    "FollowStore",
    "NewArticle",
    "PlannedDigest",
    "ProjectRef",
    "ProjectStore",
    "ProjectSummary",
    "RecentFingerprint",
    "ReprintSource",
    "StatsStore",
    "Storage",
    "StorageError",
    "StoredArticle",
    "StoryStanding",
    "Subscriber",
    "SubscriberStore",
    "fts_query",
]


class Storage:
    """The database and its stores, opened once per process and handed to whoever needs it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.feeds = FeedStore(db)
        self.articles = ArticleStore(db)
        self.projects = ProjectStore(db, self.articles)
        self.subscribers = SubscriberStore(db)
        self.stats = StatsStore(db)
        self.deliveries = DeliveryStore(db)
        self.follows = FollowStore(db, self.articles)

    @classmethod
    async def open(cls, path: Path | str) -> Storage:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.db.close()

    async def backup(self, target: Path | str) -> Path:
        return await self.db.backup(target)
