"""Counts behind the trends chart: stories per topic per local day, by report language."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from storage.db import Database
from storage.models import to_ts


class TrendStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def stories_per_day(
        self, *, until: datetime, days: int, utc_offset: timedelta
    ) -> dict[tuple[date, str, str], int]:
        """(local day, topic, lang) → number of distinct stories with a report in that language that day.

        A story told in both languages counts once in each language's series; reprints never add to it.
        """
        since = until - timedelta(days=days)
        offset = int(utc_offset.total_seconds())
        sql = (
            "SELECT date(a.published_at + ?, 'unixepoch') AS day, t.topic, a.lang, "
            "count(DISTINCT coalesce(a.story_id, a.id)) FROM articles a "
            "JOIN article_topics t ON t.article_id = a.id "
            "WHERE a.published_at >= ? AND a.published_at < ? GROUP BY day, t.topic, a.lang"
        )
        async with self._db.conn.execute(sql, (offset, to_ts(since), to_ts(until))) as cur:
            rows = await cur.fetchall()
        return {(date.fromisoformat(r[0]), r[1], r[2]): int(r[3]) for r in rows}
