"""When to try a failing feed again: pure, so the policy is tested without clocks or servers."""

from __future__ import annotations

from datetime import datetime, timedelta

BASE_DELAY = timedelta(minutes=5)
MAX_DELAY = timedelta(hours=6)
MAX_RETRY_AFTER = timedelta(days=1)


def next_attempt(now: datetime, failures: int, retry_after: float | None = None) -> datetime:
    """The earliest next fetch after `failures` failures in a row (counting the one just seen).

    A server's Retry-After wins when it asks for longer than our own back-off (capped at a day, so a
    silly header cannot silence a feed for good); otherwise the delay doubles per failure up to 6 hours.
    """
    exponent = max(failures - 1, 0)
    delay = min(BASE_DELAY * (2 ** min(exponent, 16)), MAX_DELAY)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return now + delay
