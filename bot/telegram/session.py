"""The Bot and its HTTP session: custom API server, HTML by default, and survival of flood control."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.config import Settings

log = logging.getLogger(__name__)

_CALLER_PACES = ContextVar("habar_caller_handles_flood_control", default=False)


@contextmanager
def caller_handles_flood_control() -> Iterator[None]:
    """Inside this block (and tasks started in it) RetryAfterMiddleware lets 429s through at once.

    The broadcaster paces every send with its own limiter: it must see each flood wait to pause all its
    workers and slow down, instead of one request quietly sleeping while the others keep hitting the limit.
    """
    token = _CALLER_PACES.set(True)
    try:
        yield
    finally:
        _CALLER_PACES.reset(token)


class RetryAfterMiddleware(BaseRequestMiddleware):
    """aiogram does not retry on 429: wait the `retry_after` Telegram gave and try again, a bounded number of times.

    Every Bot API call goes through here, replies included, so a flood wait delays a handler instead of failing it.
    """

    def __init__(self, attempts: int = 4, max_wait: float = 120.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _CALLER_PACES.get():
            return await make_request(bot, method)
        waited = 0.0
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or waited + exc.retry_after > self.max_wait:
                    raise
                log.warning(
                    "flood control method=%s retry_after=%s attempt=%d", type(method).__name__, exc.retry_after, attempt
                )
                waited += exc.retry_after
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


def create_bot(settings: Settings, *, retry_attempts: int = 4) -> Bot:
    """The Bot used in production and in the tests (pointed at the fake server through TELEGRAM_API_URL)."""
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
    session.middleware(RetryAfterMiddleware(attempts=retry_attempts))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
