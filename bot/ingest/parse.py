"""Parsing a fetched body into feed entries with feedparser, and saying clearly why when it is not a feed.

feedparser is forgiving: a broken feed that still yields entries is accepted and its problem recorded
(`ParsedFeed.problem`); a document that yields nothing raises `FeedParseError` whose text is the reason
an operator sees ("not a feed (an HTML page)", "empty document", ...).
"""

from __future__ import annotations

import asyncio
import codecs
import io
import re
import time
import xml.sax
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

__all__ = ["FeedParseError", "ParsedFeed", "RawEntry", "parse_feed", "parse_feed_in_thread"]

_SNIFF_BYTES = 4096
_ENCODING_SNIFF_BYTES = 64 * 1024
_CYRILLIC_MIN_WORDS = 3
_ENTITY_EXPANSION_BUDGET = 1024 * 1024
_MAX_ENTITIES = 64
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECLARATION = re.compile(rb"""<!ENTITY\s(?:[^>"']|"[^"]*"|'[^']*')*>""")
_SIMPLE_ENTITY = re.compile(
    rb"""<!ENTITY\s+(?P<name>[A-Za-z_][\w.-]*)\s+(?:"(?P<dq>[^"&%<]*|&#\w+;)"|'(?P<sq>[^'&%<]*|&#\w+;)')\s*>"""
)
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HIGH_BYTE_RUN = re.compile(rb"[\xc0-\xff]{4,}")
_HIGH_HALF = bytes(range(0x80, 0x100))
_C0_DF = bytes(range(0xC0, 0xE0))
_E0_FF = bytes(range(0xE0, 0x100))
_CHARSET_PARAM = re.compile(r"charset\s*=\s*([^;\s]+)", re.IGNORECASE)
_XML_ENCODING_DECL = re.compile(rb"\s*<\?xml[^>]*\bencoding\s*=", re.IGNORECASE)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_HTML_DOCTYPE = re.compile(rb"<!doctype\s+html", re.IGNORECASE)
# Whitespace, a UTF-8 BOM, processing instructions and comments before the doctype or the root element.
_LEADING_JUNK = re.compile(rb"(?:\s+|\xef\xbb\xbf|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>\s*", re.DOTALL | re.IGNORECASE)
_ROOT_ELEMENT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_UTF16_32_STARTS = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
# C0 control bytes other than tab, line feed, form feed and carriage return: no text encoding a feed
# uses produces them (UTF-16/32 aside, handled separately), random bytes hit them every few dozen bytes.
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0C, 0x0D))


@dataclass(frozen=True)
class RawEntry:
    """One item as the feed gave it; cleaning up is normalize.py's job."""

    title: str | None
    link: str | None
    guid: str | None
    summary: str | None
    published: datetime | None


@dataclass(frozen=True)
class ParsedFeed:
    entries: list[RawEntry]
    title: str | None
    language: str | None
    problem: str | None


