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
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from bot.textfold import KAZAKH_LETTERS, fold_yo, words

if TYPE_CHECKING:
    from lingua import LanguageDetector

__all__ = ["Lang", "detect_language", "language_score"]

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
_RUSSIAN_ENDINGS = re.compile(
    r"(?:ого|его|ому|ему|ыми|ими|ться|тся|ость|ости|ение|ении|ание|ании|ский|ская|ское|ские"
    r"|ских|ской|цкий|цкая|ила|или|ился|ется|ются|ует|уют|ных|ным)$"
)

_CYRILLIC_LETTERS = "а-яёА-ЯЁ" + "".join(sorted(KAZAKH_LETTERS))  # a regex character-class body
_CYRILLIC = re.compile(f"[{_CYRILLIC_LETTERS}]")
# Some Kazakh sites type a Latin i, ə or ɵ for і, ә, ө; inside a Cyrillic word they are Kazakh letters.
_HOMOGLYPHS = str.maketrans({"ə": "ә", "Ə": "Ә", "ɵ": "ө", "Ɵ": "Ө"})
_LATIN_I_IN_CYRILLIC = re.compile(f"(?<=[{_CYRILLIC_LETTERS}])[iI]|[iI](?=[{_CYRILLIC_LETTERS}])")


def detect_language(title: str, summary: str = "", hint: str = "auto") -> Lang:
    """Russian or Kazakh for one news item; ``hint`` ("ru" / "kk" / "auto") only breaks ties.

    Text without any Cyrillic letters cannot be judged, so it gets the hint (Russian when "auto").
    """
    if hint not in ("ru", "kk", "auto"):
        raise ValueError(f"language hint must be 'ru', 'kk' or 'auto', got {hint!r}")
    text = _normalise(f"{title}\n{summary}")
    if not _CYRILLIC.search(text):
        return "kk" if hint == "kk" else "ru"
    score = language_score(text)
    if abs(score) < _TIE and hint != "auto":
        return "kk" if hint == "kk" else "ru"
    return "kk" if score > 0 else "ru"


def language_score(text: str) -> float:
    """Log-odds that ``text`` is Kazakh rather than Russian (exposed for diagnostics and tests)."""
    text = _normalise(text)
    score = _letter_evidence(text) + _word_evidence(text)
    if abs(score) < _DECISIVE:
        score += _lingua_evidence(text)
    return score


def _normalise(text: str) -> str:
    """Undo Latin look-alikes so that they count as the Kazakh letters they stand for."""
    return _LATIN_I_IN_CYRILLIC.sub(lambda m: "і" if m.group() == "i" else "І", text.translate(_HOMOGLYPHS))


def _letter_evidence(text: str) -> float:
    """Binomial log-likelihood ratio of the observed Kazakh-letter count, capped and damped."""
    cyrillic = len(_CYRILLIC.findall(text))
    kazakh = sum(1 for ch in text if ch in KAZAKH_LETTERS)
    per_hit = math.log(_P_KAZAKH_LETTER_IF_KK / _P_KAZAKH_LETTER_IF_RU)
    per_miss = math.log((1 - _P_KAZAKH_LETTER_IF_KK) / (1 - _P_KAZAKH_LETTER_IF_RU))
    llr = kazakh * per_hit + (cyrillic - kazakh) * per_miss
    return max(-_LETTER_CAP, min(_LETTER_CAP, _LETTER_WEIGHT * llr))


def _word_evidence(text: str) -> float:
    """Function words and Russian inflections: present even where Kazakh letters happen to be absent."""
    votes = 0
    for word in words(fold_yo(text), parts=False):
        if word in _KAZAKH_FUNCTION_WORDS:
            votes += 1
        elif word in _RUSSIAN_FUNCTION_WORDS or (len(word) > 4 and _RUSSIAN_ENDINGS.search(word)):
            votes -= 1
    return max(-_WORD_CAP, min(_WORD_CAP, _WORD_WEIGHT * votes))


def _lingua_evidence(text: str) -> float:
    """lingua's Kazakh-vs-Russian confidence as capped log-odds."""
    from lingua import Language

    confidence = _detector().compute_language_confidence(text, Language.KAZAKH)
    confidence = min(max(confidence, 1e-6), 1 - 1e-6)
    logit = math.log(confidence / (1 - confidence))
    return max(-_LINGUA_CAP, min(_LINGUA_CAP, logit))


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    """Built on first use: importing lingua and loading its models would slow down every import of us."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.RUSSIAN, Language.KAZAKH).build()
