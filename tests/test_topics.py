"""Topic rules: the shipped file's behaviour, the rule syntax, and the errors a broken file produces."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot
from bot.topics import Topic, TopicRules, TopicsFileError

SHIPPED = Path(bot.__file__).parent / "data" / "topics.toml"
REQUIRED_KEYS = ("investments", "china", "projects", "energy", "industry", "agriculture", "trade")


@pytest.fixture(scope="module")
def rules() -> TopicRules:
    return TopicRules.load(SHIPPED)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(body, encoding="utf-8")
    return path


# ---------------------------------------------------------------- shipped file


def test_shipped_file_has_required_topics_in_order(rules: TopicRules) -> None:
    assert rules.keys == REQUIRED_KEYS
    assert [t.key for t in rules.topics] == list(REQUIRED_KEYS)
    for topic in rules.topics:
        assert topic.names["ru"] and topic.names["kk"]


def test_topic_is_frozen_and_hashable(rules: TopicRules) -> None:
    topic = rules.topics[0]
    assert isinstance(topic, Topic)
    assert hash(topic) == hash(Topic(key=topic.key, names=dict(topic.names)))
    with pytest.raises(AttributeError):
        topic.key = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "Объем инвестиций вырос",
        "Инвестиционный климат улучшился",
        "Инвесторы из Турции приехали в Уральск",
        "Прямые иностранные вложения в регион",
        "Фонд вложит 10 млрд тенге в экономику",
        "Приток капитала в ЗКО ускорился",
    ],
)
def test_investments_survive_russian_inflection(rules: TopicRules, text: str) -> None:
    assert "investments" in rules.match(text, "ru")


@pytest.mark.parametrize(
    "text",
    ["Инвестициялар көлемі артты", "Инвестициялық жоба таныстырылды", "Шетелдік инвесторлармен кездесу"],
)
def test_investments_survive_kazakh_suffixes(rules: TopicRules, text: str) -> None:
    assert "investments" in rules.match(text, "kk")


@pytest.mark.parametrize(
    "text",
    [
        "Делегация вернулась из Китая",
        "Переговоры в Китае",
        "Экспорт в Китай растет",
        "Соглашение с Китаем",
        "Сотрудничество с китайскими компаниями",
        "Визит в КНР",
        "Поезд из Урумчи",
    ],
)
def test_china_russian_forms(rules: TopicRules, text: str) -> None:
    assert "china" in rules.match(text, "ru")


@pytest.mark.parametrize(
    "text",
    [
        "Қытай инвесторлары",
        "Қытаймен келісім",
        "Қытайлық компаниялар",
        "ҚХР-мен ынтымақтастық",
        "ҚХР делегациясы",
    ],
)
def test_china_kazakh_forms(rules: TopicRules, text: str) -> None:
    assert "china" in rules.match(text, "kk")


def test_china_exclusions_and_case_sensitive_abbreviation(rules: TopicRules) -> None:
    assert rules.match("Станцию «Китай-город» закрыли на ремонт", "ru") == []
    assert rules.match("В Китай-городе открылась выставка", "ru") == []
    assert rules.match("Китайская кухня: где поесть", "ru") == []
    assert "china" not in rules.match("кнр — это опечатка в нижнем регистре", "ru")


def test_exclusion_masks_only_its_own_span(rules: TopicRules) -> None:
    text = "Делегация из КНР погуляла по Китай-городу"
    assert "china" in rules.match(text, "ru")


def test_sport_vetoes_china(rules: TopicRules) -> None:
    assert "china" not in rules.match("Сборная Казахстана обыграла Китай в матче", "ru")
    assert "china" not in rules.match("Қазақстан құрамасы Қытайды жеңді", "kk")


def test_lifestyle_investment_is_not_investments(rules: TopicRules) -> None:
    assert "investments" not in rules.match("Инвестиции в себя: как начать", "ru")
    assert "investments" not in rules.match("Өзіңе инвестиция сал", "kk")


def test_draft_laws_are_not_projects(rules: TopicRules) -> None:
    assert "projects" not in rules.match("Проект закона о бюджете опубликован", "ru")
    assert "projects" not in rules.match("Заң жобасы талқыланды", "kk")
    assert "projects" in rules.match("Инвестиционный проект запущен", "ru")
    assert "projects" in rules.match("Сатимола кен орнын игеру басталды", "kk")


def test_yo_is_folded(rules: TopicRules) -> None:
    assert "energy" in rules.match("Тариф на тепловую энёргию", "ru")


def test_unknown_language_uses_every_rule(rules: TopicRules) -> None:
    assert rules.match("Қытай and КНР", "en") == ["china"]


# ---------------------------------------------------------------- resolve / name


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("energy", "energy"),
        ("/trade", "trade"),
        ("Инвестиции", "investments"),
        ("инвестиции", "investments"),
        ("инвестиций", "investments"),
        ("Инвестициялар", "investments"),
        ("китай", "china"),
        ("Қытай", "china"),
        ("Кытай", "china"),
        ("энергетика", "energy"),
        ("промышленности", "industry"),
        ("Өнеркәсіп", "industry"),
        ("сельское хозяйство", "agriculture"),
        ("хозяйство", "agriculture"),
        ("ауыл шаруашылығы", "agriculture"),
        ("торговля", "trade"),
        ("сауда", "trade"),
        ("проекты", "projects"),
        ("кит", "china"),
        ("КНР", "china"),
        ("нефть", "energy"),
        ("мұнай", "energy"),
    ],
)
def test_resolve(rules: TopicRules, typed: str, key: str) -> None:
    assert rules.resolve(typed) == key


@pytest.mark.parametrize("typed", ["", "   ", "погода", "про", "xyz"])
def test_resolve_rejects_unknown_or_ambiguous(rules: TopicRules, typed: str) -> None:
    assert rules.resolve(typed) is None


def test_name(rules: TopicRules) -> None:
    assert rules.name("china", "ru") == "Китай"
    assert rules.name("china", "kk") == "Қытай"
    assert rules.name("china", "en") == "Китай"
    with pytest.raises(KeyError):
        rules.name("weather", "ru")


# ---------------------------------------------------------------- rule syntax


SYNTAX = """
[demo]
name = { ru = "Демо", kk = "Демо" }
ru.include = [
    "газ{,а,у}",
    "стро* & завод*",
    "бирж* * торг*",
    "=ЗКО",
    "{крупн*,нов*} {проект*,=ТЭЦ}",
]
ru.exclude = ["сектор* газа"]
kk.include = ["зауыт*"]
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Цена газа", True),
        ("Свежая газета", False),  # {,а,у} does not make газ a stem
        ("В секторе Газа", False),
        ("Строят дороги, а старый завод закрыт", True),  # & needs both anywhere
        ("Завод закрыт", False),
        ("На бирже вечерние торги", True),  # * is exactly one word
        ("На бирже торги", False),
        ("ЗКО", True),
        ("зко", False),
        ("Новый проект", True),
        ("Новая ТЭЦ", True),
        ("Новая тэц", False),  # = inside braces keeps that alternative case-sensitive
    ],
)
def test_rule_syntax(tmp_path: Path, text: str, expected: bool) -> None:
    demo = TopicRules.load(write(tmp_path, SYNTAX))
    assert (demo.match(text, "ru") == ["demo"]) is expected


