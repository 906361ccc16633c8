"""Named projects and companies, and the articles that mention them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from storage.articles import _SELECT, ArticleStore
from storage.db import Database
from storage.models import ProjectRef, ProjectSummary, StoredArticle, from_ts, to_ts


def _summary(row: sqlite3.Row) -> ProjectSummary:
    return ProjectSummary(
        id=row["id"],
        key=row["key"],
        name_ru=row["name_ru"],
        name_kk=row["name_kk"],
        name_latin=row["name_latin"],
        kind=row["kind"],
        known=bool(row["known"]),
        mentions=row["mentions"],
        last_seen=None if row["last_seen"] is None else from_ts(row["last_seen"]),
    )


_SUMMARY = (
    "SELECT p.id, p.key, p.name_ru, p.name_kk, p.name_latin, p.kind, p.known, "
    "count(a.id) AS mentions, max(a.published_at) AS last_seen FROM projects p "
    "LEFT JOIN project_mentions m ON m.project_id = p.id LEFT JOIN articles a ON a.id = m.article_id "
)


class ProjectStore:
    def __init__(self, db: Database, articles: ArticleStore) -> None:
        self._db = db
        self._articles = articles

    async def tracked(
        self, *, limit: int = 30, min_mentions: int = 1, attention_since: datetime | None = None
    ) -> list[ProjectSummary]:
        """Projects named at least `min_mentions` times, by recent attention: the number of distinct
        stories about them published since `attention_since` (several outlets and both languages
        reporting one event count once), then the latest news, then all-time mentions."""
        sql = (
            "SELECT p.id, p.key, p.name_ru, p.name_kk, p.name_latin, p.kind, p.known, "
            "count(a.id) AS mentions, max(a.published_at) AS last_seen, "
            "count(DISTINCT CASE WHEN a.published_at >= ? THEN coalesce(a.story_id, a.id) END) AS recent "
            "FROM projects p LEFT JOIN project_mentions m ON m.project_id = p.id "
            "LEFT JOIN articles a ON a.id = m.article_id "
            "GROUP BY p.id HAVING mentions >= ? "
            "ORDER BY recent DESC, last_seen DESC NULLS LAST, mentions DESC, p.key LIMIT ?"
        )
        floor = 0 if attention_since is None else to_ts(attention_since)
        async with self._db.conn.execute(sql, (floor, min_mentions, limit)) as cur:
            return [_summary(r) for r in await cur.fetchall()]

    async def all(self) -> list[ProjectSummary]:
        async with self._db.conn.execute(f"{_SUMMARY} GROUP BY p.id ORDER BY p.key") as cur:
            return [_summary(r) for r in await cur.fetchall()]

    async def by_keys(self, keys: Sequence[str]) -> list[ProjectSummary]:
        if not keys:
            return []
        sql = f"{_SUMMARY} WHERE p.key IN ({','.join('?' * len(keys))}) GROUP BY p.id"
        async with self._db.conn.execute(sql, tuple(keys)) as cur:
            return [_summary(r) for r in await cur.fetchall()]

    async def articles(
        self, project_id: int, *, langs: Sequence[str] = ("ru", "kk"), limit: int = 10,
        since: datetime | None = None,
    ) -> list[StoredArticle]:
        """Latest news about a project, newest first; reprints fold into their original."""
        sql = (
            f"{_SELECT} JOIN project_mentions m ON m.article_id = a.id WHERE m.project_id = ? "
            f"AND a.reprint_of IS NULL AND a.lang IN ({','.join('?' * len(langs))}) AND a.published_at >= ? "
            "ORDER BY a.published_at DESC, a.id DESC LIMIT ?"
        )
        floor = 0 if since is None else to_ts(since)
        async with self._db.conn.execute(sql, (project_id, *langs, floor, limit)) as cur:
            rows = await cur.fetchall()
        return await self._articles.decorate(rows)

    async def timeline(
        self, project_id: int, *, langs: Sequence[str] = ("ru", "kk"), stories: int = 10
    ) -> list[StoredArticle]:
        """The original reports of the latest `stories` stories naming the project, newest first,
        including reports of those stories that do not name it themselves (a Kazakh version that
        spells the name differently belongs to the same event)."""
        marks = ",".join("?" * len(langs))
        sql = (
            "WITH latest AS (SELECT coalesce(a.story_id, a.id) AS story, max(a.published_at) AS at "
            f"FROM project_mentions m JOIN articles a ON a.id = m.article_id WHERE m.project_id = ? "
            f"AND a.lang IN ({marks}) GROUP BY story ORDER BY at DESC LIMIT ?) "
            f"{_SELECT} WHERE (a.story_id IN (SELECT story FROM latest) OR a.id IN (SELECT story FROM latest)) "
            f"AND a.reprint_of IS NULL AND a.lang IN ({marks}) ORDER BY a.published_at DESC, a.id DESC LIMIT ?"
        )
        params = (project_id, *langs, stories, *langs, stories * 20)
        async with self._db.conn.execute(sql, params) as cur:
            rows = await cur.fetchall()
        return await self._articles.decorate(rows)

    async def ensure(self, ref: ProjectRef, now: datetime) -> ProjectSummary:
        """The stored project for a catalogued one the news has not named yet (so it can be followed
        before its first story); an existing row keeps its names."""
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO projects (key, name_ru, name_kk, name_latin, kind, known, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
                (ref.key, ref.name_ru, ref.name_kk, ref.name_latin, ref.kind, int(ref.known), to_ts(now)),
            )
        [summary] = await self.by_keys([ref.key])
        return summary

    async def get(self, project_id: int) -> ProjectSummary | None:
        async with self._db.conn.execute(f"{_SUMMARY} WHERE p.id = ? GROUP BY p.id", (project_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else _summary(row)
