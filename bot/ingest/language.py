"""Decide whether a news item is written in Russian or Kazakh, from its own text.

Feeds lie about their language (bilingual sites put both into one feed), so the feed's hint only breaks
ties.  The evidence is combined as log-odds (positive = Kazakh, negative = Russian):

* Kazakh-only letters (ә ғ қ ң ө ұ ү һ і).  Scored as a likelihood ratio over *all* Cyrillic letters, so a
  Russian article quoting one Kazakh name (a couple of such letters among hundreds) leans Russian, while a
  long text with none at all is strong Russian evidence and a three-word headline with none is not.
* Frequent function words that exist in only one of the languages («және», «бойынша», «мен» / «в», «для»,
  «что») and a few unmistakably Russian inflections (-ого, -ться, -ский ...).
* ``lingua`` restricted to Russian and Kazakh, consulted only when the two cheap signals are not decisive
  (short headlines, Kazakh written without Kazakh letters); it is loaded lazily, on the first such call.

Speed: both cheap signals only look inside whitespace-separated chunks (the Latin-look-alike rule only
looks at a letter's neighbours, and ё/е count alike), so their counts are cached per chunk of the
ё-folded text (``textfold.folded_text``, shared with the topic and project taggers) and a call adds up a
few tuples.  ``detect_language`` also skips lingua when its capped evidence could not change the answer.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from bot.textfold import KAZAKH_LETTERS, folded_text, remember, words

if TYPE_CHECKING:
    from lingua import LanguageDetector

__all__ = ["Lang", "detect_language", "language_score", "load_models", "needs_lingua"]

Lang = Literal["ru", "kk"]

# Share of Kazakh-only letters among Cyrillic letters: ~0.13 in our Kazakh items and samples (0.10 is used
# to stay safe on loanword-heavy text); a Russian text only has them in quoted names.
_P_KAZAKH_LETTER_IF_KK = 0.10
_P_KAZAKH_LETTER_IF_RU = 0.005
_LETTER_WEIGHT = 0.5  # letters are not independent draws; halve the naive likelihood ratio
_LETTER_CAP = 12.0
_WORD_WEIGHT = 1.5
_WORD_CAP = 6.0
_LINGUA_CAP = 6.0
_DECISIVE = 8.0  # beyond this the cheap evidence settles it and lingua is not consulted
_TIE = 1.0  # within this the feed's hint wins

_KAZAKH_FUNCTION_WORDS = frozenset(
    """
    және мен пен бен бойынша туралы үшін жылы жылғы деп осы сол бұл бар жоқ емес ал әрі тек
    болды болады болып болса болмақ арасында арқылы кейін дейін бастап қарай ретінде сияқты тиіс керек
    шамамен жуық кезде кезінде бірге қазір биыл былтыр облысы облысында облыстың ауданы ауданында
    қаласы қаласында елімізде еліміздің салынады басталды басталады ашылды ашылады артты барды келді
    алды берді етті жасалды өтті өтеді жүр
    """.split()
)
# Only words that are not also Kazakh words («он» is "ten", «не» is "what", «да» is a particle).
_RUSSIAN_FUNCTION_WORDS = frozenset(
    """
    в во на и с со по для из что от к ко за до при это как после также будет более его ее их они или но
    об у же уже еще так который которые которая которых был была было были года году этом этой всех
    где когда чем между около через против без под над перед область области района города
    """.split()
)
# Checked with str.endswith (one C call) on words longer than 4 letters.
_RUSSIAN_ENDINGS = tuple(
    """
    ого его ому ему ыми ими ться тся ость ости ение ении ание ании ский ская ское ские
    ских ской цкий цкая ила или ился ется ются ует уют ных ным
    """.split()
)

_CYRILLIC_LETTERS = "а-яёА-ЯЁ" + "".join(sorted(KAZAKH_LETTERS))  # a regex character-class body
_CYRILLIC = re.compile(f"[{_CYRILLIC_LETTERS}]")
_CYRILLIC_SET = frozenset(chr(c) for c in range(0x400, 0x530) if _CYRILLIC.match(chr(c)))  # as a set
# Some Kazakh sites type a Latin i, ə or ɵ for і, ә, ө; inside a Cyrillic word they are Kazakh letters.
_HOMOGLYPHS = str.maketrans({"ə": "ә", "Ə": "Ә", "ɵ": "ө", "Ɵ": "Ө"})
# An i or I right after or right before a Cyrillic letter.  The letter comes first in the regex so that
# the engine can jump from one i to the next instead of trying a look-behind at every position.
_LATIN_I_IN_CYRILLIC = re.compile(f"[iI](?:(?<=[{_CYRILLIC_LETTERS}].)|(?=[{_CYRILLIC_LETTERS}]))")
_NEEDS_NORMALISING = re.compile("[iIəƏɵƟ]")

_PER_HIT = math.log(_P_KAZAKH_LETTER_IF_KK / _P_KAZAKH_LETTER_IF_RU)
_PER_MISS = math.log((1 - _P_KAZAKH_LETTER_IF_KK) / (1 - _P_KAZAKH_LETTER_IF_RU))
# Per whitespace-separated chunk of the ё-folded text: (Cyrillic letters, Kazakh letters, word votes) after
# normalising it once (language_score) or twice (detect_language, which normalises before calling it).
_chunk_stats_once: dict[str, tuple[int, int, int]] = {}
_chunk_stats_twice: dict[str, tuple[int, int, int]] = {}


def detect_language(title: str, summary: str = "", hint: str = "auto") -> Lang:
    """Russian or Kazakh for one news item; ``hint`` ("ru" / "kk" / "auto") only breaks ties.

    Text without any Cyrillic letters cannot be judged, so it gets the hint (Russian when "auto").
    """
    if hint not in ("ru", "kk", "auto"):
        raise ValueError(f"language hint must be 'ru', 'kk' or 'auto', got {hint!r}")
    raw = f"{title}\n{summary}"
    score = _cheap_score(raw)
    if score is None:
        return "kk" if hint == "kk" else "ru"
    if _needs_lingua(score, hint):
        score += _lingua_evidence(_normalise(_normalise(raw)))
    if abs(score) < _TIE and hint != "auto":
        return "kk" if hint == "kk" else "ru"
    return "kk" if score > 0 else "ru"


def needs_lingua(title: str, summary: str = "", hint: str = "auto") -> bool:
    """Whether detect_language would consult lingua for this item (whose models take 0.3 s and 70 MB to load).

    The parent of the worker processes asks, so as to tag only items that do not need it while the workers,
    which share the models, are starting (analyse.ProcessAnalyser).
    """
    score = _cheap_score(f"{title}\n{summary}")
    return score is not None and _needs_lingua(score, hint)


def _cheap_score(raw: str) -> float | None:
    """The letter and word evidence of title + summary as log-odds; None for text without Cyrillic letters."""
    # The same as scoring language_score(_normalise(raw)), which normalises a second time.
    cyrillic, kazakh, votes = _stats(raw, _chunk_stats_twice, twice=True)
    if not cyrillic:
        return None
    return _letter_score(cyrillic, kazakh) + _word_score(votes)


def _needs_lingua(cheap: float, hint: str) -> bool:
    return abs(cheap) < _DECISIVE and _lingua_can_matter(cheap, hint)


def language_score(text: str) -> float:
    """Log-odds that ``text`` is Kazakh rather than Russian (exposed for diagnostics and tests)."""
    cyrillic, kazakh, votes = _stats(text, _chunk_stats_once, twice=False)
    score = _letter_score(cyrillic, kazakh) + _word_score(votes)
    if abs(score) < _DECISIVE:
        score += _lingua_evidence(_normalise(text))
    return score


def _lingua_can_matter(cheap: float, hint: str) -> bool:
    """Whether lingua's evidence, capped at ±_LINGUA_CAP, could still change detect_language's answer.

    With no hint only the sign counts: beyond the cap it cannot flip.  With a hint, a score within _TIE
    of zero also changes the answer, so the margin is the cap plus _TIE.
    """
    if hint == "auto":
        return -_LINGUA_CAP < cheap <= _LINGUA_CAP
    return -(_LINGUA_CAP + _TIE) < cheap < _LINGUA_CAP + _TIE


def _stats(text: str, cache: dict[str, tuple[int, int, int]], *, twice: bool) -> tuple[int, int, int]:
    """(Cyrillic letters, Kazakh letters, word votes) of the normalised text, summed over its chunks."""
    cyrillic = kazakh = votes = 0
    for chunk in folded_text(text).chunks:
        stats = cache.get(chunk)
        if stats is None:
            stats = _chunk_stats(chunk, cache, twice=twice)
        cyrillic += stats[0]
        kazakh += stats[1]
        votes += stats[2]
    return cyrillic, kazakh, votes


def _chunk_stats(chunk: str, cache: dict[str, tuple[int, int, int]], *, twice: bool) -> tuple[int, int, int]:
    """The counts of one chunk (ё already folded), inlined: this runs for every chunk not seen before."""
    text = chunk
    if _NEEDS_NORMALISING.search(chunk) is not None:
        text = _normalise(_normalise(chunk)) if twice else _normalise(chunk)
    cyrillic = sum(map(_CYRILLIC_SET.__contains__, text))
    if not cyrillic:  # Kazakh letters are Cyrillic letters; words without them vote for neither language
        stats = (0, 0, 0)
    else:
        stats = (cyrillic, sum(map(KAZAKH_LETTERS.__contains__, text)), _word_votes_folded(text))
    remember(cache, chunk, stats)
    return stats


def _normalise(text: str) -> str:
    """Undo Latin look-alikes so that they count as the Kazakh letters they stand for."""
    if _NEEDS_NORMALISING.search(text) is None:
        return text
    return _LATIN_I_IN_CYRILLIC.sub(lambda m: "і" if m.group() == "i" else "І", text.translate(_HOMOGLYPHS))


def _letter_score(cyrillic: int, kazakh: int) -> float:
    """Binomial log-likelihood ratio of the observed Kazakh-letter count, capped and damped."""
    llr = kazakh * _PER_HIT + (cyrillic - kazakh) * _PER_MISS
    return max(-_LETTER_CAP, min(_LETTER_CAP, _LETTER_WEIGHT * llr))


def _word_votes_folded(text: str) -> int:
    votes = 0
    # A chunk of letters and digits only is one word (the usual case); words() would find just that.
    for word in (text.lower(),) if text.isalnum() else words(text, parts=False):
        if word in _KAZAKH_FUNCTION_WORDS:
            votes += 1
        elif word in _RUSSIAN_FUNCTION_WORDS or (len(word) > 4 and word.endswith(_RUSSIAN_ENDINGS)):
            votes -= 1
    return votes


def _word_score(votes: int) -> float:
    """Function words and Russian inflections: present even where Kazakh letters happen to be absent."""
    return max(-_WORD_CAP, min(_WORD_CAP, _WORD_WEIGHT * votes))


def _lingua_evidence(text: str) -> float:
    """lingua's Kazakh-vs-Russian confidence as capped log-odds."""
    return _lingua_logit(text)


@lru_cache(maxsize=1024)
def _lingua_logit(text: str) -> float:
    from lingua import Language

    confidence = _detector().compute_language_confidence(text, Language.KAZAKH)
    confidence = min(max(confidence, 1e-6), 1 - 1e-6)
    logit = math.log(confidence / (1 - confidence))
    return max(-_LINGUA_CAP, min(_LINGUA_CAP, logit))


def load_models() -> None:
    """Load lingua's models now, in this thread, instead of at the first short or ambiguous text.

    The worker processes' fork server calls this (bot/ingest/forkserver_lingua.py), so that every worker
    forked from it shares one copy. It must start no thread there (a fork copies only the forking thread, and
    a worker would then wait on a thread pool it does not have): lingua's own preloading option loads in a
    thread pool, so one short text is scored instead. That loads every model the detector uses, in the
    calling thread, provided the text has no letter of only one of the languages: with one (ң, ё ...) lingua
    decides by that letter and loads only some of them.
    """
    from lingua import Language

    _detector().compute_language_confidence("жоба инвестиция", Language.KAZAKH)


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    """Built on first use: importing lingua and loading its models would slow down every import of us."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.RUSSIAN, Language.KAZAKH).build()
