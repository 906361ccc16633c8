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
from typing import NamedTuple

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


class Prints(NamedTuple):
    """A fingerprint split into the word sets compared: the title's, and the title's and text's together.

    A pass compares each new article's prints with the index, adds it under a placeholder and moves it to
    its stored id: split once (`prints`) and handed to each of those, instead of split at every step.
    """

    title: frozenset[str]
    words: frozenset[str]


def prints(fp: str) -> Prints:
    title, _, text = fp.partition("|")
    title_words = frozenset(title.split())
    return Prints(title_words, title_words | frozenset(text.split()))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    # |a ∪ b| from the sizes: one set operation instead of two (a pass compares each new article with up to
    # MAX_POSTINGS recent ones).
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


@dataclass(slots=True)
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

    def add(self, article_id: int, root_id: int, lang: str, fp: str | Prints) -> None:
        title, words = prints(fp) if isinstance(fp, str) else fp
        self._entries[article_id] = _Entry(article_id, root_id, lang, title, words)
        for word in title:
            if len(word) >= 3:
                self._by_word[word].append(article_id)

    def remove(self, article_id: int) -> None:
        entry = self._entries.pop(article_id, None)
        if entry is not None:
            self._replace_in_postings(entry, article_id, None)

    def rekey(self, article_id: int, new_id: int, root_id: int) -> None:
        """Give an entry (a placeholder) its stored id and root, keeping its place in the postings."""
        entry = self._entries.pop(article_id, None)
        if entry is None:
            return
        entry.article_id, entry.root_id = new_id, root_id
        self._entries[new_id] = entry
        self._replace_in_postings(entry, article_id, new_id)

    def _replace_in_postings(self, entry: _Entry, article_id: int, new_id: int | None) -> None:
        for word in entry.title:
            ids = self._by_word.get(word)
            if not ids:
                continue
            # Placeholders are replaced moments after they were added: search from the end, not the front
            # (a common word's list is long, and `in` + `remove` scanned it twice from the start).
            for k in range(len(ids) - 1, -1, -1):
                if ids[k] == article_id:
                    if new_id is None:
                        del ids[k]
                    else:
                        ids[k] = new_id
                    break

    def extend(self, items: Iterable[tuple[int, int, str, str]]) -> None:
        for article_id, root_id, lang, fp in items:
            self.add(article_id, root_id, lang, fp)

    def original_of(self, lang: str, fp: str | Prints) -> int | None:
        """The id of the first article this one reprints, or None if it is news of its own."""
        title, words = prints(fp) if isinstance(fp, str) else fp
        if len(words) < MIN_TEXT_WORDS:
            return None
        # Words found in very many recent titles («Казахстан», «области») tell nothing about a reprint and
        # would make every comparison scan the whole window; only the rarer words nominate candidates.
        by_word = self._by_word
        postings = sorted((by_word.get(word, _NONE) for word in title), key=len)
        usable = [p for p in postings if len(p) <= MAX_POSTINGS] or postings[:1]
        needed = max(1, len(usable) // 2)
        candidates: Iterable[int]
        if needed == 1:  # every article of a usable posting is a candidate: no need to count
            candidates = (
                usable[0][-MAX_POSTINGS:] if len(usable) == 1
                else dict.fromkeys(c for posting in usable for c in posting[-MAX_POSTINGS:])
            )
        else:
            shared: dict[int, int] = defaultdict(int)
            for posting in usable:
                for candidate in posting[-MAX_POSTINGS:]:
                    shared[candidate] += 1
            candidates = [c for c, count in shared.items() if count >= needed]
        entries = self._entries
        size = len(title)
        best: tuple[float, int] | None = None
        for candidate in candidates:
            entry = entries[candidate]
            if entry.lang != lang:
                continue
            # _jaccard(title, entry.title) inlined: this runs up to MAX_POSTINGS times per new article, and
            # both sets are non-empty here (the candidate came from a word of each).
            other = entry.title
            shared = len(title & other)
            if shared / (size + len(other) - shared) < TITLE_JACCARD:
                continue
            score = _jaccard(words, entry.words)
            if score >= TEXT_JACCARD and (best is None or score > best[0]):
                best = (score, entry.root_id)
        return None if best is None else best[1]


_NONE: list[int] = []
