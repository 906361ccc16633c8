"""Topic rules: the shipped file's behaviour, the rule syntax, and the errors a broken file produces."""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

import pytest

import bot
from bot.textfold import LOWER_UNSAFE
from bot.topics import _ANCHOR_ALPHABET, Rule, Topic, TopicRules, TopicsFileError, _Blocked, compile_pattern
from tests import test_labelled_accuracy

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


# ---------------------------------------------------------------- the indexed match agrees with the reference
#
# TopicRules.match runs only the clauses a text's words make possible, and only where they can start.  The
# reference below is the straightforward evaluation written from the rules file alone: every clause regex
# over the whole text, exclusions masking the spans of their finditer matches.


def reference_match(data: dict[str, dict[str, object]], text: str, lang: str) -> list[str]:
    folded = text.replace("ё", "е").replace("Ё", "Е")
    result = []
    for key, table in data.items():
        sections = {name: value for name, value in table.items() if name != "name"}
        common = sections.pop("common", {})
        langs = set(sections) | {"ru", "kk"}
        chosen = [sections.get(lang, {}), common] if lang in langs else [*sections.values(), common]
        rules = {
            kind: [_compiled(p) for section in chosen for p in section.get(kind, [])]  # type: ignore[attr-defined]
            for kind in ("include", "exclude", "veto")
        }
        if any(all(clause.search(folded) for clause in rule.clauses) for rule in rules["veto"]):
            continue
        blocked = [m.span() for rule in rules["exclude"] for c in rule.clauses for m in c.finditer(folded)]
        if any(
            all(any(_free(m, blocked) for m in clause.finditer(folded)) for clause in rule.clauses)
            for rule in rules["include"]
        ):
            result.append(key)
    return result


def _free(match: re.Match[str], blocked: list[tuple[int, int]]) -> bool:
    return not any(match.start() < end and start < match.end() for start, end in blocked)


_COMPILED: dict[str, Rule] = {}


def _compiled(pattern: str) -> Rule:
    if pattern not in _COMPILED:
        _COMPILED[pattern] = compile_pattern(pattern)
    return _COMPILED[pattern]


GAPS = [" ", " ", " ", "-", " — ", " «", "» ", ' "', "\n", "'", "’"]
SEPARATORS = [" ", " ", " ", ", ", ". ", "\n", " — ", "-", " «", "» ", "_", "/", "(", ") ", ""]
SUFFIXES = ["", "", "а", "ы", "ов", "ами", "ский", "ная", "ға", "дың", "тар", "ында", "s", "ing"]
ODD_CHARS = ["ı", "İ", "ſ", "ᲀ", "ё", "Ё", "ə", "\u00a0", "\u200b", "_", "1", "Ⅱ"]


def sample_pattern(pattern: str, rng: random.Random, vocab: list[str]) -> str:
    """A concrete text the pattern was written for (or nearly: stems get random endings)."""
    clauses = []
    for clause in pattern.split(" & "):
        sensitive = clause.startswith("=")
        phrase = _sample_phrase(clause.lstrip("="), rng, vocab)
        clauses.append(phrase if sensitive and rng.random() < 0.8 else _recase(phrase, rng))
    return f" {rng.choice(vocab)} ".join(clauses)


def _sample_phrase(body: str, rng: random.Random, vocab: list[str]) -> str:
    words = re.findall(r"(?:[^\s{}\-‐‑–—]|\{[^}]*\})+", body)
    return "".join(_sample_word(w, rng, vocab) + rng.choice(GAPS) for w in words).rstrip()


def _sample_word(word: str, rng: random.Random, vocab: list[str]) -> str:
    if word == "*":
        return rng.choice(vocab)
    out = []
    for part in re.split(r"(\{[^{}]*\})", word.rstrip("*")):
        if part.startswith("{"):
            alt = rng.choice(part[1:-1].split(",")).lstrip("=")
            out.append(_sample_phrase(alt, rng, vocab) if re.search(r"[\s*\-]", alt) else alt)
        else:
            out.append(part)
    if word.endswith("*"):
        out.append(rng.choice(SUFFIXES))
    return "".join(out)


