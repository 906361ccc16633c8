"""Project and company mentions: the catalog, the heuristics, and merging across languages."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot
from bot.ingest.projects import KnownProject, ProjectCatalog, ProjectCatalogError, ProjectMention

SHIPPED = Path(bot.__file__).parent / "data" / "projects.toml"


@pytest.fixture(scope="module")
def catalog() -> ProjectCatalog:
    return ProjectCatalog.load(SHIPPED)


def keys(mentions: list[ProjectMention]) -> list[str]:
    return [m.key for m in mentions]


# ---------------------------------------------------------------- catalog


def test_shipped_catalog(catalog: ProjectCatalog) -> None:
    known = {p.key: p for p in catalog.known}
    for key in ("satimola", "wko_methanol", "chn_energy", "jiangsu_soho", "karachaganak", "kashagan"):
        assert key in known
    for project in catalog.known:
        assert isinstance(project, KnownProject)
        assert project.kind in ("project", "company")
        assert project.names["ru"] and project.names["kk"]
    assert known["satimola"].kind == "project"
    assert known["chn_energy"].kind == "company"


def test_satimola_in_russian_kazakh_and_latin_is_one_key(catalog: ProjectCatalog) -> None:
    ru = catalog.find("Разработку месторождения калийных солей Сатимолы начнут весной", "ru")
    kk = catalog.find("Сатимоладағы калий тұздарын игеру басталады", "kk")
    en = catalog.find("Investors visited Satimola", "ru")
    upper = catalog.find("САТИМОЛА: СТАРТ ОТЛОЖЕН", "ru")
    assert keys(ru) == keys(kk) == keys(en) == keys(upper) == ["satimola"]
    assert all(m.known for m in ru + kk + en + upper)
    assert ru[0].surface == "Сатимолы"
    assert kk[0].surface == "Сатимоладағы"


def test_display_name_follows_language(catalog: ProjectCatalog) -> None:
    assert catalog.find("Добыча на Карачаганаке", "ru")[0].name == "Карачаганак"
    assert catalog.find("Қарашығанақта жөндеу", "kk")[0].name == "Қарашығанақ"


def test_methanol_plant_in_both_languages(catalog: ProjectCatalog) -> None:
    ru = catalog.find("Обсуждено производство жидкого метанола в области", "ru")
    kk = catalog.find("Облыста метанол зауыты салынады", "kk")
    assert keys(ru) == keys(kk) == ["wko_methanol"]
    assert catalog.find("Отравление метанолом в Шымкенте", "ru") == []


def test_dedup_and_order_of_first_appearance(catalog: ProjectCatalog) -> None:
    text = (
        "CHN ENERGY и Jiangsu SOHO Holding Group обсудили Сатимолу. "
        "Позже CHN Energy подтвердила интерес к «Сатимола»."
    )
    assert keys(catalog.find(text, "ru")) == ["chn_energy", "jiangsu_soho", "satimola"]


def test_tengiz_is_not_the_kazakh_word_for_sea(catalog: ProjectCatalog) -> None:
    assert catalog.find("Теңіз жағасында демалыс маусымы ашылды", "kk") == []
    assert keys(catalog.find("Теңіз кен орнында өндіріс артты", "kk")) == ["tengiz"]


# ---------------------------------------------------------------- heuristics: quotes


@pytest.mark.parametrize(
    ("text", "lang", "name", "kind"),
    [
        ("ТОО «Жайык Агро» построит теплицу", "ru", "Жайык Агро", "company"),
        ("Разработка месторождения «Коскудук» начнется в 2026 году", "ru", "Коскудук", "project"),
        ("В Уральске построят завод «Батыс Полимер»", "ru", "Батыс Полимер", "project"),
        ("«Орал Тұз» кәсіпорны келісімге қол қойды", "kk", "Орал Тұз", "company"),
        ("«Ақжайық Агро» ЖШС жылыжай салады", "kk", "Ақжайық Агро", "company"),
        ("«Шалқар» кен орнын игеру басталды", "kk", "Шалқар", "project"),
        ('Компания "Батыс Транс" открыла склад', "ru", "Батыс Транс", "company"),
        ("АО „Орал Энерго“ сообщило о ремонте", "ru", "Орал Энерго", "company"),
        ("«Жаңа Орал» жобасы таныстырылды", "kk", "Жаңа Орал", "project"),
    ],
)
def test_quoted_names_next_to_trigger_words(
    catalog: ProjectCatalog, text: str, lang: str, name: str, kind: str
) -> None:
    mentions = catalog.find(text, lang)
    assert [(m.name, m.kind, m.known) for m in mentions] == [(name, kind, False)]


@pytest.mark.parametrize(
    "text",
    [
        "Газета «Приуралье» вышла спецвыпуском",  # a quoted name without a trigger word
        "«Мы рады новым инвесторам», — сказал аким на заводе",  # a quoted sentence
        "Проект «новой волны» обсуждали долго",  # starts with a small letter
        "Компания сообщила: «Работы продолжаются. Сроки не изменились»",
    ],
)
def test_quotes_that_are_not_names(catalog: ProjectCatalog, text: str) -> None:
    assert catalog.find(text, "ru") == []


def test_unknown_name_merges_across_kazakh_and_russian_spelling(catalog: ProjectCatalog) -> None:
    ru = catalog.find("ТОО «Жайык Агро» расширяет производство", "ru")
    kk = catalog.find("«Жайық Агро» ЖШС өндірісті кеңейтеді", "kk")
    assert keys(ru) == keys(kk)
    assert not ru[0].known


# ---------------------------------------------------------------- heuristics: Latin names


def test_latin_company_names(catalog: ProjectCatalog) -> None:
    text = "Соглашение подписали ArcelorMittal Temirtau, Kazakh Minerals Group и KEGOC."
    assert [m.name for m in catalog.find(text, "ru")] == [
        "ArcelorMittal Temirtau",
        "Kazakh Minerals Group",
        "KEGOC",
    ]
    assert all(m.kind == "company" and not m.known for m in catalog.find(text, "ru"))


def test_known_latin_names_are_known(catalog: ProjectCatalog) -> None:
    mentions = catalog.find("Корпорация CHN ENERGY и Jiangsu SOHO Holding Group", "ru")
    assert [(m.key, m.known, m.surface) for m in mentions] == [
        ("chn_energy", True, "CHN ENERGY"),
        ("jiangsu_soho", True, "Jiangsu SOHO Holding Group"),
    ]


def test_heuristic_spelling_variant_folds_onto_known_project(catalog: ProjectCatalog) -> None:
    mentions = catalog.find("Контракт с KazMunayGaz продлен", "ru")
    assert [(m.key, m.known) for m in mentions] == [("kazmunaygas", True)]


@pytest.mark.parametrize(
    "text",
    [
        "Курс USD вырос, а GDP снизился",
        "Вакцина от COVID и COVID-19",
        "Отрасль IT растет, отчет в PDF",
        "Подробнее на Zakon.kz и в Telegram",
        "Канал WhatsApp и YouTube",
        "В XXI веке, глава IV",
        "Станция мощностью 100 MW",
        "Эксперт назвал Kazakhstan надежным партнером",  # one capitalised word, no company word
    ],
)
def test_latin_junk_is_rejected(catalog: ProjectCatalog, text: str) -> None:
    assert catalog.find(text, "ru") == []


def test_single_latin_word_needs_a_company_word(catalog: ProjectCatalog) -> None:
    assert [m.name for m in catalog.find("Компания Kazakhmys увеличила выпуск", "ru")] == ["Kazakhmys"]
    assert catalog.find("Kazakhmys увеличила выпуск", "ru") == []


# ---------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("сатимола", "satimola"),
        ("Satimola", "satimola"),
        ("Сатимолы", "satimola"),
        ("Сатимоладағы", "satimola"),
        ("satimala", "satimola"),
        ("кашаган", "kashagan"),
        ("Қашаған", "kashagan"),
        ("KMG", "kazmunaygas"),
        ("Карачаганакского", "karachaganak"),
        ("самрук казына", "samruk_kazyna"),
    ],
)
def test_lookup(catalog: ProjectCatalog, query: str, key: str) -> None:
    found = catalog.lookup(query)
    assert found and found[0].key == key


@pytest.mark.parametrize("query", ["", "месторождение", "xyz", "погода"])
def test_lookup_without_match(catalog: ProjectCatalog, query: str) -> None:
    assert catalog.lookup(query) == []


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("[x\n", "not valid TOML"),
        ('[p]\nkind = "plant"\nname = { ru = "П", kk = "П" }\n', "kind must be one of"),
        ('[p]\nkind = "project"\nname = { ru = "П" }\n', "no kk entry"),
        ('[p]\nkind = "project"\nname = { ru = "П", kk = "П", en = "P" }\n', "name.en"),
        ('[p]\nkind = "project"\nname = { ru = "П", kk = "П" }\naliases = ["а*б"]\n', "aliases[0]"),
        ('[p]\nkind = "project"\nname = { ru = "П", kk = "П" }\nalias = ["x"]\n', "unknown field 'alias'"),
        ('[P]\nkind = "project"\nname = { ru = "П", kk = "П" }\n', "lower-case"),
    ],
)
def test_broken_catalog_raises_clear_errors(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "projects.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ProjectCatalogError) as caught:
        ProjectCatalog.load(path)
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)
