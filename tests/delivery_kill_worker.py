"""One delivery run in its own process, for the kill test: `python -m tests.delivery_kill_worker`.

Reads HABAR_KILL_DB (SQLite path), HABAR_KILL_API (the fake Bot API server's URL), HABAR_KILL_TOKEN and
HABAR_KILL_NOW (ISO 8601) from the environment, sends today's digest to everyone not yet served at a rate
far above Telegram's (the fake has no limit), and prints the report as one JSON line. With HABAR_KILL_WAIT
set it first waits for a line on stdin, so the test can start the "restarted" process (and pay for its
imports) while the first one is still running, and let it begin only after the kill.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict
from datetime import datetime

from bot.config import DEFAULT_TOPICS_FILE, Settings
from bot.delivery.broadcast import BroadcastOptions
from bot.delivery.plan import not_served_today
from bot.delivery.run import deliver
from bot.telegram.session import create_bot
from bot.topics import TopicRules
from storage import Storage

OPTIONS = BroadcastOptions(
    rate=2000.0, per_chat_interval=0.0, concurrency=64, backoff_base=0.01, backoff_cap=0.05, retry_wait=0.0
)


async def main() -> None:
    if os.environ.get("HABAR_KILL_WAIT"):
        await asyncio.to_thread(sys.stdin.readline)
    storage = await Storage.open(os.environ["HABAR_KILL_DB"])
    settings = Settings(bot_token=os.environ["HABAR_KILL_TOKEN"], telegram_api_url=os.environ["HABAR_KILL_API"])
    bot = create_bot(settings)
    try:
        report = await deliver(
            storage,
            bot,
            TopicRules.load(DEFAULT_TOPICS_FILE),
            datetime.fromisoformat(os.environ["HABAR_KILL_NOW"]),
            options=OPTIONS,
            due=not_served_today,
        )
    finally:
        await bot.session.close()
        await storage.close()
    print(json.dumps({"recovered": report.recovered, **asdict(report.broadcast)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
