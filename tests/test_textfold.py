"""Folding helpers: the contracts other modules rely on when merging spellings."""

from __future__ import annotations

import random

import pytest

from bot.textfold import (
    CHUNK_CACHE_SIZE,
    KAZAKH_LETTERS,
    LOWER_UNSAFE,
    FoldedText,
    fold_kazakh,
    fold_yo,
    folded_text,
    latin_key,
    remember,
    words,
)


def test_fold_yo_only_touches_yo() -> None:
    assert fold_yo("Ёлка, ещё и её") == "Елка, еще и ее"
    assert fold_yo("Қытай") == "Қытай"


def test_fold_kazakh_maps_every_kazakh_letter_and_keeps_length() -> None:
    source = "әғқңөұүһі ӘҒҚҢӨҰҮҺІ"
    folded = fold_kazakh(source)
    assert folded == "агкноуухи АГКНОУУХИ"
    assert len(folded) == len(source)
    assert not set(folded) & KAZAKH_LETTERS


def test_fold_kazakh_brings_kazakh_spelling_close_to_russian() -> None:
    assert fold_kazakh("Тоқаев") == "Токаев"
    assert fold_kazakh("Төреғалиев") == "Торегалиев"  # Турегалиев is then one letter away


@pytest.mark.parametrize("spelling", ["Сатимола", "Satimola", "САТИМОЛА", "сатимола", "Сәтімола", "SATIMOLA"])
def test_latin_key_merges_scripts_and_cases(spelling: str) -> None:
    assert latin_key(spelling) == "satimola"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Кайрат", "Каират"),  # й / и
        ("Қайрат", "Kairat"),
        ("Хромтау", "Khromtau"),  # х / kh / h
        ("Хромтау", "Hromtau"),
        ("Жамбыл", "Zhambyl"),  # ж / zh / j, ы / y
        ("Жамбыл", "Jambyl"),
        ("Ержан", "Yerzhan"),  # е / ye
        ("КазМунайГаз", "KazMunayGas"),  # з / s devoicing
        ("Самрук-Казына", "Samruk Kazyna"),  # punctuation and spacing do not count
        ("Kazakhstan", "Казахстан"),
        ("Ассоциация", "Assotsiatsiya"),  # doubled letters collapse
        ("Qazaqstan", "Kazakstan"),
    ],
)
def test_latin_key_collides_common_spelling_variants(a: str, b: str) -> None:
    assert latin_key(a) == latin_key(b)


def test_latin_key_keeps_only_latin_letters_and_digits() -> None:
    assert latin_key("Jiangsu SOHO Holding Group") == "jiangsusohoholdingroup"
    assert latin_key("  «CHN ENERGY», 2025! ") == "chnenergi2025"
    assert latin_key("—") == ""


def test_latin_key_distinguishes_different_names() -> None:
    assert latin_key("Кашаган") != latin_key("Карачаганак")


def test_words_keeps_hyphenated_words_and_their_parts() -> None:
    assert words("Станция «Китай-город», БҚО-да") == [
        "станция",
        "китай-город",
        "китай",
        "город",
        "бқо-да",
        "бқо",
        "да",
    ]


def test_words_without_parts_and_separators() -> None:
    assert words("COVID-19 и ёлка_2, 3,5 млн", parts=False) == ["covid-19", "и", "ёлка", "2", "3", "5", "млн"]
    assert words("") == []


# ---------------------------------------------------------------- fast folding agrees with str.translate

_REFERENCE_KAZAKH = str.maketrans(dict(zip("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ", strict=True)))
_REFERENCE_YO = str.maketrans({"ё": "е", "Ё": "Е"})


def _random_strings(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "әғқңөұүһіӘҒҚҢӨҰҮҺІёЁеЕаA z-\n\u0130\u00e9😀" + "".join(map(chr, range(0x400, 0x500, 7)))
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(count)]


def test_fold_kazakh_and_fold_yo_match_translate() -> None:
    for text in _random_strings(3000, seed=1):
        assert fold_kazakh(text) == text.translate(_REFERENCE_KAZAKH)
        assert fold_yo(text) == text.translate(_REFERENCE_YO)


def test_latin_key_is_cached_without_changing_results() -> None:
    for text in _random_strings(300, seed=2):
        assert latin_key(text) == latin_key(str(text)) == latin_key.__wrapped__(text)


def test_folded_text_is_shared_while_the_text_is_the_same() -> None:
    text = "Ёлка  и\tЁЖ-ИК\nиндустрия"
    first = folded_text(text)
    assert folded_text("".join(text)) is first  # an equal string, even another object
    assert first.folded == fold_yo(text)
    assert first.chunks == fold_yo(text).split()
    assert first.distinct == frozenset(first.chunks)
    assert first.lowered == fold_yo(text).lower()
    assert first.lower_exact
    other = folded_text(text + " ")
    assert other is not first and other.text == text + " "
    for ch in LOWER_UNSAFE:
        assert not FoldedText(f"инвест{ch}").lower_exact


def test_remember_forgets_the_older_half_when_full() -> None:
    cache: dict[str, int] = {}
    for index in range(CHUNK_CACHE_SIZE + 1):
        remember(cache, f"chunk{index}", index)
    assert len(cache) == CHUNK_CACHE_SIZE // 2 + 1
    assert "chunk0" not in cache
    assert cache[f"chunk{CHUNK_CACHE_SIZE}"] == CHUNK_CACHE_SIZE
