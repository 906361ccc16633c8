"""The SQLite connection: pragmas, migrations, write transactions and online backup."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from storage.migrations import LATEST_VERSION, MIGRATIONS

BUSY_TIMEOUT_MS = 5000


class StorageError(Exception):
    """The database cannot be used (newer schema, unreadable file); the message is safe to show."""


class Database:
    """One aiosqlite connection shared by the whole process.

    aiosqlite runs every statement on one worker thread, so statements never interleave mid-way; the
    write lock additionally keeps one task's transaction from swallowing another task's statements.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        db_path = Path(path)
        if str(db_path) != ":memory:":
            db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(db_path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA synchronous = NORMAL")
            db = cls(conn, db_path)
            await db.migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Bring the schema to the latest version; each step is atomic with its version bump."""
        current = await self.schema_version()
        if current > LATEST_VERSION:
            raise StorageError(
                f"database {self.path} has schema version {current}, newer than this program's "
                f"{LATEST_VERSION}; upgrade Habar or restore an older backup"
            )
        for version in range(current + 1, LATEST_VERSION + 1):
            script = MIGRATIONS[version - 1]
            async with self._write_lock:
                try:
                    await self.conn.executescript(
                        f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
                    )
                except BaseException:
                    if self.conn.in_transaction:
                        await self.conn.rollback()
                    raise
        return LATEST_VERSION

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One short write transaction; callers keep batches small so readers never wait long."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            else:
                await self.conn.commit()

    async def backup(self, target: Path | str) -> Path:
        """A consistent copy of the live database through SQLite's online backup API."""
        target_path = Path(target)
        # A stat and a mkdir: not worth a thread hop.
        target_path.parent.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
        if target_path.exists():  # noqa: ASYNC240
            raise StorageError(f"{target_path} already exists; choose a new file name")

        dest = sqlite3.connect(str(target_path), check_same_thread=False)
        try:
            # Runs on aiosqlite's thread; writes made meanwhile through this connection are carried
            # into the copy by SQLite itself, so the result is consistent.
            await self.conn.backup(dest)
        finally:
            dest.close()
        return target_path
