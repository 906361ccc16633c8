"""Choosing and ordering a digest's articles. The same code serves /digest, the daily digest and preview."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage import Storage, StoredArticle

MAX_LOOKBACK = timedelta(hours=48)
DEFAULT_PER_TOPIC = 5


@dataclass(frozen=True)
class DigestRequest:
    """Everything that decides a digest's content; equal requests give equal digests (rendered once)."""

    topics: tuple[str, ...]
    langs: tuple[str, ...]
    ui_lang: str
    since: datetime
    until: datetime
    per_topic: int = DEFAULT_PER_TOPIC


@dataclass(frozen=True)
class DigestSection:
    topic: str
    items: tuple[StoredArticle, ...]
    more: int = 0


@dataclass(frozen=True)
class Digest:
    request: DigestRequest
    sections: tuple[DigestSection, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(s.items for s in self.sections)

    @property
    def article_ids(self) -> tuple[int, ...]:
        return tuple(a.id for s in self.sections for a in s.items)


def importance(article: StoredArticle) -> tuple[int, int, datetime]:
    """Reprinted by more outlets first, then reports in both languages, then newest."""
    outlets = {article.feed_id} | {r.feed_name for r in article.reprints}
    langs = {article.lang} | {r.lang for r in article.reprints}
    return (len(outlets), len(langs), article.published_at)


def arrange(
    articles: Sequence[StoredArticle], topic_order: Sequence[str], per_topic: int
) -> tuple[DigestSection, ...]:
    """Group by topic in the subscriber's topic order; an article appears once, under its first topic."""
    placed: set[int] = set()
    sections = []
    for topic in topic_order:
        mine = [a for a in articles if topic in a.topics and a.id not in placed]
        if not mine:
            continue
        mine.sort(key=importance, reverse=True)
        shown = mine[:per_topic]
        placed.update(a.id for a in mine)
        sections.append(DigestSection(topic=topic, items=tuple(shown), more=len(mine) - len(shown)))
    return tuple(sections)


async def build_digest(storage: Storage, request: DigestRequest, topic_order: Sequence[str]) -> Digest:
    """Fresh originals on the requested topics and languages, at most 48 hours back."""
    since = max(request.since, request.until - MAX_LOOKBACK)
    wanted = [t for t in topic_order if t in request.topics]
    articles = await storage.articles.fresh(topics=wanted, langs=request.langs, since=since, until=request.until)
    return Digest(request=request, sections=arrange(articles, wanted, request.per_topic))
