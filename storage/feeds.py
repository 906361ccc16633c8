"""Feeds and their fetch state: conditional-GET validators, health and back-off."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from storage.db import Database
from storage.models import FeedSpec, FeedState, from_ts, to_ts


def _state(row: sqlite3.Row) -> FeedState:
    def opt(col: str) -> datetime | None:
        value = row[col]
        return None if value is None else from_ts(value)

    return FeedState(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        lang_hint=row["lang_hint"],
        enabled=bool(row["enabled"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_sha256=row["body_sha256"],
        last_attempt_at=opt("last_attempt_at"),
        last_success_at=opt("last_success_at"),
        last_status=row["last_status"],
        last_error=row["last_error"],
        last_problem=row["last_problem"],
        failure_count=row["failure_count"],
        next_attempt_at=opt("next_attempt_at"),
    )


class FeedStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def sync(self, specs: Sequence[FeedSpec], now: datetime) -> list[FeedState]:
        """Make the table follow the feeds file: add new feeds, rename, disable the ones removed.

        Removed feeds are disabled rather than deleted so their articles (and export) stay intact.
        """
        urls = [s.url for s in specs]
        async with self._db.write() as conn:
            for spec in specs:
                await conn.execute(
                    "INSERT INTO feeds (url, name, lang_hint, enabled, created_at) VALUES (?, ?, ?, 1, ?) "
                    "ON CONFLICT(url) DO UPDATE SET name = excluded.name, lang_hint = excluded.lang_hint, "
                    "enabled = 1",
                    (spec.url, spec.name, spec.lang, to_ts(now)),
                )
            placeholders = ",".join("?" * len(urls)) or "''"
            await conn.execute(f"UPDATE feeds SET enabled = 0 WHERE url NOT IN ({placeholders})", urls)
        return await self.enabled()

    async def enabled(self) -> list[FeedState]:
        async with self._db.conn.execute("SELECT * FROM feeds WHERE enabled = 1 ORDER BY id") as cur:
            return [_state(r) for r in await cur.fetchall()]

    async def all(self) -> list[FeedState]:
        async with self._db.conn.execute("SELECT * FROM feeds ORDER BY enabled DESC, id") as cur:
            return [_state(r) for r in await cur.fetchall()]

    async def get(self, feed_id: int) -> FeedState | None:
        async with self._db.conn.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else _state(row)

    async def record_success(
        self,
        feed_id: int,
        *,
        now: datetime,
        status: str,
        etag: str | None,
        last_modified: str | None,
        body_sha256: str | None,
        problem: str | None,
    ) -> None:
        """A fetch that worked (new body, unchanged body or 304): reset the failure streak."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE feeds SET etag = coalesce(?, etag), last_modified = coalesce(?, last_modified), "
                "body_sha256 = coalesce(?, body_sha256), last_attempt_at = ?, last_success_at = ?, "
                "last_status = ?, last_error = NULL, last_problem = ?, failure_count = 0, "
                "next_attempt_at = NULL WHERE id = ?",
                (etag, last_modified, body_sha256, to_ts(now), to_ts(now), status, problem, feed_id),
            )

    async def record_failure(
        self, feed_id: int, *, now: datetime, reason: str, next_attempt_at: datetime | None
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE feeds SET last_attempt_at = ?, last_status = 'failed', last_error = ?, "
                "failure_count = failure_count + 1, next_attempt_at = ? WHERE id = ?",
                (
                    to_ts(now),
                    reason,
                    None if next_attempt_at is None else to_ts(next_attempt_at),
                    feed_id,
                ),
            )
