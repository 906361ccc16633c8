"""Assembly of the running service: settings → storage → bot → dispatcher → scheduler → polling.

The factories here are shared with the tests, so the tests run the same wiring as production.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import BotCommand, BotCommandScopeDefault, ErrorEvent

import handlers
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.i18n import LANGUAGES, Translator, lang_of, t
from bot.ingest.pipeline import Ingestor
from bot.services import Catalogs, load_catalogs
from bot.telegram.middlewares import SubscriberMiddleware, ThrottlingMiddleware
from bot.telegram.session import create_bot
from bot.trends import TrendCharts
from storage import Storage

log = logging.getLogger(__name__)

USER_COMMANDS = ("start", "help", "topics", "digest", "project", "search", "trends", "settings", "stop")


def create_dispatcher(
    *,
    storage: Storage,
    settings: Settings,
    catalogs: Catalogs,
    ingestor: Ingestor,
    clock: Clock = utc_now,
    throttle: ThrottlingMiddleware | None = None,
    **extra: Any,
) -> Dispatcher:
    extra.setdefault("charts", TrendCharts(storage.db, catalogs.topics, settings.zone))
    dp = Dispatcher(
        store=storage,
        settings=settings,
        catalogs=catalogs,
        topics=catalogs.topics,
        projects=catalogs.projects,
        ingestor=ingestor,
        clock=clock,
        **extra,
    )
    subscriber = SubscriberMiddleware()
    dp.message.outer_middleware(subscriber)
    dp.callback_query.outer_middleware(subscriber)
    throttling = throttle or ThrottlingMiddleware()
    dp.message.middleware(throttling)
    dp.callback_query.middleware(throttling)
    dp.include_routers(*handlers.routers())
    dp.errors.register(on_error)
    dp.startup.register(on_startup)
    return dp


async def on_error(event: ErrorEvent, bot: Bot, store: Storage) -> bool:
    """Any handler exception: logged with its context, and the user gets an apology, never silence."""
    update = event.update
    callback = update.callback_query
    message = update.message or (callback.message if callback else None)
    user = update.message.from_user if update.message else (callback.from_user if callback else None)
    text = update.message.text if update.message else (callback.data if callback else None)
    chat_id = message.chat.id if message else None
    log.error(
        "handler failed update_id=%s chat_id=%s input=%r error=%s: %s",
        update.update_id,
        chat_id,
        (text or "")[:100],
        type(event.exception).__name__,
        event.exception,
        exc_info=event.exception,
    )
    ui = lang_of(user.language_code if user else None)
    try:
        subscriber = await store.subscribers.get(chat_id) if chat_id is not None else None
        if subscriber is not None:
            ui = subscriber.ui_lang
    except Exception:  # the store may be what failed; fall back to Telegram's language
        log.warning("could not load the subscriber for the apology chat_id=%s", chat_id)
    tr = Translator(ui)
    try:
        if callback is not None:
            await callback.answer(tr("error.internal"), show_alert=False)
        elif chat_id is not None:
            await bot.send_message(chat_id, tr("error.internal"))
    except Exception:  # the apology itself failing must not loop back here
        log.warning("could not send apology chat_id=%s", chat_id)
    return True


async def set_commands(bot: Bot) -> None:
    """The command menu per language (ru, kk and a default); a failure is logged and the bot carries on."""
    try:
        for lang in (None, *LANGUAGES):
            shown = lang or "ru"
            commands = [BotCommand(command=c, description=t(shown, f"menu.{c}")) for c in USER_COMMANDS]
            await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
    except Exception as exc:
        log.warning("could not set the command menu: %s: %s", type(exc).__name__, exc)


async def on_startup(bot: Bot) -> None:
    await set_commands(bot)


async def run_bot(settings: Settings) -> int:
    """Long polling with the scheduler until SIGINT/SIGTERM; closes the session and the database."""
    catalogs = load_catalogs(settings)
    storage = await Storage.open(settings.database_path)
    bot = create_bot(settings)
    ingestor = Ingestor(storage, catalogs.topics, catalogs.projects)
    dp = create_dispatcher(storage=storage, settings=settings, catalogs=catalogs, ingestor=ingestor)
    scheduler = None
    try:
        from bot.scheduler import create_scheduler

        scheduler = create_scheduler(settings=settings, storage=storage, catalogs=catalogs, ingestor=ingestor, bot=bot)
        scheduler.start()
    except ImportError:
        log.info("scheduler not available; running the bot only")
    try:
        me = await bot.get_me()
        log.info("bot started username=%s", me.username)
        await bot.delete_webhook(drop_pending_updates=False)
        await dp.start_polling(bot, handle_signals=True, close_bot_session=True)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await bot.session.close()
        await storage.close()
        log.info("bot stopped")
    return 0
