"""Small pure text helpers shared by language detection, topic rules and project matching.

Kazakh news mixes two Cyrillic orthographies (and sometimes Latin), so the same name reaches us as
«Төреғалиев» / «Турегалиев», «Сатимола» / «Satimola» / «САТИМОЛА».  These helpers give each part of the
project one agreed way to fold those variants together instead of every module inventing its own.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import islice
from typing import TypeVar

__all__ = [
    "KAZAKH_LETTERS",
    "LOWER_UNSAFE",
    "FoldedText",
    "fold_kazakh",
    "fold_yo",
    "folded_text",
    "latin_key",
    "remember",
    "words",
]

# Letters of the Kazakh Cyrillic alphabet that Russian does not have (lower and upper case).
KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")

# Each Kazakh-only letter goes to the Russian letter a Russian-language outlet would print instead.
_KAZAKH_TO_RUSSIAN = str.maketrans(
    {
        "ә": "а", "Ә": "А",
        "ғ": "г", "Ғ": "Г",
        "қ": "к", "Қ": "К",
        "ң": "н", "Ң": "Н",
        "ө": "о", "Ө": "О",
        "ұ": "у", "Ұ": "У",
        "ү": "у", "Ү": "У",
        "һ": "х", "Һ": "Х",
        "і": "и", "І": "И",
    }
)  # fmt: skip
# str.translate with a dict walks the text in Python-level lookups (~80 ns a character); a guard search and
# one str.replace per letter present is an order of magnitude faster and gives the same string.
_KAZAKH_PAIRS = tuple((chr(key), value) for key, value in _KAZAKH_TO_RUSSIAN.items())
_ANY_KAZAKH = re.compile("[" + "".join(sorted(KAZAKH_LETTERS)) + "]")

# Cyrillic (after Kazakh and ё folding, lower case) to Latin.  The scheme is deliberately lossy:
# й, ы and и all become "i" and щ becomes "sh", because sources disagree exactly there
# (Кайрат/Каират, Казына/Kazina, Щучинск/Shuchinsk).  Hard and soft signs vanish.
_CYRILLIC_TO_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
        "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
        "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch",
        "ш": "sh", "щ": "sh", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia",
    }
)  # fmt: skip

# Latin letters that do not decompose under NFKD but have an obvious plain equivalent.
_LATIN_EXTRA = str.maketrans({"ı": "i", "ə": "a", "ɵ": "o", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe"})

# Applied in order to the Latin string, whichever script it came from, so that common romanisations of
# the same Cyrillic letter meet: ж zh/j/dzh -> j, х h/kh -> h, қ q -> k, в v/w -> v, ye -> e, y -> i,
# c (not in "ch") -> k, x -> ks, and з z -> s (final devoicing: КазМунайГаз / KazMunayGas).
_LATIN_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"dzh|dj", "j"),
        (r"zh", "j"),
        (r"z", "s"),
        (r"kh", "h"),
        (r"q", "k"),
        (r"w", "v"),
        (r"x", "ks"),
        (r"c(?!h)", "k"),
        (r"ye", "e"),
        (r"y", "i"),
        (r"[^a-z0-9]+", ""),
        (r"(.)\1+", r"\1"),  # doubled letters: Ассоциация/Asociation, Kazakhstan/Казахстан
    )
)

# A word is a run of letters/digits; hyphen-joined runs (Китай-город, БҚО-да, COVID-19) form one word.
_WORD_RE = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def fold_yo(text: str) -> str:
    """ё is optional in Russian print, so matching must not depend on it."""
    return text.replace("ё", "е").replace("Ё", "Е")


def fold_kazakh(text: str) -> str:
    """Russian-language outlets spell Kazakh names without Kazakh letters (Тоқаев -> Токаев).

    Folding lets one fuzzy comparison cover both spellings; the length of the text never changes,
    so match offsets stay valid.
    """
    if _ANY_KAZAKH.search(text) is None:
        return text
    for letter, replacement in _KAZAKH_PAIRS:
        text = text.replace(letter, replacement)
    return text


@lru_cache(maxsize=8192)
def latin_key(name: str) -> str:
    """A case-, script- and spelling-insensitive skeleton of a name, for merging and fuzzy lookup.

    «Сатимола», «САТИМОЛА», «Satimola» and the Kazakh spelling all give ``"satimola"``.  The key is
    lossy on purpose (see the tables above: й/ы/и -> i, ж/zh/j -> j, х/h/kh -> h, з/z -> s,
    doubled letters collapse); it is for comparing names, never for showing them.
    """
    text = fold_yo(fold_kazakh(name)).lower().translate(_CYRILLIC_TO_LATIN)
    text = unicodedata.normalize("NFKD", text.translate(_LATIN_EXTRA))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    for pattern, replacement in _LATIN_RULES:
        text = pattern.sub(replacement, text)
    return text


def words(text: str, *, parts: bool = True) -> list[str]:
    """Lower-case word tokens in text order.

    A hyphenated word is kept whole (so «Китай-город» can be told apart from «Китай») and, when
    ``parts`` is true, followed by its parts, so a lookup for «город» or «БҚО» still finds «БҚО-да».
    Underscores and punctuation separate words; digits count as letters.
    """
    result: list[str] = []
    for match in _WORD_RE.finditer(text):
        token = match.group().lower()
        result.append(token)
        if parts and "-" in token:
            result.extend(token.split("-"))
    return result


# Characters for which str.lower() disagrees with the regex engine's case-insensitive matching of the
# letters our patterns are written in (İ lower-cases to two characters; ı ſ and the old Cyrillic forms ᲀ..ᲆ
# stay as they are but match i / s / в д о с т ъ).  tests/test_topics.py checks this over all of Unicode.
# Looked for with `in` (a fast C scan each) rather than a character-class regex (several times slower).
LOWER_UNSAFE = "\u0130\u0131\u017f\u1c80\u1c81\u1c82\u1c83\u1c84\u1c85\u1c86"


class FoldedText:
    """``fold_yo(text)`` and the views of it every tagger of one news item needs, each computed once.

    Language detection, topic rules and project matching all get the same title + summary; ``folded_text``
    hands them one shared instance (the last text asked about), so the text is folded, split into
    whitespace-separated chunks and lower-cased once per item instead of once per tagger.
    """

    __slots__ = ("_distinct", "_lower_exact", "_lowered", "chunks", "folded", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded = fold_yo(text)
        self.chunks: list[str] = self.folded.split()
        self._distinct: frozenset[str] | None = None
        self._lowered: str | None = None
        self._lower_exact: bool | None = None

    @property
    def distinct(self) -> frozenset[str]:
        """The chunks without repetitions."""
        if self._distinct is None:
            self._distinct = frozenset(self.chunks)
        return self._distinct

    @property
    def lowered(self) -> str:
        """``folded.lower()``; same length and offsets as ``folded`` when ``lower_exact``."""
        if self._lowered is None:
            self._lowered = self.folded.lower()
        return self._lowered

    @property
    def lower_exact(self) -> bool:
        """True when a literal found in ``lowered`` stands exactly where a case-insensitive regex of it
        matches ``folded`` (letters a-z, 0-9 and Cyrillic; no İ ı ſ ᲀ..ᲆ in the text)."""
        if self._lower_exact is None:
            folded = self.folded
            self._lower_exact = not any(ch in folded for ch in LOWER_UNSAFE)
        return self._lower_exact


_last_folded: FoldedText | None = None


def folded_text(text: str) -> FoldedText:
    """A FoldedText of ``text``, reused when the previous call asked about the same text."""
    global _last_folded
    last = _last_folded
    if last is not None and last.text == text:
        return last
    result = _last_folded = FoldedText(text)
    return result


CHUNK_CACHE_SIZE = 20_000  # entries per per-chunk cache (a few MB at most)
_V = TypeVar("_V")


def remember(cache: dict[str, _V], chunk: str, value: _V) -> None:
    """Store a per-chunk result; a full cache forgets its older half (dicts keep insertion order)."""
    if len(cache) >= CHUNK_CACHE_SIZE:
        for old in list(islice(cache, CHUNK_CACHE_SIZE // 2)):
            cache.pop(old, None)
    cache[chunk] = value
