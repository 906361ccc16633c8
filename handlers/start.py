"""/start: subscribe at once with sensible defaults, in the language Telegram says the user speaks."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, Message

from bot.cli import ONBOARDING_TOPICS
from bot.clock import Clock
from bot.config import Settings
from bot.digest.render import ht
from bot.i18n import Translator
from bot.topics import TopicRules
from handlers.callbacks import LangCb
from handlers.common import Subscribed, edit, subscribed, topic_names
from handlers.keyboards import start_keyboard
from storage import Storage, Subscriber


def welcome(greeting: str, sub: Subscriber, rules: TopicRules, tr: Translator) -> str:
    names, lang = topic_names(rules, sub.topics, tr), tr.lang
    return ht(lang, "start.body", greeting=greeting, topics=names, time=sub.digest_time, zone=sub.timezone)


async def start(
    message: Message,
    store: Storage,
    settings: Settings,
    topics: TopicRules,
    clock: Clock,
    chat_id: int,
    ui: str,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    sub, created = await store.subscribers.subscribe(
        chat_id,
        user_id=message.from_user.id if message.from_user else None,
        ui_lang=ui,
        topics=[k for k in ONBOARDING_TOPICS if k in topics.keys],
        digest_time=settings.digest_time,
        timezone=settings.timezone,
        now=clock(),
    )
    if created:
        greeting = tr("start.hello_new")
    elif not subscribed(subscriber):
        greeting = tr("start.hello_back")
    else:
        greeting = tr("start.hello_again")
    await message.answer(welcome(greeting, sub, topics, tr), reply_markup=start_keyboard(tr))


async def switch_language(
    callback: CallbackQuery,
    callback_data: LangCb,
    store: Storage,
    topics: TopicRules,
    clock: Clock,
    chat_id: int,
) -> None:
    sub = await store.subscribers.update(chat_id, clock(), ui_lang=callback_data.lang)
    assert sub is not None
    tr = Translator(sub.ui_lang)
    await edit(callback, welcome(tr("start.lang_changed"), sub, topics, tr), start_keyboard(tr))
    await callback.answer(tr("start.lang_changed"))


def router() -> Router:
    r = Router(name="start")
    r.message.register(start, CommandStart())
    r.callback_query.register(switch_language, Subscribed(), LangCb.filter(F.where == "s"))
    return r
