"""The delivery ledger: every part of every daily digest, written down before it is sent.

A subscriber's digest is *planned* in one transaction: all its parts (Telegram messages, in order) become
`pending` rows keyed by (chat_id, local date, part), so a digest is planned at most once a day whatever
restarts or ticks happen. The sender then walks each part through

    pending ──claim──▶ sending ──ack──▶ sent
                          │
                          ├─ network / 5xx, retries used up ──▶ failed  (a later run tries again, up to a cap)
                          └─ blocked, chat gone, rejected, cap reached, expired ──▶ dropped  (never sent)

`sending` is committed *before* the HTTP call and `sent` (with Telegram's message_id) *after* the answer.
When the last part of a digest is acknowledged, the subscriber's `last_digest_date`/`last_digest_at` are
set in that same transaction, so "all parts sent" and "digest done for the day" can never disagree.

In-doubt parts — at-least-once
------------------------------
A part found in `sending` when a run starts was in flight when the previous process died: Telegram may or
may not have delivered it, and the Bot API offers no idempotency key to ask. We resend it
(`recover_in_doubt` puts it back to `pending`). The price is at most one duplicate message per part that
was in flight at the crash (bounded by the sender's concurrency, i.e. a handful among thousands); the
alternative, at-most-once, would silently lose those subscribers' digest for the day, which is worse for a
daily news service. The same rule covers a connection dropped after Telegram accepted a message: the
sender retries it. One sender per database at a time: recovery assumes nothing else is sending (the
scheduler never overlaps its delivery ticks; do not run `digest --send` while `run` is delivering).

Alerts about followed projects (`kind = 'alert'`, storage/follows.py) are parts of the same ledger, keyed
by an alert key instead of a date, and go through the same sender at the same pace with the same rules;
only a digest's last part marks the subscriber's digest as done for the day.

Rendered texts are stored once in `delivery_texts` (identical digests share a row), so the ledger of
100,000 subscribers costs a few rows of text, not 100,000 copies.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from storage.db import Database
from storage.models import from_ts, to_ts

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
DROPPED = "dropped"
OPEN_STATUSES = (PENDING, SENDING, FAILED)

PLAN_CHUNK = 500  # subscribers per planning transaction: short write locks, few round trips
MAX_AGE = timedelta(hours=20)  # a digest not out by then is superseded by tomorrow's (which covers its news)


@dataclass(frozen=True, slots=True)
class PlannedDigest:
    """One subscriber's digest for one local date, rendered into Telegram messages (parts)."""

    chat_id: int
    local_date: str
    until: datetime
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One part of one planned digest, as the ledger holds it."""

    id: int
    chat_id: int
    local_date: str
    part: int
    parts: int
    text_id: int
    until: datetime
    status: str
    attempts: int
    last_error: str | None
    message_id: int | None
    updated_at: datetime
    kind: str = "digest"  # or "alert" (a followed project's news): never marks the day's digest as done


@dataclass(frozen=True, slots=True)
class Ack:
    """Telegram accepted `delivery` as message `message_id` in `chat_id` (its id after any migration)."""

    delivery: Delivery
    chat_id: int
    message_id: int | None


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        chat_id=row["chat_id"],
        local_date=row["local_date"],
        part=row["part"],
        parts=row["parts"],
        text_id=row["text_id"],
        until=from_ts(row["digest_until"]),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        message_id=row["message_id"],
        updated_at=from_ts(row["updated_at"]),
        kind=row["kind"],
    )


def _marks(n: int) -> str:
    return ",".join("?" * n)


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- planning --------------------------------------------------------------------------------

    async def planned(self, local_dates: Iterable[str]) -> set[tuple[int, str]]:
        """(chat_id, local_date) pairs that already have a plan on these dates, whatever its state."""
        dates = sorted(set(local_dates))
        if not dates:
            return set()
        sql = f"SELECT DISTINCT chat_id, local_date FROM deliveries WHERE local_date IN ({_marks(len(dates))})"
        async with self._db.conn.execute(sql, dates) as cur:
            return {(r[0], r[1]) for r in await cur.fetchall()}

    async def plan(self, digests: Sequence[PlannedDigest], now: datetime) -> int:
        """Write digests as pending parts; a (chat, date) that already has a plan is left as it is.

        Each subscriber's parts go in together (one transaction per chunk of subscribers), so a crash never
        leaves half a digest planned. Returns how many subscribers were newly planned.
        """
        created = 0
        text_ids: dict[str, int] = {}
        for i in range(0, len(digests), PLAN_CHUNK):
            chunk = digests[i : i + PLAN_CHUNK]
            async with self._db.write() as conn:
                taken: set[tuple[int, str]] = set()
                for date in {d.local_date for d in chunk}:
                    chats = [d.chat_id for d in chunk if d.local_date == date]
                    sql = (
                        f"SELECT DISTINCT chat_id FROM deliveries WHERE local_date = ? "
                        f"AND chat_id IN ({_marks(len(chats))})"
                    )
                    async with conn.execute(sql, (date, *chats)) as cur:
                        taken.update((r[0], date) for r in await cur.fetchall())
                rows = []
                for d in chunk:
                    if (d.chat_id, d.local_date) in taken or not d.texts:
                        continue
                    taken.add((d.chat_id, d.local_date))  # the same subscriber twice in one call: first wins
                    created += 1
                    for part, text in enumerate(d.texts, start=1):
                        text_id = text_ids.get(text)
                        if text_id is None:
                            text_id = text_ids[text] = await self._text_id(conn, text)
                        rows.append(
                            (d.chat_id, d.local_date, part, len(d.texts), text_id, to_ts(d.until), to_ts(now), to_ts(now))
                        )
                await conn.executemany(
                    "INSERT INTO deliveries (chat_id, local_date, part, parts, text_id, digest_until, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        return created

    async def plan_alert(
        self,
        *,
        chat_id: int,
        project_id: int,
        key: str,
        texts: Sequence[str],
        seen_article_id: int,
        now: datetime,
    ) -> bool:
        """Write a followed project's alert as pending parts and move the follower's watermark and
        last-alert time, in one transaction: the alert is planned exactly once, and the stories it tells
        of are never told again. `key` takes the place of a digest's local date (it must not look like
        one). False if that key was already planned."""
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT 1 FROM deliveries WHERE chat_id = ? AND local_date = ?", (chat_id, key)
            ) as cur:
                if await cur.fetchone() is not None:
                    return False
            rows = []
            for part, text in enumerate(texts, start=1):
                text_id = await self._text_id(conn, text)
                rows.append((chat_id, key, part, len(texts), text_id, to_ts(now), to_ts(now), to_ts(now)))
            await conn.executemany(
                "INSERT INTO deliveries (chat_id, local_date, part, parts, text_id, digest_until, "
                "created_at, updated_at, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'alert')",
                rows,
            )
            await conn.execute(
                "UPDATE project_follows SET seen_article_id = max(seen_article_id, ?), last_alert_at = ? "
                "WHERE chat_id = ? AND project_id = ?",
                (seen_article_id, to_ts(now), chat_id, project_id),
            )
        return True

    @staticmethod
    async def _text_id(conn: aiosqlite.Connection, text: str) -> int:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        await conn.execute("INSERT OR IGNORE INTO delivery_texts (sha256, body) VALUES (?, ?)", (digest, text))
        async with conn.execute("SELECT id FROM delivery_texts WHERE sha256 = ?", (digest,)) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def mark_done(self, items: Sequence[tuple[int, str, datetime]]) -> None:
        """Digest done for the day without a message (empty digest, subscriber asked for no empty ones).

        `items` are (chat_id, local_date, until); `until` becomes the start of tomorrow's window.
        """
        for i in range(0, len(items), PLAN_CHUNK):
            chunk = items[i : i + PLAN_CHUNK]
            async with self._db.write() as conn:
                await conn.executemany(
                    "UPDATE subscribers SET last_digest_date = ?, last_digest_at = ? WHERE chat_id = ? "
                    "AND (last_digest_date IS NULL OR last_digest_date < ?)",
                    [(date, to_ts(until), chat, date) for chat, date, until in chunk],
                )

    # --- housekeeping before a run ---------------------------------------------------------------

    async def recover_in_doubt(self, now: datetime) -> int:
        """Parts left in `sending` by a dead process go back to `pending`: at-least-once (module docstring)."""
        async with self._db.write() as conn:
            cur = await conn.execute(
                "UPDATE deliveries SET status = 'pending', updated_at = ?, "
                "last_error = 'in doubt: the sender stopped during the request' WHERE status = 'sending'",
                (to_ts(now),),
            )
            return cur.rowcount

    async def expire(self, now: datetime, max_age: timedelta = MAX_AGE) -> int:
        """Drop open parts nobody should get any more: too old, or the subscriber left or paused."""
        async with self._db.write() as conn:
            old = await conn.execute(
                "UPDATE deliveries SET status = 'dropped', last_error = 'expired', updated_at = ? "
                "WHERE status IN ('pending', 'sending', 'failed') AND digest_until < ?",
                (to_ts(now), to_ts(now - max_age)),
            )
            gone = await conn.execute(
                "UPDATE deliveries SET status = 'dropped', last_error = 'subscriber inactive or paused', "
                "updated_at = ? WHERE status IN ('pending', 'sending', 'failed') AND chat_id IN "
                "(SELECT chat_id FROM subscribers WHERE active = 0 OR paused = 1)",
                (to_ts(now),),
            )
            return old.rowcount + gone.rowcount

    async def prune(self, before: datetime) -> int:
        """Forget finished parts of digests planned before `before`, and texts nothing refers to."""
        async with self._db.write() as conn:
            cur = await conn.execute(
                "DELETE FROM deliveries WHERE created_at < ? AND status IN ('sent', 'dropped', 'failed')",
                (to_ts(before),),
            )
            await conn.execute(
                "DELETE FROM delivery_texts WHERE NOT EXISTS "
                "(SELECT 1 FROM deliveries d WHERE d.text_id = delivery_texts.id)"
            )
            return cur.rowcount

    # --- sending ---------------------------------------------------------------------------------

    async def open_parts(self) -> list[Delivery]:
        """Parts still to send (pending, in doubt, failed) of active subscribers, by chat, date and part."""
        sql = (
            "SELECT d.* FROM deliveries d JOIN subscribers s ON s.chat_id = d.chat_id "
            "WHERE d.status IN ('pending', 'sending', 'failed') AND s.active = 1 AND s.paused = 0 "
            "ORDER BY d.chat_id, d.local_date, d.part"
        )
        async with self._db.conn.execute(sql) as cur:
            return [_delivery(r) for r in await cur.fetchall()]

    async def texts(self, text_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(text_ids))
        out: dict[int, str] = {}
        for i in range(0, len(ids), PLAN_CHUNK):
            part = ids[i : i + PLAN_CHUNK]
            sql = f"SELECT id, body FROM delivery_texts WHERE id IN ({_marks(len(part))})"
            async with self._db.conn.execute(sql, part) as cur:
                out.update({r[0]: r[1] for r in await cur.fetchall()})
        return out

    async def claim(self, delivery_id: int, now: datetime) -> bool:
        """pending/failed → sending, committed before the request; False if someone else has it."""
        return delivery_id in await self.claim_many([delivery_id], now)

    async def claim_many(self, delivery_ids: Sequence[int], now: datetime) -> set[int]:
        """`claim` for several parts in one transaction (the sender groups its workers' claims)."""
        claimed: set[int] = set()
        async with self._db.write() as conn:
            for i in range(0, len(delivery_ids), PLAN_CHUNK):
                part = list(delivery_ids[i : i + PLAN_CHUNK])
                sql = (
                    f"SELECT id FROM deliveries WHERE id IN ({_marks(len(part))}) "
                    "AND status IN ('pending', 'failed')"
                )
                async with conn.execute(sql, part) as cur:
                    ids = [r[0] for r in await cur.fetchall()]
                if ids:
                    await conn.execute(
                        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ? "
                        f"WHERE id IN ({_marks(len(ids))})",
                        (to_ts(now), *ids),
                    )
                claimed.update(ids)
        return claimed

    async def retrying(self, delivery_id: int, error: str, now: datetime) -> None:
        """Another request for a part still in `sending` after a transient error."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?",
                (error[:500], to_ts(now), delivery_id),
            )

    async def mark_sent(
        self, delivery: Delivery, *, chat_id: int, message_id: int | None, now: datetime
    ) -> bool:
        """Telegram acknowledged the part. Returns True when this completed the digest, in which case the
        subscriber is marked as served for the day in the same transaction."""
        return (await self.mark_sent_many([Ack(delivery, chat_id, message_id)], now))[0]

    async def mark_sent_many(self, acks: Sequence[Ack], now: datetime) -> list[bool]:
        """`mark_sent` for several parts in one transaction; each digest completed by its last part marks
        its subscriber in that same transaction."""
        done: list[bool] = []
        async with self._db.write() as conn:
            await conn.executemany(
                "UPDATE deliveries SET status = 'sent', message_id = ?, sent_at = ?, updated_at = ?, "
                "last_error = NULL WHERE id = ?",
                [(a.message_id, to_ts(now), to_ts(now), a.delivery.id) for a in acks],
            )
            for ack in acks:
                d = ack.delivery
                if d.part != d.parts or d.kind != "digest":
                    done.append(False)  # parts go out in order, so only the last one can complete a digest
                    continue
                cur = await conn.execute(
                    "UPDATE subscribers SET last_digest_date = ?, last_digest_at = ? WHERE chat_id = ? "
                    "AND (last_digest_date IS NULL OR last_digest_date < ?) AND NOT EXISTS "
                    "(SELECT 1 FROM deliveries WHERE chat_id = ? AND local_date = ? AND status != 'sent' AND kind = 'digest')",
                    (d.local_date, to_ts(d.until), ack.chat_id, d.local_date, ack.chat_id, d.local_date),
                )
                done.append(cur.rowcount == 1)
        return done

    async def fail(self, delivery: Delivery, error: str, now: datetime, *, max_attempts: int) -> int:
        """A part that could not be sent this run: `failed` for a later run, or given up (with the rest
        of its digest) once it has had `max_attempts` requests. Returns how many parts were dropped."""
        async with self._db.write() as conn:
            async with conn.execute("SELECT attempts FROM deliveries WHERE id = ?", (delivery.id,)) as cur:
                row = await cur.fetchone()
            attempts = int(row[0]) if row else max_attempts
            if attempts < max_attempts:
                await conn.execute(
                    "UPDATE deliveries SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
                    (error[:500], to_ts(now), delivery.id),
                )
                return 0
            return await self._drop_digest(conn, delivery.id, f"gave up after {attempts} attempts: {error}", now)

    async def give_up(self, delivery: Delivery, error: str, now: datetime) -> int:
        """A part Telegram will never accept (e.g. rejected markup): drop it and the rest of its digest,
        so no later part arrives without it. Returns how many parts were dropped."""
        async with self._db.write() as conn:
            return await self._drop_digest(conn, delivery.id, error, now)

    async def release(self, delivery: Delivery, now: datetime) -> None:
        """sending → pending for a part we know was not delivered (the run stopped before its request)."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE deliveries SET status = 'pending', attempts = max(0, attempts - 1), updated_at = ? "
                "WHERE id = ? AND status = 'sending'",
                (to_ts(now), delivery.id),
            )

    @staticmethod
    async def _drop_digest(conn: aiosqlite.Connection, delivery_id: int, error: str, now: datetime) -> int:
        cur = await conn.execute(
            "UPDATE deliveries SET status = 'dropped', last_error = ?, updated_at = ? "
            "WHERE status IN ('pending', 'sending', 'failed') AND (id = ? OR (chat_id, local_date) = "
            "(SELECT chat_id, local_date FROM deliveries WHERE id = ?))",
            (error[:500], to_ts(now), delivery_id, delivery_id),
        )
        return cur.rowcount

    async def drop_chat(self, chat_id: int, reason: str, now: datetime) -> int:
        """Every open part for a chat we may no longer write to (blocked the bot, deleted, gone)."""
        async with self._db.write() as conn:
            cur = await conn.execute(
                "UPDATE deliveries SET status = 'dropped', last_error = ?, updated_at = ? "
                "WHERE chat_id = ? AND status IN ('pending', 'sending', 'failed')",
                (reason, to_ts(now), chat_id),
            )
            return cur.rowcount

    # --- reading ---------------------------------------------------------------------------------

    async def for_chat(self, chat_id: int) -> list[Delivery]:
        async with self._db.conn.execute(
            "SELECT * FROM deliveries WHERE chat_id = ? ORDER BY local_date, part", (chat_id,)
        ) as cur:
            return [_delivery(r) for r in await cur.fetchall()]

    async def counts(self) -> dict[str, int]:
        async with self._db.conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status") as cur:
            return {r[0]: int(r[1]) for r in await cur.fetchall()}

    async def text_of(self, delivery: Delivery) -> str:
        return (await self.texts([delivery.text_id]))[delivery.text_id]
