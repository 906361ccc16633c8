"""Delivery on each subscriber's own schedule, driven by a clock the test moves (no APScheduler, no sleep)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.ingest.isolated import IsolatedIngestor
from bot.scheduler import create_scheduler, deliver_due
from storage import FeedSpec, Storage
from tests import fake_telegram as fake_module
from tests.delivery_support import (
    FAST,
    add_subscribers,
    at,
    bot_fixture,  # noqa: F401  (fixture "bot")
    catalogs,
    planned_texts,
    seed_articles,
)
from tests.fake_telegram import FakeTelegram

fake_telegram = fake_module.fake_telegram  # the fixture

SETTINGS = Settings()


def digests_by_chat(fake: FakeTelegram) -> Counter[int]:
    """How many digests each chat has had: every digest starts with its (bold) header."""
    return Counter(int(m.chat_id) for m in fake.sent if (m.text or "").startswith("<b>"))  # type: ignore[arg-type]


async def tick(storage: Storage, bot: Bot, now: datetime) -> None:
    await deliver_due(storage, bot, catalogs(), SETTINGS, now, options=FAST)


async def test_everyone_gets_the_digest_at_their_own_local_time_once_a_day(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await seed_articles(storage, at("05:00"), tag="day1-")
    await add_subscribers(storage, [7], at("00:00"), digest_time="07:00")
    await add_subscribers(storage, [9], at("00:00"), digest_time="09:00")
    await add_subscribers(storage, [21], at("00:00"), digest_time="21:30")
    await add_subscribers(storage, [3], at("00:00"), digest_time="09:00", timezone="Europe/Moscow")  # 11:00 Almaty
    expected = {
        "06:59": {},
        "07:00": {7: 1},
        "08:59": {7: 1},
        "09:00": {7: 1, 9: 1},
        "10:59": {7: 1, 9: 1},
        "11:00": {7: 1, 9: 1, 3: 1},
        "21:29": {7: 1, 9: 1, 3: 1},
        "21:30": {7: 1, 9: 1, 3: 1, 21: 1},
        "23:59": {7: 1, 9: 1, 3: 1, 21: 1},
    }
    for hhmm, want in expected.items():
        await tick(storage, bot, at(hhmm))
        assert digests_by_chat(fake_telegram) == want, hhmm
    # Every part of every digest arrived exactly once.
    planned = await planned_texts(storage)
    got = Counter((int(m.chat_id), m.text) for m in fake_telegram.sent)  # type: ignore[arg-type]
    assert got == Counter((chat, text) for chat, texts in planned.items() for text in texts)

    # The next day: news that came in overnight, and only that, in the second digest.
    await seed_articles(storage, at("03:00", day=9), tag="day2-", topics=("investments",))
    await tick(storage, bot, at("06:59", day=9))
    assert digests_by_chat(fake_telegram)[7] == 1
    before = len(fake_telegram.messages_to(7))
    await tick(storage, bot, at("07:00", day=9))
    assert digests_by_chat(fake_telegram) == {7: 2, 9: 1, 3: 1, 21: 1}
    second = "".join(m.text or "" for m in fake_telegram.messages_to(7)[before:])
    assert "day2-investments" in second and "day1-" not in second


async def test_restart_after_the_time_still_delivers_and_never_twice(
    db_path: Path, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    storage = await Storage.open(db_path)
    await seed_articles(storage, at("05:00"))
    await add_subscribers(storage, [10], at("00:00"), digest_time="10:00")
    await tick(storage, bot, at("09:59"))
    await storage.close()  # down from 09:59 to 10:40: the 10:00 tick never happened

    storage = await Storage.open(db_path)
    await tick(storage, bot, at("10:40"))
    assert digests_by_chat(fake_telegram) == {10: 1}
    await tick(storage, bot, at("10:41"))
    await storage.close()

    storage = await Storage.open(db_path)  # and another restart later that day
    try:
        await tick(storage, bot, at("18:00"))
        await tick(storage, bot, at("23:59"))
        assert digests_by_chat(fake_telegram) == {10: 1}
        sub = await storage.subscribers.get(10)
        assert sub is not None and sub.last_digest_date == "2025-08-08"
    finally:
        await storage.close()


async def test_a_digest_interrupted_midway_is_finished_by_the_next_tick(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await seed_articles(storage, at("05:00"), per_topic=8, title_chars=250)
    await add_subscribers(storage, [1], at("00:00"), topics=catalogs().topics.keys)
    fake_telegram.fail_next("sendMessage", status=502, count=FAST.tries, chat_id=1)
    await tick(storage, bot, at("09:00"))
    assert fake_telegram.messages_to(1) == []
    await tick(storage, bot, at("09:01"))
    planned = (await planned_texts(storage))[1]
    assert len(planned) > 1
    assert [m.text for m in fake_telegram.messages_to(1)] == planned


class RecordingIngestor:
    def __init__(self) -> None:
        self.passes: list[list[FeedSpec]] = []

    async def run_pass(self, specs: list[FeedSpec]) -> None:
        self.passes.append(list(specs))


async def test_scheduler_runs_ingestion_and_the_minute_tick_without_overlap(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    await seed_articles(storage, at("05:00"))
    await add_subscribers(storage, [1], at("00:00"))
    ingestor = RecordingIngestor()
    scheduler = create_scheduler(
        settings=Settings(ingest_interval_minutes=15),
        storage=storage,
        catalogs=catalogs(),  # type: ignore[arg-type]
        ingestor=ingestor,  # type: ignore[arg-type]
        bot=bot,
        clock=lambda: at("09:30"),
    )
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"ingest", "deliver", "prune-ledger"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce
    assert isinstance(jobs["ingest"].trigger, IntervalTrigger)
    assert jobs["ingest"].trigger.interval == timedelta(minutes=15)
    assert jobs["deliver"].misfire_grace_time >= 600
    assert "second='0'" in str(jobs["deliver"].trigger)

    # The jobs themselves, as APScheduler would call them.
    await jobs["ingest"].func()
    assert ingestor.passes == [[]]
    await jobs["deliver"].func()
    assert digests_by_chat(fake_telegram) == {1: 1}
    await jobs["prune-ledger"].func()

    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)


async def test_a_crashed_ingest_process_is_logged_and_the_job_carries_on(
    storage: Storage, bot: Bot, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """The service's passes run in a child process (bot/ingest/isolated.py); one that dies is an error in
    the log, not an exception that APScheduler would print as a traceback after every run."""
    settings = Settings(
        _env_file=None, database_path=tmp_path / "habar.sqlite3", topics_file=tmp_path / "gone.toml"  # type: ignore[call-arg]
    )
    scheduler = create_scheduler(
        settings=settings, storage=storage, catalogs=catalogs(), ingestor=IsolatedIngestor(settings), bot=bot  # type: ignore[arg-type]
    )
    jobs = {job.id: job for job in scheduler.get_jobs()}
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        await jobs["ingest"].func()
    assert [r.getMessage() for r in caplog.records if r.name == "bot.scheduler"] == [
        "ingest pass failed: the ingest process exited with status 1 (its log says why); the next runs in 30 min"
    ]
