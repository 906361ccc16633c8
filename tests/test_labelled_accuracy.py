"""End-to-end quality on the hand-labelled items: language detection plus the shipped topic rules.

The thresholds are the release bar; on failure the report lists every misclassified item so the fix can
go into the rules (never into the labels).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import bot
from bot.ingest.language import detect_language
from bot.topics import TopicRules

LABELLED = Path(__file__).parent / "fixtures" / "labelled_items.toml"
TOPICS = Path(bot.__file__).parent / "data" / "topics.toml"
MIN_LANGUAGE_ACCURACY = 0.98
MIN_PRECISION = 0.9
MIN_RECALL = 0.85


@dataclass(frozen=True)
class Item:
    id: str
    lang: str
    topics: frozenset[str]
    title: str
    lead: str


@dataclass(frozen=True)
class Scores:
    language_accuracy: float
    precision: dict[str, float]
    recall: dict[str, float]
    report: str


def load_items() -> list[Item]:
    with LABELLED.open("rb") as handle:
        raw = tomllib.load(handle)["item"]
    return [Item(r["id"], r["lang"], frozenset(r["topics"]), r["title"], r["lead"]) for r in raw]


@pytest.fixture(scope="module")
def items() -> list[Item]:
    return load_items()


@pytest.fixture(scope="module")
def scores(items: list[Item]) -> Scores:
    return evaluate(items, TopicRules.load(TOPICS))


def evaluate(items: list[Item], rules: TopicRules) -> Scores:
    true_pos: Counter[str] = Counter()
    false_pos: Counter[str] = Counter()
    false_neg: Counter[str] = Counter()
    lines: list[str] = []
    right_language = 0
    for item in items:
        lang = detect_language(item.title, item.lead, hint="auto")
        right_language += lang == item.lang
        got = frozenset(rules.match(f"{item.title}\n{item.lead}", lang))
        true_pos.update(got & item.topics)
        false_pos.update(got - item.topics)
        false_neg.update(item.topics - got)
        if lang != item.lang or got != item.topics:
            lines.append(
                f"  {item.id} [{lang} vs {item.lang}] extra={sorted(got - item.topics)} "
                f"missing={sorted(item.topics - got)}: {item.title} | {item.lead}"
            )
    precision = {k: _ratio(true_pos[k], true_pos[k] + false_pos[k]) for k in rules.keys}
    recall = {k: _ratio(true_pos[k], true_pos[k] + false_neg[k]) for k in rules.keys}
    accuracy = right_language / len(items)
    table = [f"language accuracy {accuracy:.3f} over {len(items)} items"]
    table += [f"{k:12} precision {precision[k]:.3f}  recall {recall[k]:.3f}" for k in rules.keys]
    report = "\n".join(table + (["misclassified:", *lines] if lines else []))
    return Scores(accuracy, precision, recall, report)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def test_labelled_set_is_balanced_and_covers_every_topic(items: list[Item]) -> None:
    rules = TopicRules.load(TOPICS)
    assert len(items) >= 120
    assert len({i.id for i in items}) == len(items), "duplicate ids"
    per_lang = Counter(i.lang for i in items)
    assert set(per_lang) == {"ru", "kk"}
    assert abs(per_lang["ru"] - per_lang["kk"]) <= len(items) // 10
    for item in items:
        assert item.topics <= set(rules.keys), item.id
    for lang in ("ru", "kk"):
        covered = Counter(t for i in items if i.lang == lang for t in i.topics)
        assert all(covered[k] >= 5 for k in rules.keys), (lang, covered)
        assert any(not i.topics for i in items if i.lang == lang), "needs negatives"


def test_language_accuracy(scores: Scores) -> None:
    print("\n" + scores.report)
    assert scores.language_accuracy >= MIN_LANGUAGE_ACCURACY, scores.report


@pytest.mark.parametrize(
    "topic", ["investments", "china", "projects", "energy", "industry", "agriculture", "trade"]
)
def test_topic_precision_and_recall(scores: Scores, topic: str) -> None:
    assert scores.precision[topic] >= MIN_PRECISION, scores.report
    assert scores.recall[topic] >= MIN_RECALL, scores.report
