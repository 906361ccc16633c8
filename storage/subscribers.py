"""Subscribers: their language, news languages, topics, digest time and whether we may write to them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from storage.db import Database
from storage.models import Subscriber, from_ts, to_ts

_COLUMNS = {"ui_lang", "news_langs", "digest_time", "timezone", "paused", "notify_empty"}


class SubscriberStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _topics(self, chat_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {c: [] for c in chat_ids}
        for i in range(0, len(chat_ids), 500):
            part = chat_ids[i : i + 500]
            sql = f"SELECT chat_id, topic FROM subscriber_topics WHERE chat_id IN ({','.join('?' * len(part))})"
            async with self._db.conn.execute(sql, tuple(part)) as cur:
                for r in await cur.fetchall():
                    out[r[0]].append(r[1])
        return {c: tuple(sorted(t)) for c, t in out.items()}

    async def _load(self, rows: Sequence[sqlite3.Row]) -> list[Subscriber]:
        topics = await self._topics([r["chat_id"] for r in rows])
        return [
            Subscriber(
                chat_id=r["chat_id"],
                user_id=r["user_id"],
                ui_lang=r["ui_lang"],
                news_langs=r["news_langs"],
                digest_time=r["digest_time"],
                timezone=r["timezone"],
                active=bool(r["active"]),
                paused=bool(r["paused"]),
                notify_empty=bool(r["notify_empty"]),
                topics=topics[r["chat_id"]],
                last_digest_date=r["last_digest_date"],
                last_digest_at=None if r["last_digest_at"] is None else from_ts(r["last_digest_at"]),
                created_at=from_ts(r["created_at"]),
            )
            for r in rows
        ]

    async def get(self, chat_id: int) -> Subscriber | None:
        async with self._db.conn.execute("SELECT * FROM subscribers WHERE chat_id = ?", (chat_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else (await self._load([row]))[0]

    async def subscribe(
        self,
        chat_id: int,
        *,
        user_id: int | None,
        ui_lang: str,
        topics: Sequence[str],
        digest_time: str,
        timezone: str,
        now: datetime,
    ) -> tuple[Subscriber, bool]:
        """Subscribe with defaults, or re-activate someone who left, keeping what they had chosen.

        Returns the subscriber and whether it is new. A second /start must never reset settings.
        """
        async with self._db.write() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO subscribers (chat_id, user_id, ui_lang, digest_time, timezone, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (chat_id, user_id, ui_lang, digest_time, timezone, to_ts(now), to_ts(now)),
            )
            created = cur.rowcount == 1
            if created:
                await conn.executemany(
                    "INSERT INTO subscriber_topics (chat_id, topic) VALUES (?, ?)", [(chat_id, t) for t in topics]
                )
            else:
                await conn.execute(
                    "UPDATE subscribers SET active = 1, inactive_reason = NULL, updated_at = ? "
                    "WHERE chat_id = ? AND active = 0",
                    (to_ts(now), chat_id),
                )
        sub = await self.get(chat_id)
        assert sub is not None
        return sub, created

    async def add_many(self, subscribers: Sequence[Subscriber], now: datetime) -> None:
        """Subscribers written as given, with their topics, in one transaction: for seeding large stores
        (benchmarks, tests). `subscribe` is how a reader arrives, one transaction each."""
        async with self._db.write() as conn:
            await conn.executemany(
                "INSERT INTO subscribers (chat_id, user_id, ui_lang, news_langs, digest_time, timezone, active, "
                "paused, notify_empty, last_digest_date, last_digest_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        s.chat_id, s.user_id, s.ui_lang, s.news_langs, s.digest_time, s.timezone, int(s.active),
                        int(s.paused), int(s.notify_empty), s.last_digest_date,
                        None if s.last_digest_at is None else to_ts(s.last_digest_at), to_ts(s.created_at),
                        to_ts(now),
                    )
                    for s in subscribers
                ],
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO subscriber_topics (chat_id, topic) VALUES (?, ?)",
                [(s.chat_id, t) for s in subscribers for t in s.topics],
            )

    async def update(self, chat_id: int, now: datetime, **fields: object) -> Subscriber | None:
        unknown = set(fields) - _COLUMNS
        if unknown:
            raise ValueError(f"not a subscriber setting: {', '.join(sorted(unknown))}")
        if fields:
            sets = ", ".join(f"{name} = ?" for name in fields)
            async with self._db.write() as conn:
                await conn.execute(
                    f"UPDATE subscribers SET {sets}, updated_at = ? WHERE chat_id = ?",
                    (*fields.values(), to_ts(now), chat_id),
                )
        return await self.get(chat_id)

    async def toggle_topic(self, chat_id: int, topic: str) -> tuple[str, ...]:
        async with self._db.write() as conn:
            cur = await conn.execute(
                "DELETE FROM subscriber_topics WHERE chat_id = ? AND topic = ?", (chat_id, topic)
            )
            if cur.rowcount == 0:
                await conn.execute("INSERT INTO subscriber_topics (chat_id, topic) VALUES (?, ?)", (chat_id, topic))
        return (await self._topics([chat_id]))[chat_id]

    async def deactivate(self, chat_id: int, reason: str, now: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE subscribers SET active = 0, inactive_reason = ?, updated_at = ? WHERE chat_id = ?",
                (reason, to_ts(now), chat_id),
            )

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int, now: datetime) -> None:
        """A group became a supergroup: the subscription follows it (topics cascade by foreign key)."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE subscribers SET chat_id = ?, updated_at = ? WHERE chat_id = ?",
                (new_chat_id, to_ts(now), old_chat_id),
            )

    async def active(self) -> list[Subscriber]:
        async with self._db.conn.execute(
            "SELECT * FROM subscribers WHERE active = 1 AND paused = 0 ORDER BY chat_id"
        ) as cur:
            rows = await cur.fetchall()
        return await self._load(rows)

    async def mark_digest(self, chat_id: int, *, local_date: str, at: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE subscribers SET last_digest_date = ?, last_digest_at = ? WHERE chat_id = ?",
                (local_date, to_ts(at), chat_id),
            )
