"""A fake Telegram Bot API server for the tests.

The bot talks to it over real HTTP on 127.0.0.1 through aiogram's custom-server support, so the
whole stack (aiogram's form encoding, its error-to-exception mapping, aiohttp's connection
handling) is exercised exactly as in production, while no test ever reaches the internet.

It imitates Telegram where a bot can get it wrong:

* the HTML parse mode is validated with a port of tdlib's ``parse_html`` (the code the Bot API
  server runs), so unknown tags, unbalanced tags and raw ``<`` are rejected with Telegram's own
  wording, and lengths are checked on the *visible* text in UTF-16 code units;
* inline keyboards are validated (``callback_data`` at most 64 UTF-8 bytes, URLs);
* ``editMessageText`` with identical content answers "message is not modified", and an edit
  without ``reply_markup`` removes the keyboard, as Telegram does;
* errors use Telegram's JSON shape and HTTP status, so aiogram raises the same exception it would
  raise in production (``TelegramRetryAfter``, ``TelegramForbiddenError``, ...);
* failures can be injected: blocked users, missing chats, migrated groups, 429/5xx, dropped
  connections, random faults and a global rate limit.

The token lives only in memory; the access log is disabled so it never reaches a log either.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import re
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest_asyncio
from aiohttp import web

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties

__all__ = [
    "DEFAULT_TOKEN",
    "CallbackAnswer",
    "EntityParseError",
    "FakeTelegram",
    "RequestRecord",
    "SentMessage",
    "WebhookState",
    "fake_telegram",
    "parse_html",
    "utf16_len",
]

DEFAULT_TOKEN = "123456:TEST-token-for-fake-server-only-000000"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_TEXT = 200
MAX_PHOTO_BYTES = 10 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

# Update types Telegram delivers when allowed_updates is empty or was never given.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


# --------------------------------------------------------------------------------------------
# Records the tests inspect
# --------------------------------------------------------------------------------------------


@dataclass
class SentMessage:
    """One accepted message-producing request (send or edit), in the order Telegram accepted them.

    ``text`` is what the bot sent (the HTML source when ``parse_mode`` is HTML; the caption for
    photos); ``visible_text`` is what the user sees after entity parsing. ``time`` is
    ``time.monotonic()`` at acceptance, for rate and ordering checks.
    """

    method: str
    chat_id: int | str | None
    message_id: int | None
    text: str | None
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    link_preview_disabled: bool
    photo: bytes | None
    time: float
    visible_text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, row by row flattened; empty when there is no inline keyboard."""
        if not self.reply_markup:
            return []
        return [button for row in self.reply_markup.get("inline_keyboard", []) for button in row]

    @property
    def callback_data(self) -> list[str]:
        """``callback_data`` of every inline button that has one, in keyboard order."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def describe(self) -> str:
        """A one-line summary for assertion messages."""
        shown = self.visible_text if self.visible_text is not None else self.text
        if shown is not None and len(shown) > 80:
            shown = shown[:77] + "..."
        extra = f" buttons={self.callback_data}" if self.callback_data else ""
        photo = f" photo={len(self.photo)}B" if self.photo is not None else ""
        return f"{self.method} chat={self.chat_id} id={self.message_id} text={shown!r}{photo}{extra}"


class RequestRecord(NamedTuple):
    """Every request the fake answered: its canonical method name, chat_id and outcome.

    ``outcome`` is ``"ok"``, the HTTP status as a string (``"429"``, ``"403"``, ``"400"``, ...),
    ``"drop"`` (connection closed before processing) or ``"ok-dropped"`` (processed, e.g. the message
    *was* delivered, but the connection was closed before the answer).
    """

    method: str
    chat_id: int | str | None
    outcome: str


@dataclass
class CallbackAnswer:
    """An accepted answerCallbackQuery."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    time: float


@dataclass
class WebhookState:
    """What setWebhook was last given (None on the fake when no webhook is set)."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int | None
    drop_pending_updates: bool


class TelegramError(Exception):
    """An error answer in Telegram's JSON shape; raised inside method handlers."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {description}")


def _too_many(retry_after: int) -> TelegramError:
    return TelegramError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


# --------------------------------------------------------------------------------------------
# HTML parse mode: a port of tdlib's parse_html (td/telegram/MessageEntity.cpp)
# --------------------------------------------------------------------------------------------


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message is tdlib's wording."""


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_ENTITY_TYPES = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = frozenset(" \t\r\n\0\v\f")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for offsets and limits."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _is_ascii_alpha(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _is_ascii_alnum(ch: str) -> bool:
    return _is_ascii_alpha(ch) or ("0" <= ch <= "9")


