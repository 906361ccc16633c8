"""When a subscriber's daily digest is due: pure functions of the subscriber and `now`.

The database, not a timer, decides: a subscriber is due when their local digest time has passed today
and today's local date is not yet recorded as delivered. That survives restarts and missed ticks, and
can never send twice on one day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import parse_hhmm
from storage import Subscriber


def local_today(sub: Subscriber, now: datetime) -> str:
    return now.astimezone(ZoneInfo(sub.timezone)).date().isoformat()


def due_at(sub: Subscriber, now: datetime) -> datetime:
    """Today's (local) delivery moment as an aware datetime in the subscriber's zone."""
    zone = ZoneInfo(sub.timezone)
    local = now.astimezone(zone)
    at = parse_hhmm(sub.digest_time)
    return datetime.combine(local.date(), at, tzinfo=zone)


def is_due(sub: Subscriber, now: datetime) -> bool:
    if not sub.active or sub.paused:
        return False
    return now >= due_at(sub, now) and sub.last_digest_date != local_today(sub, now)


def next_delivery(sub: Subscriber, now: datetime) -> datetime:
    """The next moment a digest will go out (today if still ahead or not yet sent, else tomorrow)."""
    today = due_at(sub, now)
    if sub.last_digest_date == local_today(sub, now) or (now >= today and not is_due(sub, now)):
        zone = ZoneInfo(sub.timezone)
        tomorrow = (now.astimezone(zone) + timedelta(days=1)).date()
        return datetime.combine(tomorrow, parse_hhmm(sub.digest_time), tzinfo=zone)
    return max(today, now) if now < today else now
