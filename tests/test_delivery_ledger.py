"""The delivery ledger (storage/deliveries.py): planned once, walked through its states, crash-safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import Delivery, PlannedDigest, Storage
from storage.migrations import LATEST_VERSION
from tests.delivery_support import add_subscribers

NOW = datetime(2025, 8, 8, 4, 0, tzinfo=UTC)
DAY = "2025-08-08"


async def planned(storage: Storage, chat: int, texts: tuple[str, ...] = ("one", "two")) -> list[Delivery]:
    await storage.deliveries.plan([PlannedDigest(chat, DAY, NOW, texts)], NOW)
    return await storage.deliveries.for_chat(chat)


async def test_schema_has_the_ledger_and_stats_count_it(storage: Storage) -> None:
    assert await storage.db.schema_version() == LATEST_VERSION >= 3
    await add_subscribers(storage, [1], NOW)
    await planned(storage, 1)
    counts = await storage.stats.counts()
    assert counts.deliveries == {"pending": 2}


async def test_a_digest_is_planned_once_whole_and_texts_are_stored_once(storage: Storage) -> None:
    await add_subscribers(storage, [1, 2, 3], NOW)
    same = ("part one", "part two")
    created = await storage.deliveries.plan([PlannedDigest(c, DAY, NOW, same) for c in (1, 2, 3)], NOW)
    assert created == 3
    # A second plan for the same day (even with other content) changes nothing: no extra or mixed parts.
    again = await storage.deliveries.plan([PlannedDigest(1, DAY, NOW, ("other", "parts", "three"))], NOW)
    assert again == 0
    rows = await storage.deliveries.for_chat(1)
    assert [(r.part, r.parts, r.status) for r in rows] == [(1, 2, "pending"), (2, 2, "pending")]
    assert [await storage.deliveries.text_of(r) for r in rows] == list(same)
    async with storage.db.conn.execute("SELECT count(*) FROM delivery_texts") as cur:
        assert (await cur.fetchone())[0] == 2
    assert await storage.deliveries.planned([DAY]) == {(1, DAY), (2, DAY), (3, DAY)}
    # The next day is a new plan.
    assert await storage.deliveries.plan([PlannedDigest(1, "2025-08-09", NOW, same)], NOW) == 1


async def test_claim_is_exclusive_and_the_last_ack_marks_the_subscriber(storage: Storage) -> None:
    await add_subscribers(storage, [1], NOW)
    first, second = await planned(storage, 1)
    assert await storage.deliveries.claim(first.id, NOW)
    assert not await storage.deliveries.claim(first.id, NOW)  # already sending: nobody else sends it
    assert not await storage.deliveries.mark_sent(first, chat_id=1, message_id=10, now=NOW)
    sub = await storage.subscribers.get(1)
    assert sub is not None and sub.last_digest_date is None
    assert await storage.deliveries.claim(second.id, NOW)
    assert await storage.deliveries.mark_sent(second, chat_id=1, message_id=11, now=NOW)
    sub = await storage.subscribers.get(1)
    assert sub is not None and sub.last_digest_date == DAY and sub.last_digest_at == NOW
    rows = await storage.deliveries.for_chat(1)
    assert [(r.status, r.message_id, r.attempts) for r in rows] == [("sent", 10, 1), ("sent", 11, 1)]


async def test_parts_in_flight_at_a_crash_are_sent_again(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    await add_subscribers(storage, [1], NOW)
    first, _ = await planned(storage, 1)
    await storage.deliveries.claim(first.id, NOW)
    await storage.close()  # the process dies with part 1 in `sending`

    storage = await Storage.open(db_path)
    try:
        assert await storage.deliveries.recover_in_doubt(NOW) == 1
        rows = await storage.deliveries.open_parts()
        assert [(r.part, r.status) for r in rows] == [(1, "pending"), (2, "pending")]
        assert rows[0].last_error is not None and "in doubt" in rows[0].last_error
    finally:
        await storage.close()


async def test_failed_parts_are_retried_up_to_a_cap_then_the_digest_is_dropped(storage: Storage) -> None:
    await add_subscribers(storage, [1], NOW)
    first, _ = await planned(storage, 1)
    await storage.deliveries.claim(first.id, NOW)
    assert await storage.deliveries.fail(first, "TelegramNetworkError", NOW, max_attempts=2) == 0
    assert [r.status for r in await storage.deliveries.open_parts()] == ["failed", "pending"]
    await storage.deliveries.claim(first.id, NOW)  # a later run takes the failed part again
    assert await storage.deliveries.fail(first, "TelegramNetworkError", NOW, max_attempts=2) == 2
    assert [r.status for r in await storage.deliveries.for_chat(1)] == ["dropped", "dropped"]
    assert await storage.deliveries.open_parts() == []


async def test_blocked_chat_and_rejected_digest_drop_what_is_left(storage: Storage) -> None:
    await add_subscribers(storage, [1, 2], NOW)
    await planned(storage, 1)
    first, _ = await planned(storage, 2)
    assert await storage.deliveries.drop_chat(1, "blocked", NOW) == 2
    assert await storage.deliveries.give_up(first, "can't parse entities", NOW) == 2
    assert await storage.deliveries.counts() == {"dropped": 4}


async def test_release_undoes_a_claim_that_never_reached_telegram(storage: Storage) -> None:
    await add_subscribers(storage, [1], NOW)
    first, _ = await planned(storage, 1)
    await storage.deliveries.claim(first.id, NOW)
    await storage.deliveries.release(first, NOW)
    [row, _] = await storage.deliveries.for_chat(1)
    assert (row.status, row.attempts) == ("pending", 0)


async def test_old_parts_and_parts_of_inactive_subscribers_expire(storage: Storage) -> None:
    await add_subscribers(storage, [1, 2, 3], NOW)
    for chat in (1, 2, 3):
        await planned(storage, chat)
    await storage.subscribers.deactivate(2, "stopped", NOW)
    await storage.subscribers.update(3, NOW, paused=1)
    assert await storage.deliveries.expire(NOW) == 4
    assert {r.chat_id for r in await storage.deliveries.open_parts()} == {1}
    assert await storage.deliveries.expire(NOW + timedelta(days=1)) == 2
    assert await storage.deliveries.open_parts() == []


async def test_ledger_rows_follow_a_migrated_chat(storage: Storage) -> None:
    await add_subscribers(storage, [-1001], NOW)
    await planned(storage, -1001)
    await storage.subscribers.migrate_chat(-1001, -1009001, NOW)
    assert await storage.deliveries.for_chat(-1001) == []
    assert [r.part for r in await storage.deliveries.for_chat(-1009001)] == [1, 2]


async def test_empty_digests_mark_the_day_done_without_a_row(storage: Storage) -> None:
    await add_subscribers(storage, [1, 2], NOW)
    await storage.deliveries.mark_done([(1, DAY, NOW), (2, DAY, NOW)])
    assert (await storage.subscribers.get(1)).last_digest_date == DAY  # type: ignore[union-attr]
    # Never moves a subscriber's date backwards.
    await storage.deliveries.mark_done([(1, "2025-08-07", NOW - timedelta(days=1))])
    assert (await storage.subscribers.get(1)).last_digest_date == DAY  # type: ignore[union-attr]
    assert await storage.deliveries.counts() == {}


async def test_prune_forgets_old_finished_rows_and_unused_texts(storage: Storage) -> None:
    await add_subscribers(storage, [1], NOW)
    await planned(storage, 1)
    await storage.deliveries.drop_chat(1, "blocked", NOW)
    assert await storage.deliveries.prune(NOW + timedelta(days=31)) == 2
    async with storage.db.conn.execute("SELECT count(*) FROM delivery_texts") as cur:
        assert (await cur.fetchone())[0] == 0
