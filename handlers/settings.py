"""/settings: interface language, news languages, digest time (buttons or typed HH:MM) and pause."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.config import parse_hhmm
from bot.digest.render import render_settings
from bot.digest.schedule import next_delivery
from bot.i18n import Translator
from handlers.callbacks import LangCb, NewsCb, SettingsCb, TimeCb
from handlers.common import Subscribed, edit, subscribed
from handlers.keyboards import settings_keyboard
from storage import Storage, Subscriber


class AskTime(StatesGroup):
    waiting = State()


def screen(sub: Subscriber, clock: Clock, tr: Translator, note: str | None = None) -> str:
    return render_settings(sub, None if sub.paused else next_delivery(sub, clock()), tr.lang, note=note)


async def save_time(
    text: str, message: Message, store: Storage, clock: Clock, chat_id: int, tr: Translator
) -> bool:
    """Store a typed HH:MM; on nonsense explain the format and return False."""
    try:
        hhmm = parse_hhmm(text).strftime("%H:%M")
    except ValueError:
        await message.answer(tr("settings.time_invalid"))
        return False
    sub = await store.subscribers.update(chat_id, clock(), digest_time=hhmm)
    assert sub is not None
    note = tr("settings.time_saved", time=hhmm)
    await message.answer(screen(sub, clock, tr, note), reply_markup=settings_keyboard(tr, sub))
    return True


async def show(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    store: Storage,
    clock: Clock,
    chat_id: int,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    await state.clear()
    if not subscribed(subscriber):
        await message.answer(tr("common.need_start"))
        return
    assert subscriber is not None
    words = (command.args or "").split()
    if words and words[0].lower() == "time" and len(words) == 2:
        await save_time(words[1], message, store, clock, chat_id, tr)
    elif words:
        await message.answer(tr("settings.usage"))
    else:
        await message.answer(screen(subscriber, clock, tr), reply_markup=settings_keyboard(tr, subscriber))


async def typed_time(
    message: Message,
    state: FSMContext,
    store: Storage,
    clock: Clock,
    chat_id: int,
    tr: Translator,
    subscriber: Subscriber | None,
) -> None:
    if not subscribed(subscriber):
        await state.clear()
        await message.answer(tr("common.need_start"))
        return
    if await save_time(message.text or "", message, store, clock, chat_id, tr):
        await state.clear()


async def _redraw(callback: CallbackQuery, sub: Subscriber | None, clock: Clock, tr: Translator) -> None:
    assert sub is not None  # the Subscribed filter let the tap through, so the row exists
    await edit(callback, screen(sub, clock, tr), settings_keyboard(tr, sub))


async def language(
    callback: CallbackQuery,
    callback_data: LangCb,
    store: Storage,
    clock: Clock,
    chat_id: int,
    tr: Translator,
) -> None:
    sub = await store.subscribers.update(chat_id, clock(), ui_lang=callback_data.lang)
    tr = Translator(callback_data.lang)
    await _redraw(callback, sub, clock, tr)
    await callback.answer(tr("settings.saved"))


async def news_languages(
    callback: CallbackQuery,
    callback_data: NewsCb,
    store: Storage,
    clock: Clock,
    chat_id: int,
    tr: Translator,
) -> None:
    sub = await store.subscribers.update(chat_id, clock(), news_langs=callback_data.langs)
    await _redraw(callback, sub, clock, tr)
    await callback.answer(tr("settings.saved"))


async def preset_time(
    callback: CallbackQuery,
    callback_data: TimeCb,
    store: Storage,
    clock: Clock,
    chat_id: int,
    tr: Translator,
) -> None:
    hhmm = f"{callback_data.hhmm[:2]}:{callback_data.hhmm[2:]}"
    sub = await store.subscribers.update(chat_id, clock(), digest_time=hhmm)
    await _redraw(callback, sub, clock, tr)
    await callback.answer(tr("settings.time_saved", time=hhmm))


async def ask_time(callback: CallbackQuery, state: FSMContext, tr: Translator) -> None:
    if not isinstance(callback.message, Message):
        await callback.answer(tr("error.stale_button"))
        return
    await state.set_state(AskTime.waiting)
    await callback.message.answer(tr("settings.ask_time"))
    await callback.answer()


async def pause(
    callback: CallbackQuery,
    callback_data: SettingsCb,
    store: Storage,
    clock: Clock,
    chat_id: int,
    tr: Translator,
) -> None:
    paused = callback_data.action == "pause"
    sub = await store.subscribers.update(chat_id, clock(), paused=int(paused))
    await _redraw(callback, sub, clock, tr)
    await callback.answer(tr("settings.paused") if paused else tr("settings.resumed"))


def router() -> Router:
    r = Router(name="settings")
    r.callback_query.filter(Subscribed())
    r.message.register(show, Command("settings"))
    r.message.register(typed_time, StateFilter(AskTime.waiting), F.text, ~F.text.startswith("/"))
    r.callback_query.register(language, LangCb.filter(F.where == "m"))
    r.callback_query.register(news_languages, NewsCb.filter())
    r.callback_query.register(preset_time, TimeCb.filter())
    r.callback_query.register(ask_time, SettingsCb.filter(F.action == "other_time"))
    r.callback_query.register(pause, SettingsCb.filter(F.action.in_({"pause", "resume"})))
    return r
