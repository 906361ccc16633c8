"""Assembly of the running service: settings → storage → bot → dispatcher → scheduler → polling.

The factories here are shared with the tests, so the tests run the same wiring as production.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramUnauthorizedError
from aiogram.types import BotCommand, BotCommandScopeDefault, ErrorEvent
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

import handlers
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.i18n import LANGUAGES, Translator, lang_of, t
from bot.ingest.pipeline import PassRunner
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
    ingestor: PassRunner,
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


def webhook_path(settings: Settings) -> str:
    return urlsplit(settings.webhook_url or "").path or "/webhook"


def create_webhook_app(dp: Dispatcher, bot: Bot, *, secret: str, path: str) -> web.Application:
    """aiogram's webhook handler on aiohttp; a request without the secret token header is refused (401)."""
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret).register(app, path=path)
    setup_application(app, dp, bot=bot)
    return app


async def _serve_webhook(dp: Dispatcher, bot: Bot, settings: Settings) -> None:
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    app = create_webhook_app(dp, bot, secret=secret, path=webhook_path(settings))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", settings.webhook_port).start()  # noqa: S104 — a proxy sits in front
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await bot.set_webhook(settings.webhook_url or "", secret_token=secret, allowed_updates=dp.resolve_used_update_types())
        log.info("webhook mode port=%s path=%s", settings.webhook_port, webhook_path(settings))
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()


async def run_bot(settings: Settings, catalogs: Catalogs | None = None) -> int:
    """Polling (or webhook) with the scheduler until SIGINT/SIGTERM; then closes everything it opened.
    Returns 2 when Telegram refuses the token."""
    from bot.health import HealthPolicy, create_health_app, start_health_server
    from bot.ingest.isolated import IsolatedIngestor
    from bot.memory import freeze_long_lived
    from bot.scheduler import create_scheduler

    catalogs = catalogs or load_catalogs(settings)
    storage = await Storage.open(settings.database_path)
    bot = create_bot(settings)
    # Each pass runs in a child process at a lower priority, so the bot answers at its usual speed
    # during a pass (bot/ingest/isolated.py).
    ingestor = IsolatedIngestor(settings)
    dp = create_dispatcher(storage=storage, settings=settings, catalogs=catalogs, ingestor=ingestor)
    freeze_long_lived()  # everything made so far lives as long as the process (bot/memory.py)
    scheduler = create_scheduler(settings=settings, storage=storage, catalogs=catalogs, ingestor=ingestor, bot=bot)
    add_retention_job(scheduler, storage, settings)
    health = None
    try:
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            log.critical(
                "Telegram refused BOT_TOKEN (401 Unauthorized): check it in .env, or get a new one from @BotFather"
            )
            return 2  # a configuration error, like a bad setting
        log.info("bot started username=%s", me.username)
        scheduler.start()
        if settings.health_port:
            policy = HealthPolicy(ingest_stale_after=timedelta(minutes=3 * settings.ingest_interval_minutes + 30))
            health = await start_health_server(
                create_health_app(storage, policy, lambda: bool(scheduler.running)), settings.health_port,
                settings.health_host,
            )
        if settings.webhook_url:
            await _serve_webhook(dp, bot, settings)
        else:
            await bot.delete_webhook(drop_pending_updates=False)
            await dp.start_polling(bot, handle_signals=True, close_bot_session=False)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if health is not None:
            await health.cleanup()
        await bot.session.close()
        await storage.close()
        log.info("bot stopped")
    return 0


def add_retention_job(scheduler: Any, storage: Storage, settings: Settings) -> None:
    """Daily removal of articles older than RETENTION_DAYS, in small batches."""
    from storage.maintenance import MaintenanceStore

    async def retention() -> None:
        removed = await MaintenanceStore(storage.db).remove_older_than(utc_now() - timedelta(days=settings.retention_days))
        log.info("retention removed=%d older_than_days=%d", removed, settings.retention_days)

    scheduler.add_job(
        retention, "interval", hours=24, id="retention", max_instances=1, coalesce=True,
        misfire_grace_time=6 * 3600, next_run_time=utc_now() + timedelta(minutes=10),
    )
