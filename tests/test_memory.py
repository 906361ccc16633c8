"""bot/memory.py: start-up objects stay frozen across ingestion passes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot import memory
from bot.ingest import pipeline


@pytest.fixture
def thawed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts and ends with nothing frozen and no start-up freeze recorded."""
    gc.unfreeze()
    monkeypatch.setattr(memory, "_long_lived_frozen", False)
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_a_pass_hands_back_what_it_froze_when_nothing_was_frozen_at_start_up(thawed: None) -> None:
    with pipeline._collector_spared():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_pass_keeps_the_start_up_freeze(thawed: None) -> None:
    memory.freeze_long_lived()
    frozen = gc.get_freeze_count()
    assert memory.long_lived_frozen() and frozen > 0
    with pipeline._collector_spared():
        garbage = cycle()
        pipeline._spare_survivors()
    # The start-up objects are still frozen (and so is the pass's cyclic garbage).
    assert gc.get_freeze_count() >= frozen
    gc.collect()
    assert garbage() is not None
