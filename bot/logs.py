"""Logging: one line per event, key=value (or JSON), with the bot token redacted from everything.

aiogram and aiohttp put request URLs (which contain the token) into exception texts; the filter
rewrites the message, its arguments and any formatted traceback, so no handler can leak it, and an
exception nobody caught is logged through the same handler instead of Python's own traceback printer.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from types import TracebackType

_TOKEN_SHAPE = re.compile(r"\d{5,12}:[A-Za-z0-9_-]{30,}")
REDACTED = "<redacted>"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` without the given secrets or anything shaped like a bot token.

    A token's secret half (after the colon) is removed on its own too, so that a URL with the colon
    percent-encoded (`123%3AAbc…`) or a message that quotes only the secret part does not leak it.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
            _, colon, half = secret.partition(":")
            if colon and len(half) >= 8:
                text = text.replace(half, REDACTED)
    return _TOKEN_SHAPE.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info:
            # Format now, redacted, and drop the live exception so no later formatter re-renders it.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, self.secrets)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"ts={when} level={record.levelname.lower()} logger={record.name} msg={json.dumps(record.getMessage(), ensure_ascii=False)}"
        if record.exc_text:
            line += f" exc={json.dumps(record.exc_text, ensure_ascii=False)}"
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(level: str = "INFO", fmt: str = "kv", secrets: tuple[str, ...] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every run of the minute delivery tick at INFO; our jobs log their own summary lines.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
    sys.excepthook = _log_uncaught


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An exception nothing caught (e.g. `run` failing at start) goes through the redacting handler too:
    Python's own traceback printer would write aiohttp's texts, URL and token included, straight to stderr."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("habar").critical("stopped by %s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))
