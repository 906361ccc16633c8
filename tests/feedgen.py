"""Small RSS/Atom documents built in tests, so each test shows the feed it ingests next to its assertions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    title: str
    link: str
    summary: str = ""
    guid: str | None = None
    published: datetime | None = None


def rss(items: list[Item], *, title: str = "Лента", encoding: str = "utf-8") -> bytes:
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>']
    parts.append("<link>https://example.kz/</link><description>test</description>")
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(it.title)}</title><link>{escape(it.link)}</link>")
        if it.summary:
            parts.append(f"<description>{escape(it.summary)}</description>")
        if it.guid:
            parts.append(f'<guid isPermaLink="false">{escape(it.guid)}</guid>')
        if it.published:
            parts.append(f"<pubDate>{format_datetime(it.published)}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode(encoding)


def atom(items: list[Item], *, title: str = "Жаңалықтар") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{escape(title)}</title><id>urn:test</id><updated>2025-10-08T09:00:00Z</updated>",
    ]
    for n, it in enumerate(items):
        parts.append(f"<entry><title>{escape(it.title)}</title><link href=\"{escape(it.link)}\"/>")
        parts.append(f"<id>{escape(it.guid or f'urn:entry:{n}')}</id>")
        if it.published:
            parts.append(f"<updated>{it.published.isoformat()}</updated>")
        if it.summary:
            parts.append(f'<summary type="html">{escape(it.summary)}</summary>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")
