"""Records that cross the storage boundary: what ingestion writes and what digests and handlers read.

They live here, in the lowest layer, so that storage never imports the layers above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple


def to_ts(moment: datetime) -> int:
    """Aware datetime → Unix seconds (the storage representation)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached storage; pass an aware UTC time")
    return int(moment.timestamp())


def to_ts_ceil(moment: datetime) -> int:
    """Aware datetime → Unix seconds rounded up, for half-open ranges [since, until) over whole-second rows.

    Stored times are truncated to the second; rounding both range ends up puts a row in exactly one of two
    adjacent ranges even when a digest runs in the same second as the ingest that stored the row.
    """
    whole = to_ts(moment)
    return whole + 1 if moment.timestamp() > whole else whole


def from_ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed as the operator lists it in the feeds file."""

    url: str
    name: str
    lang: str = "auto"


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed with what we remember of its last fetches (conditional GET, health, back-off)."""

    id: int
    url: str
    name: str
    lang_hint: str
    enabled: bool
    etag: str | None
    last_modified: str | None
    body_sha256: str | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    last_error: str | None
    last_problem: str | None
    failure_count: int
    next_attempt_at: datetime | None

    @property
    def failing(self) -> bool:
        return self.failure_count > 0


@dataclass(frozen=True, slots=True)
class ProjectRef:
    """A named project or company as recognised in one article."""

    key: str
    name: str
    kind: str = "project"
    known: bool = False
    surface: str = ""
    name_ru: str | None = None
    name_kk: str | None = None
    name_latin: str | None = None


@dataclass(frozen=True, slots=True)
class NewArticle:
    feed_id: int
    url: str
    guid: str | None
    title: str
    summary: str
    lang: str
    published_at: datetime
    first_seen_at: datetime
    topics: tuple[str, ...] = ()
    projects: tuple[ProjectRef, ...] = ()
    reprint_of: int | None = None
    fingerprint: str = ""
    # The original is earlier in the same batch (not stored yet, so it has no id): its position there.
    reprint_of_batch_index: int | None = None
    # The story this article joins, decided by ingestion (bot/ingest/stories.py): a stored story id, or the
    # position of an earlier article of the same batch whose story it shares. Neither: it starts its own story.
    # A reprint always takes its original's story, whatever these say.
    story_id: int | None = None
    story_of_batch_index: int | None = None
    # StorySignals.keys() of the article, kept for the next pass's story index.
    story_signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InsertedArticle:
    """A stored article's id and the story it ended up in."""

    id: int
    story_id: int


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    feed_id: int
    feed_name: str
    url: str
    guid: str | None
    title: str
    summary: str
    lang: str
    published_at: datetime
    first_seen_at: datetime
    reprint_of: int | None
    story_id: int | None
    topics: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    reprints: tuple[ReprintSource, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ReprintSource:
    """Another outlet's copy of an article: shown as an extra source, never as a second item."""

    article_id: int
    feed_name: str
    url: str
    lang: str


@dataclass(frozen=True, slots=True)
class EarlierReport:
    """An article of a story first seen before a digest's window: the story may have been told already."""

    story_id: int
    lang: str
    topics: tuple[str, ...]


class StoryStanding(NamedTuple):
    """What ranking a digest needs of one story in its window, computed in SQL: the digest then builds only
    the stories it shows (`ArticleStore.standings`). A named tuple with one section topic, because a busy
    day's window makes 2,000 of them per /digest: as frozen dataclasses with a set of topics each they took
    ~8 ms to build, as these tuples 2 ms (measured on the bench_handlers store)."""

    story_id: int
    article_ids: tuple[int, ...]  # its original reports in the window
    outlets: int  # distinct outlets among those reports and their reprints in the reader's languages
    langs: int  # distinct languages among the same
    latest: datetime  # the newest publication time of its reports
    position: int  # 1 for the story with the most recently seen report, and so on
    topic: str  # its section: the first of the asked topics, in the order asked, among its reports' topics


@dataclass(frozen=True, slots=True)
class RecentStorySignals:
    """What story linking needs of a recently published article."""

    id: int
    story_id: int
    published_at: datetime
    signals: str  # StorySignals.keys() space-separated, as stored: split only where needed (a thread)
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RecentFingerprint:
    """What reprint detection needs of a recently stored article."""

    id: int
    feed_id: int
    lang: str
    fingerprint: str
    root_id: int


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    id: int
    key: str
    name_ru: str | None
    name_kk: str | None
    name_latin: str | None
    kind: str
    known: bool
    mentions: int
    last_seen: datetime | None

    def display_name(self, lang: str) -> str:
        preferred = self.name_kk if lang == "kk" else self.name_ru
        return preferred or self.name_ru or self.name_kk or self.name_latin or self.key


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat_id: int
    user_id: int | None
    ui_lang: str
    news_langs: str
    digest_time: str
    timezone: str
    active: bool
    paused: bool
    notify_empty: bool
    topics: tuple[str, ...]
    last_digest_date: str | None
    last_digest_at: datetime | None
    created_at: datetime

    @property
    def langs(self) -> tuple[str, ...]:
        """News languages as a tuple ("ru",), ("kk",) or ("ru", "kk")."""
        return ("ru", "kk") if self.news_langs == "both" else (self.news_langs,)


@dataclass(frozen=True, slots=True)
class Counts:
    feeds_ok: int
    feeds_failing: int
    articles_by_lang: dict[str, int]
    articles_by_topic: dict[str, int]
    articles_total: int
    projects: int
    subscribers_active: int
    subscribers_inactive: int
    deliveries: dict[str, int]
