"""The ru and kk catalogs against the code: every message id the code uses has a text in both languages,
the texts agree on their placeholders and are valid Telegram HTML, and the committed .mo files are what
the .po files compile to (so nobody ships a stale translation)."""

from __future__ import annotations

import io
import re
import shlex
import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from bot.app import USER_COMMANDS
from bot.i18n import LANGUAGES, LOCALES_DIR
from tests.fake_telegram import EntityParseError, parse_html

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers")
# Ids the code builds at run time (f"menu.{command}", f"lang.{code}") or passes around as a default
# argument (render_digest's title_key), which extraction cannot see.
DYNAMIC_IDS = (
    {f"menu.{c}" for c in USER_COMMANDS} | {f"lang.{lang}" for lang in LANGUAGES} | {"digest.header"}
)


def makefile_keywords() -> dict[str, tuple[int, ...] | None]:
    """The `-k` options of `make i18n-extract`, so this test and the Makefile extract the same ids."""
    line = next(ln for ln in (ROOT / "Makefile").read_text().splitlines() if "pybabel extract" in ln)
    words = shlex.split(line)
    keywords: dict[str, tuple[int, ...] | None] = {}
    for flag, value in zip(words, words[1:], strict=False):
        if flag == "-k":
            name, _, spec = value.partition(":")
            keywords[name] = tuple(int(i) for i in spec.split(",")) if spec else None
    return keywords


@cache
def used_ids() -> frozenset[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    keywords = makefile_keywords()
    for folder in SOURCE_DIRS:
        for _file, _line, message, _comments, _context in extract_from_dir(ROOT / folder, keywords=keywords):
            found.add(message if isinstance(message, str) else (message[0], message[1]))
    return frozenset(found)


@cache
def po(lang: str) -> Catalog:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "habar.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def forms(catalog: Catalog, msgid: str) -> list[str]:
    message = catalog.get(msgid)
    if message is None:
        return []
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def _key(value: object) -> object:
    return value if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_extraction_finds_the_handlers_ids() -> None:
    ids = used_ids()
    assert "start.body" in ids and "settings.time_saved" in ids and "error.stale_button" in ids
    assert ("project.mentions_one", "project.mentions_many") in ids
    assert ("digest.more_one", "digest.more_many") in ids


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_used_id_is_translated(lang: str) -> None:
    catalog = po(lang)
    missing = []
    for message in sorted(used_ids() | DYNAMIC_IDS, key=str):
        msgid = message if isinstance(message, str) else message[0]
        texts = forms(catalog, msgid)
        if not texts or not all(s.strip() for s in texts):
            missing.append(msgid)
        elif isinstance(message, tuple) and catalog.get(msgid).id != message:  # type: ignore[union-attr]
            missing.append(f"{msgid} (plural pair differs from the code's {message})")
    assert not missing, f"untranslated in {lang}: {missing}"


def test_no_dead_entries() -> None:
    """Every catalog entry is used by the code (a typo in an id would otherwise leave a dead text behind)."""
    used = {m if isinstance(m, str) else m[0] for m in used_ids()} | DYNAMIC_IDS
    dead = sorted(
        str(_key(m.id))
        for m in po("ru")
        if m.id and _key(m.id if isinstance(m.id, str) else m.id[0]) not in used
    )
    assert not dead


def test_placeholders_agree_between_languages() -> None:
    ru, kk = po("ru"), po("kk")
    problems = []
    for message in ru:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        expected = fields(forms(ru, msgid)[0])
        for lang, catalog in (("ru", ru), ("kk", kk)):
            for text in forms(catalog, msgid):
                if fields(text) != expected:
                    problems.append(f"{lang} {msgid}: {sorted(fields(text))} != {sorted(expected)}")
    assert not problems, "\n".join(problems)


def test_both_catalogs_hold_the_same_ids() -> None:
    def ids(catalog: Catalog) -> set[object]:
        return {_key(m.id) for m in catalog if m.id}

    assert ids(po("ru")) == ids(po("kk"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_text_is_valid_telegram_html(lang: str) -> None:
    """Catalog texts are markup (they may hold <b>); a stray '<' or '&' would make Telegram refuse them."""
    bad = []
    for message in po(lang):
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        for text in forms(po(lang), msgid):
            filled = text.format(**{name: "x" for name in fields(text)})
            try:
                parse_html(filled)
            except EntityParseError as exc:
                bad.append(f"{msgid}: {exc}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogs_are_up_to_date(lang: str) -> None:
    """`make i18n-compile` was run after the last .po edit: the .mo holds exactly what the .po compiles to."""
    fresh = io.BytesIO()
    write_mo(fresh, po(lang))
    fresh.seek(0)
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "habar.mo").open("rb") as fh:
        committed = read_mo(fh)

    def pairs(catalog: Catalog) -> dict[object, object]:
        return {_key(m.id): _key(m.string) for m in catalog if m.id}

    assert pairs(read_mo(fresh)) == pairs(committed), "run `make i18n-compile`"


def test_kazakh_texts_are_kazakh() -> None:
    """A cheap guard against a Russian text pasted into the Kazakh catalog: long kk texts use Kazakh letters."""
    kazakh = re.compile("[әғқңөұүһі]", re.IGNORECASE)
    suspicious = []
    for message in po("kk"):
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        for text in forms(po("kk"), msgid):
            words = re.findall(r"[А-Яа-яЁё]{4,}", text)
            if len(words) >= 4 and not kazakh.search(text):
                suspicious.append(f"{msgid}: {text[:60]}")
    assert not suspicious, "\n".join(suspicious)