def _decode_html_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the character reference at ``text[pos] == '&'``: (character, next index) or (None, pos)."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    end = pos + 1
    code = 0
    if at(pos + 1) == "#":
        end += 1
        if at(pos + 2) == "x":
            end += 1
            while at(end) in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while "0" <= at(end) <= "9":
                code = code * 10 + int(text[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
        if 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(code)
    else:
        while _is_ascii_alpha(at(end)):
            end += 1
        decoded = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if decoded is None:
            return None, pos
        char = decoded
    if at(end) == ";":
        end += 1
    return char, end


def _checked_link(url: str) -> str | None:
    """Approximation of tdlib's LinkManager::get_checked_link: None means the link is dropped."""
    url = url.strip()
    if not url or any(ch in url for ch in " \n\t"):
        return None
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    if scheme:
        if scheme.group(1).lower() in {"http", "https", "tg", "ton"}:
            return url
        return None
    return "http://" + url if "." in url.split("/")[0] else None


def parse_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (visible text, Bot API entities); raise EntityParseError if invalid.

    Follows tdlib's parser, including its error messages. One deliberate difference: with
    ``strict_entities`` (the default) a ``&`` that Telegram would not decode but that looks like a
    character reference (``&nbsp;``, ``&copy``, ``&#0;``) is rejected. Telegram would show it
    literally, which is always a bug in a bot that escapes its text (the user sees "&nbsp;").
    """
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    def error(message: str) -> EntityParseError:
        return EntityParseError(message)

    out: list[str] = []
    utf16 = 0
    entities: list[dict[str, Any]] = []
    # (tag name, argument, utf16 offset of the entity, index into `out` where it starts)
    nested: list[tuple[str, str, int, int]] = []
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded, end = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                utf16 += utf16_len(decoded)
                i = end
                continue
            if strict_entities and (_is_ascii_alpha(at(i + 1)) or at(i + 1) == "#"):
                end = i + 1
                while _is_ascii_alnum(at(end)) or at(end) == "#":
                    end += 1
                if at(end) == ";":
                    end += 1
                raise error(
                    f'Unsupported HTML entity "{text[i:end]}" at byte offset {_byte_offset(text, i)}; '
                    "only &lt; &gt; &amp; &quot; and numeric entities are supported"
                )
        if c != "<":
            out.append(c)
            utf16 += utf16_len(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            # A start tag.
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise error(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
            argument = ""
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                name_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                attribute = text[name_begin:i]
                if not attribute:
                    raise error(
                        f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise error(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
                if at(i) != "=":
                    if tag == "blockquote" and attribute.lower() == "expandable":
                        argument = "expandable"
                        continue
                    raise error(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                        f"at byte offset {_byte_offset(text, begin)}"
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise error(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
                if at(i) not in "'\"":
                    token_begin = i
                    while _is_ascii_alnum(at(i)) or at(i) in ".-":
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise error(
                            f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    parts: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded, end = _decode_html_entity(text, i)
                            if decoded is not None:
                                parts.append(decoded)
                                i = end
                                continue
                        parts.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(parts)
                if i >= n:
                    raise error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise error(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
                )
            nested.append((tag, argument, utf16, len(out)))
            i += 1  # skip '>'
            continue

        # An end tag.
        if not nested:
            raise error(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_tag = text[begin + 2 : i].lower()
        while i < n and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        tag, argument, offset, out_index = nested[-1]
        if end_tag and end_tag != tag:
            raise error(
                f'Unmatched end tag at byte offset {_byte_offset(text, begin)}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        length = utf16 - offset
        if length > 0:
            if tag in _SIMPLE_ENTITY_TYPES:
                entities.append({"type": _SIMPLE_ENTITY_TYPES[tag], "offset": offset, "length": length})
            elif tag == "tg-emoji":
                if not argument.isdigit() or int(argument) == 0:
                    raise error("Invalid custom emoji identifier specified")
                entities.append(
                    {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": argument}
                )
            elif tag == "a":
                url = _checked_link(argument or "".join(out[out_index:]))
                if url is not None:
                    entities.append({"type": "text_link", "offset": offset, "length": length, "url": url})
            elif tag == "pre":
                last = entities[-1] if entities else None
                if (
                    last is not None
                    and last["type"] == "code"
                    and (last["offset"], last["length"]) == (offset, length)
                    and last.get("_language")
                ):
                    last["type"] = "pre"
                    last["language"] = last.pop("_language")
                else:
                    entities.append({"type": "pre", "offset": offset, "length": length})
            elif tag == "code":
                last = entities[-1] if entities else None
                if (
                    last is not None
                    and last["type"] == "pre"
                    and (last["offset"], last["length"]) == (offset, length)
                    and argument
                ):
                    last["language"] = argument
                else:
                    entity = {"type": "code", "offset": offset, "length": length}
                    if argument:
                        entity["_language"] = argument
                    entities.append(entity)
            elif tag == "blockquote":
                kind = "expandable_blockquote" if argument == "expandable" else "blockquote"
                entities.append({"type": kind, "offset": offset, "length": length})
        nested.pop()
        i += 1  # skip '>'

    if nested:
        raise error(f'Can\'t find end tag corresponding to start tag "{nested[-1][0]}"')
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _strip_formatted(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram does, moving entity offsets along."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


# --------------------------------------------------------------------------------------------
# Photos: just enough image sniffing to reject what Telegram would reject
# --------------------------------------------------------------------------------------------


def _image_size(data: bytes) -> tuple[str, int | None, int | None] | None:
    """(format, width, height) for the formats Telegram accepts as photos; None if not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return "png", int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8\xff"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                width = int.from_bytes(data[i + 7 : i + 9], "big")
                return "jpeg", width, height
            i += 2 + length
        return "jpeg", None, None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", None, None
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return "gif", int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"BM" and len(data) >= 26:
        return (
            "bmp",
            int.from_bytes(data[18:22], "little"),
            abs(int.from_bytes(data[22:26], "little", signed=True)),
        )
    return None


# --------------------------------------------------------------------------------------------
# Parameter helpers: Telegram accepts query strings, urlencoded forms, multipart and JSON bodies
# --------------------------------------------------------------------------------------------


def _str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f'field "{name}" must be of type Integer') from None


def _bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, bool):
        return value
    return str(value).lower() in {"true", "1"} if value is not None else False


def _json(params: dict[str, Any], name: str, error: str) -> Any:
    value = params.get(name)
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _bad(error) from None


def _chat_id_of(value: Any) -> int | str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


@dataclass
class _StoredMessage:
    chat_id: int | str
    message_id: int
    date: int
    kind: str  # "text", "photo" (sent by the bot) or "incoming" (pushed as if from a user)
    raw_text: str | None
    text: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    photo: list[dict[str, Any]] | None = None
    edit_date: int | None = None
    sender: dict[str, Any] | None = None


@dataclass
class _Fault:
    method: str  # lower-case method name or "*"
    status: int | None  # None for a dropped connection
    retry_after: int | None
    description: str | None
    remaining: int
    chat_id: int | str | None
    after_processing: bool = False

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or self.chat_id == chat_id


_METHODS = (
    "getMe",
    "getUpdates",
    "sendMessage",
    "sendPhoto",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setMyDescription",
    "getMyDescription",
    "setMyShortDescription",
    "getMyShortDescription",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendChatAction",
)
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")


class FakeTelegram:
    """An in-process Telegram Bot API server on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int | None = None,
        bot_username: str = "habar_test_bot",
        bot_first_name: str = "Habar",
        strict_entities: bool = True,
    ) -> None:
        self._token = token
        self.bot_id = bot_id if bot_id is not None else int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_entities = strict_entities
        self.base_url = ""

        # What the bot did.
        self.sent: list[SentMessage] = []
        self.requests: list[RequestRecord] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.webhook: WebhookState | None = None
        self.chat_actions: list[tuple[int | str, str]] = []
        self.deleted: list[tuple[int | str, int]] = []
        self.internal_errors: list[Exception] = []  # bugs in the fake itself; should stay empty

        # Knobs.
        self.rate_limit: float | None = None
        self.callback_answer_timeout = 15.0

        self._descriptions_of_requests: list[str] = []
        self._messages: dict[tuple[int | str, int], _StoredMessage] = {}
        self._last_message_id: dict[int | str, int] = {}
        self._chat_types: dict[int | str, str] = {}
        self._chat_first_names: dict[int | str, str] = {}
        self._usernames: dict[str, int] = {}
        self._blocked: set[int | str] = set()
        self._not_found: set[int | str] = set()
        self._migrated: dict[int | str, int] = {}
        self._faults: list[_Fault] = []
        self._random_faults: tuple[float, random.Random, tuple[str, ...], frozenset[str]] | None = None
        self._send_times: deque[float] = deque()
        self._callbacks: dict[str, float] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(700_000_001)
        self._callback_ids = itertools.count(4_100_000_000_000_000_001)
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[dict[str, Any], dict[str, bytes]], Awaitable[Any]]] = {
            name.lower(): getattr(self, f"_m_{name}") for name in _METHODS
        }
        self._canonical = {name.lower(): name for name in _METHODS}

    def __repr__(self) -> str:
        # Never show the token.
        return f"<FakeTelegram {self.base_url or 'not started'} bot=@{self.bot_username}>"

    @property
    def token(self) -> str:
        """The token the fake accepts (kept in memory only)."""
        return self._token

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port; ``base_url`` is set afterwards."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a long poll whose client went away (stop_polling) ends at once.
        # access_log=None: the request path contains the token.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._closing.clear()
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop the server; waiting getUpdates calls return an empty result first."""
        self._closing.set()
        self._bump()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def create_bot(self, default: DefaultBotProperties | None = None) -> Bot:
        """An aiogram Bot pointed at this fake (HTML parse mode by default).

        Its session skips aiohttp's 250 ms "let SSL connections close" pause on close(), which is
        useless on plain HTTP and would add up over many tests.
        """
        from aiogram import Bot
        from aiogram.client.default import DefaultBotProperties
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiogram.enums import ParseMode

        class _QuickCloseSession(AiohttpSession):
            async def close(self) -> None:
                if self._session is not None and not self._session.closed:
                    await self._session.close()

        session = _QuickCloseSession(api=TelegramAPIServer.from_base(self.base_url))
        return Bot(
            self._token, session=session, default=default or DefaultBotProperties(parse_mode=ParseMode.HTML)
        )

    # ---------------------------------------------------------------- pushing updates

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` is assigned); returns the update_id."""
        update_id = next(self._update_ids)
        self._updates.append(
            {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        )
        self._bump()
        return update_id

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        language_code: str | None = "ru",
        first_name: str = "Test",
        chat_type: str = "private",
    ) -> int:
        """Queue a text message from a user, as Telegram would deliver it; returns the update_id."""
        self._chat_types[chat_id] = chat_type
        if chat_type == "private":
            self._chat_first_names[chat_id] = first_name
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 424242
        user = self._user_json(user_id, first_name, language_code)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": self._chat_json(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,32})?", text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
        self._messages[(chat_id, message["message_id"])] = _StoredMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            date=message["date"],
            kind="incoming",
            raw_text=text,
            text=text,
            entities=message.get("entities", []),
            reply_markup=None,
            sender=user,
        )
        return self.push_update({"message": message})

    def push_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int,
        user_id: int | None = None,
        language_code: str | None = "ru",
        first_name: str = "Test",
    ) -> str:
        """Queue a button press on message ``message_id``; returns the callback query id.

        The update carries the stored message (with its current keyboard) when the fake knows it,
        otherwise an inaccessible message, as Telegram does for very old messages.
        """
        callback_id = str(next(self._callback_ids))
        if user_id is None:
            user_id = chat_id if chat_id > 0 else 424242
        stored = self._messages.get((chat_id, message_id))
        if stored is not None:
            message = self._message_json(stored)
        else:
            message = {"message_id": message_id, "chat": self._chat_json(chat_id), "date": 0}
        self._callbacks[callback_id] = time.monotonic()
        self.push_update(
            {
                "callback_query": {
                    "id": callback_id,
                    "from": self._user_json(user_id, first_name, language_code),
                    "message": message,
                    "chat_instance": str(-abs(chat_id) - 7),
                    "data": data,
                }
            }
        )
        return callback_id

    @property
    def polls_received(self) -> int:
        """getUpdates calls received so far, counted on arrival (a long poll is logged only when it ends)."""
        return self._poll_generation

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    # ---------------------------------------------------------------- inspecting

    def messages_to(self, chat_id: int | str) -> list[SentMessage]:
        """Accepted sends and edits addressed to ``chat_id`` (an ``@username`` is resolved)."""
        resolved = self._usernames.get(chat_id, chat_id) if isinstance(chat_id, str) else chat_id
        return [m for m in self.sent if m.chat_id == resolved]

    def requests_for(self, method: str) -> list[RequestRecord]:
        """Log entries of one method (case-insensitive)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    async def wait_for(
        self,
        what: int | Callable[[SentMessage], bool] = 1,
        *,
        chat_id: int | str | None = None,
        method: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline reads best in tests
    ) -> list[SentMessage]:
        """Wait until ``what`` messages (an int), or at least one satisfying ``what`` (a predicate),
        were accepted, optionally only those to ``chat_id`` / of ``method``. Returns the matching
        messages; fails with a listing of everything sent if the deadline passes."""

        def matching() -> list[SentMessage]:
            pool = self.messages_to(chat_id) if chat_id is not None else self.sent
            if method is not None:
                pool = [m for m in pool if m.method.lower() == method.lower()]
            if callable(what):
                pool = [m for m in pool if what(m)]
            return pool

        needed = 1 if callable(what) else what
        target = "a matching message" if callable(what) else f"{what} message(s)"
        where = f" to chat {chat_id}" if chat_id is not None else ""
        await self.wait_until(lambda: len(matching()) >= needed, timeout=timeout, description=target + where)
        return matching()

    async def wait_for_message(
        self,
        predicate: Callable[[SentMessage], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The first accepted message satisfying ``predicate`` (waits for it)."""
        return (await self.wait_for(predicate, timeout=timeout))[0]

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
        description: str = "condition",
    ) -> None:
        """Wait until ``condition()`` is true; it is rechecked after every request and push."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if condition():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"Timed out after {timeout}s waiting for {description}.\n{self.report()}"
                )
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass

    def report(self, last_requests: int = 30) -> str:
        """Human-readable listing of what was sent and the latest requests, for failure messages."""
        lines = [f"Sent ({len(self.sent)}):"]
        lines += [f"  {m.describe()}" for m in self.sent] or ["  (nothing)"]
        lines.append(f"Last requests ({min(last_requests, len(self.requests))} of {len(self.requests)}):")
        # Descriptions are kept in step with `requests` from the end, so tests may clear `requests`.
        descriptions = self._descriptions_of_requests[-len(self.requests) :] if self.requests else []
        pairs = list(zip(self.requests, descriptions, strict=False))[-last_requests:]
        lines += [f"  {r.method} chat={r.chat_id} -> {r.outcome}{' ' + d if d else ''}" for r, d in pairs]
        return "\n".join(lines)

    # ---------------------------------------------------------------- failure injection

    def block(self, chat_id: int | str, *, notify: bool = False) -> None:
        """The user blocked the bot (in a group: the bot was kicked): sends answer 403.

        With ``notify`` a ``my_chat_member`` update is queued, as Telegram sends one.
        """
        self._blocked.add(chat_id)
        if notify and isinstance(chat_id, int):
            bot = self._bot_json()
            user = self._user_json(chat_id if chat_id > 0 else 424242, "Test", None)
            self.push_update(
                {
                    "my_chat_member": {
                        "chat": self._chat_json(chat_id),
                        "from": user,
                        "date": int(time.time()),
                        "old_chat_member": {"status": "member", "user": bot},
                        "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0},
                    }
                }
            )

    def unblock(self, chat_id: int | str) -> None:
        """The user unblocked the bot."""
        self._blocked.discard(chat_id)

    def chat_not_found(self, chat_id: int | str) -> None:
        """Sends to ``chat_id`` answer 400 "chat not found" (deleted account, never-started chat...)."""
        self._not_found.add(chat_id)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: the old id answers 400 with ``migrate_to_chat_id``."""
        self._migrated[chat_id] = new_chat_id
        self._chat_types.setdefault(new_chat_id, "supergroup")

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | str | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` ("*" for any; optionally only to ``chat_id``) fail
        with ``status``. A 429 carries ``retry_after`` (default 1) as Telegram's flood control does."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(_Fault(method.lower(), status, retry_after, description, count, chat_id))

    def drop_next(
        self, method: str, count: int = 1, *, chat_id: int | str | None = None, after_processing: bool = False
    ) -> None:
        """Close the connection without an HTTP answer on the next ``count`` calls of ``method``.

        With ``after_processing`` the request takes effect first (the message *is* delivered) and only
        the answer is lost: the "did it go out?" case a retrying sender must not turn into duplicates.
        """
        self._faults.append(_Fault(method.lower(), None, None, None, count, chat_id, after_processing))

    def set_random_faults(
        self,
        rate: float,
        *,
        seed: int,
        kinds: Iterable[str] = ("429", "5xx", "drop"),
        methods: Iterable[str] = ("sendMessage", "sendPhoto"),
    ) -> None:
        """Fail a seeded random ``rate`` (0..1) of calls of ``methods`` with one of ``kinds``:
        "429" (retry_after=1), "5xx" (500/502/503/504), "drop", "drop_after" (delivered, answer lost).
        ``rate=0`` switches random faults off."""
        kinds = tuple(kinds)
        unknown = set(kinds) - {"429", "5xx", "drop", "drop_after"}
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._random_faults = (
            (rate, random.Random(seed), kinds, frozenset(m.lower() for m in methods)) if rate > 0 else None
        )

    def clear_faults(self) -> None:
        """Forget blocked/missing/migrated chats, pending injected faults, random faults, rate limit."""
        self._blocked.clear()
        self._not_found.clear()
        self._migrated.clear()
        self._faults.clear()
        self._random_faults = None
        self.rate_limit = None

    # ---------------------------------------------------------------- HTTP plumbing

    def _bump(self) -> None:
        """Wake everything waiting for a change (long polls, wait_for)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _log(self, method: str, chat_id: int | str | None, outcome: str, description: str = "") -> None:
        self.requests.append(RequestRecord(method, chat_id, outcome))
        self._descriptions_of_requests.append(description)
        self._bump()

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        content_type = request.content_type
        if content_type == "multipart/form-data":
            # Read parts ourselves so uploads stay in memory (request.post() spools to temp files).
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not hasattr(part, "filename") or part.name is None:
                    continue
                if part.filename is not None:
                    files[part.name] = bytes(await part.read())
                else:
                    params[part.name] = await part.text()
        elif content_type == "application/x-www-form-urlencoded":
            params.update(await request.post())
        elif content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        return params, files

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)/?", request.path)
        if match is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        token, raw_method = match.groups()
        method = self._canonical.get(raw_method.lower(), raw_method)
        if token != self._token:
            self._log(method, None, "401", "Unauthorized")
            return web.json_response(TelegramError(401, "Unauthorized").to_json(), status=401)
        try:
            params, files = await self._read_params(request)
        except ValueError:
            error = _bad("can't parse request parameters")
            self._log(method, None, "400", error.description)
            return web.json_response(error.to_json(), status=400)
        chat_id = _chat_id_of(params.get("chat_id"))
        if isinstance(chat_id, str) and _USERNAME.fullmatch(chat_id):
            chat_id = self._username_id(chat_id)
        handler = self._handlers.get(raw_method.lower())
        if handler is None:
            self._log(method, chat_id, "404", "Not Found: method not found")
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
            )

        drop_after = False
        try:
            fault = self._take_fault(method, chat_id)
            if fault is not None:
                if fault.status is None and not fault.after_processing:
                    self._log(method, chat_id, "drop")
                    return self._drop(request)
                if fault.status is None:
                    drop_after = True
                else:
                    description = fault.description or (
                        f"Too Many Requests: retry after {fault.retry_after}"
                        if fault.status == 429
                        else _DEFAULT_DESCRIPTIONS.get(fault.status, "Error")
                    )
                    parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                    raise TelegramError(fault.status, description, parameters)
            result = await handler(params, files)
        except TelegramError as error:
            self._log(method, chat_id, str(error.status), error.description)
            return web.json_response(error.to_json(), status=error.status)
        except Exception as exc:  # a bug in the fake: answer like Telegram's 500, keep it visible
            self.internal_errors.append(exc)
            self._log(method, chat_id, "500", f"fake_telegram internal error: {exc!r}")
            return web.json_response(TelegramError(500, "Internal Server Error").to_json(), status=500)
        if drop_after:
            self._log(method, chat_id, "ok-dropped")
            return self._drop(request)
        self._log(method, chat_id, "ok")
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the TCP connection: the client sees "Server disconnected", no HTTP answer."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never reaches the client

    def _take_fault(self, method: str, chat_id: int | str | None) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        if self._random_faults is not None:
            rate, rng, kinds, methods = self._random_faults
            if method.lower() in methods and rng.random() < rate:
                kind = rng.choice(kinds)
                if kind == "429":
                    return _Fault(method, 429, 1, None, 1, None)
                if kind == "5xx":
                    return _Fault(method, rng.choice((500, 502, 503, 504)), None, None, 1, None)
                return _Fault(method, None, None, None, 1, None, after_processing=kind == "drop_after")
        return None

    # ---------------------------------------------------------------- shared logic

    def _bot_json(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    @staticmethod
    def _user_json(user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat_type(self, chat_id: int | str) -> str:
        if chat_id in self._chat_types:
            return self._chat_types[chat_id]
        if isinstance(chat_id, str):
            return "channel"
        if chat_id > 0:
            return "private"
        return "supergroup" if str(chat_id).startswith("-100") else "group"

    def _chat_json(self, chat_id: int | str) -> dict[str, Any]:
        chat_type = self._chat_type(chat_id)
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = self._chat_first_names.get(chat_id, "Test")
        else:
            chat["title"] = f"Test {chat_type}"
        return chat

    def _next_message_id(self, chat_id: int | str) -> int:
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _message_json(self, stored: _StoredMessage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": stored.message_id,
            "from": stored.sender or self._bot_json(),
            "chat": self._chat_json(stored.chat_id),
            "date": stored.date,
        }
        if stored.edit_date is not None:
            message["edit_date"] = stored.edit_date
        if stored.kind == "photo":
            message["photo"] = stored.photo
            if stored.text:
                message["caption"] = stored.text
                if stored.entities:
                    message["caption_entities"] = stored.entities
        else:
            message["text"] = stored.text
            if stored.entities:
                message["entities"] = stored.entities
        if stored.reply_markup and "inline_keyboard" in stored.reply_markup:
            message["reply_markup"] = stored.reply_markup
        return message

    def _username_id(self, username: str) -> int:
        """A stable channel id for ``@username`` chat ids (public channels are addressed that way)."""
        if username not in self._usernames:
            self._usernames[username] = -1001_000_000_000 - len(self._usernames) - 1
            self._chat_types[self._usernames[username]] = "channel"
        return self._usernames[username]

    def _resolve_chat(self, params: dict[str, Any]) -> int | str:
        """chat_id as Telegram resolves it, raising the error a send to it would get."""
        raw = _chat_id_of(params.get("chat_id"))
        if raw is None:
            raise _bad("chat_id is empty")
        if isinstance(raw, str):
            if not _USERNAME.fullmatch(raw) or raw in self._not_found:
                raise _bad("chat not found")
            chat_id: int | str = self._username_id(raw)
        else:
            chat_id = raw
        if chat_id in self._migrated:
            raise TelegramError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id in self._not_found:
            raise _bad("chat not found")
        if chat_id in self._blocked:
            if self._chat_type(chat_id) == "private":
                raise TelegramError(403, "Forbidden: bot was blocked by the user")
            raise TelegramError(403, "Forbidden: bot was kicked from the group chat")
        return chat_id

    def _check_rate(self) -> None:
        """Global flood control over sendMessage/sendPhoto: a sliding window of accepted sends."""
        if not self.rate_limit:
            return
        allowed = max(1, int(self.rate_limit))
        window = allowed / self.rate_limit
        now = time.monotonic()
        while self._send_times and self._send_times[0] <= now - window:
            self._send_times.popleft()
        if len(self._send_times) >= allowed:
            retry_after = max(1, math.ceil(self._send_times[0] + window - now))
            raise _too_many(retry_after)

    def _format(
        self,
        raw: str | None,
        params: dict[str, Any],
        *,
        entities_field: str,
        limit: int,
        caption: bool,
    ) -> tuple[str, list[dict[str, Any]], str | None]:
        """Validate text or caption as Telegram does: (visible text, entities, parse_mode)."""
        parse_mode = _str(params, "parse_mode") or None
        if not raw:
            if caption:
                return "", [], parse_mode
            raise _bad("message text is empty")
        explicit = _json(params, entities_field, "can't parse entities JSON object")
        if explicit is not None:
            visible, entities = raw, list(explicit)
        elif parse_mode is None:
            visible, entities = raw, []
        elif parse_mode.lower() == "html":
            try:
                visible, entities = parse_html(raw, strict_entities=self.strict_entities)
            except EntityParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif parse_mode.lower() in ("markdown", "markdownv2"):
            visible, entities = raw, []  # not validated by the fake
        else:
            raise _bad("unsupported parse_mode")
        visible, entities = _strip_formatted(visible, entities)
        if not visible and not caption:
            raise _bad("message text is empty")
        if utf16_len(visible) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return visible, entities, parse_mode

    @staticmethod
    def _reply_markup(params: dict[str, Any], *, inline_only: bool = False) -> dict[str, Any] | None:
        """Parse and validate reply_markup the way Telegram rejects broken keyboards."""
        markup = _json(params, "reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if inline_only:
                raise _bad("inline keyboard expected")
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise _bad("can't parse reply keyboard markup JSON object")
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        actions = (
            "callback_data",
            "url",
            "login_url",
            "switch_inline_query",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "copy_text",
            "callback_game",
            "pay",
            "web_app",
        )
        count = 0
        for row in rows:
            for button in row:
                count += 1
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
                if not button["text"]:
                    raise _bad("BUTTON_TEXT_INVALID")
                if not any(k in button for k in actions):
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if (
                        not isinstance(data, str)
                        or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button and not re.match(r"^(https?|tg)://[^\s]+$", str(button["url"])):
                    raise _bad("BUTTON_URL_INVALID")
        if count > 100:
            raise _bad("reply markup is too long")
        return markup if count else None  # an empty inline keyboard means "no keyboard"

    @staticmethod
    def _link_preview_disabled(params: dict[str, Any]) -> bool:
        # link_preview_options wins over the deprecated disable_web_page_preview, which aiogram
        # still sends alongside it when DefaultBotProperties(link_preview_is_disabled=...) is set.
        options = _json(params, "link_preview_options", "can't parse link preview options JSON object")
        if isinstance(options, dict):
            return bool(options.get("is_disabled"))
        return _bool(params, "disable_web_page_preview")

    def _record(
        self,
        method: str,
        stored: _StoredMessage,
        params: dict[str, Any],
        *,
        parse_mode: str | None = None,
        link_preview_disabled: bool = False,
        photo: bytes | None = None,
    ) -> None:
        self.sent.append(
            SentMessage(
                method=method,
                chat_id=stored.chat_id,
                message_id=stored.message_id,
                text=stored.raw_text,
                parse_mode=parse_mode,
                reply_markup=stored.reply_markup,
                link_preview_disabled=link_preview_disabled,
                photo=photo,
                time=time.monotonic(),
                visible_text=stored.text,
                entities=list(stored.entities),
                params=params,
            )
        )

    def _message_to_edit(self, params: dict[str, Any]) -> _StoredMessage | None:
        """The bot's message an edit targets; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._resolve_chat(params)
        message_id = _int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise _bad("message to edit not found")
        if stored.kind == "incoming":
            raise _bad("message can't be edited")
        return stored

    # ---------------------------------------------------------------- API methods

    async def _m_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {
            **self._bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if self.webhook is not None:
            raise TelegramError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int(params, "offset") or 0
        limit = min(max(_int(params, "limit") or 100, 1), 100)
        timeout = max(_int(params, "timeout") or 0, 0)
        allowed = _json(params, "allowed_updates", "can't parse allowed updates")
        if allowed is not None:
            self._allowed_updates = list(allowed)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        # A newer getUpdates terminates an older one, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._bump()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if self._closing.is_set():
                return []
            if generation != self._poll_generation:
                raise TelegramError(409, _DEFAULT_DESCRIPTIONS[409])
            # Telegram never produces updates of types the bot did not ask for.
            self._updates = [u for u in self._updates if self._is_allowed(u)]
            batch = self._updates[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return batch
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _DEFAULT_EXCLUDED_UPDATES

    async def _m_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = self._resolve_chat(params)
        self._check_rate()
        raw = _str(params, "text")
        visible, entities, parse_mode = self._format(
            raw, params, entities_field="entities", limit=MAX_TEXT_LENGTH, caption=False
        )
        markup = self._reply_markup(params)
        stored = _StoredMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            date=int(time.time()),
            kind="text",
            raw_text=raw,
            text=visible,
            entities=entities,
            reply_markup=markup,
        )
        self._messages[(chat_id, stored.message_id)] = stored
        self._send_times.append(time.monotonic())
        self._record(
            "sendMessage",
            stored,
            params,
            parse_mode=parse_mode,
            link_preview_disabled=self._link_preview_disabled(params),
        )
        return self._message_json(stored)

    async def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = self._resolve_chat(params)
        self._check_rate()
        photo_ref = _str(params, "photo")
        data: bytes | None
        if "photo" in files:
            data = files["photo"]
        elif photo_ref and photo_ref.startswith("attach://"):
            data = files.get(photo_ref[len("attach://") :])
            if data is None:
                raise _bad("wrong file identifier/HTTP URL specified")
        elif photo_ref:
            data = None  # a file_id or URL: Telegram fetches it, we just accept it
        else:
            raise _bad("there is no photo in the request")
        width = height = 1280
        if data is not None:
            if len(data) > MAX_PHOTO_BYTES:
                raise _bad("PHOTO_SAVE_FILE_INVALID")
            sniffed = _image_size(data)
            if sniffed is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            _, w, h = sniffed
            if w is not None and h is not None:
                if w <= 0 or h <= 0 or w + h > 10_000 or max(w, h) > 20 * min(w, h):
                    raise _bad("PHOTO_INVALID_DIMENSIONS")
                width, height = w, h
        caption = _str(params, "caption")
        visible, entities, parse_mode = self._format(
            caption, params, entities_field="caption_entities", limit=MAX_CAPTION_LENGTH, caption=True
        )
        markup = self._reply_markup(params)
        message_id = self._next_message_id(chat_id)
        unique = f"{chat_id}_{message_id}".replace("-", "m")
        stored = _StoredMessage(
            chat_id=chat_id,
            message_id=message_id,
            date=int(time.time()),
            kind="photo",
            raw_text=caption,
            text=visible,
            entities=entities,
            reply_markup=markup,
            photo=[
                {
                    "file_id": f"AgACAgFake{unique}",
                    "file_unique_id": f"AQADFake{unique}",
                    "width": width,
                    "height": height,
                    "file_size": len(data) if data is not None else 0,
                }
            ],
        )
        self._messages[(chat_id, message_id)] = stored
        self._send_times.append(time.monotonic())
        self._record("sendPhoto", stored, params, parse_mode=parse_mode, photo=data)
        return self._message_json(stored)

    async def _m_editMessageText(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._message_to_edit(params)
        raw = _str(params, "text")
        visible, entities, parse_mode = self._format(
            raw, params, entities_field="entities", limit=MAX_TEXT_LENGTH, caption=False
        )
        markup = self._reply_markup(params, inline_only=True)
        if stored is None:
            return True
        if stored.kind != "text":
            raise _bad("there is no text in the message to edit")
        # No reply_markup in an edit removes the inline keyboard, as on Telegram.
        if (visible, entities, markup) == (stored.text, stored.entities, stored.reply_markup):
            raise _bad(NOT_MODIFIED)
        stored.raw_text, stored.text, stored.entities, stored.reply_markup = raw, visible, entities, markup
        stored.edit_date = int(time.time())
        self._record(
            "editMessageText",
            stored,
            params,
            parse_mode=parse_mode,
            link_preview_disabled=self._link_preview_disabled(params),
        )
        return self._message_json(stored)

    async def _m_editMessageCaption(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._message_to_edit(params)
        raw = _str(params, "caption")
        visible, entities, parse_mode = self._format(
            raw, params, entities_field="caption_entities", limit=MAX_CAPTION_LENGTH, caption=True
        )
        markup = self._reply_markup(params, inline_only=True)
        if stored is None:
            return True
        if stored.kind != "photo":
            raise _bad("there is no caption in the message to edit")
        if (visible, entities, markup) == (stored.text, stored.entities, stored.reply_markup):
            raise _bad(NOT_MODIFIED)
        stored.raw_text, stored.text, stored.entities, stored.reply_markup = raw, visible, entities, markup
        stored.edit_date = int(time.time())
        self._record("editMessageCaption", stored, params, parse_mode=parse_mode)
        return self._message_json(stored)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._message_to_edit(params)
        markup = self._reply_markup(params, inline_only=True)
        if stored is None:
            return True
        if markup == stored.reply_markup:
            raise _bad(NOT_MODIFIED)
        stored.reply_markup = markup
        stored.edit_date = int(time.time())
        self._record("editMessageReplyMarkup", stored, params)
        return self._message_json(stored)

    async def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = self._resolve_chat(params)
        message_id = _int(params, "message_id")
        if message_id is None or self._messages.pop((chat_id, message_id), None) is None:
            raise _bad("message to delete not found")
        self.deleted.append((chat_id, message_id))
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        query_id = _str(params, "callback_query_id") or ""
        pushed_at = self._callbacks.get(query_id)
        if pushed_at is None or time.monotonic() - pushed_at > self.callback_answer_timeout:
            raise _bad(QUERY_TOO_OLD)
        text = _str(params, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_TEXT:
            raise _bad("MESSAGE_TOO_LONG")
        del self._callbacks[query_id]  # a query can be answered once
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                text=text,
                show_alert=_bool(params, "show_alert"),
                url=_str(params, "url"),
                cache_time=_int(params, "cache_time"),
                time=time.monotonic(),
            )
        )
        return True

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> str:
        """ "default", "all_private_chats", "chat:<id>", "chat_member:<chat>:<user>", ..."""
        scope = _json(params, "scope", "can't parse BotCommandScope JSON object")
        if scope is None:
            return "default"
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        kind = scope["type"]
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return kind
        if kind in ("chat", "chat_administrators"):
            return f"{kind}:{scope.get('chat_id')}"
        if kind == "chat_member":
            return f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
        raise _bad("wrong BotCommandScope type specified")

    @staticmethod
    def _language_code(params: dict[str, Any]) -> str:
        code = _str(params, "language_code") or ""
        if code and not re.fullmatch(r"[a-z]{2}", code):
            raise _bad("invalid language code specified")
        return code

    async def _m_setMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        commands = _json(params, "commands", "can't parse commands JSON object")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("can't parse BotCommand JSON object")
            command, description = str(item.get("command", "")), str(item.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = (self._scope_key(params), self._language_code(params))
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _m_getMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self.commands.get((self._scope_key(params), self._language_code(params)), [])

    async def _m_deleteMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.commands.pop((self._scope_key(params), self._language_code(params)), None)
        return True

    async def _set_description(self, kind: str, field_name: str, limit: int, params: dict[str, Any]) -> Any:
        text = _str(params, field_name) or ""
        if len(text) > limit:
            raise _bad(f"{kind} is too long")
        key = (kind, self._language_code(params))
        if text:
            self.descriptions[key] = text
        else:
            self.descriptions.pop(key, None)
        return True

    async def _m_setMyDescription(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return await self._set_description("description", "description", 512, params)

    async def _m_setMyShortDescription(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return await self._set_description("short_description", "short_description", 120, params)

    async def _m_getMyDescription(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {"description": self.descriptions.get(("description", self._language_code(params)), "")}

    async def _m_getMyShortDescription(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        key = ("short_description", self._language_code(params))
        return {"short_description": self.descriptions.get(key, "")}

    async def _m_setWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        url = _str(params, "url") or ""
        drop = _bool(params, "drop_pending_updates")
        if not url:
            return await self._m_deleteWebhook(params, files)
        match = re.fullmatch(r"https://([^/:\s]+)(?::(\d+))?(/\S*)?", url)
        if match is None:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if match.group(2) and match.group(2) not in ("80", "88", "443", "8443"):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = _str(params, "secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise _bad("secret token contains unallowed characters")
        allowed = _json(params, "allowed_updates", "can't parse allowed updates")
        self.webhook = WebhookState(
            url=url,
            secret_token=secret,
            allowed_updates=list(allowed) if allowed is not None else None,
            max_connections=_int(params, "max_connections"),
            drop_pending_updates=drop,
        )
        if allowed is not None:
            self._allowed_updates = list(allowed)
        if drop:
            self._updates.clear()
        self._bump()  # a waiting getUpdates now conflicts
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.webhook = None
        if _bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections or 40
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
        return info

    async def _m_sendChatAction(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = self._resolve_chat(params)
        action = _str(params, "action") or ""
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self.chat_actions.append((chat_id, action))
        return True


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started FakeTelegram, stopped after the test."""
    fake = FakeTelegram()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
