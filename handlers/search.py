"""/search <words>: ranked full-text search over the news in both languages.

Whatever is typed is taken as plain words (storage.fts_query), so FTS5 syntax, HTML or emoji can
neither break the query nor the reply.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import Settings
from bot.digest.render import ht, render_stories, shorten
from bot.digest.stories import group_stories
from bot.i18n import Translator
from handlers.common import MAX_ARGUMENT, answer_all, zone_of
from storage import Storage, Subscriber

RESULTS = 10


async def search(
    message: Message,
    command: CommandObject,
    store: Storage,
    settings: Settings,
    ui: str,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    query = " ".join((command.args or "").split())
    if not query:
        await message.answer(tr("search.usage"))
        return
    if len(query) > MAX_ARGUMENT:
        await message.answer(tr("error.too_long", limit=MAX_ARGUMENT))
        return
    found = await store.articles.search(query, langs=("ru", "kk"), limit=RESULTS)
    shown = shorten(query, 60)
    if not found:
        await message.answer(ht(ui, "search.nothing", query=shown))
        return
    header = ht(ui, "search.header", query=shown)
    # Hits that report the same event (other outlet, other language) are one item, ranked by its best hit.
    await answer_all(message, render_stories(group_stories(found, ui), ui, zone_of(subscriber, settings), header))


def router() -> Router:
    r = Router(name="search")
    r.message.register(search, Command("search"))
    return r
