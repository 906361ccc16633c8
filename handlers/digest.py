"""/digest [topic]: the last 24 hours on the subscriber's topics, or on one topic named in either language."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.cli import ONBOARDING_TOPICS
from bot.clock import Clock
from bot.config import Settings
from bot.digest.build import DEFAULT_PER_TOPIC, DigestRequest, build_digest
from bot.digest.render import ht, render_digest, render_topic_choices, shorten
from bot.i18n import Translator
from bot.topics import TopicRules
from handlers.common import MAX_ARGUMENT, answer_all, zone_of
from storage import Storage, Subscriber

WINDOW = timedelta(hours=24)
SINGLE_TOPIC_ITEMS = 15  # one topic asked by name: show more of it than a section of the daily digest


async def digest(
    message: Message,
    command: CommandObject,
    store: Storage,
    settings: Settings,
    topics: TopicRules,
    clock: Clock,
    ui: str,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    names = {k: topics.name(k, ui) for k in topics.keys}
    query = (command.args or "").strip()
    if query:
        key = topics.resolve(query) if len(query) <= MAX_ARGUMENT else None
        if key is None:
            header = ht(ui, "digest.unknown_topic", query=shorten(query, 60))
            await answer_all(message, render_topic_choices(header, names, ui))
            return
        chosen: tuple[str, ...] = (key,)
    else:
        chosen = subscriber.topics if subscriber else tuple(k for k in ONBOARDING_TOPICS if k in names)
        if not chosen:
            await message.answer(tr("digest.no_topics"))
            return
    now = clock()
    request = DigestRequest(
        topics=chosen,
        langs=subscriber.langs if subscriber else ("ru", "kk"),
        ui_lang=ui,
        since=now - WINDOW,
        until=now,
        per_topic=SINGLE_TOPIC_ITEMS if query else DEFAULT_PER_TOPIC,
    )
    result = await build_digest(store, request, topics.keys)
    if result.empty and query:
        await message.answer(ht(ui, "digest.empty_topic", topic=names[chosen[0]]))
        return
    await answer_all(message, render_digest(result, names, zone_of(subscriber, settings)))


def router() -> Router:
    r = Router(name="digest")
    r.message.register(digest, Command("digest"))
    return r
