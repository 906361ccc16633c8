"""Folding helpers: the contracts other modules rely on when merging spellings."""

from __future__ import annotations

import pytest

from bot.textfold import KAZAKH_LETTERS, fold_kazakh, fold_yo, latin_key, words


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
