"""Choosing and ordering a digest's articles. The same code serves /digest, the daily digest and preview."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import TypeVar

from bot.digest.stories import Story, StoryCache, group_stories, importance, story_key
from storage import EarlierReport, Storage, StoredArticle, StoryStanding

T = TypeVar("T")
MAX_LOOKBACK = timedelta(hours=48)
# How far before a window to look for earlier reports of its stories. Ingestion links articles published
# within 72 hours of each other (bot/ingest/stories.py); a week leaves room for late first sightings.
TOLD_LOOKBACK = timedelta(days=7)
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
    items: tuple[Story, ...]
    more: int = 0  # stories on this topic that did not fit


@dataclass(frozen=True)
class Digest:
    request: DigestRequest
    sections: tuple[DigestSection, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(s.items for s in self.sections)


def untold(
    articles: Sequence[StoredArticle], earlier: Sequence[EarlierReport], topics: Sequence[str], langs: Sequence[str]
) -> list[StoredArticle]:
    """Leave out the stories the reader has been told before the window: a story with a report first seen
    earlier in a language they read, on a topic they read, was in that earlier window's digest. A new
    outlet or the other language's version of yesterday's event is not news."""
    wanted = frozenset(topics)
    told = {e.story_id for e in earlier if e.lang in langs and not wanted.isdisjoint(e.topics)}
    return [a for a in articles if story_key(a) not in told] if told else list(articles)


async def earlier_reports(storage: Storage, articles: Sequence[StoredArticle], since: datetime) -> list[EarlierReport]:
    return await storage.articles.earlier_reports(
        {story_key(a) for a in articles}, since=since - TOLD_LOOKBACK, before=since
    )


def arrange(
    articles: Sequence[StoredArticle],
    topic_order: Sequence[str],
    per_topic: int,
    ui_lang: str,
    langs: Sequence[str] = ("ru", "kk"),
    cache: StoryCache | None = None,
) -> tuple[DigestSection, ...]:
    """Fold articles into stories, then group by topic in the subscriber's topic order (`_placement`)."""
    stories = group_stories(articles, ui_lang, langs, cache)
    return tuple(
        DigestSection(topic=topic, items=tuple(shown), more=more)
        for topic, shown, more in _placement(
            stories, topic_order, per_topic, lambda s: _section(s.topics, topic_order), importance
        )
    )


def _section(topics: Collection[str], topic_order: Sequence[str]) -> str | None:
    """The first topic of the subscriber's order that the story is on: the one section it appears in."""
    return next((t for t in topic_order if t in topics), None)


def _placement(
    items: Sequence[T],
    topic_order: Sequence[str],
    per_topic: int,
    section: Callable[[T], str | None],
    rank_key: Callable[[T], tuple[int, int, datetime]],
) -> list[tuple[str, list[T], int]]:
    """Each topic's shown stories and how many more there are: a story appears once, in its section, most
    important first (ties keep `items`' order: newest first). Shared by the planner's stories and /digest's
    standings so that both rank alike."""
    sections: dict[str, list[T]] = {}
    for item in items:
        topic = section(item)
        if topic is not None:
            sections.setdefault(topic, []).append(item)
    out = []
    for topic in topic_order:
        mine = sections.get(topic)
        if mine:
            mine.sort(key=rank_key, reverse=True)  # stable, also reversed
            out.append((topic, mine[:per_topic], max(0, len(mine) - per_topic)))
    return out


def place(
    standings: Sequence[StoryStanding], topic_order: Sequence[str], per_topic: int
) -> list[tuple[str, list[StoryStanding], int]]:
    """`arrange`'s placement on standings (which come in their `position` order)."""
    return _placement(standings, topic_order, per_topic, _STANDING_SECTION, _STANDING_RANK)


# `rank(s.outlets, s.langs, s.latest)` and `s.topic` read straight off a standing's fields by C-level getters:
# /digest places up to FRESH_LIMIT standings (tests/test_digest_ranking.py holds the result equal to `arrange`'s).
_STANDING_RANK = attrgetter("outlets", "langs", "latest")
_STANDING_SECTION = attrgetter("topic")


async def build_digest(storage: Storage, request: DigestRequest, topic_order: Sequence[str]) -> Digest:
    """Fresh originals on the requested topics and languages, at most 48 hours back, less the stories
    told before the window.

    The same digest as `arrange(untold(fresh(…)))`, which the planner uses over a shared pool
    (tests/test_delivery_plan.py holds them equal), but ranked from SQL standings so that a reader's
    /digest builds only the stories it shows: a day holds ~1,000 stories, a digest shows 15."""
    since = max(request.since, request.until - MAX_LOOKBACK)
    wanted = [t for t in topic_order if t in request.topics]
    standings = await storage.articles.standings(
        topics=wanted, langs=request.langs, since=since, until=request.until, told_since=since - TOLD_LOOKBACK
    )
    placement = place(standings, wanted, request.per_topic)
    shown_ids = [i for _, shown, _ in placement for s in shown for i in s.article_ids]
    stories = {s.id: s for s in group_stories(await storage.articles.by_ids(shown_ids), request.ui_lang, request.langs)}
    sections = tuple(
        DigestSection(topic=topic, items=tuple(stories[s.story_id] for s in shown), more=more)
        for topic, shown, more in placement
    )
    return Digest(request=request, sections=sections)
