"""The sender against the fake Bot API server: each Telegram answer leads to the right ledger state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from aiogram import Bot

from bot.delivery.broadcast import BroadcastOptions, Verdict, backoff_delay, broadcast, classify, retry_due
from storage import Delivery, PlannedDigest, Storage
from tests import fake_telegram as fake_module
from tests.delivery_support import FAST, add_subscribers, bot_fixture, received  # noqa: F401  (fixture "bot")
from tests.fake_telegram import FakeTelegram

fake_telegram = fake_module.fake_telegram  # the fixture

NOW = datetime(2025, 8, 8, 4, 0, tzinfo=UTC)
DAY = "2025-08-08"
PARTS = ("<b>Дайджест</b> часть 1", "часть 2 &amp; <i>конец</i>")


async def plan(storage: Storage, chats: list[int], texts: tuple[str, ...] = PARTS) -> None:
    await add_subscribers(storage, chats, NOW)
    await storage.deliveries.plan([PlannedDigest(c, DAY, NOW, texts) for c in chats], NOW)


async def test_parts_arrive_in_order_as_html_without_link_previews(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1, 2, 3])
    report = await broadcast(storage, bot, FAST, now=NOW)
    assert (report.sent, report.completed, report.failed) == (6, 3, 0)
    for chat in (1, 2, 3):
        messages = fake_telegram.messages_to(chat)
        assert [m.text for m in messages] == list(PARTS)
        assert all(m.parse_mode == "HTML" and m.link_preview_disabled for m in messages)
    rows = await storage.deliveries.for_chat(1)
    assert [r.message_id for r in rows] == [m.message_id for m in fake_telegram.messages_to(1)]
    sub = await storage.subscribers.get(1)
    assert sub is not None and sub.last_digest_date == DAY


async def test_one_chat_gets_at_most_a_message_a_second_without_holding_up_others(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1], ("a", "b", "c"))
    await plan(storage, list(range(10, 20)), ("solo",))
    await broadcast(storage, bot, replace(FAST, per_chat_interval=1.0), now=NOW)
    times = [m.time for m in fake_telegram.messages_to(1)]
    assert [round(b - a, 1) >= 0.9 for a, b in zip(times, times[1:], strict=False)] == [True, True]
    others = [m.time for m in fake_telegram.sent if m.chat_id != 1]
    assert max(others) - min(times) < 0.5  # the other chats did not wait behind chat 1


async def test_429_pauses_then_resends_the_same_part_once(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1])
    fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
    report = await broadcast(storage, bot, FAST, now=NOW)
    # The production bot's middleware would have absorbed the 429; the broadcaster must see it to pace.
    assert report.flood_waits == 1 and report.sent == 2
    assert [r.outcome for r in fake_telegram.requests_for("sendMessage")] == ["429", "ok", "ok"]
    assert [m.text for m in fake_telegram.messages_to(1)] == list(PARTS)
    assert report.seconds >= 1.0  # it waited out retry_after before resending
    rows = await storage.deliveries.for_chat(1)
    assert [r.status for r in rows] == ["sent", "sent"]


async def test_blocked_user_is_deactivated_and_nothing_else_is_tried(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1, 2])
    fake_telegram.block(1)
    report = await broadcast(storage, bot, FAST, now=NOW)
    assert (report.blocked, report.dropped, report.sent) == (1, 2, 2)
    assert len([r for r in fake_telegram.requests_for("sendMessage") if r.chat_id == 1]) == 1
    sub = await storage.subscribers.get(1)
    assert sub is not None and not sub.active
    async with storage.db.conn.execute("SELECT inactive_reason FROM subscribers WHERE chat_id = 1") as cur:
        assert (await cur.fetchone())[0] == "blocked"
    assert [r.status for r in await storage.deliveries.for_chat(1)] == ["dropped", "dropped"]


async def test_chat_not_found_makes_the_subscriber_inactive(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [5])
    fake_telegram.chat_not_found(5)
    report = await broadcast(storage, bot, FAST, now=NOW)
    assert report.gone == 1
    sub = await storage.subscribers.get(5)
    assert sub is not None and not sub.active


async def test_migrated_group_follows_to_the_supergroup_with_its_ledger(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [-500])
    fake_telegram.migrate(-500, -1000000000500)
    report = await broadcast(storage, bot, FAST, now=NOW)
    assert (report.migrated, report.sent) == (1, 2)
    assert [m.text for m in fake_telegram.messages_to(-1000000000500)] == list(PARTS)
    assert await storage.subscribers.get(-500) is None
    moved = await storage.subscribers.get(-1000000000500)
    assert moved is not None and moved.active and moved.last_digest_date == DAY
    assert [r.status for r in await storage.deliveries.for_chat(-1000000000500)] == ["sent", "sent"]


async def test_migration_onto_an_existing_subscriber_retires_the_old_chat(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [-600])
    await add_subscribers(storage, [-1000000000600], NOW)
    fake_telegram.migrate(-600, -1000000000600)
    report = await broadcast(storage, bot, FAST, now=NOW)
    assert report.sent == 0
    old = await storage.subscribers.get(-600)
    assert old is not None and not old.active
    assert (await storage.subscribers.get(-1000000000600)).active  # type: ignore[union-attr]


async def test_server_errors_back_off_then_fail_and_a_later_run_finishes(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1])
    fake_telegram.fail_next("sendMessage", status=503, count=FAST.tries)
    first = await broadcast(storage, bot, FAST, now=NOW)
    assert (first.sent, first.failed, first.retries) == (0, 1, FAST.tries - 1)
    assert [r.status for r in await storage.deliveries.for_chat(1)] == ["failed", "pending"]
    second = await broadcast(storage, bot, FAST, now=NOW)
    assert second.sent == 2
    assert received(fake_telegram) == {(1, PARTS[0]): 1, (1, PARTS[1]): 1}
    assert [r.attempts for r in await storage.deliveries.for_chat(1)] == [FAST.tries + 1, 1]


async def test_a_failed_part_waits_longer_after_each_failed_run(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1])
    options = replace(FAST, retry_wait=300.0)
    fake_telegram.fail_next("sendMessage", status=503, count=FAST.tries)
    await broadcast(storage, bot, options, now=NOW)
    soon = await broadcast(storage, bot, options, now=NOW + timedelta(minutes=1))
    assert (soon.parts, len(fake_telegram.sent)) == (0, 0)  # Telegram may still be down: not yet
    later = await broadcast(storage, bot, options, now=NOW + timedelta(minutes=6))
    assert later.sent == 2


def test_retry_waits_triple_with_every_failed_run() -> None:
    part = Delivery(1, 1, DAY, 1, 1, 1, NOW, "failed", 3, None, None, NOW)
    options = BroadcastOptions(tries=3, retry_wait=300)
    waits = []
    for attempts in (3, 6, 9):
        failed = replace(part, attempts=attempts)
        waits.append(min(m for m in range(0, 10_000, 5) if retry_due(failed, NOW + timedelta(seconds=m), options)))
    assert waits == [300, 900, 2700]
    assert retry_due(replace(part, status="pending"), NOW, options)


async def test_a_part_that_keeps_failing_is_given_up_after_the_cap(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1])
    options = replace(FAST, tries=2, max_attempts=4)
    fake_telegram.fail_next("sendMessage", status=500, count=100)
    await broadcast(storage, bot, options, now=NOW)
    last = await broadcast(storage, bot, options, now=NOW)
    assert last.dropped == 2
    assert await storage.deliveries.open_parts() == []
    assert len(fake_telegram.requests_for("sendMessage")) == 4


async def test_dropped_connection_is_retried_and_delivered_once(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1])
    fake_telegram.drop_next("sendMessage")
    report = await broadcast(storage, bot, FAST, now=NOW)
    assert (report.sent, report.retries) == (2, 1)
    assert received(fake_telegram) == {(1, PARTS[0]): 1, (1, PARTS[1]): 1}


async def test_answer_lost_after_delivery_means_a_duplicate_at_least_once(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    """Telegram took the message but the answer never came: we cannot know, so we resend (at-least-once)."""
    await plan(storage, [1])
    fake_telegram.drop_next("sendMessage", after_processing=True)
    await broadcast(storage, bot, FAST, now=NOW)
    assert received(fake_telegram) == {(1, PARTS[0]): 2, (1, PARTS[1]): 1}


async def test_rejected_text_gives_up_the_digest_but_keeps_the_subscriber(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1])
    fake_telegram.fail_next(
        "sendMessage", status=400, description="Bad Request: can't parse entities: Unsupported start tag"
    )
    report = await broadcast(storage, bot, FAST, now=NOW)
    assert (report.sent, report.dropped) == (0, 2)
    assert (await storage.subscribers.get(1)).active  # type: ignore[union-attr]


async def test_a_refused_token_stops_the_broadcast_and_keeps_every_part(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await plan(storage, [1, 2, 3])
    fake_telegram.fail_next("sendMessage", status=401, count=100)
    report = await broadcast(storage, bot, replace(FAST, concurrency=1), now=NOW)
    assert report.fatal is not None and "Unauthorized" in report.fatal
    assert report.sent == 0
    assert {r.status for r in await storage.deliveries.open_parts()} == {"pending"}
    assert len(fake_telegram.requests_for("sendMessage")) == 1


async def test_achieved_rate_reaches_the_limit(storage: Storage, bot: Bot, fake_telegram: FakeTelegram) -> None:
    await plan(storage, list(range(1, 201)), ("one",))
    options = BroadcastOptions(rate=200, per_chat_interval=1.0)
    report = await broadcast(storage, bot, options, now=NOW)
    assert report.sent == 200
    times = sorted(m.time for m in fake_telegram.sent)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert 0.85 * 200 <= achieved <= 1.05 * 200


def test_errors_are_classified_by_what_telegram_means() -> None:
    from aiogram.exceptions import (
        TelegramBadRequest,
        TelegramForbiddenError,
        TelegramMigrateToChat,
        TelegramNetworkError,
        TelegramRetryAfter,
        TelegramServerError,
        TelegramUnauthorizedError,
    )
    from aiogram.methods import SendMessage

    method = SendMessage(chat_id=1, text="x")
    assert classify(TelegramRetryAfter(method, "Too Many Requests", 3)) is Verdict.FLOOD
    assert classify(TelegramMigrateToChat(method, "upgraded", -100)) is Verdict.MIGRATED
    assert classify(TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")) is Verdict.BLOCKED
    assert classify(TelegramBadRequest(method, "Bad Request: chat not found")) is Verdict.GONE
    assert classify(TelegramBadRequest(method, "Bad Request: can't parse entities")) is Verdict.REJECTED
    assert classify(TelegramNetworkError(method, "ServerDisconnectedError")) is Verdict.TRANSIENT
    assert classify(TelegramServerError(method, "Bad Gateway")) is Verdict.TRANSIENT
    assert classify(TelegramUnauthorizedError(method, "Unauthorized")) is Verdict.FATAL
    assert classify(RuntimeError("anything else")) is Verdict.TRANSIENT
    assert [backoff_delay(n, 1.0, 5.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
