"""Every button's callback data, in one place.

Prefixes are one or two letters so that any value fits Telegram's 64-byte limit. Values are typed
(literals, bounded ints and strings), so forged or stale data fails to unpack and falls through to the
catch-all in `handlers.fallback`, which answers politely; values that unpack but name something that no
longer exists (a removed topic, an unknown project id) are checked by the handler itself.
"""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

Lang = Literal["ru", "kk"]
NewsLangs = Literal["ru", "kk", "both"]


class LangCb(CallbackData, prefix="l"):
    """Switch the interface language; `where` is the screen to redraw: s(tart) or m(enu of settings)."""

    lang: Lang
    where: Literal["s", "m"]


class TopicsCb(CallbackData, prefix="tp"):
    """Open the topic picker (from /start) or close it (done)."""

    action: Literal["open", "done"]


class TopicCb(CallbackData, prefix="t"):
    """Toggle one topic subscription."""

    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$")


class NewsCb(CallbackData, prefix="n"):
    """Which languages of news the subscriber reads."""

    langs: NewsLangs


class TimeCb(CallbackData, prefix="tm"):
    """A digest time from the preset buttons, as HHMM (':' is the callback separator)."""

    hhmm: str = Field(pattern=r"^([01][0-9]|2[0-3])[0-5][0-9]$")


class SettingsCb(CallbackData, prefix="s"):
    """Other settings actions: ask for a typed time, pause, resume."""

    action: Literal["other_time", "pause", "resume"]


class StopCb(CallbackData, prefix="x"):
    """The answer to "really unsubscribe?"."""

    confirm: bool


class ProjectCb(CallbackData, prefix="p"):
    """Show the news about one stored project."""

    id: int = Field(ge=1, le=2**53)


class FollowCb(CallbackData, prefix="f"):
    """Follow (on) or stop following (off) one stored project's news."""

    id: int = Field(ge=1, le=2**53)
    on: bool
