"""Per-update context for handlers: the subscriber, their language, and protection from floods."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.i18n import Translator, lang_of
from storage import Storage

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _chat_id(event: TelegramObject) -> int | None:
    if isinstance(event, Message):
        return event.chat.id
    if isinstance(event, CallbackQuery) and event.message is not None:
        return event.message.chat.id
    if isinstance(event, CallbackQuery) and event.from_user is not None:
        return event.from_user.id
    return None


class SubscriberMiddleware(BaseMiddleware):
    """Loads the subscriber once per update; the interface language follows their choice, else Telegram's."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        store: Storage = data["store"]
        chat_id = _chat_id(event)
        user: User | None = data.get("event_from_user")
        subscriber = await store.subscribers.get(chat_id) if chat_id is not None else None
        ui = subscriber.ui_lang if subscriber else lang_of(user.language_code if user else None)
        data["chat_id"] = chat_id
        data["subscriber"] = subscriber
        data["ui"] = ui
        data["tr"] = Translator(ui)
        return await handler(event, data)


class ThrottlingMiddleware(BaseMiddleware):
    """A user who floods (more than `limit` messages in `window` seconds) is told once to slow down, then ignored
    until the window clears, so one person cannot starve the bot or trip Telegram's limits for everyone."""

    def __init__(self, limit: int = 8, window: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None:
            return await handler(event, data)
        now = self.clock()
        stamps = self._seen.setdefault(user.id, deque())
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        stamps.append(now)
        if len(self._seen) > 50_000:  # forget idle users so memory stays bounded over months
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] <= self.window}
        if len(stamps) <= self.limit:
            return await handler(event, data)
        if now - self._warned.get(user.id, -1e9) > self.window:
            self._warned[user.id] = now
            tr: Translator = data.get("tr") or Translator(lang_of(user.language_code))
            if isinstance(event, Message):
                await event.answer(tr("error.throttled"))
            elif isinstance(event, CallbackQuery):
                await event.answer(tr("error.throttled"), show_alert=False)
        elif isinstance(event, CallbackQuery):
            await event.answer()
        return None
