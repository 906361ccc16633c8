"""The sender is SIGKILLed in the middle of a 2,000-subscriber broadcast and started again: everyone gets
every part, and the only duplicates are parts that were in flight (`sending`) at the moment of the kill."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

from storage import Storage
from tests import fake_telegram as fake_module
from tests.delivery_support import add_subscribers, at, planned_texts, received, seed_articles, topic_rules
from tests.fake_telegram import FakeTelegram

fake_telegram = fake_module.fake_telegram  # the fixture

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIBERS = 2000
LONG = 100
NOW = at("09:30")


async def start_worker(fake: FakeTelegram, db: Path, log: Path, *, wait: bool = False) -> asyncio.subprocess.Process:
    """`python -m tests.delivery_kill_worker`; with `wait` it imports everything, then waits for a line."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HABAR_KILL_DB": str(db),
        "HABAR_KILL_API": fake.base_url,
        "HABAR_KILL_TOKEN": fake.token,
        "HABAR_KILL_NOW": NOW.isoformat(),
    }
    if wait:
        env["HABAR_KILL_WAIT"] = "1"
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.delivery_kill_worker",
            env=env,
            cwd=db.parent,
            stdin=asyncio.subprocess.PIPE,
            stdout=out,
            stderr=out,
        )


async def test_kill_and_restart_loses_nothing_and_repeats_only_what_was_in_flight(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    db = tmp_path / "habar.sqlite3"
    storage = await Storage.open(db)
    await seed_articles(storage, at("06:00"), per_topic=2, title_chars=200)
    # A hundred long digests of several parts, and many short ones (the fake parses every message's
    # HTML in Python, so short texts keep the test fast).
    await add_subscribers(storage, range(1, LONG + 1), NOW, topics=topic_rules().keys)
    await add_subscribers(storage, range(LONG + 1, SUBSCRIBERS + 1), NOW, ui_lang="kk", news_langs="kk", topics=("energy",))
    await storage.close()

    seed = random.randrange(1_000_000)
    kill_after = random.Random(seed).randint(50, SUBSCRIBERS - 100)  # messages accepted before the kill
    log = tmp_path / "worker.log"
    first = await start_worker(fake_telegram, db, log)
    second = await start_worker(fake_telegram, db, log, wait=True)  # warms up meanwhile; starts after the kill
    try:
        try:
            await fake_telegram.wait_until(lambda: len(fake_telegram.sent) >= kill_after, timeout=60)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert first.returncode == -signal.SIGKILL, log.read_text()
        sent_before_restart = len(fake_telegram.sent)

        storage = await Storage.open(db)
        in_flight = (await storage.deliveries.counts()).get("sending", 0)
        await storage.close()

        assert second.stdin is not None
        second.stdin.write(b"go\n")
        await second.stdin.drain()
        assert await asyncio.wait_for(second.wait(), 60) == 0, log.read_text()
    finally:
        if second.returncode is None:
            second.kill()
            await second.wait()

    storage = await Storage.open(db)
    try:
        planned = await planned_texts(storage)
        counts = await storage.deliveries.counts()
        served = await storage.subscribers.active()
    finally:
        await storage.close()
    got = received(fake_telegram)
    context = f"seed={seed} kill_after={kill_after} in_flight={in_flight} sent_before_restart={sent_before_restart}"
    assert len(planned) == SUBSCRIBERS, context
    assert counts == {"sent": sum(len(t) for t in planned.values())}, context
    missing = [(c, i) for c, texts in planned.items() for i, text in enumerate(texts) if got[(c, text)] == 0]
    assert missing == [], context
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    assert duplicates <= in_flight, context
    assert all(s.last_digest_date == "2025-08-08" for s in served), context
    # Within each chat the parts arrived in order, the in-flight repeat aside.
    assert len(planned[1]) > 1 and len(planned[SUBSCRIBERS]) == 1, context
    for chat in (1, LONG, SUBSCRIBERS):
        texts = [m.text for m in fake_telegram.messages_to(chat)]
        assert [t for i, t in enumerate(texts) if t not in texts[:i]] == planned[chat], context
