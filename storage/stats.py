"""Counts for `python -m bot stats` and the operators' /stats."""

from __future__ import annotations

from storage.db import Database
from storage.models import Counts


class StatsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _pairs(self, sql: str) -> dict[str, int]:
        async with self._db.conn.execute(sql) as cur:
            return {str(r[0]): int(r[1]) for r in await cur.fetchall()}

    async def _one(self, sql: str) -> int:
        async with self._db.conn.execute(sql) as cur:
            row = await cur.fetchone()
        return int(row[0] or 0) if row else 0

    async def counts(self) -> Counts:
        feeds = await self._pairs(
            "SELECT CASE WHEN failure_count > 0 THEN 'failing' ELSE 'ok' END, count(*) FROM feeds "
            "WHERE enabled = 1 GROUP BY 1"
        )
        subs = await self._pairs(
            "SELECT CASE WHEN active = 1 THEN 'active' ELSE 'inactive' END, count(*) FROM subscribers GROUP BY 1"
        )
        deliveries = await self._deliveries()
        return Counts(
            feeds_ok=feeds.get("ok", 0),
            feeds_failing=feeds.get("failing", 0),
            articles_by_lang=await self._pairs("SELECT lang, count(*) FROM articles GROUP BY lang ORDER BY lang"),
            articles_by_topic=await self._pairs(
                "SELECT topic, count(*) FROM article_topics GROUP BY topic ORDER BY count(*) DESC, topic"
            ),
            articles_total=await self._one("SELECT count(*) FROM articles"),
            projects=await self._one("SELECT count(*) FROM projects"),
            subscribers_active=subs.get("active", 0),
            subscribers_inactive=subs.get("inactive", 0),
            deliveries=deliveries,
        )

    async def _deliveries(self) -> dict[str, int]:
        async with self._db.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
        ) as cur:
            if await cur.fetchone() is None:
                return {}
        return await self._pairs("SELECT status, count(*) FROM deliveries GROUP BY status ORDER BY status")
