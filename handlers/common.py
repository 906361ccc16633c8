"""Small pieces every feature router shares: who counts as subscribed, their zone, and in-place edits."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject

from bot.config import Settings
from bot.i18n import Translator
from bot.topics import TopicRules
from storage import Subscriber

MAX_ARGUMENT = 200  # characters of a /search or /project argument; more is refused, not truncated


def subscribed(subscriber: Subscriber | None) -> bool:
    return subscriber is not None and subscriber.active


class Subscribed(Filter):
    """Passes active subscribers only. Buttons that change a subscription carry it as a router filter, so
    their handlers can rely on `subscriber`; anyone else's tap falls through to `fallback`, which asks
    them to /start."""

    async def __call__(self, event: TelegramObject, subscriber: Subscriber | None = None) -> bool:
        return subscribed(subscriber)


def topic_names(rules: TopicRules, keys: Sequence[str], tr: Translator) -> str:
    """The chosen topics by name, in the catalog's order, for a sentence ("none" when empty)."""
    return ", ".join(rules.name(k, tr.lang) for k in rules.keys if k in keys) or tr("topics.none")


def zone_of(subscriber: Subscriber | None, settings: Settings) -> ZoneInfo:
    """Dates are shown in the subscriber's zone; before /start, in the service's."""
    return ZoneInfo(subscriber.timezone) if subscriber else settings.zone


async def answer_all(
    message: Message, texts: Sequence[str], markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send a reply that `pack` split into several messages, in order; buttons go under the last one."""
    for i, text in enumerate(texts):
        await message.answer(text, reply_markup=markup if i == len(texts) - 1 else None)


async def edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> bool:
    """Redraw the message a button sits on; False when it can no longer be edited (too old, deleted).

    A double tap redraws identical content, which Telegram refuses as "not modified": that is success.
    """
    message = callback.message
    if not isinstance(message, Message):
        return False
    return await _redrawn(message.edit_text(text, reply_markup=markup))


async def edit_markup(callback: CallbackQuery, markup: InlineKeyboardMarkup | None) -> bool:
    """Redraw only the buttons of the message a button sits on; the same rules as `edit`."""
    message = callback.message
    if not isinstance(message, Message):
        return False
    return await _redrawn(message.edit_reply_markup(reply_markup=markup))


async def _redrawn(request: Awaitable[object]) -> bool:
    try:
        await request
    except TelegramBadRequest as exc:
        if "not modified" in exc.message:
            return True
        if "message to edit not found" in exc.message or "can't be edited" in exc.message:
            return False
        raise
    return True
