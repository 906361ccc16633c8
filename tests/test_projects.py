"""Project and company mentions: the catalog, the heuristics, and merging across languages."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

import bot
from bot.ingest import projects as projects_module
from bot.ingest.projects import KnownProject, ProjectCatalog, ProjectCatalogError, ProjectMention
from bot.textfold import latin_key
from tests import test_labelled_accuracy
from tests.test_topics import sample_pattern

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


# ---------------------------------------------------------------- the fast paths agree with the reference
#
# find() searches only the catalogue rules a text's words make possible, only where they can start, and
# skips the quote and Latin scans when the text has no quote or no Latin letter; the reference below is the
# straightforward version (every rule searched over the whole text, the original Latin-run regex).

_LATIN_WORD = r"[A-Za-z][A-Za-z0-9]*(?:[&'’\-][A-Za-z0-9]+)*"
ORIGINAL_LATIN_RUN_RE = re.compile(
    rf"(?<![\w@./\\-]){_LATIN_WORD}(?:[ \t]+(?:&[ \t]+)?{_LATIN_WORD})*(?![\w@]|\.[A-Za-z])"
)


def reference_find(catalog: ProjectCatalog, text: str, lang: str) -> list[ProjectMention]:
    # Catalogue rules: the catalogue's own whole-text search (what find() falls back to).
    hits = list(catalog._known_hits_slowly(text.replace("ё", "е").replace("Ё", "Е"), text, lang))
    taken = [(h.start, h.end) for h in hits]
    for hit in [*_reference_quoted_hits(text), *_reference_latin_hits(text)]:
        if any(hit.start < end and start < hit.end for start, end in taken):
            continue
        hits.append(catalog._as_known(hit, lang))
        taken.append((hit.start, hit.end))
    seen: set[str] = set()
    result = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.mention.key and hit.mention.key not in seen:
            seen.add(hit.mention.key)
            result.append(hit.mention)
    return result


def _reference_quoted_hits(text: str) -> list[projects_module._Hit]:
    hits = []
    for match in projects_module._QUOTE_RE.finditer(text):
        group = next(g for g in ("a", "b", "c", "d") if match.group(g) is not None)
        name = " ".join(match.group(group).split())
        if not projects_module._plausible_quoted_name(name):
            continue
        kind = projects_module._trigger_kind(text, match.start(), match.end())
        if kind is None or not latin_key(name):
            continue
        mention = ProjectMention(key=latin_key(name), name=name, kind=kind, known=False, surface=name)
        hits.append(projects_module._Hit(match.start(group), match.end(group), mention))
    return hits


def _reference_latin_hits(text: str) -> list[projects_module._Hit]:
    hits = []
    for match in ORIGINAL_LATIN_RUN_RE.finditer(text):
        for start, end in projects_module._capitalised_segments(text, match.start(), match.end()):
            name = text[start:end]
            if projects_module._acceptable_latin_name(name, text, start, end):
                mention = ProjectMention(
                    key=latin_key(name), name=name, kind="company", known=False, surface=name
                )
                hits.append(projects_module._Hit(start, end, mention))
    return hits


NAME_LIKE = [
    "CHN ENERGY", "Jiangsu SOHO Holding Group", "KazMunayGaz", "ArcelorMittal Temirtau", "KEGOC", "Kazakhmys",
    "info@kegoc.kz", "Zakon.kz", "/docs/Report", "COVID-19", "S&P Global", "Procter & Gamble", "O'Neal Ltd",
    "Bank of America", "the Kazakh Minerals Group", "USD", "iPhone", "e.Kaz", "A-Z Trade", "Tengizchevroil",
    "KPO", "NCOC", "TCO", "KMG", "КМГ", "ҚМГ", "НКОК", "ТШО", "CNPC", "КННК",
]  # fmt: skip
TRIGGERS = [
    "ТОО",
    "АО",
    "компания",
    "месторождение",
    "завод",
    "кен орны",
    "ЖШС",
    "жобасы",
    "LLP",
    "Ltd",
    "холдинг",
]
QUOTES = [("«", "»"), ("“", "”"), ("„", "“"), ('"', '"')]


def random_project_texts(catalog: ProjectCatalog, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names = sorted({n for p in catalog.known for n in p.names.values()})
    aliases = sorted({a for p in catalog.known for a in p.aliases})
    vocab = sorted(
        {w for item in test_labelled_accuracy.load_items() for w in (item.title + " " + item.lead).split()}
    )
    texts = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(1, 12)):
            roll = rng.random()
            if roll < 0.15:
                piece = rng.choice(names)
            elif roll < 0.3:
                piece = sample_pattern(rng.choice(aliases), rng, vocab)
            elif roll < 0.45:
                piece = rng.choice(NAME_LIKE)
            elif roll < 0.55:
                opening, closing = rng.choice(QUOTES)
                inner = rng.choice([*names, *NAME_LIKE, *vocab])
                piece = f"{rng.choice(TRIGGERS)} {opening}{inner.capitalize()}{closing}"
                if rng.random() < 0.3:
                    piece = f"{opening}{inner.capitalize()}{closing} {rng.choice(TRIGGERS)}"
            elif roll < 0.6:
                piece = rng.choice(TRIGGERS)
            else:
                piece = rng.choice(vocab)
            if rng.random() < 0.1:
                piece = rng.choice([piece.upper(), piece.lower(), piece.replace("е", "ё"), "ı" + piece])
            pieces.append(piece + rng.choice([" ", " ", " ", ", ", ". ", "\n", " — ", "\t", "-", "/", "@"]))
        texts.append("".join(pieces))
    return texts


def test_find_agrees_with_reference(catalog: ProjectCatalog) -> None:
    found = set()
    for item in test_labelled_accuracy.load_items():
        text = f"{item.title}\n{item.lead}"
        assert catalog.find(text, item.lang) == reference_find(catalog, text, item.lang), item.id
    for index, text in enumerate(random_project_texts(catalog, 1500, seed=99)):
        lang = ("ru", "kk")[index % 2]
        expected = reference_find(catalog, text, lang)
        assert catalog.find(text, lang) == expected, text
        found.update((m.known, m.kind) for m in expected)
    assert found == {(True, "project"), (True, "company"), (False, "project"), (False, "company")}


def test_latin_run_regex_matches_the_original() -> None:
    rng = random.Random(5)
    alphabet = "aZk9 Q\t&'’-@./\\_ЖжəiI.,\n"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        ours = [m.span() for m in projects_module._LATIN_RUN_RE.finditer(text)]
        assert ours == [m.span() for m in ORIGINAL_LATIN_RUN_RE.finditer(text)], repr(text)


@pytest.mark.parametrize("letter", [chr(c) for c in range(ord("a"), ord("z") + 1)])
def test_every_latin_letter_passes_the_latin_prefilter(letter: str) -> None:
    for text in (
        f"ТОО {letter.upper()}{letter}",
        f"ТОО {letter.upper()}",
        f"Компания «{letter.upper()}{letter}ь»",
    ):
        assert list(projects_module._latin_hits(text)) == _reference_latin_hits(text)
        assert list(projects_module._quoted_hits(text)) == _reference_quoted_hits(text)
