"""Operators' commands: /stats, /feeds, /ingest. Anyone not in ADMIN_IDS never matches this router and
gets the ordinary unknown-command reply from `fallback`, so the commands are not even revealed."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.types import Message

from bot.config import Settings
from bot.digest.render import render_feed_health, render_ingest_report, render_stats
from bot.i18n import Translator
from bot.ingest.isolated import IngestProcessError
from bot.ingest.pipeline import PassRunner
from bot.services import Catalogs
from bot.topics import TopicRules
from handlers.common import answer_all, zone_of
from storage import Storage, Subscriber

log = logging.getLogger(__name__)


class IsAdmin(Filter):
    async def __call__(self, message: Message, settings: Settings) -> bool:
        return message.from_user is not None and message.from_user.id in settings.admin_ids


async def stats(message: Message, store: Storage, topics: TopicRules, ui: str, tr: Translator) -> None:
    counts = await store.stats.counts()
    names = {k: topics.name(k, ui) for k in topics.keys}
    await answer_all(message, render_stats(counts, names, ui))


async def feeds(
    message: Message,
    store: Storage,
    settings: Settings,
    ui: str,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    states = await store.feeds.all()
    if not states:
        await message.answer(tr("admin.no_feeds"))
        return
    await answer_all(message, render_feed_health(states, ui, zone_of(subscriber, settings)))


async def ingest(message: Message, ingestor: PassRunner, catalogs: Catalogs, ui: str, tr: Translator) -> None:
    await message.answer(tr("admin.ingest_waiting") if ingestor.running else tr("admin.ingest_started"))
    try:
        report = await ingestor.run_pass(catalogs.feeds)
    except IngestProcessError as exc:
        log.error("ingest pass failed: %s", exc)
        await message.answer(tr("admin.ingest_crashed"))
        return
    await answer_all(message, render_ingest_report(report, ui))


def router() -> Router:
    r = Router(name="admin")
    r.message.filter(IsAdmin())
    r.message.register(stats, Command("stats"))
    r.message.register(feeds, Command("feeds"))
    r.message.register(ingest, Command("ingest"))
    return r
