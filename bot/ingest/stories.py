"""One story across outlets and languages: which stored story a new article reports.

Reprint detection (reprints.py) compares words, which works within one language only. A Russian article and
a Kazakh article about the same event share almost no words, but they do share *evidence that survives
translation*:

- numbers and amounts: «1 093 млн долларов» ↔ «1093 млн АҚШ доллары», «в 1,7 раза» ↔ «1,7 есе»;
- names in Latin script: CHN ENERGY, Jiangsu SOHO;
- «quoted» names of several words;
- proper names once Kazakh letters are folded and endings stripped: Төреғалиевтің ↔ Турегалиева;
- places, countries and abbreviations that the two languages spell differently, through the bilingual table
  in bot/data/aliases.toml: БҚО ↔ ЗКО, Орал ↔ Уральск, ҚХР ↔ КНР.

Plain word overlap is deliberately not used: across the two languages it does not tell events apart.

The rule (`score`): two articles published within 72 hours, with compatible topics, are the same event when
they share at least two independent strong pieces of evidence (a name, a specific number, a Latin or quoted
name) or one very strong one (a rare amount such as «1093 млн долларов») plus anything else, and the shared
pieces weigh enough. A piece weighs less when many stories of the window share it: the governor's name and
the region appear in half the regional news and say little.

Everything here is pure: `signals()` turns one article into typed signals (run in the worker processes by
analyse.tag), `score()` weighs what two articles share, and `StoryIndex` finds candidates through rare
signals only, so a new article is never compared with the whole window. The pipeline decides and storage
stores; a story id once given never changes (a new article joins the best existing story or starts its own).
"""

from __future__ import annotations

import math
import re
import sys
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import NamedTuple

from bot.textfold import fold_kazakh, fold_yo, latin_key, remember
from storage.models import RecentStorySignals

__all__ = [
    "DEFAULT_ALIASES_FILE",
    "LINK_THRESHOLD",
    "STORY_WINDOW",
    "AliasTable",
    "AliasesFileError",
    "NOMINATING_STORIES",
    "Piece",
    "StoryIndex",
    "StoryItem",
    "StorySignals",
    "evidence",
    "name_key",
    "names_match",
    "number_weight",
    "rarity_key",
    "rarity_of",
    "score",
    "signals",
]

DEFAULT_ALIASES_FILE = Path(__file__).resolve().parents[1] / "data" / "aliases.toml"

# Outlets report an event within a day or two; three days also covers a weekend and a late Kazakh version.
STORY_WINDOW = timedelta(hours=72)
# A story is joined when the best score reaches this (see `score` for what adds up to it).
LINK_THRESHOLD = 2.2
# Pieces of evidence at least this strong (by kind, before rarity) are "strong"; two of them are needed, or one
# very strong number and anything else.
STRONG = 0.8
VERY_STRONG = 1.8
TOPIC_BONUS = 0.3
# Older candidates lose up to this share of their score at the window's edge: the nearer story wins a tie.
AGE_PENALTY = 0.2

# Rarity: a signal shared by at most this many stories of the window is taken at full weight ...
RARE_STORIES = 4
# ... more common ones lose weight (never below this share), and only signals of at most
# NOMINATING_STORIES stories propose candidates, from their MAX_POSTINGS most recent articles, until about
# MAX_CANDIDATES are found.
MIN_RARITY = 0.25
NOMINATING_STORIES = 40
MAX_POSTINGS = 100
MAX_CANDIDATES = 300
_MAX_TEXT = 2000

# --- reading the alias table ---------------------------------------------------------------------------------


class AliasesFileError(Exception):
    """The aliases file cannot be used; the message names the file, the entry and what is wrong."""


