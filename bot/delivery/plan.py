"""Planning the daily digests: who is due, what each gets, written to the ledger before anything is sent.

Subscribers who would get the same digest (same topics, news languages, interface language, window and
time zone) are grouped, and each distinct digest is built and rendered once. Building reads the window's
fresh articles from the database once and selects each digest from that pool in memory, exactly as
`bot.digest.build.build_digest` selects with SQL (the same `arrange`, the same limit and order), so 100,000
subscribers cost a few hundred selections, not 100,000 queries.

A digest covers [since, until): `until` is the planning minute, `since` the subscriber's previous `until`
(their `last_digest_at`), at most 48 hours back; a first digest looks back 24 hours. Because the next
window starts exactly where this one ended, no article is missed or repeated between two days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.digest.build import MAX_LOOKBACK, Digest, DigestRequest, arrange, earlier_reports, untold
from bot.digest.render import render_digest
from bot.digest.schedule import is_due, local_today
from bot.digest.stories import StoryCache
from storage import EarlierReport, PlannedDigest, Storage, StoredArticle, Subscriber
from storage.articles import FRESH_LIMIT  # the cap build_digest's standings use: the planner ranks alike

FIRST_WINDOW = timedelta(hours=24)
POOL_LIMIT = 200_000

DuePredicate = Callable[[Subscriber, datetime], bool]


class TopicCatalog(Protocol):
    """What planning needs of the topics file: the display order and each topic's name per language."""

    @property
    def keys(self) -> Sequence[str]: ...

    def name(self, key: str, lang: str) -> str: ...


@dataclass(frozen=True)
class DigestKey:
    """Everything that decides a rendered digest; subscribers with equal keys get identical messages."""

    topics: tuple[str, ...]
    langs: tuple[str, ...]
    ui_lang: str
    since: datetime
    timezone: str


@dataclass
class PlanReport:
    due: int = 0
    already_planned: int = 0
    planned: int = 0
    empty_skipped: int = 0  # empty digest, notify_empty off: nothing sent, marked done for the day
    digests: int = 0  # distinct digests built and rendered


def not_served_today(sub: Subscriber, now: datetime) -> bool:
    """`digest --send`: every active subscriber without today's digest, whatever time they chose."""
    return sub.active and not sub.paused and sub.last_digest_date != local_today(sub, now)


def window_end(now: datetime) -> datetime:
    """The planning minute: digests planned in one tick share `until`, hence tomorrow's `since` too."""
    return now.replace(second=0, microsecond=0)


def window_start(sub: Subscriber, until: datetime) -> datetime:
    if sub.last_digest_at is None:
        return until - FIRST_WINDOW
    return min(until, max(sub.last_digest_at, until - MAX_LOOKBACK))


def digest_key(sub: Subscriber, until: datetime) -> DigestKey:
    return DigestKey(
        topics=tuple(sorted(sub.topics)),
        langs=sub.langs,
        ui_lang=sub.ui_lang,
        since=window_start(sub, until),
        timezone=sub.timezone,
    )


def group_subscribers(subs: Iterable[Subscriber], until: datetime) -> dict[DigestKey, list[Subscriber]]:
    groups: dict[DigestKey, list[Subscriber]] = defaultdict(list)
    for sub in subs:
        groups[digest_key(sub, until)].append(sub)
    return dict(groups)


class ArticlePool:
    """The fresh articles of one window on every topic in both languages, selected from in memory."""

    def __init__(self, articles: Sequence[StoredArticle], earlier: Sequence[EarlierReport] = ()) -> None:
        # `articles` come newest first, as ArticleStore.fresh orders them.
        self._articles = [(a, a.lang, frozenset(a.topics)) for a in articles]
        self.earlier = earlier  # reports of the pool's stories from before the window (`untold`)

    def select(self, topics: Sequence[str], langs: Sequence[str], limit: int = FRESH_LIMIT) -> list[StoredArticle]:
        """What ArticleStore.fresh(topics=…, langs=…) would return for this window."""
        wanted = frozenset(topics)
        out: list[StoredArticle] = []
        if not wanted or not langs:
            return out
        for article, lang, tags in self._articles:
            if lang in langs and not tags.isdisjoint(wanted):
                out.append(article)
                if len(out) == limit:
                    break
        return out


