"""bot.lookup: which stored projects a /project query means (pure, no Telegram)."""

from __future__ import annotations

from bot.lookup import find_projects, similarity
from bot.textfold import latin_key
from storage import ProjectSummary


def summary(pid: int, key: str, *, ru: str | None = None, kk: str | None = None, latin: str | None = None,
            mentions: int = 1) -> ProjectSummary:  # fmt: skip
    return ProjectSummary(pid, key, ru, kk, latin, "project", False, mentions, None)


PROJECTS = [
    summary(1, "satimola", ru="Сатимола", kk="Сатимола", latin="Satimola", mentions=5),
    summary(2, latin_key("Жетісу Агро"), kk="Жетісу Агро"),
    summary(3, latin_key("Алатау Сити"), ru="Алатау Сити", mentions=3),
    summary(4, latin_key("Алатау Пауэр"), ru="Алатау Пауэр", mentions=7),
]


def keys(found: list[ProjectSummary]) -> list[int]:
    return [p.id for p in found]


def test_exact_in_any_script() -> None:
    for query in ("Сатимола", "satimola", "САТИМОЛА", "Сәтімола"):
        assert keys(find_projects(query, PROJECTS)) == [1], query


def test_kazakh_letters_are_optional() -> None:
    assert keys(find_projects("жетису агро", PROJECTS)) == [2]


def test_a_part_of_several_names_gives_all_of_them_most_mentioned_first() -> None:
    assert keys(find_projects("Алатау", PROJECTS)) == [4, 3]


def test_typos_are_forgiven_but_strangers_are_not() -> None:
    assert keys(find_projects("Сатимолла", PROJECTS)) == [1]
    assert find_projects("Марс", PROJECTS) == []
    assert find_projects("🔥 <b>", PROJECTS) == []
    assert find_projects("", PROJECTS) == []


def test_the_catalogs_best_match_counts_as_exact() -> None:
    assert keys(find_projects("месторождение калия", PROJECTS, ["satimola"])) == [1]
    # The catalog's runner-up is a candidate, never chosen over an exact name.
    assert keys(find_projects("Алатау Сити", PROJECTS, ["zzz", latin_key("Алатау Пауэр")])) == [3]


def test_similarity_bounds() -> None:
    assert similarity("satimola", "satimola") == 1.0
    assert similarity("ala", "alatausiti") == 0.9
    assert similarity("al", "alatausiti") < 0.75
    assert similarity("", "x") == 0.0
