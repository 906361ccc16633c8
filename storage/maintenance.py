"""Keeping the store healthy over months: retention in small batches, and the facts /healthz reports."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database
from storage.models import from_ts, to_ts

RETENTION_BATCH = 500


@dataclass(frozen=True)
class HealthFacts:
    writable: bool
    feeds: int
    last_ingest_success: datetime | None
    last_delivery: datetime | None
    open_parts: int
    oldest_open_part: datetime | None


class MaintenanceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def remove_older_than(self, cutoff: datetime, *, batch: int = RETENTION_BATCH, pause: float = 0.05) -> int:
        """Delete articles published before `cutoff` (topics, mentions and index entries go with them).

        Small batches, each its own short transaction with a pause between, so the bot and a running pass
        never wait long for the write lock; returns how many were removed.
        """
        removed = 0
        while True:
            async with self._db.write() as conn:
                cur = await conn.execute(
                    "DELETE FROM articles WHERE id IN (SELECT id FROM articles WHERE published_at < ? LIMIT ?)",
                    (to_ts(cutoff), batch),
                )
                count = cur.rowcount
            removed += count
            if count < batch:
                break
            await asyncio.sleep(pause)
        if removed:
            async with self._db.write() as conn:
                # Projects no article mentions any more, unless they are the shipped (known) ones.
                await conn.execute(
                    "DELETE FROM projects WHERE known = 0 AND id NOT IN (SELECT project_id FROM project_mentions)"
                )
        return removed

    async def writable(self) -> bool:
        try:
            # Takes the database's write lock and rewrites one row of the main file (values unchanged).
            async with self._db.write() as conn:
                await conn.execute("UPDATE feeds SET enabled = enabled WHERE id = (SELECT min(id) FROM feeds)")
            return True
        except Exception:  # any failure to write is exactly what the probe reports
            return False

    async def facts(self) -> HealthFacts:
        conn = self._db.conn
        async with conn.execute("SELECT count(*), max(last_success_at) FROM feeds WHERE enabled = 1") as cur:
            feeds, last_ok = await cur.fetchone()  # type: ignore[misc]
        last_sent = open_parts = oldest = None
        async with conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'") as cur:
            has_ledger = await cur.fetchone() is not None
        if has_ledger:
            async with conn.execute(
                "SELECT max(sent_at), sum(status IN ('pending', 'sending', 'failed')), "
                "min(CASE WHEN status IN ('pending', 'sending', 'failed') THEN created_at END) FROM deliveries"
            ) as cur:
                last_sent, open_parts, oldest = await cur.fetchone()  # type: ignore[misc]
        return HealthFacts(
            writable=await self.writable(),
            feeds=int(feeds or 0),
            last_ingest_success=None if last_ok is None else from_ts(last_ok),
            last_delivery=None if last_sent is None else from_ts(last_sent),
            open_parts=int(open_parts or 0),
            oldest_open_part=None if oldest is None else from_ts(oldest),
        )
