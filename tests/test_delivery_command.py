"""`python -m bot digest --send`: today's digest now to everyone not served today, whatever their time."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import Settings
from bot.delivery.command import send_all_due_now
from storage import Storage
from tests import fake_telegram as fake_module
from tests.delivery_support import FAST, add_subscribers, at, seed_articles
from tests.fake_telegram import FakeTelegram

fake_telegram = fake_module.fake_telegram  # the fixture


def test_without_a_token_it_says_how_to_get_one(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["digest", "--send"]) == 2
    err = capsys.readouterr().err
    assert "BOT_TOKEN" in err and "@BotFather" in err and ".env" in err
    assert "Traceback" not in err


async def test_sends_now_to_everyone_not_served_today_and_finishes_open_parts(
    in_tmp: Path, fake_telegram: FakeTelegram
) -> None:
    db = in_tmp / "data" / "habar.sqlite3"
    now = at("08:00")
    storage = await Storage.open(db)
    await seed_articles(storage, at("06:00"))
    await add_subscribers(storage, [1], now, digest_time="21:30")  # long before their time: still sent
    await add_subscribers(storage, [2], now, digest_time="06:00")
    await add_subscribers(storage, [3], now)
    await storage.subscribers.mark_digest(3, local_date="2025-08-08", at=at("07:00"))  # already had today's
    await add_subscribers(storage, [4], now)
    await storage.subscribers.deactivate(4, "stopped", now)
    await storage.close()

    settings = Settings(bot_token=fake_telegram.token, telegram_api_url=fake_telegram.base_url, database_path=db)
    out = io.StringIO()
    assert await send_all_due_now(settings, now=now, options=FAST, out=out) == 0
    assert {m.chat_id for m in fake_telegram.sent} == {1, 2}
    summary = out.getvalue()
    assert "due: 2 subscribers" in summary and "sent 2 messages" in summary

    # Run again the same day: nothing more.
    out = io.StringIO()
    assert await send_all_due_now(settings, now=at("08:05"), options=FAST, out=out) == 0
    assert len(fake_telegram.sent) == 2
    assert "due: 0 subscribers" in out.getvalue()

    storage = await Storage.open(db)
    try:
        counts = await storage.stats.counts()
    finally:
        await storage.close()
    assert counts.deliveries == {"sent": 2}
