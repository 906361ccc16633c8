"""Shared pieces of the delivery tests: seeding articles and subscribers fast, options that make a
broadcast quick, and reading back from the fake Bot API server what each chat received."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pytest_asyncio
from aiogram import Bot

from bot.config import DEFAULT_TOPICS_FILE, Settings
from bot.delivery.broadcast import BroadcastOptions
from bot.telegram.session import create_bot
from bot.topics import TopicRules
from storage import FeedSpec, NewArticle, Storage, Subscriber
from tests.fake_telegram import FakeTelegram

# Options for tests: the limiter still paces, just fast; back-off in milliseconds.
FAST = BroadcastOptions(
    rate=1000.0, per_chat_interval=0.0, concurrency=32, backoff_base=0.01, backoff_cap=0.05, retry_wait=0.0
)


@lru_cache(maxsize=1)
def topic_rules() -> TopicRules:
    return TopicRules.load(DEFAULT_TOPICS_FILE)


@dataclass(frozen=True)
class Catalog:
    """Stands in for bot.services.Catalogs: delivery reads `.topics`, the ingestion job `.feeds`."""

    topics: TopicRules
    feeds: tuple[FeedSpec, ...] = ()


def catalogs() -> Catalog:
    return Catalog(topic_rules())


def settings_for(fake: FakeTelegram, **overrides: object) -> Settings:
    return Settings(bot_token=fake.token, telegram_api_url=fake.base_url, **overrides)  # type: ignore[arg-type]


def bot_for(fake: FakeTelegram) -> Bot:
    """The production Bot (with its flood-control middleware) pointed at the fake."""
    return create_bot(settings_for(fake))


@pytest_asyncio.fixture(name="bot")
async def bot_fixture(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """The production Bot talking to the `fake_telegram` fixture's server."""
    bot = bot_for(fake_telegram)
    try:
        yield bot
    finally:
        await close_quickly(bot)


async def close_quickly(bot: Bot) -> None:
    """Close the bot's HTTP session without aiogram's 250 ms wait for TLS shutdown (plain HTTP here)."""
    client = getattr(bot.session, "_session", None)
    if client is not None and not client.closed:
        await client.close()


async def seed_articles(
    storage: Storage,
    now: datetime,
    *,
    per_topic: int = 3,
    topics: Sequence[str] | None = None,
    langs: Sequence[str] = ("ru", "kk"),
    title_chars: int = 60,
    age: timedelta = timedelta(hours=2),
    tag: str = "",
) -> None:
    """`per_topic` articles per topic and language, first seen `age` before `now`."""
    keys = list(topics or topic_rules().keys)
    feeds = await storage.feeds.sync(
        [FeedSpec(f"https://{lang}.example.kz/rss", f"Outlet {lang.upper()}", lang) for lang in ("ru", "kk")], now
    )
    feed_of = {f.lang_hint: f.id for f in feeds}
    seen = now - age
    batch = []
    for key in keys:
        for lang in langs:
            for i in range(per_topic):
                title = f"{tag}{key} {lang} {i} " + "слово " * (title_chars // 6)
                batch.append(
                    NewArticle(
                        feed_id=feed_of[lang],
                        url=f"https://{lang}.example.kz/{tag}{key}/{i}",
                        guid=None,
                        title=title.strip(),
                        summary="",
                        lang=lang,
                        published_at=seen - timedelta(minutes=i),
                        first_seen_at=seen,
                        topics=(key,),
                    )
                )
    await storage.articles.insert_many(batch)


async def add_subscribers(
    storage: Storage,
    chat_ids: Iterable[int],
    now: datetime,
    *,
    topics: Sequence[str] = ("investments", "china", "projects"),
    ui_lang: str = "ru",
    news_langs: str = "both",
    digest_time: str = "09:00",
    timezone: str = "Asia/Almaty",
    notify_empty: bool = True,
    last_digest_at: datetime | None = None,
) -> None:
    """Many subscribers in one transaction (the per-subscriber API costs one transaction each)."""
    await storage.subscribers.add_many(
        [
            Subscriber(
                chat_id=c, user_id=c, ui_lang=ui_lang, news_langs=news_langs, digest_time=digest_time,
                timezone=timezone, active=True, paused=False, notify_empty=notify_empty, topics=tuple(topics),
                last_digest_date=None, last_digest_at=last_digest_at, created_at=now,
            )
            for c in chat_ids
        ],
        now,
    )  # fmt: skip


async def planned_texts(storage: Storage) -> dict[int, list[str]]:
    """Every chat's planned parts (any status), in order, as the ledger holds them."""
    out: dict[int, list[str]] = {}
    async with storage.db.conn.execute(
        "SELECT d.chat_id, t.body FROM deliveries d JOIN delivery_texts t ON t.id = d.text_id "
        "ORDER BY d.chat_id, d.local_date, d.part"
    ) as cur:
        for chat_id, body in await cur.fetchall():
            out.setdefault(chat_id, []).append(body)
    return out


def received(fake: FakeTelegram) -> Counter[tuple[int, str]]:
    """How many times each (chat, text) was accepted by the fake."""
    return Counter((int(m.chat_id), m.text or "") for m in fake.sent if m.method == "sendMessage")


def at(hhmm: str, day: int = 8) -> datetime:
    """A moment on 2025-08-`day`, given as Almaty wall-clock time (UTC+5), as aware UTC."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(2025, 8, day, hour, minute, tzinfo=UTC) - timedelta(hours=5)
