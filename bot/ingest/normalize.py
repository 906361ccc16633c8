"""Pure clean-up of parsed entries: plain text, one canonical URL per article, UTC times, skip reasons.

Nothing here does I/O or reads the clock: `now` is passed in, so tests drive time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from bot.ingest.parse import RawEntry

__all__ = [
    "NormalEntry",
    "SkipReason",
    "canonical_url",
    "html_to_text",
    "normalize_entry",
    "publication_time",
    "trim_text",
]

# A date further ahead than this is a wrong clock or a wrong zone on the outlet's side, not a scheduled story.
FUTURE_TOLERANCE = timedelta(minutes=10)
ELLIPSIS = "…"


# --- HTML to text -----------------------------------------------------------------------------------------
#
# The stdlib html.parser is enough: we only want the text of short fragments (descriptions as the feed wrote
# them: feedparser does not sanitise them for us, see parse._feedparser_parse), not a DOM. It is tolerant of
# broken markup, decodes every named and numeric entity, and keeps BeautifulSoup/lxml (a C extension with its
# own security advisories) out of the dependencies.

# What feedparser's sanitiser drops with its content (script, style, applet), and content never shown.
_SKIPPED_CONTENT = frozenset({"applet", "script", "style", "noscript", "template"})
# Tags that separate words visually; without a space "<p>Орал</p><p>Ақтөбе</p>" would read "ОралАқтөбе".
_BREAKING_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "img", "li", "main", "nav",
        "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
# Invisible characters that only break word matching (soft hyphen, zero-width space, BOM, word joiner).
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))
# str.translate with a table costs ~15 µs on a 300-letter Cyrillic text even when there is nothing to drop;
# searching first costs ~1 µs, and most texts have none.
_HAS_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")


def _folded(text: str) -> str:
    """Invisible characters dropped, whitespace runs folded to single spaces, ends trimmed."""
    if _HAS_INVISIBLE.search(text):
        text = text.translate(_INVISIBLE)
    return " ".join(text.split())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_CONTENT:
            self._skipping.append(tag)
        elif tag in _BREAKING_TAGS:
            self._parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BREAKING_TAGS:
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            while self._skipping and self._skipping.pop() != tag:
                pass
        elif tag in _BREAKING_TAGS:
            self._parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._parts.append(data)

    def text(self) -> str:
        return "".join(self._parts)


# The common case, a description of plain paragraphs ("<p>text</p><p>text</p>"), read
# without html.parser, which costs most of normalising: text without "&" or "<" between plain start and end
# tags (attributes without quotes, or double-quoted without "<" ">"). Anything else — entities, comments,
# declarations, a stray "<", a skipped element — goes to the parser. Both ways give the same text.
_SIMPLE_TAG = r"""</?([A-Za-z][A-Za-z0-9]*)(?:\s+[^\s"'<>=/]+(?:\s*=\s*(?:"[^"<>]*"|[^\s"'<>=`]+))?)*\s*/?>"""
_SIMPLE_HTML = re.compile(rf"[^<&]*+(?:{_SIMPLE_TAG}[^<&]*+)*+")
_TAG = re.compile(_SIMPLE_TAG)


def _simple_html_to_text(fragment: str) -> str | None:
    """The text of a fragment made only of plain text and simple tags; None for anything else."""
    if _SIMPLE_HTML.fullmatch(fragment) is None:
        return None
    names = {name.lower() for name in _TAG.findall(fragment)}
    if names & _SKIPPED_CONTENT:
        return None
    return _TAG.sub(lambda m: " " if m.group(1).lower() in _BREAKING_TAGS else "", fragment)


def html_to_text(fragment: str) -> str:
    """Visible text of an HTML fragment on one line: no tags, entities decoded, whitespace folded."""
    if "<" not in fragment and "&" not in fragment:
        return _folded(fragment)
    simple = _simple_html_to_text(fragment) if "&" not in fragment else None
    if simple is not None:
        return _folded(simple)
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    return _folded(extractor.text())


# --- Canonical URLs ---------------------------------------------------------------------------------------
#
# The same article reaches us through several feeds with different tracking decorations; the canonical
# URL is what duplicates are recognised by. Decisions:
# - only http and https; scheme and host lower-cased; the default port, the fragment and any user:password
#   (never worth storing or showing) are dropped; an empty path becomes "/";
# - IDN hosts stay in Unicode, lower-cased; "xn--" labels are decoded, so both spellings of a .қаз
#   address meet;
# - path and query are percent-encoded the way browsers send them (non-ASCII as UTF-8 escapes, escapes in
#   upper case, needlessly escaped letters and digits decoded), so "/жаңалықтар" and its escaped form
#   are one URL;
# - dropped query parameters: every utm_*, the click ids of ad networks (fbclid, gclid, yclid, ysclid,
#   ...), Openstat and Mailchimp markers; and "from", "ref", "source" only when their value names a feed
#   or aggregator ("from=rss", "from=yxnews"), since "from=2025-08-01" on a search page is real data;
# - other parameters keep their order and spelling; we do not sort them, because some sites' routing
#   depends on the order.

_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "ysclid", "ymclid",
        "twclid", "ttclid", "igshid", "_openstat", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "vero_id", "wickedid", "rb_clickid", "_ga", "_gl", "spm",
    }
)  # fmt: skip
_SOURCE_PARAMS = frozenset({"from", "ref", "source", "src"})
_FEED_SOURCES = frozenset("rss rss2 rssfeed rss_feed feed atom yxnews yandex ynews zen dzen telegram".split())
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are: the reserved set of RFC 3986 plus "%" (existing escapes are normalised apart).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"
_HOST_ALLOWED = re.compile(r"^[^\s/\\?#@:]+$")


def canonical_url(url: str, base: str | None = None) -> str | None:
    """The form of an article URL we store and compare; None for anything we could not open in a browser."""
    text = url.strip()
    if not text or any(ch in text for ch in "\r\n\t\x00"):
        return None
    try:
        if base:
            text = urljoin(base.strip(), text)
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        host = _canonical_host(parts.hostname)
        port = parts.port
    except ValueError:  # malformed IPv6 literal, port out of range, ...
        return None
    if host is None:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _normalise_escapes(parts.path, _PATH_SAFE) or "/"
    query = _clean_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _canonical_host(hostname: str | None) -> str | None:
    """Lower-case host with "xn--" labels shown in Unicode; None when there is no usable host."""
    if not hostname:
        return None
    host = hostname.rstrip(".").lower()
    if ":" in host:  # IPv6 literal; urlsplit removed the brackets
        return f"[{host}]"
    if not host or not _HOST_ALLOWED.match(host):
        return None
    return ".".join(_decode_label(label) for label in host.split("."))


def _decode_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna").lower()
    except UnicodeError:
        return label


def _clean_query(query: str) -> str:
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if _is_tracking(_unescape_for_compare(name), _unescape_for_compare(value)):
            continue
        kept.append(_normalise_escapes(pair, _QUERY_SAFE))
    return "&".join(kept)


def _is_tracking(name: str, value: str) -> bool:
    name = name.lower()
    if name.startswith("utm_") or name in _TRACKING_PARAMS:
        return True
    return name in _SOURCE_PARAMS and value.lower() in _FEED_SOURCES


def _unescape_for_compare(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text.replace("+", " "))


def _normalise_escapes(text: str, safe: str) -> str:
    """Percent-encode like a browser; decode escapes of unreserved characters; upper-case the rest."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    # Lone "%" signs (not followed by two hex digits) must become %25, or the URL would be invalid.
    text = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", text)
    return quote(_ESCAPE.sub(fix, text), safe=safe)


# --- Entries ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalEntry:
    """An entry ready for de-duplication and storage: plain text, canonical URL, UTC time."""

    title: str
    summary: str
    url: str
    guid: str | None
    published: datetime


class SkipReason(StrEnum):
    NO_TITLE = "no title"
    NO_LINK = "no link"


def normalize_entry(
    raw: RawEntry, *, now: datetime, max_summary_chars: int = 2000
) -> NormalEntry | SkipReason:
    """Clean one entry, or say why it cannot be an article (a digest line needs a headline and a link)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    title = html_to_text(raw.title or "")
    if not title:
        return SkipReason.NO_TITLE
    url = canonical_url(raw.link) if raw.link else None
    if url is None:
        return SkipReason.NO_LINK
    return NormalEntry(
        title=title,
        summary=trim_text(html_to_text(raw.summary or ""), max_summary_chars),
        url=url,
        guid=(raw.guid or "").strip() or None,
        published=publication_time(raw.published, now=now),
    )


def publication_time(published: datetime | None, *, now: datetime) -> datetime:
    """UTC publication time; `now` (first seen) when the feed gives none or one from the future."""
    now = now.astimezone(UTC)
    if published is None:
        return now
    if published.tzinfo is None:  # RawEntry promises UTC; a naive value can only mean UTC
        published = published.replace(tzinfo=UTC)
    published = published.astimezone(UTC)
    return now if published > now + FUTURE_TOLERANCE else published


def trim_text(text: str, max_chars: int) -> str:
    """At most `max_chars` characters, cut at a word boundary and marked with "…"."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    if len(text) <= max_chars:
        return text
    limit = max_chars - len(ELLIPSIS)
    head = text[:limit]
    if not text[limit].isspace():
        space = head.rfind(" ")
        # A very long "word" (a URL, a hashtag chain) is cut hard rather than dropping most of the text.
        if space > limit // 2:
            head = head[:space]
    return head.rstrip(" ,;:-–—") + ELLIPSIS
