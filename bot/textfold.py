"""Small pure text helpers shared by language detection, topic rules and project matching.

Kazakh news mixes two Cyrillic orthographies (and sometimes Latin), so the same name reaches us as
«Төреғалиев» / «Турегалиев», «Сатимола» / «Satimola» / «САТИМОЛА».  These helpers give each part of the
project one agreed way to fold those variants together instead of every module inventing its own.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["KAZAKH_LETTERS", "fold_kazakh", "fold_yo", "latin_key", "words"]

# Letters of the Kazakh Cyrillic alphabet that Russian does not have (lower and upper case).
KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")

_YO = str.maketrans({"ё": "е", "Ё": "Е"})

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
    return text.translate(_YO)


def fold_kazakh(text: str) -> str:
    """Russian-language outlets spell Kazakh names without Kazakh letters (Тоқаев -> Токаев).

    Folding lets one fuzzy comparison cover both spellings; the length of the text never changes,
    so match offsets stay valid.
    """
    return text.translate(_KAZAKH_TO_RUSSIAN)


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
