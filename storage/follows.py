"""Who follows which project, and what is new for them since their watermark.

A follower's watermark (`seen_article_id`) is the largest article id that existed when they followed or
were last alerted. Article ids only grow and a story's id is its first article's, so "a story new to this
follower" is a story none of whose articles naming the project is at or below the watermark. The alert
itself is written to the delivery ledger (`DeliveryStore.plan_alert`) in the same transaction that moves
the watermark, so an alert is never lost between the two, nor planned twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.articles import _SELECT, ArticleStore
from storage.db import Database
from storage.models import StoredArticle, from_ts, to_ts


@dataclass(frozen=True, slots=True)
class Follow:
    """A follow of an active subscriber, with what rendering an alert for them needs."""

    chat_id: int
    project_id: int
    seen_article_id: int
    last_alert_at: datetime | None
    ui_lang: str
    news_langs: str
    timezone: str

    @property
    def langs(self) -> tuple[str, ...]:
        return ("ru", "kk") if self.news_langs == "both" else (self.news_langs,)


def _follow(row: sqlite3.Row) -> Follow:
    return Follow(
        chat_id=row["chat_id"],
        project_id=row["project_id"],
        seen_article_id=row["seen_article_id"],
        last_alert_at=None if row["last_alert_at"] is None else from_ts(row["last_alert_at"]),
        ui_lang=row["ui_lang"],
        news_langs=row["news_langs"],
        timezone=row["timezone"],
    )


def _marks(n: int) -> str:
    return ",".join("?" * n)


class FollowStore:
    def __init__(self, db: Database, articles: ArticleStore) -> None:
        self._db = db
        self._articles = articles

    async def follow(self, chat_id: int, project_id: int, now: datetime) -> bool:
        """Start following (news from now on: the watermark is the newest article). False if already."""
        async with self._db.write() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO project_follows (chat_id, project_id, created_at, seen_article_id) "
                "VALUES (?, ?, ?, (SELECT coalesce(max(id), 0) FROM articles))",
                (chat_id, project_id, to_ts(now)),
            )
            return cur.rowcount == 1

    async def unfollow(self, chat_id: int, project_id: int) -> bool:
        async with self._db.write() as conn:
            cur = await conn.execute(
                "DELETE FROM project_follows WHERE chat_id = ? AND project_id = ?", (chat_id, project_id)
            )
            return cur.rowcount == 1

    async def followed(self, chat_id: int) -> set[int]:
        """Ids of the projects this chat follows."""
        async with self._db.conn.execute(
            "SELECT project_id FROM project_follows WHERE chat_id = ?", (chat_id,)
        ) as cur:
            return {int(r[0]) for r in await cur.fetchall()}

    async def due(self, not_alerted_since: datetime) -> list[Follow]:
        """Follows of active, unpaused subscribers that may get an alert now (none since the given time)
        and whose project has been named in an article newer than their watermark."""
        sql = (
            "SELECT f.chat_id, f.project_id, f.seen_article_id, f.last_alert_at, s.ui_lang, s.news_langs, "
            "s.timezone FROM project_follows f JOIN subscribers s ON s.chat_id = f.chat_id "
            "WHERE s.active = 1 AND s.paused = 0 AND (f.last_alert_at IS NULL OR f.last_alert_at <= ?) "
            "AND EXISTS (SELECT 1 FROM project_mentions m WHERE m.project_id = f.project_id "
            "AND m.article_id > f.seen_article_id) ORDER BY f.project_id, f.chat_id"
        )
        async with self._db.conn.execute(sql, (to_ts(not_alerted_since),)) as cur:
            return [_follow(r) for r in await cur.fetchall()]

    async def new_stories(
        self, project_id: int, after_article_id: int, langs: Sequence[str], *, limit: int = 50
    ) -> list[StoredArticle]:
        """Original reports (newest first) of the stories about the project that are new after the
        watermark: named in a newer article and in no article at or below it."""
        marks = _marks(len(langs))
        sql = (
            "WITH mentioned AS (SELECT a.id, coalesce(a.story_id, a.id) AS story FROM project_mentions m "
            f"JOIN articles a ON a.id = m.article_id WHERE m.project_id = ? AND a.lang IN ({marks})), "
            "fresh AS (SELECT story FROM mentioned WHERE id > ? EXCEPT SELECT story FROM mentioned WHERE id <= ?) "
            f"{_SELECT} WHERE (a.story_id IN (SELECT story FROM fresh) OR a.id IN (SELECT story FROM fresh)) "
            f"AND a.reprint_of IS NULL AND a.lang IN ({marks}) ORDER BY a.published_at DESC, a.id DESC LIMIT ?"
        )
        params = (project_id, *langs, after_article_id, after_article_id, *langs, limit)
        async with self._db.conn.execute(sql, params) as cur:
            rows = await cur.fetchall()
        return await self._articles.decorate(rows)

    async def newest_article_id(self) -> int:
        async with self._db.conn.execute("SELECT coalesce(max(id), 0) FROM articles") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def advance(self, chat_id: int, project_id: int, seen_article_id: int) -> None:
        """Nothing to tell this follower (e.g. the new mentions are in a language they don't read, or
        about stories they were already told of): move the watermark without an alert."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE project_follows SET seen_article_id = max(seen_article_id, ?) "
                "WHERE chat_id = ? AND project_id = ?",
                (seen_article_id, chat_id, project_id),
            )