def test_common_section_applies_to_every_language(tmp_path: Path) -> None:
    demo = TopicRules.load(
        write(
            tmp_path,
            '[c]\nname = { ru = "К", kk = "Қ" }\ncommon.include = ["China"]\nkk.include = ["Қытай"]\n',
        )
    )
    assert demo.match("China", "ru") == ["c"]
    assert demo.match("China", "kk") == ["c"]
    assert demo.match("Қытай", "ru") == []


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("[x\n", ["not valid TOML"]),
        ("", ["no topics"]),
        ("x = 1\n", ["topic 'x'", "expected a table"]),
        ('[Bad]\nname = { ru = "a", kk = "b" }\nru.include = ["a*b"]\n', ["topic 'Bad'", "lower-case"]),
        ('[t]\nru.include = ["инвест*"]\n', ["topic 't'", "missing name"]),
        ('[t]\nname = { ru = "Т" }\nru.include = ["инвест*"]\n', ["topic 't'", "no kk"]),
        (
            '[t]\nname = { ru = "Т", kk = "Т" }\nru.include = ["инв*ест"]\n',
            ["ru.include[0]", "end of a word"],
        ),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.include = ["ин*"]\n', ["ru.include[0]", "too broad"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.include = ["{а,{б}}"]\n', ["nested"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.include = ["газ{а"]\n', ["unclosed"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.include = [""]\n', ["empty pattern"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.include = ["*"]\n', ["any word"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.include = "газ"\n', ["ru.include", "list of strings"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.inclde = ["газ"]\n', ["unknown entry 'inclde'"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nrus.include = ["газ"]\n', ["unknown entry 'rus'"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.exclude = ["газ"]\n', ["no include patterns"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.include = ["газ"]\nru.exclude = ["а & б"]\n', ["exclusion"]),
        ('[t]\nname = { ru = "Т", kk = "Т" }\nru.include = ["газ(ы)"]\n', ["unexpected character"]),
    ],
)
def test_broken_files_raise_clear_errors(tmp_path: Path, body: str, fragments: list[str]) -> None:
    path = write(tmp_path, body)
    with pytest.raises(TopicsFileError) as caught:
        TopicRules.load(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TopicsFileError, match="cannot read"):
        TopicRules.load(tmp_path / "absent.toml")