def _recase(text: str, rng: random.Random) -> str:
    return rng.choice([text, text, text.upper(), text.lower(), text.capitalize(), text.title()])


def random_texts(data: dict[str, dict[str, object]], count: int, seed: int) -> list[str]:
    """Texts made of pattern samples (includes, exclusions and vetoes of every topic), words of the
    labelled items and separators, with glued-on letters, ё and case-folding oddities thrown in."""
    rng = random.Random(seed)
    patterns = sorted(
        {p for table in data.values() for key, section in table.items() if key != "name"
         for kind in ("include", "exclude", "veto") for p in section.get(kind, [])}  # type: ignore[attr-defined]
    )  # fmt: skip
    vocab = sorted({w for item in load_labelled() for w in (item.title + " " + item.lead).split()})
    texts = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(1, 14)):
            roll = rng.random()
            if roll < 0.45:
                piece = sample_pattern(rng.choice(patterns), rng, vocab)
            elif roll < 0.9:
                piece = rng.choice(vocab)
            else:
                piece = rng.choice(ODD_CHARS) + rng.choice(vocab)
            if rng.random() < 0.05:
                piece = rng.choice("xжҚ_1") + piece  # glued on: the word no longer starts there
            if rng.random() < 0.05:
                piece = piece.replace("е", "ё")
            pieces.append(piece + rng.choice(SEPARATORS))
        texts.append("".join(pieces))
    return texts


def load_labelled() -> list[LabelledItem]:
    return test_labelled_accuracy.load_items()


LabelledItem = test_labelled_accuracy.Item


@pytest.fixture(scope="module")
def shipped_data() -> dict[str, dict[str, object]]:
    with SHIPPED.open("rb") as handle:
        return tomllib.load(handle)


def test_match_agrees_with_reference_on_labelled_items(rules: TopicRules, shipped_data: dict) -> None:
    for item in load_labelled():
        cases = [(f"{item.title}\n{item.lead}", lang) for lang in ("ru", "kk", "en")]
        cases += [(item.title, item.lang), (item.lead.upper(), item.lang)]
        for text, lang in cases:
            assert rules.match(text, lang) == reference_match(shipped_data, text, lang), (item.id, lang, text)


def test_match_agrees_with_reference_on_random_texts(rules: TopicRules, shipped_data: dict) -> None:
    seen: set[str] = set()
    for index, text in enumerate(random_texts(shipped_data, 1500, seed=20240611)):
        lang = ("ru", "kk", "xx")[index % 3]
        expected = reference_match(shipped_data, text, lang)
        assert rules.match(text, lang) == expected, (lang, text)
        seen.update(expected)
    assert seen == set(REQUIRED_KEYS)  # the sample exercises every topic


def test_match_agrees_with_reference_on_the_syntax_demo(tmp_path: Path) -> None:
    path = write(tmp_path, SYNTAX)
    demo = TopicRules.load(path)
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    for text in random_texts(data, 300, seed=7):
        for lang in ("ru", "kk", "xx"):
            assert demo.match(text, lang) == reference_match(data, text, lang), (lang, text)


