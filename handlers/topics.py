"""/topics: the topic picker; every tap toggles one subscription and redraws the message in place."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.digest.render import ht
from bot.i18n import Translator
from bot.topics import TopicRules
from handlers.callbacks import TopicCb, TopicsCb
from handlers.common import Subscribed, edit, subscribed, topic_names
from handlers.keyboards import topics_keyboard
from storage import Storage, Subscriber


def picker_text(rules: TopicRules, chosen: Sequence[str], tr: Translator) -> str:
    names, lang = topic_names(rules, chosen, tr), tr.lang
    return ht(lang, "topics.choose", topics=names)


async def show(message: Message, topics: TopicRules, tr: Translator, subscriber: Subscriber | None) -> None:
    if not subscribed(subscriber):
        await message.answer(tr("common.need_start"))
        return
    assert subscriber is not None
    await message.answer(
        picker_text(topics, subscriber.topics, tr),
        reply_markup=topics_keyboard(tr, topics, subscriber.topics),
    )


async def open_picker(
    callback: CallbackQuery, topics: TopicRules, tr: Translator, subscriber: Subscriber
) -> None:
    if not isinstance(callback.message, Message):
        await callback.answer(tr("error.stale_button"))
        return
    await callback.message.answer(
        picker_text(topics, subscriber.topics, tr),
        reply_markup=topics_keyboard(tr, topics, subscriber.topics),
    )
    await callback.answer()


async def toggle(
    callback: CallbackQuery,
    callback_data: TopicCb,
    store: Storage,
    topics: TopicRules,
    chat_id: int,
    ui: str,
    tr: Translator,
) -> None:
    key = callback_data.key
    if key not in topics.keys:
        await callback.answer(tr("error.stale_button"))
        return
    chosen = await store.subscribers.toggle_topic(chat_id, key)
    await edit(callback, picker_text(topics, chosen, tr), topics_keyboard(tr, topics, chosen))
    name = topics.name(key, ui)
    await callback.answer(tr("topics.added", name=name) if key in chosen else tr("topics.removed", name=name))


async def done(
    callback: CallbackQuery, topics: TopicRules, ui: str, tr: Translator, subscriber: Subscriber
) -> None:
    names = topic_names(topics, subscriber.topics, tr)
    await edit(callback, ht(ui, "topics.saved", topics=names))
    await callback.answer()


def router() -> Router:
    r = Router(name="topics")
    r.callback_query.filter(Subscribed())
    r.message.register(show, Command("topics"))
    r.callback_query.register(open_picker, TopicsCb.filter(F.action == "open"))
    r.callback_query.register(toggle, TopicCb.filter())
    r.callback_query.register(done, TopicsCb.filter(F.action == "done"))
    return r
