"""A daily broadcast through a Telegram that misbehaves one request in ten, plus users who blocked the bot,
deleted chats and groups that became supergroups: every deliverable digest still arrives exactly once."""

from __future__ import annotations

import random
from collections import Counter

from aiogram import Bot

from bot.config import Settings
from bot.scheduler import deliver_due
from storage import Storage
from tests import fake_telegram as fake_module
from tests.delivery_support import (
    FAST,
    add_subscribers,
    at,
    bot_fixture,  # noqa: F401  (fixture "bot")
    catalogs,
    planned_texts,
    received,
    seed_articles,
    topic_rules,
)
from tests.fake_telegram import FakeTelegram

fake_telegram = fake_module.fake_telegram  # the fixture

SEED = 20250808  # who is blocked, gone or migrated
FAULT_SEED = 7  # which requests fail, and how


async def test_ten_percent_faults_every_deliverable_digest_arrives_exactly_once(
    storage: Storage, bot: Bot, fake_telegram: FakeTelegram
) -> None:
    rng = random.Random(SEED)
    now = at("09:00")
    await seed_articles(storage, at("06:00"), per_topic=6, title_chars=200)
    private = list(range(1, 51))
    groups = [-(100 + i) for i in range(10)]
    everyone = private + groups
    await add_subscribers(storage, private[:25], now, topics=topic_rules().keys)  # long: several parts
    await add_subscribers(storage, private[25:], now, ui_lang="kk", news_langs="kk")
    await add_subscribers(storage, groups, now, news_langs="ru")

    blocked = set(rng.sample(private, 3))
    gone = set(rng.sample(sorted(set(private) - blocked), 1))
    migrated = {g: -1000000000000 + g for g in rng.sample(groups, 3)}
    for chat in blocked:
        fake_telegram.block(chat)
    for chat in gone:
        fake_telegram.chat_not_found(chat)
    for old, new in migrated.items():
        fake_telegram.migrate(old, new)
    fake_telegram.set_random_faults(0.10, seed=FAULT_SEED, kinds=("429", "5xx", "drop"))

    totals: Counter[str] = Counter()
    for minute in range(6):  # the minute ticks; failed parts are taken again by the next one
        report = await deliver_due(storage, bot, catalogs(), Settings(), now.replace(minute=minute), options=FAST)
        totals.update(
            sent=report.broadcast.sent, flood=report.broadcast.flood_waits, retries=report.broadcast.retries
        )
        if not await storage.deliveries.open_parts():
            break
    assert await storage.deliveries.open_parts() == []
    outcomes = Counter(r.outcome for r in fake_telegram.requests_for("sendMessage"))
    assert outcomes["429"] and outcomes["drop"] and sum(outcomes[s] for s in ("500", "502", "503", "504"))
    assert totals["flood"] == outcomes["429"]

    planned = await planned_texts(storage)
    got = received(fake_telegram)
    assert max(got.values()) == 1  # nothing twice
    deliverable = [c for c in everyone if c not in blocked | gone]
    for chat in deliverable:
        target = migrated.get(chat, chat)
        texts = planned[target]
        assert [m.text for m in fake_telegram.messages_to(target)] == texts, chat  # all, in order
        sub = await storage.subscribers.get(target)
        assert sub is not None and sub.active and sub.last_digest_date == "2025-08-08"
    assert sum(got.values()) == sum(len(planned[migrated.get(c, c)]) for c in deliverable) == totals["sent"]
    assert any(len(planned[c]) > 1 for c in deliverable)

    async with storage.db.conn.execute(
        "SELECT chat_id, active, inactive_reason FROM subscribers WHERE active = 0"
    ) as cur:
        inactive = {r[0]: r[2] for r in await cur.fetchall()}
    assert inactive == {**{c: "blocked" for c in blocked}, **{c: "chat_not_found" for c in gone}}
    for old, new in migrated.items():
        assert await storage.subscribers.get(old) is None
        assert fake_telegram.messages_to(old) == []
        assert fake_telegram.messages_to(new)