def test_anchors_of_a_clause() -> None:
    def anchors(pattern: str) -> list[tuple[tuple[str, ...] | None, tuple[tuple[str, ...], ...]]]:
        return [(plan.starts, plan.need) for plan in compile_pattern(pattern).plans]

    assert anchors("газ{,а,у}") == [(("газ",), (("газ",),))]
    assert anchors("кита{я,ю,ем,е}") == [(("китае", "китаю", "китая"), (("китае", "китаю", "китая"),))]
    assert anchors("{привлек*,приток*} капитал* & =ПИИ") == [
        (("привлек", "приток"), (("привлек", "приток"), ("капитал",))),
        (("пии",), (("пии",),)),
    ]
    assert anchors("* сауда*") == [(None, (("сауда",),))]  # no start: searched over the whole text
    assert anchors("{сатимол*,месторожден* сатимол*}") == [
        (("месторожден", "сатимол"), (("месторожден", "сатимол"),))
    ]
    assert anchors("Zakon.kz") == [(("zakon.kz",), (("zakon",),))]  # a token stops at the dot
    assert anchors("{,а}") == [(None, ())]  # could match nothing: always a candidate


def test_lowered_text_is_faithful_except_for_the_listed_characters() -> None:
    """What the anchors rely on, over all of Unicode: a character the case-insensitive regex engine
    matches to an anchor letter lower-cases to exactly that letter, unless it is in LOWER_UNSAFE."""
    everything = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    for letter in sorted(_ANCHOR_ALPHABET):
        for ch in set(re.findall(re.escape(letter), everything, re.IGNORECASE)):
            assert ch.lower() == letter or ch in LOWER_UNSAFE, (letter, ch)
    assert [ch for ch in everything if len(ch.lower()) != 1] == ["\u0130"]
    assert "\u0130" in LOWER_UNSAFE


def test_texts_with_unsafe_characters_take_the_reference_path(rules: TopicRules) -> None:
    for ch in LOWER_UNSAFE:
        text = f"Инвестиции в КНР {ch} CHINA"
        assert rules.match(text, "ru") == rules.match_slowly(text, "ru") == ["investments", "china"]
    assert rules.match("CHİNA", "ru") == rules.match_slowly("CHİNA", "ru") == ["china"]  # İ matches i


OVERLAPS = """
[demo]
name = { ru = "Демо", kk = "Демо" }
ru.include = ["aaa* * ccc*", "{ddd,eee} fff*", "ggg* & hhh*"]
ru.exclude = ["xxx aaa*", "yyy ddd", "ccc* zzz"]
ru.veto = ["vvv* & www*"]
"""


def test_exclusions_mask_finditer_matches_not_every_possible_match(tmp_path: Path) -> None:
    """A match hidden by an exclusion hides the matches overlapping it too, as finditer never sees them."""
    path = write(tmp_path, OVERLAPS)
    demo = TopicRules.load(path)
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    cases = {
        "xxx aaa1 aaa2 ccc3 ccc4": [],  # finditer: "aaa1 aaa2 ccc3" (blocked), then nothing from ccc3 on
        "xxx aaa1 aaa2 ccc3 ccc4 aaa5 b ccc6": ["demo"],
        "aaa1 aaa2 ccc3": ["demo"],
        "yyy ddd fff eee fff": ["demo"],
        "yyy ddd fff": [],
        "aaa b ccc zzz": [],
        "hhh ggg1": ["demo"],
        "hhh ggg1 www vvv": [],
    }
    for text, expected in cases.items():
        assert demo.match(text, "ru") == reference_match(data, text, "ru") == expected, text
    rng = random.Random(3)
    words = "xxx aaa aaa1 b ccc ccc3 zzz yyy ddd eee fff ggg hhh vvv www".split()
    for _ in range(3000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 9)))
        assert demo.match(text, "ru") == reference_match(data, text, "ru"), text


def test_blocked_spans_overlap_like_the_pairwise_check() -> None:
    rng = random.Random(11)
    for _ in range(2000):
        spans = [(s, s + rng.randint(0, 6)) for s in (rng.randint(0, 30) for _ in range(rng.randint(1, 6)))]
        blocked = _Blocked(list(spans))
        start = rng.randint(0, 36)
        end = start + rng.randint(1, 6)
        assert blocked.overlaps(start, end) == any(start < e and s < end for s, e in spans), (
            spans,
            start,
            end,
        )
