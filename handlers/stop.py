"""/stop: unsubscribe after a confirmation; nothing more is sent until /start."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.i18n import Translator
from handlers.callbacks import StopCb
from handlers.common import edit, subscribed
from handlers.keyboards import stop_keyboard
from storage import Storage, Subscriber


async def ask(message: Message, tr: Translator, subscriber: Subscriber | None) -> None:
    if not subscribed(subscriber):
        await message.answer(tr("stop.not_subscribed"))
        return
    await message.answer(tr("stop.confirm"), reply_markup=stop_keyboard(tr))


async def answer(
    callback: CallbackQuery,
    callback_data: StopCb,
    store: Storage,
    clock: Clock,
    chat_id: int,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    if not subscribed(subscriber):
        await edit(callback, tr("stop.not_subscribed"))
        await callback.answer()
        return
    if callback_data.confirm:
        await store.subscribers.deactivate(chat_id, "user", clock())
        await edit(callback, tr("stop.done"))
    else:
        await edit(callback, tr("stop.kept"))
    await callback.answer()


def router() -> Router:
    r = Router(name="stop")
    r.message.register(ask, Command("stop"))
    r.callback_query.register(answer, StopCb.filter())
    return r
