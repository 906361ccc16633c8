"""The operator's feeds file (TOML): `[[feeds]]` with `url`, `name` and an optional `lang`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from storage.models import FeedSpec

LANGS = ("ru", "kk", "auto")


class FeedsFileError(Exception):
    """The feeds file cannot be used; the message says which file, which entry and what to fix."""


def load_feeds(path: Path) -> list[FeedSpec]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeedsFileError(f"feeds file {path} does not exist (set FEEDS_FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedsFileError(f"feeds file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FeedsFileError(f"feeds file {path} is not valid TOML: {exc}") from None
    entries = data.get("feeds")
    if not isinstance(entries, list) or not entries:
        raise FeedsFileError(f"feeds file {path} has no [[feeds]] entries")
    specs: list[FeedSpec] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"feeds file {path}, feed #{number}"
        if not isinstance(entry, dict):
            raise FeedsFileError(f"{where}: expected a table with url and name")
        url = str(entry.get("url", "")).strip()
        name = str(entry.get("name", "")).strip()
        lang = str(entry.get("lang", "auto")).strip().lower()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FeedsFileError(f"{where}: url must be an http(s) address, got {url!r}")
        if not name:
            raise FeedsFileError(f"{where} ({url}): name is missing")
        if lang not in LANGS:
            raise FeedsFileError(f"{where} ({url}): lang must be one of {', '.join(LANGS)}, got {lang!r}")
        if url in seen:
            raise FeedsFileError(f"{where}: {url} is listed twice")
        seen.add(url)
        specs.append(FeedSpec(url=url, name=name, lang=lang))
    return specs