class FeedParseError(Exception):
    """The body is not a usable feed; `str(error)` is the reason to record on the feed."""


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed body fetched from `url` (used to resolve relative links)."""
    if not body.strip():
        raise FeedParseError("empty document")
    prepared = _prepare(body, content_type)
    result = _feedparser_parse(prepared.body, content_type=prepared.content_type)
    entries = [_raw_entry(entry, url) for entry in result.get("entries", [])]
    if not entries:
        reason = _why_no_entries(body, prepared.body, result)
        if reason is not None:
            raise FeedParseError(reason)
    feed = result.get("feed", {})
    return ParsedFeed(
        entries=entries,
        title=_text_or_none(feed.get("title")),
        language=_text_or_none(feed.get("language")),
        problem=_bozo_problem(result) or prepared.problem,
    )


async def parse_feed_in_thread(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """The same in a worker thread: a 10 MB feed takes seconds of CPU that the event loop must not wait for."""
    return await asyncio.to_thread(parse_feed, body, url=url, content_type=content_type)


@dataclass(frozen=True)
class _Prepared:
    body: bytes
    content_type: str
    problem: str | None = None


def _prepare(body: bytes, content_type: str | None) -> _Prepared:
    """Bring the body into a shape feedparser handles safely and decodes correctly."""
    charset = _charset(content_type)
    problem = None
    wide = _wide_codec(body)
    if wide is not None:
        # Entity declarations can only be checked in an ASCII-compatible encoding.
        body = body.decode(wide, errors="replace").encode("utf-8")
        charset = "utf-8"
    elif charset is None and (guess := _undeclared_cyrillic(body)) is not None:
        charset = guess
        problem = f"encoding: not declared, read as {guess}"
    body = _defuse_entities(body)
    return _Prepared(body, _xml_content_type(charset), problem)


def _feedparser_parse(body: bytes, *, content_type: str) -> Any:
    """Call feedparser so that it can only ever look at `body`.

    feedparser.parse() treats a str as a URL or a file name, and also tries open() on bytes (a body
    such as b"/etc/passwd" would be read from disk), so it gets a BytesIO.

    feedparser is not told the feed's URL: given one (as Content-Location), it runs every link and id of
    every entry through urljoin and a scheme check, most of them already absolute, and that was a fifth
    of parsing. `_raw_entry` resolves relative links itself, against the same URL (an xml:base inside the
    feed still applies first). Over feedparser's 1,769 test feeds and our fixtures the links are the same
    either way; the one difference is that a relative Atom <id> (which RFC 4287 forbids) is now kept as
    written instead of being joined to the feed URL. Ids are only compared with ids of the same feed, and
    an article already stored under the joined id is still found by its link.

    Descriptions are neither sanitised nor have their relative URIs resolved: normalize.html_to_text turns
    them into plain text (dropping script and style content as the sanitiser does), and Habar never shows
    feed HTML, so both passes were work whose result was thrown away: a quarter of parsing a typical feed
    (benchmarks/RESULTS.md, "Ingestion"). Over feedparser's 1,769 test feeds and our fixtures the
    normalised entries are the same either way, except that an undefined entity keeps its semicolon.
    """
    return feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-type": content_type},
        resolve_relative_uris=False,
        sanitize_html=False,
    )


def _xml_content_type(charset: str | None) -> str:
    """The Content-Type feedparser should see: XML, with the charset the server declared (or we guessed).

    feedparser follows RFC 3023, where text/xml without a charset means us-ascii, which flags half the
    feeds of the world as broken; RFC 7303 has since made the XML declaration decide, and that is what
    application/xml gets. The charset from the HTTP header is kept: it is the only place some
    windows-1251 feeds declare their encoding, and it wins over the XML declaration. A feed that
    declares nothing and is not UTF-8 is read as windows-1251 when it looks Cyrillic, not as
    windows-1252 (feedparser's last resort), because that is what such feeds in our region are.
    """
    return f"application/xml; charset={charset}" if charset else "application/xml"


def _wide_codec(body: bytes) -> str | None:
    """UTF-16/32 by BOM, or UTF-16 by the NULs around "<?" of an XML declaration without BOM."""
    for bom, codec in _WIDE_BOMS:
        if body.startswith(bom):
            return codec
    if body.startswith(b"<\x00?\x00"):
        return "utf-16-le"
    if body.startswith(b"\x00<\x00?"):
        return "utf-16-be"
    return None


def _defuse_entities(body: bytes) -> bytes:
    """Drop DTD entity declarations that could blow the document up.

    The classic billion laughs (nested entities) is harmless already: feedparser keeps only entities
    whose value is plain text, and expat limits amplification. But a single plain entity of 10 KB used
    10,000 times in a 40 KB feed is "safe" to feedparser and, once expat gives up and feedparser falls
    back to its loose parser, expands to 100 MB of text. So a declaration survives only if it is a
    plain internal entity whose value times its number of uses stays within a small budget; the
    references of dropped ones stay as literal "&name;" text.
    """
    first_element = _FIRST_ELEMENT.search(body)
    head_end = first_element.start() if first_element else len(body)
    head = body[:head_end]
    if b"<!ENTITY" not in head:
        return body
    budget = _ENTITY_EXPANSION_BUDGET
    kept = 0

    def keep_within_budget(declaration: re.Match[bytes]) -> bytes:
        nonlocal budget, kept
        simple = _SIMPLE_ENTITY.fullmatch(declaration.group(0))
        if simple is None or kept >= _MAX_ENTITIES:  # each one costs a scan of the body below
            return b""
        value = simple.group("dq") if simple.group("dq") is not None else simple.group("sq") or b""
        cost = max(len(value), 1) * body.count(b"&" + simple.group("name") + b";", head_end)
        if cost > budget:
            return b""
        budget -= cost
        kept += 1
        return declaration.group(0)

    return _ENTITY_DECLARATION.sub(keep_within_budget, head) + body[head_end:]


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type)
    if match is None:
        return None
    return match.group(1).strip("\"'").lower() or None


def _undeclared_cyrillic(body: bytes) -> str | None:
    """windows-1251 or koi8-r for a body that declares no encoding, is not UTF-8 and looks Russian.

    Both put Cyrillic letters in bytes 0xC0-0xFF (so words are runs of such bytes, which Western,
    CJK or Thai text is not made of); they differ in which half holds the lower case, and running
    text is mostly lower case.
    """
    head = body[:_ENCODING_SNIFF_BYTES]
    if head.startswith(_BOMS) or _XML_ENCODING_DECL.match(head):
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return None
    high = len(head) - len(head.translate(None, _HIGH_HALF))
    upper_block = len(head) - len(head.translate(None, _C0_DF))
    lower_block = len(head) - len(head.translate(None, _E0_FF))
    if (
        len(_HIGH_BYTE_RUN.findall(head)) < _CYRILLIC_MIN_WORDS
        or (upper_block + lower_block) * 100 < high * 85
    ):
        return None
    return "windows-1251" if lower_block >= upper_block else "koi8-r"


def _raw_entry(entry: Any, feed_url: str) -> RawEntry:
    return RawEntry(
        title=_text_or_none(entry.get("title")),
        link=_absolute_link(entry.get("link"), feed_url),
        guid=_text_or_none(entry.get("id")),
        summary=_summary(entry),
        published=_published(entry),
    )


def _summary(entry: Any) -> str | None:
    """The description if there is one, else the first content block (Atom entries with only <content>)."""
    summary = _text_or_none(entry.get("summary"))
    if summary is not None:
        return summary
    for content in entry.get("content") or []:
        value = _text_or_none(content.get("value"))
        if value is not None:
            return value
    return None


def _absolute_link(link: object, feed_url: str) -> str | None:
    """A relative link resolved against the feed's URL; one with a scheme is kept as it is."""
    text = _text_or_none(link)
    if text is None:
        return None
    try:
        return urljoin(feed_url, text) if not urlsplit(text).scheme else text
    except ValueError:  # e.g. "http://[broken" — keep it, normalize.canonical_url rejects it later
        return text


def _published(entry: Any) -> datetime | None:
    """feedparser's *_parsed fields are UTC struct_times; dc:date lands in `updated`."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if isinstance(parsed, time.struct_time):
            try:
                return datetime(*parsed[:6], tzinfo=UTC)
            except (ValueError, OverflowError):
                continue
    return None


def _text_or_none(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _bozo_problem(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    return _describe_bozo(result.get("bozo_exception"))


def _describe_bozo(exc: object) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return f"XML error: {exc.getMessage()} at line {exc.getLineNumber()}"
    if isinstance(exc, feedparser.CharacterEncodingOverride | feedparser.CharacterEncodingUnknown):
        return f"encoding: {exc}"
    if isinstance(exc, BaseException):
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return "malformed feed"


def _why_no_entries(original: bytes, body: bytes, result: Any) -> str | None:
    """The reason a document without entries is not a feed, or None for a valid feed that is just empty."""
    if _looks_binary(original[:_SNIFF_BYTES]):
        return "binary data, not a feed"
    head = body[:_SNIFF_BYTES]
    if _looks_html(head):
        return "not a feed (an HTML page)"
    if head.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in (b"{", b"["):
        return "not a feed (JSON, not XML)"
    if result.get("bozo"):
        return f"not a feed: no entries ({_describe_bozo(result.get('bozo_exception'))})"
    if not result.get("version"):
        return f"not a feed (unknown format{_root_hint(head)})"
    return None


def _looks_binary(head: bytes) -> bool:
    """Control bytes that no text feed contains; UTF-16/32 feeds are full of NULs, so those are let through."""
    if head.startswith(_UTF16_32_STARTS):
        return False
    if b"\x00" in head:
        return True
    # A few stray control characters occur in real (broken) feeds; garbage has them everywhere.
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls * 100 > len(head)


def _looks_html(head: bytes) -> bool:
    """An HTML root element (or, in a head too short to show one, an HTML doctype).

    The root decides, not the doctype: some CMSs put an XHTML doctype in front of a real <rss>.
    """
    root = _root_element(head)
    if root is not None:
        return root.lower() in {b"html", b"head", b"body"}
    start = _LEADING_JUNK.match(head)
    return _HTML_DOCTYPE.match(head, start.end() if start else 0) is not None


def _root_hint(head: bytes) -> str:
    root = _root_element(head)
    return f": root element <{root.decode('ascii', 'replace')}>" if root else ""


def _root_element(head: bytes) -> bytes | None:
    start = _LEADING_JUNK.match(head)
    position = start.end() if start else 0
    doctype = _DOCTYPE.match(head, position)
    if doctype:
        position = doctype.end()
        junk = _LEADING_JUNK.match(head, position)
        position = junk.end() if junk else position
    root = _ROOT_ELEMENT.match(head, position)
    return root.group(1) if root else None
