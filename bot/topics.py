"""Topic rules: which digest topics a news item belongs to, with the rules kept in data (topics.toml).

Editors tune the wording lists without touching code, so the rule syntax is small and documented at the
top of ``bot/data/topics.toml``; this module only compiles it to regexes once and applies it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from os.path import commonprefix
from pathlib import Path
from types import MappingProxyType

from bot.textfold import fold_kazakh, fold_yo

__all__ = ["PatternError", "Rule", "Topic", "TopicRules", "TopicsFileError", "compile_pattern"]

_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
_SECTION_RE = re.compile(r"[a-z]{2}|common")
_RULE_KINDS = ("include", "exclude", "veto")
_REQUIRED_NAME_LANGS = ("ru", "kk")
# Between the words of a phrase: spaces, hyphens/dashes and quotes, never sentence punctuation.
_GAP = r"[\s\-‐‑–—«»\"“”„'’]+"
_HYPHENS = "-‐‑–—"
_WORD_CHAR = r"[^\W_]"
_MIN_STEM = 3


class TopicsFileError(Exception):
    """The topics file cannot be used; the message names the file, the topic and what is wrong."""


class PatternError(ValueError):
    """One rule pattern is malformed (reported inside a TopicsFileError or a project catalog error)."""


@dataclass(frozen=True)
class Topic:
    key: str
    names: Mapping[str, str] = field(hash=False)  # {"ru": ..., "kk": ...}


@dataclass(frozen=True)
class Rule:
    """One compiled pattern: every clause (joined by ``&`` in the source) must be found in the text."""

    source: str
    clauses: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class _Section:
    include: tuple[Rule, ...] = ()
    exclude: tuple[Rule, ...] = ()
    veto: tuple[Rule, ...] = ()

    def merged(self, other: _Section) -> _Section:
        return _Section(self.include + other.include, self.exclude + other.exclude, self.veto + other.veto)


@dataclass(frozen=True)
class _CompiledTopic:
    topic: Topic
    sections: Mapping[str, _Section]  # per language code, "common" already merged into each

    def section(self, lang: str) -> _Section:
        found = self.sections.get(lang)
        if found is not None:
            return found
        result = _Section()  # unknown language: every rule of every language applies
        for section in self.sections.values():
            result = result.merged(section)
        return result


def compile_pattern(source: str) -> Rule:
    """Compile one rule pattern (syntax in bot/data/topics.toml); raise PatternError if malformed.

    Shared with the project catalog so that both data files speak the same pattern language.
    """
    text = source.strip()
    if not text:
        raise PatternError("empty pattern")
    clauses = tuple(_compile_clause(part.strip()) for part in text.split(" & "))
    return Rule(source=source, clauses=clauses)


def _compile_clause(clause: str) -> re.Pattern[str]:
    case_sensitive = clause.startswith("=")
    body = fold_yo(clause[1:] if case_sensitive else clause)
    regex, min_len = _phrase_regex(body)
    if "*" in body and min_len < _MIN_STEM:
        raise PatternError(f"{clause!r} is too broad (a stem needs at least {_MIN_STEM} letters before '*')")
    regex = rf"(?<!{_WORD_CHAR})(?:{regex})(?!{_WORD_CHAR})"
    return re.compile(regex if case_sensitive else f"(?i:{regex})")


def _phrase_regex(text: str) -> tuple[str, int]:
    """Regex for words separated by gaps, and the fewest literal letters it can match."""
    words = _split_words(text)
    if not words:
        raise PatternError(f"no words in {text!r}")
    if all(w == "*" for w in words):
        raise PatternError(f"{text!r} would match any word")
    compiled = [_word_regex(w) for w in words]
    return _GAP.join(regex for regex, _ in compiled), sum(length for _, length in compiled)


def _split_words(text: str) -> list[str]:
    """Split on spaces and hyphens that are not inside {...}."""
    found: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
            if depth > 1:
                raise PatternError(f"nested braces in {text!r}")
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise PatternError(f"unbalanced '}}' in {text!r}")
        if depth == 0 and (ch.isspace() or ch in _HYPHENS):
            if current:
                found.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise PatternError(f"unclosed '{{' in {text!r}")
    if current:
        found.append("".join(current))
    return found


def _word_regex(word: str) -> tuple[str, int]:
    """One word: literal letters and {a,b} groups, then an optional * (the word may continue)."""
    if word == "*":
        return f"{_WORD_CHAR}+", 0
    stem = word.endswith("*")
    body = word[:-1] if stem else word
    if "*" in re.sub(r"\{[^{}]*\}", "", body):
        raise PatternError(f"'*' is only allowed at the end of a word: {word!r}")
    out: list[str] = []
    min_len = 0
    for part in re.split(r"(\{[^{}]*\})", body):
        if part.startswith("{"):
            regex, shortest = _group_regex(part, word)
            out.append(regex)
            min_len += shortest
        elif part:
            if not _is_literal(part):
                raise PatternError(
                    f"unexpected character in {word!r} (letters, digits, {{a,b}} and a final * are allowed)"
                )
            out.append(re.escape(part))
            min_len += len(part)
    if not out:
        raise PatternError(f"empty word in {word!r}")
    if stem:
        out.append(f"{_WORD_CHAR}*")
    return "".join(out), min_len


def _group_regex(group: str, word: str) -> tuple[str, int]:
    """{a,b,c}: plain alternatives, or whole sub-phrases when they hold spaces, * or a leading =."""
    regexes: list[str] = []
    lengths: list[int] = []
    for alt in group[1:-1].split(","):
        if _is_literal(alt, allow_empty=True):
            regexes.append(re.escape(alt))
            lengths.append(len(alt))
            continue
        case_sensitive = alt.startswith("=")
        body = alt[1:] if case_sensitive else alt
        if not body:
            raise PatternError(f"bad alternative {alt!r} in {word!r}")
        regex, length = _phrase_regex(body)
        regexes.append(f"(?-i:{regex})" if case_sensitive else regex)
        lengths.append(length)
    return "(?:" + "|".join(regexes) + ")", min(lengths)


def _is_literal(text: str, *, allow_empty: bool = False) -> bool:
    if not text:
        return allow_empty
    return all(ch.isalnum() or ch in ".'’&+" for ch in text)


def rule_found(rule: Rule, text: str, blocked: Iterable[tuple[int, int]] = ()) -> bool:
    """True when every clause has a match in ``text`` that does not overlap a ``blocked`` span."""
    spans = tuple(blocked)
    return all(_clause_found(clause, text, spans) for clause in rule.clauses)


def _clause_found(clause: re.Pattern[str], text: str, blocked: tuple[tuple[int, int], ...]) -> bool:
    for match in clause.finditer(text):
        start, end = match.span()
        if not any(start < b_end and b_start < end for b_start, b_end in blocked):
            return True
    return False


def rule_spans(rules: Iterable[Rule], text: str) -> list[tuple[int, int]]:
    return [m.span() for rule in rules for clause in rule.clauses for m in clause.finditer(text)]


class TopicRules:
    """The compiled contents of one topics file."""

    def __init__(self, compiled: Iterable[_CompiledTopic]) -> None:
        self._compiled = tuple(compiled)
        self._by_key = {c.topic.key: c for c in self._compiled}
        self._topics = tuple(c.topic for c in self._compiled)
        self._keys = tuple(t.key for t in self._topics)

    @classmethod
    def load(cls, path: Path) -> TopicRules:
        """Read and compile a topics file, reporting any problem as TopicsFileError."""
        try:
            with Path(path).open("rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise TopicsFileError(f"{path}: cannot read topics file: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise TopicsFileError(f"{path}: not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise TopicsFileError(f"{path}: not UTF-8 text: {exc}") from exc
        return cls(_compile_file(data, str(path)))

    @property
    def topics(self) -> tuple[Topic, ...]:
        return self._topics

    @property
    def keys(self) -> tuple[str, ...]:
        return self._keys

    def match(self, text: str, lang: str) -> list[str]:
        """Topic keys (file order) whose rules fire on ``text`` (title + "\\n" + summary) in ``lang``."""
        folded = fold_yo(text)
        return [c.topic.key for c in self._compiled if _section_matches(c.section(lang), folded)]

    def name(self, key: str, lang: str) -> str:
        """Display name in ``lang``, Russian when the file has none for that language."""
        names = self._by_key[key].topic.names
        return names.get(lang) or names["ru"]

    def resolve(self, name: str) -> str | None:
        """Map what a user typed (key, or a topic name in either language, loosely) to a key.

        Tried in order: exact key or name; a shared prefix with a name or one of its words (inflection,
        abbreviation: «инвестиций», «Қытаймен», «кит»); the topic rules themselves («КНР», «нефть»).
        Ambiguous input gives None rather than a guess.
        """
        query = _fold_query(name)
        if not query:
            return None
        for compiled in self._compiled:
            if query in {compiled.topic.key, compiled.topic.key.replace("_", " ")} | _name_forms(
                compiled.topic
            ):
                return compiled.topic.key
        by_prefix = self._resolve_by_prefix(query)
        if by_prefix is not None:
            return by_prefix
        matched = {key for lang in _REQUIRED_NAME_LANGS for key in self.match(name, lang)}
        return matched.pop() if len(matched) == 1 else None

    def _resolve_by_prefix(self, query: str) -> str | None:
        best: dict[str, int] = {}
        for compiled in self._compiled:
            forms = {compiled.topic.key} | _name_forms(compiled.topic)
            forms |= {word for form in forms for word in form.split() if len(word) >= 4}
            score = max((_prefix_score(query, form) for form in forms), default=0)
            if score:
                best[compiled.topic.key] = score
        if not best:
            return None
        top = max(best.values())
        winners = [key for key, score in best.items() if score == top]
        return winners[0] if len(winners) == 1 else None


def _section_matches(section: _Section, text: str) -> bool:
    if any(rule_found(rule, text) for rule in section.veto):
        return False
    blocked = rule_spans(section.exclude, text)
    return any(rule_found(rule, text, blocked) for rule in section.include)


def _fold_query(text: str) -> str:
    text = fold_kazakh(fold_yo(text)).lower().strip().lstrip("/#")
    return " ".join(text.replace("_", " ").split())


def _name_forms(topic: Topic) -> set[str]:
    return {_fold_query(n) for n in topic.names.values()}


def _prefix_score(query: str, form: str) -> int:
    """Length of the shared beginning when it plausibly is the same word, else 0.

    A typed prefix of a name counts from 3 letters («кит»); otherwise the words must share at least
    4 letters and differ only in their last 3 (an inflection or suffix: инвестиций / инвестиции).
    """
    common = len(commonprefix([query, form]))
    if common == len(query) >= 3:
        return common
    if common >= 4 and common >= min(len(query), len(form)) - 3:
        return common
    return 0


# ---------------------------------------------------------------- loading


def _compile_file(data: Mapping[str, object], source: str) -> list[_CompiledTopic]:
    if not data:
        raise TopicsFileError(f"{source}: no topics defined")
    return [_compile_topic(key, value, source) for key, value in data.items()]


def _compile_topic(key: str, value: object, source: str) -> _CompiledTopic:
    where = f"{source}: topic {key!r}"
    if not _KEY_RE.fullmatch(key):
        raise TopicsFileError(f"{where}: key must be lower-case latin letters, digits and '_'")
    if not isinstance(value, dict):
        raise TopicsFileError(f"{where}: expected a table like [{key}], got {type(value).__name__}")
    names = _topic_names(value.get("name"), where)
    sections: dict[str, _Section] = {}
    for section_key, section_value in value.items():
        if section_key == "name":
            continue
        if not _SECTION_RE.fullmatch(section_key):
            raise TopicsFileError(
                f"{where}: unknown entry {section_key!r} (expected name, common or a language code like ru/kk)"
            )
        sections[section_key] = _compile_section(section_value, f"{where}: {section_key}")
    common = sections.pop("common", _Section())
    for lang in _REQUIRED_NAME_LANGS:
        sections.setdefault(lang, _Section())
    merged = {lang: section.merged(common) for lang, section in sections.items()}
    if not any(section.include for section in merged.values()):
        raise TopicsFileError(f"{where}: no include patterns, the topic could never match")
    topic = Topic(key=key, names=MappingProxyType(names))
    return _CompiledTopic(topic=topic, sections=MappingProxyType(merged))


def _topic_names(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TopicsFileError(f'{where}: missing name = {{ ru = "...", kk = "..." }}')
    names: dict[str, str] = {}
    for lang, name in value.items():
        if not isinstance(name, str) or not name.strip():
            raise TopicsFileError(f"{where}: name.{lang} must be a non-empty string")
        names[lang] = name.strip()
    missing = [lang for lang in _REQUIRED_NAME_LANGS if lang not in names]
    if missing:
        raise TopicsFileError(f"{where}: name has no {', '.join(missing)} entry")
    return names


def _compile_section(value: object, where: str) -> _Section:
    if not isinstance(value, dict):
        raise TopicsFileError(f"{where}: expected include/exclude/veto lists, got {type(value).__name__}")
    unknown = sorted(set(value) - set(_RULE_KINDS))
    if unknown:
        raise TopicsFileError(f"{where}: unknown entry {unknown[0]!r} (expected include, exclude or veto)")
    rules: dict[str, tuple[Rule, ...]] = {}
    for kind in _RULE_KINDS:
        patterns = value.get(kind, [])
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise TopicsFileError(f"{where}.{kind}: expected a list of strings")
        rules[kind] = tuple(_compile_entry(p, f"{where}.{kind}[{i}]") for i, p in enumerate(patterns))
        if kind == "exclude" and any(len(rule.clauses) > 1 for rule in rules[kind]):
            raise TopicsFileError(
                f"{where}.exclude: '&' makes no sense in an exclusion (it masks text spans)"
            )
    return _Section(include=rules["include"], exclude=rules["exclude"], veto=rules["veto"])


def _compile_entry(pattern: str, where: str) -> Rule:
    try:
        return compile_pattern(pattern)
    except PatternError as exc:
        raise TopicsFileError(f"{where} {pattern!r}: {exc}") from None