# Kazakh case and possessive endings as they look after fold_kazakh (қ→к, ғ→г, ң→н, і→и): a Kazakh name keeps
# its stem and glues these on (Орал → Оралда, Оралға; Төреғалиев → Төреғалиевтің).  Longest first.
_KK_ENDINGS = tuple(
    sorted(
        {
            "ндагы", "ндеги", "дагы", "деги", "тагы", "теги", "нын", "нин", "дын", "дин", "тын", "тин",
            "нан", "нен", "дан", "ден", "тан", "тен", "мен", "бен", "пен", "лык", "лик", "дык", "дик",
            "тык", "тик", "га", "ге", "ка", "ке", "на", "не", "да", "де", "та", "те", "ны", "ни", "ды",
            "ди", "ты", "ти", "шы", "ши",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
_KK_ENDING_SET = frozenset(_KK_ENDINGS)
# Russian case endings of names and of adjectives made from place names (Уральска, Турегалиевым, Акжаикском).
# -ов/-ев/-ин are surnames themselves and are never stripped.
_RU_ENDINGS = tuple(
    sorted(
        {
            "ыми", "ими", "ого", "его", "ому", "ему", "ой", "ей", "ом", "ем", "ым", "им", "ую", "юю", "ая",
            "яя", "ое", "ее", "ые", "ие", "ых", "их", "ах", "ях", "ам", "ям", "ий", "ый", "а", "я", "у",
            "ю", "е", "ы", "и",
        },
        key=len,
        reverse=True,
    )
)  # fmt: skip
_MIN_STEM = 4


def _fold(text: str) -> str:
    return fold_yo(fold_kazakh(text)).lower()


@dataclass(frozen=True, slots=True)
class _WordForm:
    text: str  # folded, lower case
    prefix: bool
    capital: bool


@dataclass(frozen=True, slots=True)
class _Form:
    key: str
    words: tuple[_WordForm, ...]


_BRACES = re.compile(r"\{([^{}]*)\}")


def _expand(word: str) -> list[str]:
    match = _BRACES.search(word)
    if match is None:
        return [word]
    out: list[str] = []
    for alternative in match.group(1).split(","):
        out.extend(_expand(word[: match.start()] + alternative.strip() + word[match.end() :]))
    return out


def _compile_form(key: str, form: str, source: str) -> list[_Form]:
    variants: list[list[_WordForm]] = [[]]
    for word in form.split():
        choices = []
        for option in _expand(word):
            prefix = option.endswith("*")
            text = _fold(option.rstrip("*"))
            if not text or (prefix and len(text) < 3) or "*" in text:
                raise AliasesFileError(f"{source}: [{key}] form {form!r}: bad word {option!r}")
            choices.append(_WordForm(text, prefix, option[:1].isupper()))
        variants = [v + [c] for v in variants for c in choices]
    return [_Form(key, tuple(v)) for v in variants if v]


class _Token(NamedTuple):
    """One word as alias matching and name finding see it (a named tuple: built by the thousand per pass)."""

    text: str
    folded: str
    head: str  # the folded part before a hyphen: БҚО-да → бко
    start: int
    end: int
    capital: bool
    latin: bool
    sentence_start: bool

    @property
    def abbreviation(self) -> bool:
        part = self.text.split("-")[0]
        return 2 <= len(part) <= 6 and part.isupper()


class AliasTable:
    """The bilingual alias table compiled for matching word by word (see the header of aliases.toml)."""

    def __init__(self, forms: Iterable[_Form], weights: Mapping[str, float]) -> None:
        self._weights = dict(weights)
        self._exact: dict[str, list[_Form]] = defaultdict(list)
        self._candidates: dict[str, list[_Form]] = {}  # by folded word: what `match` tries there
        self._prefix: dict[str, list[_Form]] = defaultdict(list)
        # First three letters of every form, and of the forms that may start on a lower-case word (китайск*).
        self._starts: set[str] = set()
        self._lower_starts: set[str] = set()
        for form in forms:
            first = form.words[0]
            self._starts.add(first.text[:3])
            if not first.capital:
                self._lower_starts.add(first.text[:3])
            if first.prefix:
                self._prefix[first.text[:3]].append(form)
            else:
                self._exact[first.text].append(form)
        for bucket in (*self._exact.values(), *self._prefix.values()):
            bucket.sort(key=lambda f: -len(f.words))

    @classmethod
    def load(cls, path: Path) -> AliasTable:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise AliasesFileError(f"{path}: {exc}") from exc
        forms: list[_Form] = []
        weights: dict[str, float] = {}
        for key, entry in data.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("forms"), list):
                raise AliasesFileError(f"{path}: [{key}] needs a list of forms")
            weight = entry.get("weight", 0.5)
            if not isinstance(weight, int | float) or not 0 <= weight <= 1:
                raise AliasesFileError(f"{path}: [{key}] weight must be a number from 0 to 1")
            weights[key] = float(weight)
            for form in entry["forms"]:
                if not isinstance(form, str) or not form.strip():
                    raise AliasesFileError(f"{path}: [{key}] has an empty or non-text form")
                forms.extend(_compile_form(key, form, str(path)))
        return cls(forms, weights)

    @staticmethod
    @cache
    def default() -> AliasTable:
        """The packaged table, loaded once per process (each worker process loads its own)."""
        return AliasTable.load(DEFAULT_ALIASES_FILE)

    def weight(self, key: str) -> float:
        return self._weights.get(key, 0.0)

    def starts(self, words: Sequence[str], folded: Sequence[str]) -> list[int]:
        """A cheap test before `match`: the positions where some form may start (БҚО-да starts like БҚО).

        One pass over the words, not a call per word: this looks at every word of every article.
        """
        starts, lower = self._starts, self._lower_starts
        return [
            i
            for i, (word, fold) in enumerate(zip(words, folded, strict=True))
            if (fold[:3].split("-", 1)[0] if "-" in fold[:3] else fold[:3]) in (starts if word[:1].isupper() else lower)
        ]

    def match(self, tokens: Sequence[_Token], i: int) -> tuple[str, int] | None:
        """The key and length of the longest form starting at token i, if any."""
        token = tokens[i]
        candidates = self._candidates.get(token.folded)
        if candidates is None:
            candidates = []
            for stem in _exact_stems(token):
                candidates.extend(self._exact.get(stem, ()))
            candidates.extend(self._prefix.get(token.folded[:3], ()))
            # The forms a word may start depend only on its folded text (its head and stems come from it).
            remember(self._candidates, token.folded, candidates)
        best: tuple[str, int] | None = None
        for form in candidates:
            n = len(form.words)
            if best is not None and n <= best[1]:
                continue
            if n == 1:  # most forms are one word: no neighbours to check
                if _word_matches(form.words[0], token, last=True):
                    best = (form.key, 1)
                continue
            if i + n > len(tokens) or not _adjacent(tokens, i, n):
                continue
            if all(_word_matches(w, tokens[i + k], last=k == n - 1) for k, w in enumerate(form.words)):
                best = (form.key, n)
        return best


def _exact_stems(token: _Token) -> Iterator[str]:
    word = token.folded
    yield word
    if token.head != word:
        yield token.head
    for size in range(2, min(6, len(word) - 1)):
        if word[-size:] in _KK_ENDING_SET:
            yield word[:-size]


def _word_matches(form: _WordForm, token: _Token, *, last: bool) -> bool:
    if form.capital and not token.capital:
        return False
    word = token.folded
    if form.prefix:
        return word.startswith(form.text)
    if word == form.text or (token.head == form.text and token.abbreviation):
        return True
    # Kazakh glues endings onto a name; only the last word of a phrase takes them.
    return last and word.startswith(form.text) and word[len(form.text) :] in _KK_ENDING_SET


def _adjacent(tokens: Sequence[_Token], i: int, n: int) -> bool:
    return all(not tokens[k].sentence_start for k in range(i + 1, i + n))


# --- tokens -----------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_DOMAIN_END_RE = re.compile(r"\.(?:kz|ru|com|org|net|info|io|gov|uz|kg|cn|me|tv)\b", re.I)
_URL_RE = re.compile(r"https?://\S+")


def _without_domains(text: str) -> str:
    """Outlet names like Zakon.kz or Tengrinews.kz sit in many leads and are not news: blank them out."""
    if "http" in text:
        text = _URL_RE.sub(" ", text)
    spans = []
    for m in _DOMAIN_END_RE.finditer(text):
        start = m.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in ".-"):
            start -= 1
        spans.append((start, m.end()))
    for start, end in reversed(spans):
        text = text[:start] + " " * (end - start) + text[end:]
    return text


_SKIP_BACK = set(" \t\u00a0«»\"“”„'’()—–-‐")
_BOUNDARY = set(".!?…\n")


def _sentence_start(text: str, pos: int) -> bool:
    """Whether the word at `pos` opens a sentence: there a capital letter says nothing about a name.

    A full stop after an initial or a short abbreviation (Н. Турегалиев, г. Уральск) is no boundary.
    """
    k = pos - 1
    while k >= 0 and text[k] in _SKIP_BACK:
        k -= 1
    if k < 0 or text[k] == "\n":
        return True
    if text[k] not in _BOUNDARY:
        return False
    if text[k] == ".":
        j = k - 1
        while j >= 0 and text[j].isalpha():
            j -= 1
        word = text[j + 1 : k]
        if len(word) == 1 or (0 < len(word) <= 3 and word.islower()):
            return False
    return True


class _Tokens(Sequence[_Token]):
    """The words of a text, each turned into a `_Token` only when looked at.

    Most words of an article are lower-case common words that no alias form and no name rule can start with;
    skipping their sentence analysis keeps extraction cheap. `words` and `folded` are plain lists for the
    loops that look at every word.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        matches = list(_TOKEN_RE.finditer(text))
        self.spans = [m.span() for m in matches]
        self.words = [m.group() for m in matches]
        # Folding the whole text once is far cheaper than word by word; lower() may change the length of a
        # few exotic letters, and then offsets would no longer line up.
        whole = _fold(text)
        if len(whole) == len(text):
            self.folded = [whole[a:b] for a, b in self.spans]
        else:
            self.folded = [_fold(w) for w in self.words]
        self._built: list[_Token | None] = [None] * len(self.words)

    def __len__(self) -> int:
        return len(self.words)

    def __getitem__(self, i: int) -> _Token:  # type: ignore[override]
        token = self._built[i]
        if token is None:
            word, folded = self.words[i], self.folded[i]
            start, end = self.spans[i]
            token = _Token(
                text=word,
                folded=folded,
                head=folded.split("-", 1)[0],
                start=start,
                end=end,
                capital=word[:1].isupper(),
                latin=word.isascii(),
                sentence_start=_sentence_start(self.text, start),
            )
            self._built[i] = token
        return token


# --- proper names ---------------------------------------------------------------------------------------------


def _strip_ending(word: str, lang: str) -> str:
    for ending in _KK_ENDINGS if lang == "kk" else _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


def name_key(word: str, lang: str) -> str:
    """A comparison key for a proper name in either language: Төреғалиевтің and Турегалиевым give one key.

    Kazakh letters fold to Russian ones, the case ending of the article's language is stripped, the rest goes
    through latin_key, and о/у merge: Russian prints Kazakh ө and ұ as о or у depending on the outlet
    (Төреғалиев → Турегалиев, Көкшетау → Кокшетау).
    """
    folded = _fold(word)
    parts = folded.split("-")
    parts[-1] = _strip_ending(parts[-1], lang)
    return latin_key("-".join(parts)).replace("o", "u")


def names_match(a: str, b: str) -> bool:
    """Two name keys name the same thing: equal, one an inflected form of the other, or one letter apart."""
    if a == b:
        return True
    if a[:2] != b[:2]:
        return False
    short = min(len(a), len(b))
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    if common >= 5 and common >= short - 3:
        return True
    if short >= 6:
        return _edit_distance(a, b, limit=1 if short < 12 else 2) <= (1 if short < 12 else 2)
    return False


def _edit_distance(a: str, b: str, *, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


# --- numbers --------------------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"(?<![\w.,])(\d{1,3}(?:[ \u00a0\u202f\u2009]\d{3})+|\d+)(?:[.,](\d+))?(?!\w)")
# Times (09:36), match scores (2:1) and dates (08.10.2025).
_TIME_OR_DATE_RE = re.compile(r"\b\d{1,3}:\d{1,3}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b")
_AFTER_RE = re.compile(r"\s*(%|\$|₸|[^\W\d_]+\.?)")
# Folded prefixes of the words that follow a number.
_MULTIPLIERS = (
    ("тыс", 10**3), ("мын", 10**3), ("млн", 10**6), ("миллион", 10**6), ("млрд", 10**9),
    ("миллиард", 10**9), ("трлн", 10**12), ("триллион", 10**12),
)  # fmt: skip
_UNITS = (
    ("доллар", "usd"), ("долл", "usd"), ("usd", "usd"), ("$", "usd"), ("тенге", "kzt"), ("тг", "kzt"),
    ("₸", "kzt"), ("kzt", "kzt"), ("евро", "eur"), ("еуро", "eur"), ("eur", "eur"), ("рубл", "rub"),
    ("юан", "cny"), ("%", "pct"), ("процент", "pct"), ("пайыз", "pct"), ("тонн", "t"), ("гектар", "ha"),
    ("мвт", "mw"), ("мегаватт", "mw"), ("км", "km"), ("километр", "km"), ("шакырым", "km"),
    ("кубометр", "m3"), ("куб", "m3"), ("текше", "m3"), ("центнер", "cwt"), ("человек", "ppl"),
    ("адам", "ppl"), ("рабоч", "jobs"), ("жумыс", "jobs"),
)  # fmt: skip
# Exact words only: «есеп» (a score) and «разный» are not «есе» and «раз».
_EXACT_UNITS = {"га": "ha", "т": "t", "раз": "x", "раза": "x", "есе": "x", "есеге": "x", "еседен": "x"}
# Words between an amount and its currency: «1093 млн АҚШ долларын», «$ США».
_SKIPPABLE = ("сша", "акш", "америк")
_YEAR_WORDS = ("год", "жыл", "гг")
_MONTHS = (
    "январ", "феврал", "март", "апрел", "мая", "май", "июн", "июл", "август", "сентябр", "октябр", "ноябр",
    "декабр", "кантар", "акпан", "наурыз", "сауир", "мамыр", "маусым", "шилде", "тамыз", "кыркуйек", "казан",
    "караша", "желтоксан",
)  # fmt: skip


def _numbers(text: str) -> set[str]:
    """Non-trivial numbers as "value:unit": amounts scaled by млн/млрд/мың, ratios, percentages, counts.

    Years (2025, «2025 жылы»), dates, times, ordinals (3-орында, 5-й) and bare numbers under 100 are left
    out: every article has them and they tell events apart no better than chance.
    """
    text = _TIME_OR_DATE_RE.sub(" ", text)
    out: set[str] = set()
    for m in _NUMBER_RE.finditer(text):
        end = m.end()
        if text[end : end + 1] == "-" and text[end + 1 : end + 2].isalpha():
            continue  # an ordinal: 3-орында, 2025-жылы, 10-го
        if text[max(0, m.start() - 2) : m.start()].strip() == "№":
            continue
        words = []
        for w in _AFTER_RE.finditer(text, end):
            if len(words) == 4 or w.start() != end:
                break
            words.append(_fold(w.group(1)).rstrip("."))
            end = w.end()
        multiplier = 1
        unit = "usd" if text[max(0, m.start() - 2) : m.start()].strip() == "$" else ""
        rest = list(words)
        if rest and (found := next((v for p, v in _MULTIPLIERS if rest[0].startswith(p)), None)):
            multiplier = found
            rest.pop(0)
        if rest and any(rest[0].startswith(w) for w in _YEAR_WORDS):
            continue
        if rest and multiplier == 1 and any(rest[0].startswith(month) for month in _MONTHS):
            continue  # a date: 8 августа, 8 қазан
        for word in rest[:3]:
            if word in _EXACT_UNITS:
                unit = unit or _EXACT_UNITS[word]
                break
            found_unit = next((u for p, u in _UNITS if word.startswith(p)), None)
            if found_unit:
                unit = unit or found_unit
                break
            if not word.startswith(_SKIPPABLE):
                break
        integer = re.sub(r"\D", "", m.group(1))
        try:
            value = (Decimal(f"{integer}.{m.group(2) or '0'}") * multiplier).normalize()
        except InvalidOperation:
            continue
        if value == 0:
            continue
        if multiplier == 1 and not unit:
            if value < 100 or (m.group(2) is None and 1900 <= value <= 2100):
                continue
        out.add(f"{format(value, 'f')}:{unit}")
    return out


def number_weight(number: str) -> float:
    """How much one shared number says: more significant digits and a unit make a coincidence unlikely.

    «1093 млн долларов» (four significant digits, a currency) is very strong; «1,7 раза» is strong; «2 раза»
    or a bare «300» is weak.
    """
    value, _, unit = number.partition(":")
    if "." in value:
        digits = value.replace(".", "").lstrip("0")
    else:
        digits = value.lstrip("0").rstrip("0")
    significant = len(digits)
    sized = bool(unit) or len(value.split(".")[0]) >= 5
    if significant >= 3:
        return 2.0 if sized else 1.3
    if significant == 2:
        return 1.2 if sized else 0.9
    return 0.6 if sized else 0.4


def _units_agree(a: str, b: str) -> bool:
    return not a or not b or a == b


# --- the signals of one article ----------------------------------------------------------------------------

_QUOTED_RE = re.compile(r"[«„“\"]([^«»„“”\"\n]{2,80})[»“”\"]")
_LATIN_STOP = frozenset(
    latin_key(w)
    for w in (
        "group holding holdings company co corp corporation ltd llc inc jsc plc gmbh ag sa the of and for in on "
        "at to by an a international news online www http https kz ru com org"
    ).split()
)
_MAX_QUOTED_WORDS = 6
# Name keys that end like a surname (Турегалиев, Утепбаева, Төлегенұлы): kept even when a capitalised word
# follows (Kazakh: «Өтепбаев Ақжайық ауданындағы ...»), unlike a first name (Нариман Төреғалиев).
_SURNAME_ENDINGS = ("uv", "ev", "uva", "eva", "in", "ina", "uli", "kisi")
_LATIN_TEXT_WORDS = 12
_KINDS = {"n": "numbers", "l": "latin", "q": "quoted", "p": "names", "o": "openers", "a": "aliases"}
_SLOTS = {f"{prefix}:": n for n, prefix in enumerate(_KINDS)}  # in the field order of StorySignals


@dataclass(frozen=True, slots=True)
class StorySignals:
    """What one article offers for cross-language comparison, by kind (see the module docstring).

    numbers  "value:unit" — "1093000000:usd", "1.7:x", "450:"
    latin    latin_key of Latin-script words — "chn", "energi", "jiangsu", "soho"
    quoted   «phrases» of two or more words, as name keys joined by "_"
    names    name_key of capitalised words that are not at a sentence start (the last word of a full name)
    openers  name_key of capitalised words that open a sentence: a name or just any word. Kazakh often opens a
             sentence with the place or person it is about (Муратсай ауылына барған ...), so they are kept,
             but they only ever count against a mid-sentence *name* of the other article.
    aliases  keys of bot/data/aliases.toml — "zko", "oral", "china"
    """

    numbers: frozenset[str] = frozenset()
    latin: frozenset[str] = frozenset()
    quoted: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    openers: frozenset[str] = frozenset()
    aliases: frozenset[str] = frozenset()
    # keys() is asked for several times per new article (storage, the index, candidates): computed once.
    _keys: tuple[str, ...] | None = field(default=None, init=False, compare=False, repr=False)

    def keys(self) -> tuple[str, ...]:
        """A flat, stable encoding ("n:1.7:x", "p:turegaliev", ...) for storage; see `from_keys`."""
        if self._keys is None:
            out = []
            for prefix, kind in _KINDS.items():
                out.extend(f"{prefix}:{value}" for value in sorted(getattr(self, kind)))
            object.__setattr__(self, "_keys", tuple(out))
        return self._keys  # type: ignore[return-value]

    @classmethod
    def from_keys(cls, keys: Iterable[str]) -> StorySignals:
        kinds: tuple[set[str], ...] = (set(), set(), set(), set(), set(), set())
        slot = _SLOTS
        for key in keys:
            where = slot.get(key[:2])
            if where is not None and len(key) > 2:
                # Interned: the same names and places recur across thousands of articles of a window.
                kinds[where].add(sys.intern(key[2:]))
        return cls(*map(frozenset, kinds))

    def __bool__(self) -> bool:
        return bool(self.numbers or self.latin or self.quoted or self.names or self.openers or self.aliases)


def signals(title: str, summary: str, lang: str, table: AliasTable | None = None) -> StorySignals:
    """Extract the story signals of one article (pure; CPU work, so it runs where tagging runs)."""
    table = table or AliasTable.default()
    text = f"{title}\n{summary}"[:_MAX_TEXT]
    text = _without_domains(text).replace("‐", "-").replace("‑", "-")
    tokens = _Tokens(text)
    words, folded = tokens.words, tokens.folded
    aliases: set[str] = set()
    consumed = [False] * len(words)
    after = 0  # the first word after the last match: a form never starts inside another
    for i in table.starts(words, folded):
        if i < after or (hit := table.match(tokens, i)) is None:
            continue
        key, n = hit
        if table.weight(key) > 0:
            aliases.add(key)
        for k in range(i, i + n):
            consumed[k] = True
        after = i + n

    latin: set[str] = set()
    latin_at = [k for k, word in enumerate(words) if word.isascii()]
    # A whole text in Latin script (Kazakh in the Latin alphabet) is no place to look for Latin *names*.
    if len(latin_at) <= _LATIN_TEXT_WORDS or len(latin_at) * 2 <= len(words):
        for k in latin_at:
            if not consumed[k]:
                key = latin_key(words[k])
                if len(key) >= 2 and key not in _LATIN_STOP:
                    latin.add(key)

    names: set[str] = set()
    openers: set[str] = set()
    for k, word in enumerate(words):
        if consumed[k] or not word[:1].isupper() or word.isascii():
            continue
        t = tokens[k]
        key = latin_key(t.head) if t.abbreviation else name_key(t.text, lang)
        # The next word is only looked at closely (made a token) when it could continue a name.
        nxt = tokens[k + 1] if k + 1 < len(words) and not consumed[k + 1] and words[k + 1][:1].isupper() else None
        if (
            nxt is not None
            and not nxt.latin
            and not nxt.sentence_start
            and text[t.end : nxt.start].isspace()
            and not t.abbreviation
            and not key.endswith(_SURNAME_ENDINGS)
        ):
            continue  # a first name or the first word of a longer name: keep the last word (the surname)
        if len(key) < 3:
            continue
        (openers if t.sentence_start and not t.abbreviation else names).add(key)
    # A capitalised word opening a sentence is surely a name if the text also uses it mid-sentence.
    confirmed = {key for key in openers if any(names_match(key, other) for other in names)}
    names.update(confirmed)
    openers -= confirmed

    quoted: set[str] = set()
    for m in _QUOTED_RE.finditer(text):
        phrase = _TOKEN_RE.findall(m.group(1))
        if 2 <= len(phrase) <= _MAX_QUOTED_WORDS and not all(w.isascii() for w in phrase):
            quoted.add("_".join(name_key(w, lang) for w in phrase))

    return StorySignals(
        numbers=frozenset(_numbers(text)),
        latin=frozenset(latin),
        quoted=frozenset(quoted),
        names=frozenset(names),
        openers=frozenset(openers - names),
        aliases=frozenset(aliases),
    )


# --- scoring ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoryItem:
    """An article as story linking sees it: its signals, when it was published, its digest topics."""

    signals: StorySignals
    published: datetime
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Piece:
    """One shared piece of evidence: how strong its kind is (`strength`) and what it is worth after rarity.

    Strength decides whether there is enough independent evidence at all (a name, a specific amount); the
    weight, discounted when many stories of the window share the signal, decides the score.
    """

    kind: str
    value: str
    strength: float
    weight: float


Rarity = Callable[[str], float]


def _full(key: str) -> float:
    return 1.0


_RARITY_PREFIX = {"numbers": "n:", "latin": "l:", "quoted": "q:", "names": "p:", "openers": "p:", "aliases": "a:"}


def rarity_key(kind: str, value: str) -> str:
    """The key a signal's stories are counted under: the exact signal, a number without its unit."""
    if kind == "numbers":
        value = value.partition(":")[0]
    return _RARITY_PREFIX[kind] + value


def _member_keys(keys: Iterable[str]) -> tuple[set[str], set[str]]:
    """From StorySignals.keys(): the keys an article nominates candidates under, and every key whose stories
    are counted.

    Numbers (without unit) and Latin words nominate as they are; names and quotes by their first five letters,
    so that inflected and one-letter-off spellings meet (Ақжайық / Акжаикский). Rarity is counted for those
    and for the exact signals (`rarity_key`). Written on the stored form and kind by kind: building the index
    of a pass calls this for every article of the window.
    """
    postings: set[str] = set()
    counted: set[str] = set()
    for key in keys:
        kind, value = key[:1], key[2:]
        if kind == "n":
            postings.add("n:" + value.partition(":")[0])
        elif kind == "l":
            postings.add(key)
        elif kind == "p" or kind == "o":
            postings.add("pb:" + value[:5])
            counted.add("p:" + value)
        elif kind == "q":
            postings.add("qb:" + value[:5])
            counted.add(key)
        elif kind == "a":
            counted.add(key)
    counted |= postings
    return postings, counted


def evidence(
    a: StorySignals, b: StorySignals, *, rarity: Rarity = _full, table: AliasTable | None = None
) -> tuple[Piece, ...]:
    """Everything two articles share that survives translation, each piece weighed once.

    Latin words count as one piece (CHN + ENERGY is one name); a name inside a shared «quoted phrase» is not
    counted again; numbers must agree on the unit when both have one (1093 млн долларов ≠ 1093 млн тенге).
    """
    table = table or AliasTable.default()
    pieces: list[Piece] = []
    b_numbers: dict[str, list[str]] = defaultdict(list)
    for number in b.numbers:
        value, _, unit = number.partition(":")
        b_numbers[value].append(unit)
    for number in sorted(a.numbers):
        value, _, unit = number.partition(":")
        if any(_units_agree(unit, other) for other in b_numbers.get(value, ())):
            strength = number_weight(number)
            pieces.append(Piece("numbers", number, strength, strength * rarity(rarity_key("numbers", number))))

    shared_latin = sorted(a.latin & b.latin)
    if shared_latin:
        weights = sorted((rarity(rarity_key("latin", w)) for w in shared_latin), reverse=True)
        strength = min(2.4, 1.5 + 0.4 * (len(weights) - 1))
        weight = min(2.4, 1.5 * weights[0] + 0.4 * sum(weights[1:]))
        pieces.append(Piece("latin", " ".join(shared_latin), strength, weight))

    quote_words: list[str] = []
    used: set[str] = set()
    for q in sorted(a.quoted):
        other = next((x for x in sorted(b.quoted) if x not in used and names_match(q, x)), None)
        if other is not None:
            used.add(other)
            quote_words.extend(q.split("_") + other.split("_"))
            pieces.append(Piece("quoted", q, 1.5, 1.5 * rarity(rarity_key("quoted", q))))

    # A name may meet a name or an opener of the other article; two openers never count (any two texts may
    # open a sentence with the same ordinary word).
    used.clear()
    b_names = sorted(b.names)
    pairs = [(name, b_names + sorted(b.openers)) for name in sorted(a.names)]
    pairs += [(opener, b_names) for opener in sorted(a.openers)]
    for name, others in pairs:
        if any(names_match(name, w) for w in quote_words):
            continue
        other = next((x for x in others if x not in used and names_match(name, x)), None)
        if other is not None:
            used.add(other)
            pieces.append(Piece("names", name, 1.0, 1.0 * rarity(rarity_key("names", name))))

    for key in sorted(a.aliases & b.aliases):
        strength = table.weight(key)
        if strength > 0:
            pieces.append(Piece("aliases", key, strength, strength * rarity(rarity_key("aliases", key))))
    return tuple(pieces)


def _enough(pieces: Sequence[Piece]) -> bool:
    """Two strong pieces, or a very strong number with anything else (1093 млн долларов + ЗКО).

    Strength, not weight: a common name is still an independent piece of evidence, it just adds less.
    """
    strong = sum(1 for p in pieces if p.strength >= STRONG)
    very = any(p.kind == "numbers" and p.strength >= VERY_STRONG for p in pieces)
    return strong >= 2 or (very and len(pieces) >= 2)


def score(a: StoryItem, b: StoryItem, *, rarity: Rarity = _full, table: AliasTable | None = None) -> float:
    """How sure we are that a and b report the same event; 0.0 when they cannot (then it is not a close call).

    Required: publication within STORY_WINDOW, compatible topics (both tagged and none shared means two
    different subjects), and enough independent evidence (`_enough`). The score is the sum of the pieces'
    weights, plus a bonus for a shared topic, less a little for distance in time. Word overlap is never used:
    across Russian and Kazakh it does not tell events apart.
    """
    apart = abs(a.published - b.published)
    if apart > STORY_WINDOW:
        return 0.0
    shared_topics = set(a.topics) & set(b.topics)
    if a.topics and b.topics and not shared_topics:
        return 0.0
    pieces = evidence(a.signals, b.signals, rarity=rarity, table=table)
    if not _enough(pieces):
        return 0.0
    total = sum(p.weight for p in pieces) + (TOPIC_BONUS if shared_topics else 0.0)
    return round(total * (1 - AGE_PENALTY * (apart / STORY_WINDOW)), 4)


def rarity_of(stories: int) -> float:
    """Weight share of a signal found in `stories` stories of the window: common names say little."""
    if stories <= RARE_STORIES:
        return 1.0
    return max(MIN_RARITY, math.sqrt(RARE_STORIES / stories))


# --- the index ---------------------------------------------------------------------------------------------


def _probes(s: StorySignals) -> list[tuple[tuple[str, ...], bool]]:
    """For each strong-capable signal of a new article, the substrings that show it in a stored key string,
    and whether it is a very strong number. See `_may_pass`."""
    out: list[tuple[tuple[str, ...], bool]] = []
    for number in s.numbers:
        out.append(((f" n:{number.partition(':')[0]}:",), number_weight(number) >= VERY_STRONG))
    out.extend(((f" l:{value} ",), False) for value in s.latin)
    out.extend(((f" q:{value[:5]}",), False) for value in s.quoted)
    out.extend(((f" p:{value[:5]}", f" o:{value[:5]}"), False) for value in s.names | s.openers)
    return out


def _may_pass(probes: Sequence[tuple[tuple[str, ...], bool]], keys: str) -> bool:
    """A cheap, generous test before scoring: could the stored article share enough strong evidence?

    `_enough` needs two strong pieces or a very strong number; strong pieces come only from numbers, Latin
    words, quotes and names, each visible as a key (or a name's first letters) in the stored string. Counting
    matching probes can only over-count, so no candidate that would pass is dropped.
    """
    hay = f" {keys} "
    shared = 0
    for alternatives, very in probes:
        if any(probe in hay for probe in alternatives):
            if very:
                return True
            shared += 1
            if shared == 2:
                return True
    return False


@dataclass(slots=True)
class _Member:
    """An article of the index. Its signals stay in their stored form until it is first scored: most articles
    of a window never become a candidate, and parsing them all would cost time and memory at every pass."""

    article_id: int
    story_id: int
    published: datetime
    topics: tuple[str, ...]
    keys: str  # StorySignals.keys(), space-separated (as stored)
    parsed: StoryItem | None = None

    def item(self) -> StoryItem:
        if self.parsed is None:
            signals = StorySignals.from_keys(self.keys.split(" ") if self.keys else ())
            self.parsed = StoryItem(signals, self.published, self.topics)
        return self.parsed


def _last_position(posting: list[int], article_id: int) -> int | None:
    """Where `article_id` sits in a posting list, searched from the end: placeholders are removed or renamed
    soon after being added, and a common signal's list is long."""
    for k in range(len(posting) - 1, -1, -1):
        if posting[k] == article_id:
            return k
    return None


@dataclass
class StoryIndex:
    """Recent articles by signal, for finding the story a new article belongs to.

    Candidates come only through signals that few stories of the window share (a rare number, a company
    name); signals shared by many stories (a country, the governor) still add weight when scoring but never
    nominate, so one lookup touches a handful of articles however large the window is.
    Ids may be negative placeholders for articles of a batch not yet stored (as in ReprintIndex).
    """

    window: timedelta = STORY_WINDOW
    table: AliasTable = field(default_factory=AliasTable.default)
    _members: dict[int, _Member] = field(default_factory=dict)
    _postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _stories: dict[str, dict[int, int]] = field(default_factory=dict)  # key → story → articles

    def __len__(self) -> int:
        return len(self._members)

    def add(
        self, article_id: int, story_id: int, signals: StorySignals, published: datetime, topics: Iterable[str] = ()
    ) -> None:
        self._add(_Member(article_id, story_id, published, tuple(topics), " ".join(signals.keys())))

    @classmethod
    def from_recent(cls, rows: Iterable[RecentStorySignals], *, table: AliasTable | None = None) -> StoryIndex:
        """The index of a pass, from what storage kept of the window's articles."""
        index = cls(table=table or AliasTable.default())
        for r in rows:
            index._add(_Member(r.id, r.story_id, r.published_at, r.topics, r.signals))
        return index

    def _add(self, member: _Member) -> None:
        if member.article_id in self._members:
            self.remove(member.article_id)
        self._members[member.article_id] = member
        postings, counted = _member_keys(member.keys.split(" ") if member.keys else ())
        for key in postings:
            self._postings[key].append(member.article_id)
        self._count(counted, member.story_id)

    def remove(self, article_id: int) -> None:
        member = self._members.pop(article_id, None)
        if member is None:
            return
        self._uncount(self._replace_in_postings(member, article_id, None), member.story_id)

    def _replace_in_postings(self, member: _Member, article_id: int, new_id: int | None) -> set[str]:
        """Put `new_id` in `article_id`'s place in the postings of the member's keys, or drop it (None).

        Returns the keys that rarity counts. Keys are recomputed rather than kept: a member is removed or
        renamed only as a placeholder, and the window is large.
        """
        postings, counted = _member_keys(member.keys.split(" ") if member.keys else ())
        for key in postings:
            posting = self._postings[key]
            if (k := _last_position(posting, article_id)) is not None:
                if new_id is None:
                    del posting[k]
                else:
                    posting[k] = new_id
            if not posting:
                del self._postings[key]
        return counted

    def _count(self, keys: Iterable[str], story_id: int) -> None:
        """One more article of `story_id` carries each of `keys` (what rarity counts)."""
        stories = self._stories
        for key in keys:
            counts = stories.get(key)
            if counts is None:
                stories[key] = counts = {}
            counts[story_id] = counts.get(story_id, 0) + 1

    def _uncount(self, keys: Iterable[str], story_id: int) -> None:
        for key in keys:
            counts = self._stories[key]
            counts[story_id] -= 1
            if counts[story_id] <= 0:
                del counts[story_id]
            if not counts:
                del self._stories[key]

    def rekey(self, article_id: int, new_id: int, story_id: int) -> None:
        """Give a member (a placeholder) its stored id and story, keeping its place in the postings.

        What `remove` and then `add` under the new id would leave, for one pass over the member's keys
        instead of two, and without turning its signals into keys again.
        """
        member = self._members.pop(article_id, None)
        if member is None:
            return
        counted = self._replace_in_postings(member, article_id, new_id)
        if story_id != member.story_id:
            self._uncount(counted, member.story_id)
            self._count(counted, story_id)
        member.article_id, member.story_id = new_id, story_id
        self._members[new_id] = member

    def story_of(self, article_id: int) -> int | None:
        member = self._members.get(article_id)
        return None if member is None else member.story_id

    def rarity(self, key: str) -> float:
        counts = self._stories.get(key)
        return rarity_of(len(counts) if counts else 0)

    def candidates(self, signals: StorySignals) -> set[int]:
        """Article ids sharing a rare signal with `signals`: the rarest signals first, about MAX_CANDIDATES at most.

        An article whose every signal is common gets none: shared common signals weigh too little after rarity
        to reach the threshold, and scoring hundreds of candidates per article would stall the event loop.
        """
        ranked = sorted((len(self._stories[k]), k) for k in _member_keys(signals.keys())[0] if k in self._postings)
        out: set[int] = set()
        for stories, key in ranked:
            if stories > NOMINATING_STORIES or len(out) >= MAX_CANDIDATES:
                break
            out.update(self._postings[key][-MAX_POSTINGS:])
        return out

    def best(
        self, signals: StorySignals, published: datetime, topics: Iterable[str] = ()
    ) -> tuple[int, float] | None:
        """The best-scoring story at or above LINK_THRESHOLD and its score, or None."""
        new = StoryItem(signals, published, tuple(topics))
        probes = _probes(signals)
        by_story: dict[int, float] = {}
        for article_id in self.candidates(signals):
            member = self._members[article_id]
            if abs(member.published - published) > self.window or not _may_pass(probes, member.keys):
                continue
            value = score(new, member.item(), rarity=self.rarity, table=self.table)
            if value >= LINK_THRESHOLD and value > by_story.get(member.story_id, 0.0):
                by_story[member.story_id] = value
        if not by_story:
            return None
        # Highest score; on a tie a stored story before a placeholder, then the oldest (smallest id).
        story = max(by_story, key=lambda s: (by_story[s], s >= 0, -abs(s)))
        return story, by_story[story]

    def best_story(self, signals: StorySignals, published: datetime, topics: Iterable[str] = ()) -> int | None:
        found = self.best(signals, published, topics)
        return None if found is None else found[0]
