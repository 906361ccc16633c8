"""Logs of a whole run never contain the bot token, at DEBUG too: an ingestion pass, bot commands (some of whose
replies fail), a broadcast through 429 / 403 / 5xx / dropped connections, and aiogram errors whose text carries
the request URL (and with it the token). Every record is one line, key=value or JSON, and the ingestion pass and
the broadcast each end with a summary line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import Settings
from bot.logs import redact, setup_logging
from bot.scheduler import create_scheduler, deliver_due
from bot.telegram.session import create_bot
from tests.bot_harness import ADMIN_ID, BAD_FEED_PATH, OK_FEED_PATH, BotApp, running_bot
from tests.delivery_support import FAST, close_quickly
from tests.fake_telegram import FakeTelegram
from tests.feed_server import FeedServer
from tests.feedgen import Item, rss

# A token in Telegram's shape, and one that is not (the configured secret is redacted whatever its shape).
SHAPED = "7411223344:AAH-fake_secret_part_for_log_tests_0123456"
ODD = "4242:odd-secret-9f8e7d"
ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def captured_logs(level: str, fmt: str, token: str) -> Iterator[io.StringIO]:
    """The production logging set-up (bot.logs.setup_logging), writing into a buffer instead of stderr."""
    root = logging.getLogger()
    saved_handlers, saved_level, saved_hook = root.handlers[:], root.level, sys.excepthook
    buffer = io.StringIO()
    real_stderr, sys.stderr = sys.stderr, buffer
    try:
        setup_logging(level, fmt, secrets=(token,))
    finally:
        sys.stderr = real_stderr
    try:
        yield buffer
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        sys.excepthook = saved_hook


async def redirect_loop() -> TestServer:
    """A "Bot API" that redirects every request to itself: aiohttp gives up with TooManyRedirects, whose text,
    wrapped by aiogram in TelegramNetworkError, contains the whole request URL, token included."""

    async def handler(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect(location=str(request.url))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def full_run(app: BotApp, fake: FakeTelegram, feeds: FeedServer, token: str) -> None:
    log = logging.getLogger("tests.full_run")
    ingestor = app.dp["ingestor"]
    scheduler = create_scheduler(
        settings=app.settings, storage=app.store, catalogs=app.catalogs, ingestor=ingestor, bot=app.bot, clock=app.clock
    )
    jobs = {job.id: job for job in scheduler.get_jobs()}

    # Ingestion: the scheduler's job over a good feed and a failing one, then /ingest by an operator.
    now = app.clock()
    feeds.add_feed(OK_FEED_PATH, rss([
        Item(f"Китайская компания инвестирует в завод в ЗКО, новость {i}", f"https://ru.example.kz/{i}",
             "Инвестиционный проект обсудили в Уральске.", guid=f"g{i}", published=now - timedelta(hours=1))
        for i in range(3)
    ]))
    feeds.add_status(BAD_FEED_PATH, 502)
    await jobs["ingest"].func()

    # Commands, including replies that fail with a 5xx and with a dropped connection.
    for chat in (21, 22, 23, 24, 25):
        await app.say(chat, "/start")
    await app.say(21, "/help")
    await app.say(21, "/digest")
    await app.say(22, "/search инвест")
    await app.say(ADMIN_ID, "/feeds")
    await app.say(ADMIN_ID, "/stats")
    await app.say(ADMIN_ID, "/ingest")
    fake.fail_next("sendMessage", status=500, chat_id=23)
    await app.say(23, "/help")
    fake.drop_next("sendMessage", chat_id=24)
    await app.say(24, "/topics")

    # The broadcast: 429, a user who blocked the bot, a deleted chat, a 5xx, dropped connections.
    app.clock.advance(hours=2, minutes=5)  # 09:05 in Almaty: the default digest time has passed
    fake.fail_next("sendMessage", status=429, retry_after=1)
    fake.fail_next("sendMessage", status=502, chat_id=21)
    fake.drop_next("sendMessage", chat_id=22)
    fake.drop_next("sendMessage", chat_id=21, after_processing=True)
    fake.block(23)
    fake.chat_not_found(24)
    report = await deliver_due(app.store, app.bot, app.catalogs, app.settings, app.clock(), options=FAST)
    assert report.broadcast.sent and report.broadcast.flood_waits and report.broadcast.blocked
    assert report.broadcast.gone and report.broadcast.retries

    # A Bot API whose errors quote the request URL: a broadcast to it, and the exception logged as it is.
    trap = await redirect_loop()
    trapped = create_bot(Settings(_env_file=None, bot_token=token, telegram_api_url=str(trap.make_url(""))))  # type: ignore[call-arg]
    try:
        try:
            await trapped.get_me()
        except Exception as exc:
            assert token in str(exc)  # the leak this test is about
            log.warning("get_me failed: %s", exc, exc_info=True)
        app.clock.advance(days=1)
        report = await deliver_due(app.store, trapped, app.catalogs, app.settings, app.clock(), options=FAST)
        assert report.broadcast.parts and report.broadcast.failed
    finally:
        await close_quickly(trapped)
        await trap.close()


@pytest.mark.parametrize(("token", "fmt"), [(SHAPED, "kv"), (ODD, "json")], ids=["telegram-shaped-kv", "odd-json"])
async def test_a_full_run_logs_no_token_at_debug(tmp_path: Path, token: str, fmt: str) -> None:
    async with FakeTelegram(token) as fake, FeedServer() as feeds:
        with captured_logs("DEBUG", fmt, token) as buffer:
            async with running_bot(tmp_path, fake, feeds) as app:
                await full_run(app, fake, feeds, token)
                # The ledger keeps each part's last error: redacted too.
                async with app.store.db.conn.execute("SELECT last_error FROM deliveries") as cur:
                    errors = " ".join(row[0] or "" for row in await cur.fetchall())
    text = buffer.getvalue()
    secret_half = token.split(":", 1)[1]
    assert "TooManyRedirects" in errors and token not in errors and secret_half not in errors
    assert text.count("\n") > 50, "the run logged almost nothing; is the capture working?"
    assert token not in text and secret_half not in text
    assert "<redacted>" in text  # the redirect-loop errors were there, and were redacted

    lines = text.splitlines()
    if fmt == "json":
        records = [json.loads(line) for line in lines]  # every line one JSON object
        messages = [r["msg"] for r in records]
        assert {"ts", "level", "logger", "msg"} <= set(records[0])
    else:
        assert all(line.startswith("ts=") and " level=" in line and " msg=" in line for line in lines)
        messages = lines
    assert any("ingest pass feeds=2 new=3" in m and "failed=1" in m for m in messages)
    assert any("broadcast chats=" in m and "429s=1" in m for m in messages)
    assert any("handler failed" in m for m in messages)  # the failed replies were logged, with tracebacks



async def test_run_failing_at_start_with_the_url_in_its_error_prints_no_token(tmp_path: Path) -> None:
    """`run` against a Bot API whose error quotes the URL: the exception nothing catches is logged, redacted,
    instead of Python printing a traceback with the token to stderr (journald, docker logs)."""
    trap = await redirect_loop()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": SHAPED,
        "TELEGRAM_API_URL": str(trap.make_url("")).rstrip("/"),
        "DATABASE_PATH": str(tmp_path / "habar.sqlite3"),
        "LOG_LEVEL": "DEBUG",
    }
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        await trap.close()
    text = (out + err).decode()
    assert proc.returncode == 1, text
    assert "TooManyRedirects" in text and "/bot<redacted>/getMe" in text
    assert SHAPED not in text and SHAPED.split(":", 1)[1] not in text
    assert all(line.startswith("ts=") for line in err.decode().splitlines())  # one line per event


def test_the_secret_half_is_redacted_whatever_became_of_the_colon() -> None:
    half = ODD.split(":", 1)[1]
    for text in (f"/bot{ODD}/getMe", f"/bot4242%3A{half}/getMe", f"token part {half!r}"):
        out = redact(text, (ODD,))
        assert half not in out and "<redacted>" in out, out
    assert redact("chat 4242 said hi", (ODD,)) == "chat 4242 said hi"  # the bot id alone is public
