"""Near-identical reprints: the same press release on several outlets, with small edits.

Pure decision logic over word sets. A new article is compared only with recent articles that share
title words (an inverted index), never with the whole table.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.textfold import fold_yo

_WORD = re.compile(r"\w+", re.UNICODE)
TITLE_JACCARD = 0.6
TEXT_JACCARD = 0.75
MIN_TEXT_WORDS = 5
_MAX_FINGERPRINT_WORDS = 120
MAX_POSTINGS = 64


def fingerprint(title: str, summary: str) -> str:
    """A compact, order-preserving word list of title and text: what reprint comparison looks at."""
    title_words = _WORD.findall(fold_yo(title).lower())
    text_words = _WORD.findall(fold_yo(summary).lower())[:_MAX_FINGERPRINT_WORDS]
    return " ".join(title_words) + "|" + " ".join(text_words)


def _split(fp: str) -> tuple[frozenset[str], frozenset[str]]:
    title, _, text = fp.partition("|")
    title_words = frozenset(title.split())
    return title_words, title_words | frozenset(text.split())


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    # |a ∪ b| from the sizes: one set operation instead of two (a pass compares each new article with up to
    # MAX_POSTINGS recent ones).
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


@dataclass
class _Entry:
    article_id: int
    root_id: int
    lang: str
    title: frozenset[str]
    words: frozenset[str]


@dataclass
class ReprintIndex:
    """Recent articles by title word, for finding what a new article may reprint."""

    _entries: dict[int, _Entry] = field(default_factory=dict)
    _by_word: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def add(self, article_id: int, root_id: int, lang: str, fp: str) -> None:
        title, words = _split(fp)
        self._entries[article_id] = _Entry(article_id, root_id, lang, title, words)
        for word in title:
            if len(word) >= 3:
                self._by_word[word].append(article_id)

    def remove(self, article_id: int) -> None:
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return
        for word in entry.title:
            ids = self._by_word.get(word)
            if not ids:
                continue
            # Removed entries are placeholders added moments ago: search from the end, not the front
            # (a common word's list is long, and `in` + `remove` scanned it twice from the start).
            for k in range(len(ids) - 1, -1, -1):
                if ids[k] == article_id:
                    del ids[k]
                    break

    def extend(self, items: Iterable[tuple[int, int, str, str]]) -> None:
        for article_id, root_id, lang, fp in items:
            self.add(article_id, root_id, lang, fp)

    def original_of(self, lang: str, fp: str) -> int | None:
        """The id of the first article this one reprints, or None if it is news of its own."""
        title, words = _split(fp)
        if len(words) < MIN_TEXT_WORDS:
            return None
        shared: dict[int, int] = defaultdict(int)
        # Words found in very many recent titles («Казахстан», «области») tell nothing about a reprint and
        # would make every comparison scan the whole window; only the rarer words nominate candidates.
        postings = sorted((self._by_word.get(word, []) for word in title), key=len)
        usable = [p for p in postings if len(p) <= MAX_POSTINGS] or postings[:1]
        for posting in usable:
            for candidate in posting[-MAX_POSTINGS:]:
                shared[candidate] += 1
        needed = max(1, len(usable) // 2)
        best: tuple[float, int] | None = None
        for candidate, count in shared.items():
            if count < needed:
                continue
            entry = self._entries[candidate]
            if entry.lang != lang:
                continue
            if _jaccard(title, entry.title) < TITLE_JACCARD:
                continue
            score = _jaccard(words, entry.words)
            if score >= TEXT_JACCARD and (best is None or score > best[0]):
                best = (score, entry.root_id)
        return None if best is None else best[1]
