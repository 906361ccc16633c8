"""Folding articles into stories for display: one item per event, with a link to every report of it.

Ingestion decides which articles report the same event (`bot/ingest/stories.py` sets `story_id`; a
reprint shares its original's story). Here a list of stored articles — a digest's window, a project's
timeline — becomes a list of `Story` items: the headline shown is a report in the reader's interface
language when the story has one, and every other report (other outlets, the other language, reprints)
becomes a link marked with its outlet and language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property

from storage import StoredArticle


@dataclass(frozen=True, slots=True)
class Report:
    """One published copy of a story: where it is, who published it and in which language."""

    url: str
    outlet: str
    lang: str


@dataclass(frozen=True)  # no slots: the derived properties are computed once (a digest ranks thousands)
class Story:
    id: int
    lead: StoredArticle  # whose headline, outlet and time the item shows
    articles: tuple[StoredArticle, ...]  # every original report of the story in the list, lead first

    @cached_property
    def topics(self) -> frozenset[str]:
        return frozenset(t for a in self.articles for t in a.topics)

    @cached_property
    def reports(self) -> tuple[Report, ...]:
        """Every copy, the lead first (each row of `articles` has its own URL: it is unique in storage)."""
        return tuple(
            report
            for art in self.articles
            for report in (Report(art.url, art.feed_name, art.lang), *(Report(r.url, r.feed_name, r.lang) for r in art.reprints))
        )

    @cached_property
    def others(self) -> tuple[Report, ...]:
        """The reports besides the lead's own link."""
        return self.reports[1:]

    @cached_property
    def outlets(self) -> frozenset[str]:
        # From the articles rather than `reports`: ranking thousands of candidates must not build links.
        return frozenset(a.feed_name for a in self.articles) | {r.feed_name for a in self.articles for r in a.reprints}

    @cached_property
    def langs(self) -> frozenset[str]:
        return frozenset(a.lang for a in self.articles) | {r.lang for a in self.articles for r in a.reprints}

    @cached_property
    def latest(self) -> datetime:
        return max(a.published_at for a in self.articles)


def story_key(article: StoredArticle) -> int:
    """Articles stored before story linking existed have no story: each is its own."""
    return article.story_id if article.story_id is not None else article.id


def rank(outlets: int, langs: int, latest: datetime) -> tuple[int, int, datetime]:
    """Covered by more outlets first, then reported in both languages, then the newest."""
    return (outlets, langs, latest)


def importance(story: Story) -> tuple[int, int, datetime]:
    return rank(len(story.outlets), len(story.langs), story.latest)


def _lead(articles: Sequence[StoredArticle], ui_lang: str) -> StoredArticle:
    """The first report in the reader's language, or the first report at all (the original)."""
    ordered = sorted(articles, key=lambda a: (a.published_at, a.id))
    return next((a for a in ordered if a.lang == ui_lang), ordered[0])


StoryCache = dict[tuple[str, tuple[str, ...], tuple[int, ...]], "Story"]


def group_stories(
    articles: Iterable[StoredArticle],
    ui_lang: str,
    langs: Sequence[str] = ("ru", "kk"),
    cache: StoryCache | None = None,
) -> list[Story]:
    """Stories in the order their first article appears in `articles` (so a newest-first list of
    articles gives a newest-first list of stories). Reprints in a news language the reader did not
    choose are left out: someone reading only Russian gets no Kazakh links.

    `cache` lets a caller that groups the same articles many times (planning a thousand distinct digests
    from one pool) build each story, and rank it, once: a story is the same object whenever the same
    articles form it for the same interface and news languages."""
    langs = tuple(langs)
    groups: dict[int, list[StoredArticle]] = {}
    for art in articles:  # each article once (they come from queries keyed by article id)
        key = story_key(art)
        if key in groups:
            groups[key].append(art)
        else:
            groups[key] = [art]
    stories = []
    for key, group in groups.items():
        cache_key = (ui_lang, langs, tuple(a.id for a in group))
        story = cache.get(cache_key) if cache is not None else None
        if story is None:
            story = _story(key, group, ui_lang, langs)
            if cache is not None:
                cache[cache_key] = story
        stories.append(story)
    return stories


def _story(key: int, group: list[StoredArticle], ui_lang: str, langs: tuple[str, ...]) -> Story:
    group = [
        replace(a, reprints=tuple(r for r in a.reprints if r.lang in langs))
        if any(r.lang not in langs for r in a.reprints)
        else a
        for a in group
    ]
    lead = _lead(group, ui_lang)
    rest = sorted((a for a in group if a.id != lead.id), key=lambda a: (a.published_at, a.id))
    return Story(id=key, lead=lead, articles=(lead, *rest))
