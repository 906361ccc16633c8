"""`python -m bot digest --send`: today's digest now, to everyone who has not had it today.

It ignores the times subscribers chose (an operator asked for it now) but not the calendar: whoever already
got today's digest is skipped, and parts left unfinished by an earlier run or a crash are completed. Output
is for operators, in English; what subscribers read comes from the catalogs.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from bot.clock import utc_now
from bot.config import ConfigError, Settings
from bot.delivery.broadcast import BroadcastOptions
from bot.delivery.plan import not_served_today
from bot.delivery.run import DeliveryReport, deliver

EXIT_OK = 0
EXIT_CONFIG = 2

NO_TOKEN = """\
habar: BOT_TOKEN is not set, so no digest can be sent.
Get a token from @BotFather in Telegram (/newbot) and put it in .env as BOT_TOKEN=... (see .env.example).
To see a digest without Telegram: python -m bot digest --preview"""


def summary(report: DeliveryReport) -> str:
    plan, sent = report.plan, report.broadcast
    lines = [
        f"due: {plan.due} subscribers; planned {plan.planned} digests ({plan.digests} distinct), "
        f"{plan.already_planned} already planned, {plan.empty_skipped} empty and skipped",
        f"sent {sent.sent} messages ({sent.completed} digests completed) in {sent.seconds:.1f} s",
        f"failed {sent.failed} (retried on the next run), dropped {sent.dropped}, blocked {sent.blocked}, "
        f"chat not found {sent.gone}, migrated {sent.migrated}, flood waits (429) {sent.flood_waits}",
    ]
    if report.recovered:
        lines.append(f"resent {report.recovered} parts that were in flight when an earlier run stopped")
    if sent.fatal:
        lines.append(f"stopped early: {sent.fatal}")
    return "\n".join(lines)


async def send_all_due_now(
    settings: Settings,
    *,
    now: datetime | None = None,
    options: BroadcastOptions | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    if settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr)
        return EXIT_CONFIG
    from bot.cli import _open  # turns an unusable database into ConfigError (exit 2)
    from bot.telegram.session import create_bot
    from bot.topics import TopicRules, TopicsFileError

    try:
        topics = TopicRules.load(settings.topics_file)  # all a digest needs of the data files
    except TopicsFileError as exc:
        raise ConfigError(str(exc)) from None
    storage = await _open(settings)
    bot = create_bot(settings)
    try:
        report = await deliver(
            storage,
            bot,
            topics,
            now or utc_now(),
            options=options or BroadcastOptions.from_settings(settings),
            due=not_served_today,
        )
    finally:
        await bot.session.close()
        await storage.close()
    print(summary(report), file=out)
    if report.broadcast.fatal:
        print("habar: Telegram refused the bot token; check BOT_TOKEN", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK
