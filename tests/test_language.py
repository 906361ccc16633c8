"""Language detection on the texts that make it hard: headlines, names, Kazakh without Kazakh letters."""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.ingest import language
from bot.ingest.language import detect_language, language_score
from bot.textfold import KAZAKH_LETTERS, words
from tests import test_labelled_accuracy

RUSSIAN_HEADLINES = [
    "Касым-Жомарт Токаев посетил ЗКО",
    "Токаев прибыл в Атырау",
    "Аким ЗКО встретился с инвесторами",
    "Нариман Турегалиев провел совещание",
    "Акимат Уральска отчитался",
    "Жанибекский район: итоги года",
    "Аксай: газ дорожает",
    "Сатимола: старт отложен",
    "Мажилис одобрил закон",
    "КазМунайГаз нарастил добычу",
    "Фестиваль «Ұлы дала» прошел в Уральске",
    "Қасым-Жомарт Тоқаев провел встречу с инвесторами из Китая",
]

KAZAKH_HEADLINES = [
    "Ауа райы: Оралда жаңбыр",
    "Тоқаев Атырауға барды",
    "Оралда бес мектеп салынады",  # no Kazakh-only letter
    "Мал басы артты",  # no Kazakh-only letter
    "Бидай экспорты артты",  # no Kazakh-only letter
    "Инвесторлар саны артты",  # no Kazakh-only letter
    "Метанол зауыты салынады",  # no Kazakh-only letter
    "Астанада форум басталды",  # no Kazakh-only letter
    "Орал мен Атырау арасында жол салынады",  # no Kazakh-only letter
    "Электр энергиясы арзандамайды",  # no Kazakh-only letter
    "Қытай инвесторларымен келісім жасалды",
    "Оралда жаңа зауыт салынады",
]


@pytest.mark.parametrize("title", RUSSIAN_HEADLINES)
def test_russian_headlines(title: str) -> None:
    assert detect_language(title) == "ru"


@pytest.mark.parametrize("title", KAZAKH_HEADLINES)
def test_kazakh_headlines(title: str) -> None:
    assert detect_language(title) == "kk"


def test_russian_article_quoting_kazakh_names_stays_russian() -> None:
    summary = (
        "Аким области Нариман Төреғалиев провел заседание инвестиционного штаба. "
        "Руководитель управления рассказал о разработке месторождения калийных солей и о переговорах "
        "с китайскими инвесторами, которые прошли во время визита делегации в провинцию Цзянсу. "
        "По поручению Президента Қасым-Жомарт Тоқаевтың привлечение инвестиций остается приоритетом."
    )
    assert detect_language("Инвестштаб подвел итоги", summary) == "ru"
    assert language_score(summary) < -8


def test_kazakh_article_with_russian_loanwords_is_kazakh() -> None:
    summary = (
        "Облыс әкімі инвестициялық штаб отырысында өңірге шетелдік компаниялардың қызығушылығы "
        "артып келе жатқанын айтты. Биыл метанол зауыты мен Сатимола кен орнын игеру жобасы бойынша "
        "нақты жұмыстар басталады."
    )
    assert detect_language("Инвестиция тарту жалғасады", summary) == "kk"


def test_hint_breaks_ties_only() -> None:
    weak = "Сатимола кен орны"
    assert abs(language_score(weak)) < 1.0  # genuinely ambiguous: three words, no Kazakh letter
    assert detect_language(weak, hint="ru") == "ru"
    assert detect_language(weak, hint="kk") == "kk"
    assert detect_language("Аким ЗКО встретился с инвесторами", hint="kk") == "ru"
    assert detect_language("Оралда жаңа зауыт салынады", hint="ru") == "kk"


def test_text_without_cyrillic_follows_the_hint() -> None:
    assert detect_language("CHN ENERGY", hint="kk") == "kk"
    assert detect_language("CHN ENERGY", hint="ru") == "ru"
    assert detect_language("", "", hint="auto") == "ru"


def test_latin_lookalike_letters_count_as_kazakh() -> None:
    # Some sites type Latin i for і; it must still read as Kazakh.
    assert detect_language("Мемлекет басшысы бiрнеше тапсырма бердi") == "kk"


def test_unknown_hint_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="hint"):
        detect_language("Новости", hint="kz")


def test_import_is_cheap_and_lingua_is_lazy() -> None:
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "import bot.ingest.language, bot.textfold, bot.topics, bot.ingest.projects\n"
        "elapsed = time.perf_counter() - t\n"
        "assert 'lingua' not in sys.modules, 'lingua imported eagerly'\n"
        "print(elapsed)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(result.stdout) < 0.5  # the 50 ms budget with a wide margin for a loaded CI machine


# ---------------------------------------------------------------- the fast path agrees with the reference
#
# detect_language sums letter counts and word votes cached per whitespace-separated chunk and skips lingua
# when its capped evidence cannot change the answer.  The reference is the straightforward version: the
# whole text normalised and scored at once, lingua consulted whenever the cheap evidence is not decisive.

_REF_CYRILLIC = "а-яёА-ЯЁ" + "".join(sorted(KAZAKH_LETTERS))
_REF_LATIN_I = re.compile(f"(?<=[{_REF_CYRILLIC}])[iI]|[iI](?=[{_REF_CYRILLIC}])")
_REF_HOMOGLYPHS = str.maketrans({"ə": "ә", "Ə": "Ә", "ɵ": "ө", "Ɵ": "Ө"})
_REF_RUSSIAN_ENDINGS = re.compile(
    r"(?:ого|его|ому|ему|ыми|ими|ться|тся|ость|ости|ение|ении|ание|ании|ский|ская|ское|ские"
    r"|ских|ской|цкий|цкая|ила|или|ился|ется|ются|ует|уют|ных|ным)$"
)


def reference_normalise(text: str) -> str:
    return _REF_LATIN_I.sub(lambda m: "і" if m.group() == "i" else "І", text.translate(_REF_HOMOGLYPHS))


def reference_cheap_score(normalised: str) -> float:
    cyrillic = len(re.findall(f"[{_REF_CYRILLIC}]", normalised))
    kazakh = sum(1 for ch in normalised if ch in KAZAKH_LETTERS)
    per_hit = math.log(language._P_KAZAKH_LETTER_IF_KK / language._P_KAZAKH_LETTER_IF_RU)
    per_miss = math.log((1 - language._P_KAZAKH_LETTER_IF_KK) / (1 - language._P_KAZAKH_LETTER_IF_RU))
    llr = kazakh * per_hit + (cyrillic - kazakh) * per_miss
    letters = max(-language._LETTER_CAP, min(language._LETTER_CAP, language._LETTER_WEIGHT * llr))
    votes = 0
    for word in words(normalised.replace("ё", "е").replace("Ё", "Е"), parts=False):
        if word in language._KAZAKH_FUNCTION_WORDS:
            votes += 1
        elif word in language._RUSSIAN_FUNCTION_WORDS or (
            len(word) > 4 and _REF_RUSSIAN_ENDINGS.search(word)
        ):
            votes -= 1
    return letters + max(-language._WORD_CAP, min(language._WORD_CAP, language._WORD_WEIGHT * votes))


def reference_language_score(text: str) -> float:
    text = reference_normalise(text)
    score = reference_cheap_score(text)
    if abs(score) < language._DECISIVE:
        score += language._lingua_evidence(text)
    return score


def reference_detect(title: str, summary: str = "", hint: str = "auto") -> str:
    text = reference_normalise(f"{title}\n{summary}")
    if not re.search(f"[{_REF_CYRILLIC}]", text):
        return "kk" if hint == "kk" else "ru"
    score = reference_language_score(text)
    if abs(score) < language._TIE and hint != "auto":
        return "kk" if hint == "kk" else "ru"
    return "kk" if score > 0 else "ru"


def random_items(count: int, seed: int) -> list[tuple[str, str]]:
    """Titles and summaries mixing words of both languages, Latin look-alikes (also doubled: normalising
    twice is not the same as once), ё, Latin names and odd spacing."""
    rng = random.Random(seed)
    labelled = test_labelled_accuracy.load_items()
    vocab = {lang: sorted({w for i in labelled if i.lang == lang for w in (i.title + " " + i.lead).split()})
             for lang in ("ru", "kk")}  # fmt: skip
    odd = ["i", "I", "ii", "iI", "ə", "Ə", "ɵ", "Ɵ", "ё", "Ё", "CHN Energy", "iPhone", "Bi"]

    def text(size: int) -> str:
        main = rng.choice(("ru", "kk"))
        pieces = []
        for _ in range(size):
            word = rng.choice(vocab[main] if rng.random() < 0.8 else vocab["ru" if main == "kk" else "kk"])
            if rng.random() < 0.15:
                at = rng.randint(0, len(word))
                word = word[:at] + rng.choice(odd) + word[at:]
            pieces.append(word + rng.choice([" ", " ", " ", "\n", "\t", " — ", "  ", "\u00a0"]))
        return "".join(pieces).strip()

    return [(text(rng.randint(0, 9)), text(rng.choice((0, 0, 3, 12, 40)))) for _ in range(count)]


def test_detect_language_agrees_with_reference() -> None:
    cases = [(i.title, i.lead) for i in test_labelled_accuracy.load_items()]
    cases += [(i.title, "") for i in test_labelled_accuracy.load_items()]
    cases += [(h, "") for h in RUSSIAN_HEADLINES + KAZAKH_HEADLINES] + random_items(1500, seed=42)
    cases += [("", ""), ("CHN ENERGY", ""), ("ii", "ааii"), ("iiак", "Iі")]
    for index, (title, summary) in enumerate(cases):
        hint = ("auto", "ru", "kk")[index % 3]
        assert detect_language(title, summary, hint) == reference_detect(title, summary, hint), (
            title,
            summary,
            hint,
        )
        text = f"{title}\n{summary}"
        assert language_score(text) == reference_language_score(text), text


def test_lingua_is_only_asked_when_it_can_change_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    original = language._lingua_evidence
    monkeypatch.setattr(language, "_lingua_evidence", lambda text: asked.append(text) or original(text))
    bands = {"auto": (-6.0, 6.0), "ru": (-7.0, 7.0), "kk": (-7.0, 7.0)}
    skipped = 0
    for index, (title, summary) in enumerate(random_items(600, seed=7)):
        hint = ("auto", "ru", "kk")[index % 3]
        asked.clear()
        detect_language(title, summary, hint)
        normalised = reference_normalise(reference_normalise(f"{title}\n{summary}"))
        cheap = reference_cheap_score(normalised)
        low, high = bands[hint]
        if re.search(f"[{_REF_CYRILLIC}]", normalised) and abs(cheap) < language._DECISIVE:
            if low < cheap < high or (hint == "auto" and cheap == high):
                assert asked == [normalised]
            else:
                assert asked == []
                skipped += 1
        else:
            assert asked == []
    assert skipped  # the sample has items lingua could not have changed


def test_cyrillic_letter_set_is_the_regex_class() -> None:
    everything = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    assert set(re.findall(f"[{_REF_CYRILLIC}]", everything)) == language._CYRILLIC_SET


def test_needs_lingua_says_exactly_when_detect_language_consults_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent of the worker processes relies on it to never load lingua's models itself."""
    consulted: list[str] = []
    real = language._lingua_evidence  # noqa: SLF001
    monkeypatch.setattr(language, "_lingua_evidence", lambda text: consulted.append(text) or real(text))
    items = tomllib.loads((Path(__file__).parent / "fixtures" / "labelled_items.toml").read_text(encoding="utf-8"))
    cases = [(i["title"], lead, hint) for i in items["item"] for lead in (i.get("lead", ""), "") for hint in ("auto", i["lang"])]
    cases += [("Hello world", "", "auto"), ("", "", "kk")]
    needed = 0
    for title, lead, hint in cases:
        before = len(consulted)
        language.detect_language(title, lead, hint)
        assert language.needs_lingua(title, lead, hint) == (len(consulted) > before), (title, lead, hint)
        needed += len(consulted) > before
    assert 0 < needed < len(cases)  # both answers occur
