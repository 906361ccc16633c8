"""The one place that turns digests and article lists into Telegram HTML.

Escaping uses the standard library's `html.escape` rather than aiogram's formatting helpers on purpose:
this module also serves `digest --preview`, which must not import aiogram (seconds of start-up), and
aiogram's `html.bold()`/`link()` do not escape their arguments anyway. Everything from a feed or a user
passes through `esc()`; the markup around it is ours and uses only tags Telegram accepts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.digest.build import Digest
from bot.i18n import t, tn
from storage import StoredArticle

TELEGRAM_LIMIT = 4096
MAX_TITLE_CHARS = 300
_TAG = re.compile(r"<[^>]+>")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def visible_length(markup: str) -> int:
    """Length as Telegram counts it: text after entity parsing, in UTF-16 code units."""
    text = html.unescape(_TAG.sub("", markup))
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,.;:-") + "…"


def local_time(moment: datetime, zone: ZoneInfo, ui_lang: str) -> str:
    return moment.astimezone(zone).strftime("%d.%m %H:%M")


def article_item(article: StoredArticle, ui_lang: str, zone: ZoneInfo) -> str:
    """One item: linked headline, then language, source and time; reprints add their outlets as links."""
    title = f'<a href="{esc(article.url)}">{esc(shorten(article.title))}</a>'
    meta = [t(ui_lang, f"lang.{article.lang}"), esc(article.feed_name), local_time(article.published_at, zone, ui_lang)]
    line = f"• {title}\n    {' · '.join(meta)}"
    extra = [
        f'<a href="{esc(r.url)}">{esc(r.feed_name)}</a> ({t(ui_lang, f"lang.{r.lang}")})' for r in article.reprints[:5]
    ]
    if extra:
        line += "\n    " + t(ui_lang, "digest.also") + " " + ", ".join(extra)
    return line


def pack(blocks: Iterable[str], limit: int = TELEGRAM_LIMIT, sep: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit, splitting only between blocks (never inside a tag)."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        if visible_length(block) > limit:
            block = _hard_cut(block, limit)
        candidate = f"{current}{sep}{block}" if current else block
        if visible_length(candidate) <= limit:
            current = candidate
        else:
            if current:
                messages.append(current)
            current = block
    if current:
        messages.append(current)
    return messages


def _hard_cut(block: str, limit: int) -> str:
    """A single block over the limit (cannot happen with our templates) loses its markup, never its safety."""
    text = html.unescape(_TAG.sub("", block))
    units = text.encode("utf-16-le")[: 2 * (limit - 1)]
    return esc(units.decode("utf-16-le", errors="ignore") + "…")


def render_digest(digest: Digest, topic_names: dict[str, str], zone: ZoneInfo, *, title_key: str = "digest.header") -> list[str]:
    """The digest as Telegram messages, each ≤ 4096 visible characters, split between items."""
    req = digest.request
    ui = req.ui_lang
    date = req.until.astimezone(zone).strftime("%d.%m.%Y")
    if digest.empty:
        return [t(ui, "digest.empty")]
    blocks: list[str] = [f"<b>{esc(t(ui, title_key, date=date))}</b>"]
    for section in digest.sections:
        name = esc(topic_names.get(section.topic, section.topic))
        items = [article_item(a, ui, zone) for a in section.items]
        head = f"<b>{name}</b>\n{items[0]}" if items else f"<b>{name}</b>"
        blocks.append(head)
        blocks.extend(items[1:])
        if section.more:
            blocks.append(tn(ui, "digest.more_one", "digest.more_many", section.more, topic=section.topic))
    return pack(blocks, sep="\n")


def render_articles(articles: Sequence[StoredArticle], ui_lang: str, zone: ZoneInfo, header: str) -> list[str]:
    """A titled list of articles (search results, project news) split like a digest."""
    blocks = [header] + [article_item(a, ui_lang, zone) for a in articles]
    return pack(blocks, sep="\n")