class DigestFactory:
    """Builds digests from per-window pools and renders each distinct one once."""

    def __init__(self, storage: Storage, topics: TopicCatalog) -> None:
        self._storage = storage
        self._topics = topics
        self._pools: dict[tuple[datetime, datetime], ArticlePool] = {}
        self._sections: dict[tuple[datetime, datetime, tuple[str, ...], tuple[str, ...], str, int], Digest] = {}
        self._names: dict[str, dict[str, str]] = {}
        self._stories: StoryCache = {}  # shared by every digest planned here (bot/digest/stories.py)

    async def _pool(self, since: datetime, until: datetime) -> ArticlePool:
        pool = self._pools.get((since, until))
        if pool is None:
            articles = await self._storage.articles.fresh(
                topics=list(self._topics.keys), langs=("ru", "kk"), since=since, until=until, limit=POOL_LIMIT
            )
            earlier = await earlier_reports(self._storage, articles, since)
            pool = self._pools[(since, until)] = ArticlePool(articles, earlier)
        return pool

    async def build(self, request: DigestRequest) -> Digest:
        """Equal to `build_digest(storage, request, topics.keys)`. The interface language picks each
        story's headline (a report in that language when there is one), so it is part of the key."""
        since = max(request.since, request.until - MAX_LOOKBACK)
        wanted = tuple(t for t in self._topics.keys if t in request.topics)
        key = (since, request.until, wanted, request.langs, request.ui_lang, request.per_topic)
        digest = self._sections.get(key)
        if digest is None:
            pool = await self._pool(since, request.until)
            articles = untold(pool.select(wanted, request.langs), pool.earlier, wanted, request.langs)
            digest = Digest(request=request, sections=arrange(articles, wanted, request.per_topic, request.ui_lang, request.langs, self._stories))
            self._sections[key] = digest
        return Digest(request=request, sections=digest.sections)

    def names(self, ui_lang: str) -> dict[str, str]:
        names = self._names.get(ui_lang)
        if names is None:
            names = self._names[ui_lang] = {k: self._topics.name(k, ui_lang) for k in self._topics.keys}
        return names

    async def render(self, key: DigestKey, until: datetime) -> tuple[Digest, tuple[str, ...]]:
        request = DigestRequest(topics=key.topics, langs=key.langs, ui_lang=key.ui_lang, since=key.since, until=until)
        digest = await self.build(request)
        return digest, tuple(render_digest(digest, self.names(key.ui_lang), ZoneInfo(key.timezone)))


async def plan_digests(
    storage: Storage, topics: TopicCatalog, now: datetime, *, due: DuePredicate = is_due
) -> PlanReport:
    """Write today's digest of every due subscriber not yet planned into the ledger as pending parts."""
    report = PlanReport()
    subs = [s for s in await storage.subscribers.active() if due(s, now)]
    report.due = len(subs)
    if not subs:
        return report
    today = {s.chat_id: local_today(s, now) for s in subs}
    taken = await storage.deliveries.planned(set(today.values()))
    fresh = [s for s in subs if (s.chat_id, today[s.chat_id]) not in taken]
    report.already_planned = len(subs) - len(fresh)

    until = window_end(now)
    factory = DigestFactory(storage, topics)
    planned: list[PlannedDigest] = []
    done: list[tuple[int, str, datetime]] = []
    for key, members in group_subscribers(fresh, until).items():
        digest, texts = await factory.render(key, until)
        report.digests += 1
        for sub in members:
            if digest.empty and not sub.notify_empty:
                done.append((sub.chat_id, today[sub.chat_id], until))
            else:
                planned.append(PlannedDigest(sub.chat_id, today[sub.chat_id], until, texts))
    report.planned = await storage.deliveries.plan(planned, now)
    await storage.deliveries.mark_done(done)
    report.empty_skipped = len(done)
    return report
