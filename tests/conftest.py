"""Shared fixtures. Feed and Bot API servers run on 127.0.0.1 only; nothing reaches the internet."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from storage import Storage

# Tests never read a developer's .env or environment by accident: every setting's variable is cleared.
for _name in list(os.environ):
    if _name.lower() in Settings.model_fields:
        del os.environ[_name]

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "habar.sqlite3"


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[Storage]:
    store = await Storage.open(db_path)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run in an empty folder so no .env of the developer is read."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
