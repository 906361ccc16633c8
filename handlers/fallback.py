"""Last router: whatever no feature took. Unknown commands and plain text get a short hint in private
chats (groups are left alone), and any button no handler accepted (forged, stale, from an older version,
or pressed by someone not subscribed) gets a polite answer instead of a spinning clock."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import or_f
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator
from handlers.callbacks import FollowCb, LangCb, NewsCb, SettingsCb, TimeCb, TopicCb, TopicsCb

SUBSCRIBER_BUTTONS = (LangCb, TopicsCb, TopicCb, NewsCb, TimeCb, SettingsCb, FollowCb)


async def unknown_command(message: Message, tr: Translator) -> None:
    await message.answer(tr("fallback.unknown_command"))


async def anything_else(message: Message, tr: Translator) -> None:
    await message.answer(tr("fallback.hint"))


async def need_start(callback: CallbackQuery, tr: Translator) -> None:
    await callback.answer(tr("common.need_start"))


async def stale_button(callback: CallbackQuery, tr: Translator) -> None:
    await callback.answer(tr("error.stale_button"))


def router() -> Router:
    r = Router(name="fallback")
    r.message.filter(F.chat.type == "private")
    r.message.register(unknown_command, F.text.startswith("/"))
    r.message.register(anything_else)
    # A well-formed subscriber-only button that no feature took: its presser is not subscribed (any more).
    r.callback_query.register(need_start, or_f(*(cb.filter() for cb in SUBSCRIBER_BUTTONS)))
    r.callback_query.register(stale_button)
    return r
