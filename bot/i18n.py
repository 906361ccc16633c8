"""Translations for everything a user reads, from the gettext catalogs in `bot/locales` (domain `habar`).

Message ids in code are symbolic (`digest.header`): the words live only in the ru and kk catalogs.
This module uses the standard library's gettext on the same compiled catalogs that aiogram's I18n
middleware reads in the handlers, so commands that never start the bot (digest --preview) need no aiogram.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "habar"
LANGUAGES = ("ru", "kk")
DEFAULT_LANGUAGE = "ru"


def N_(msgid: str) -> str:  # noqa: N802 — the gettext convention extraction looks for
    """Marks a message id for extraction where the text is looked up later, under a computed id."""
    return msgid


# Ids built at run time (f"menu.{command}", f"lang.{code}") or passed as defaults: listed here so that
# `make i18n-update` keeps them in the catalogs.
RUNTIME_IDS = (
    N_("menu.start"), N_("menu.help"), N_("menu.topics"), N_("menu.digest"), N_("menu.project"),
    N_("menu.search"), N_("menu.trends"), N_("menu.settings"), N_("menu.stop"), N_("lang.ru"), N_("lang.kk"), N_("digest.header"),
)


class MissingTranslation(LookupError):
    """A message id with no text in a catalog: a bug caught by the catalog tests, never shown raw."""


@cache
def catalog(lang: str) -> gettext.GNUTranslations:
    if lang not in LANGUAGES:
        lang = DEFAULT_LANGUAGE
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as fh:
        return gettext.GNUTranslations(fh)


def t(lang: str, msgid: str, /, **params: object) -> str:
    """The text of `msgid` in `lang`, with `{name}` placeholders filled in."""
    text = catalog(lang).gettext(msgid)
    if text == msgid and "." in msgid:
        fallback = catalog(DEFAULT_LANGUAGE).gettext(msgid)
        if fallback == msgid:
            raise MissingTranslation(msgid)
        text = fallback
    return text.format(**params) if params else text


def tn(lang: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    """Plural-aware text (Russian has three forms, Kazakh one); `{n}` is filled in."""
    text = catalog(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def lang_of(language_code: str | None) -> str:
    """Interface language from Telegram's language_code: Kazakh for kk, Russian otherwise."""
    return "kk" if (language_code or "").lower().split("-")[0] == "kk" else "ru"


class Translator:
    """Texts in one language, handed to handlers by middleware so they never pick a language themselves."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, msgid: str, /, **params: object) -> str:
        return t(self.lang, msgid, **params)

    def plural(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        return tn(self.lang, singular, plural, n, **params)
