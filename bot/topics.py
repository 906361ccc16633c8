"""Topic rules: which digest topics a news item belongs to, with the rules kept in data (topics.toml).

Editors tune the wording lists without touching code, so the rule syntax is small and documented at the
top of ``bot/data/topics.toml``; this module only compiles it to regexes once and applies it.

Applying it is on the ingestion hot path, so every clause also carries its *anchors*: the literal
beginnings its words must have (``газ{,а,у}`` -> "газ", ``{привлек*,приток*} капитал*`` -> "привлек",
"приток" / "капитал").  A ``ClauseIndex`` looks at the words of the text once (cached per
whitespace-separated chunk) and tells which clauses can possibly match; those are then run only where their
first word's anchors occur (``str.find`` in the lower-cased text, then ``pattern.match`` there), which gives
the same matches, in the same order, as ``pattern.finditer`` over the whole text.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from os.path import commonprefix
from pathlib import Path
from types import MappingProxyType

from bot.textfold import FoldedText, fold_kazakh, fold_yo, folded_text, remember

__all__ = [
    "ClauseIndex",
    "ClausePlan",
    "IndexedClause",
    "PatternError",
    "Rule",
    "Topic",
    "TopicRules",
    "TopicsFileError",
    "compile_pattern",
]

_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
_SECTION_RE = re.compile(r"[a-z]{2}|common")
_RULE_KINDS = ("include", "exclude", "veto")
_REQUIRED_NAME_LANGS = ("ru", "kk")
# Between the words of a phrase: spaces, hyphens/dashes and quotes, never sentence punctuation.
_GAP = r"[\s\-‐‑–—«»\"“”„'’]+"
_HYPHENS = "-‐‑–—"
_WORD_CHAR = r"[^\W_]"
_MIN_STEM = 3
_ANY_LANG = "*"  # plan key for languages no topic has a section for (every rule of every language applies)


class TopicsFileError(Exception):
    """The topics file cannot be used; the message names the file, the topic and what is wrong."""


class PatternError(ValueError):
    """One rule pattern is malformed (reported inside a TopicsFileError or a project catalog error)."""


@dataclass(frozen=True)
class Topic:
    key: str
    names: Mapping[str, str] = field(hash=False)  # {"ru": ..., "kk": ...}


@dataclass(frozen=True)
class ClausePlan:
    """One clause's regex plus what the fast path needs to know about it (see the module docstring).

    ``starts``: lower-cased literal beginnings of the clause's first word (every match starts with one of
    them), or None when they cannot be told.  ``need``: for each word whose beginnings can be told, those
    beginnings cut to the letters a word token starts with; a text can only match when, for every group,
    one of its word tokens starts with one of the group's anchors.  Empty: always a candidate.
    """

    pattern: re.Pattern[str]
    starts: tuple[str, ...] | None = None
    need: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Rule:
    """One compiled pattern: every clause (joined by ``&`` in the source) must be found in the text."""

    source: str
    clauses: tuple[re.Pattern[str], ...]
    plans: tuple[ClausePlan, ...] = field(default=(), compare=False, repr=False)  # one per clause

    def __post_init__(self) -> None:
        if len(self.plans) != len(self.clauses):  # built by hand: plain plans, always candidates
            object.__setattr__(self, "plans", tuple(ClausePlan(clause) for clause in self.clauses))


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
    plans = tuple(_compile_clause(part.strip()) for part in text.split(" & "))
    return Rule(source=source, clauses=tuple(plan.pattern for plan in plans), plans=plans)


def _compile_clause(clause: str) -> ClausePlan:
    case_sensitive = clause.startswith("=")
    body = fold_yo(clause[1:] if case_sensitive else clause)
    regex, min_len = _phrase_regex(body)
    if "*" in body and min_len < _MIN_STEM:
        raise PatternError(f"{clause!r} is too broad (a stem needs at least {_MIN_STEM} letters before '*')")
    regex = rf"(?<!{_WORD_CHAR})(?:{regex})(?!{_WORD_CHAR})"
    pattern = re.compile(regex if case_sensitive else f"(?i:{regex})")
    starts, need = _clause_anchors(body)
    return ClausePlan(pattern, starts, need)


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
    """True when every clause has a match in ``text`` that does not overlap a ``blocked`` span.

    The straightforward evaluation (every clause regex over the whole text); TopicRules.match uses the
    indexed one and falls back to this for texts the index cannot vouch for.
    """
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


# ---------------------------------------------------------------- fast evaluation
#
# Anchors are compared with a lower-cased copy of the text, which is only sound where str.lower() agrees
# with the regex engine's case-insensitive matching.  For the letters anchors may hold (_ANCHOR_ALPHABET)
# it does, except in texts holding one of the few characters textfold.FoldedText.lower_exact looks for
# (İ ı ſ and the old Cyrillic forms ᲀ..ᲆ); such a text takes the straightforward path.
# tests/test_topics.py checks both facts over the whole of Unicode.

_ANCHOR_ALPHABET = frozenset(
    "abcdefghijklmnopqrstuvwxyz0123456789абвгдежзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі.'’&+"
)
_TOKEN_RE = re.compile(r"[^\W_]+")  # the same letters as _WORD_CHAR: tokens start where clauses may
_MAX_ANCHORS = 64  # stop expanding {a,b} groups into literal beginnings beyond this many


def _clause_anchors(body: str) -> tuple[tuple[str, ...] | None, tuple[tuple[str, ...], ...]]:
    """(starts, need) of a clause body (already without its leading '=' and with ё folded)."""
    per_word = [_word_starts(word) for word in _split_words(body)]
    starts = per_word[0] if per_word else None
    need: list[tuple[str, ...]] = []
    for anchors in per_word:
        if anchors is None:
            continue
        tokens = tuple(_token_prefix(anchor) for anchor in anchors)
        if all(tokens) and _minimal(tokens) not in need:
            need.append(_minimal(tokens))
    return starts, tuple(need)


def _word_starts(word: str) -> tuple[str, ...] | None:
    """Lower-cased literal beginnings one of which every match of the pattern word starts with."""
    if word == "*":
        return None
    body = word[:-1] if word.endswith("*") else word
    prefixes = {""}
    for part in re.split(r"(\{[^{}]*\})", body):
        if not part:
            continue
        if not part.startswith("{"):
            prefixes = {prefix + part for prefix in prefixes}
            continue
        alternatives = part[1:-1].split(",")
        if all(_is_literal(alt, allow_empty=True) for alt in alternatives):
            expanded = {prefix + alt for prefix in prefixes for alt in alternatives}
            if len(expanded) > _MAX_ANCHORS:
                break
            prefixes = expanded
            continue
        if prefixes == {""}:  # sub-phrases in the word's first group: their first words start it
            found: set[str] = set()
            for alt in alternatives:
                if _is_literal(alt, allow_empty=True):
                    found.add(alt)
                    continue
                sub_words = _split_words(alt[1:] if alt.startswith("=") else alt)
                first = _word_starts(sub_words[0]) if sub_words else None
                if first is None:
                    return None
                found.update(first)
            prefixes = found
        break
    anchors = {_safe_lower(prefix) for prefix in prefixes}
    if "" in anchors:
        return None
    return _minimal(anchors)


def _safe_lower(text: str) -> str:
    """The lower-cased text up to the first character the lower-cased comparison cannot vouch for."""
    out: list[str] = []
    for ch in text:
        low = ch.lower()
        if low not in _ANCHOR_ALPHABET:
            break
        out.append(low)
    return "".join(out)


def _token_prefix(anchor: str) -> str:
    """The part of an anchor a single word token holds (tokens are runs of letters and digits)."""
    for index, ch in enumerate(anchor):
        if not ch.isalnum():
            return anchor[:index]
    return anchor


def _minimal(anchors: Iterable[str]) -> tuple[str, ...]:
    """Drop anchors that start with another anchor: the shorter one finds the same places."""
    result: list[str] = []
    for anchor in sorted(set(anchors), key=len):
        if not any(anchor.startswith(shorter) for shorter in result):
            result.append(anchor)
    return tuple(sorted(result))


@dataclass(frozen=True, slots=True)
class IndexedClause:
    """A clause as a ClauseIndex sees it: candidate when ``mask & candidates == mask``.

    ``starts``: the anchors of the clause's first word (None: unknown, search the whole text);
    ``start_bits``: for clauses with several, the bit telling that some word of the text starts with each
    (0: not tracked, always tried), None when not tracked at all.
    """

    pattern: re.Pattern[str]
    mask: int
    starts: tuple[str, ...] | None
    start_bits: tuple[int, ...] | None = None

    def live_starts(self, candidates: int) -> tuple[str, ...] | None:
        """The first-word anchors that can occur in the text (None: search the whole text)."""
        if self.start_bits is None or self.starts is None:
            return self.starts
        pairs = zip(self.starts, self.start_bits, strict=True)
        return tuple(anchor for anchor, bit in pairs if not bit or candidates & bit)


class ClauseIndex:
    """Which of a fixed list of clauses can possibly match a text, from the words the text starts.

    Every ``need`` group of every clause gets a bit, set when some word token of the text starts with one
    of the group's anchors; a clause is a candidate when all bits of its ``mask`` are set (a clause without
    groups gets a bit that is always set).  Clauses whose first word has several anchors also get a bit
    per anchor, so that only the anchors the text's words start with are looked for.  Results are cached
    per whitespace-separated chunk: a call costs a dictionary lookup per distinct chunk.  Only for texts
    whose ``lower_exact`` holds.
    """

    def __init__(self, plans: Sequence[ClausePlan]) -> None:
        anchors: dict[str, int] = {}
        bits: dict[object, int] = {}  # a need group (tuple) or a start anchor (str) -> its bit

        def bit_of(key: object, prefixes: Iterable[str]) -> int:
            if key not in bits:
                bits[key] = 1 << len(bits)
                for prefix in prefixes:
                    anchors[prefix] = anchors.get(prefix, 0) | bits[key]
            return bits[key]

        always = 0
        clauses: list[IndexedClause] = []
        for plan in plans:
            mask = 0
            for group in plan.need:
                mask |= bit_of(group, group)
            if not plan.need:
                mask = bit_of(object(), ())
                always |= mask
            start_bits = None
            if plan.starts is not None and len(plan.starts) > 1:
                start_bits = tuple(bit_of(a, (a,)) if a.isalnum() else 0 for a in plan.starts)
            clauses.append(IndexedClause(plan.pattern, mask, plan.starts, start_bits))
        self.clauses: tuple[IndexedClause, ...] = tuple(clauses)
        # Every prefix of every anchor, with the bits of the anchors it completes (0 for none): a word is
        # looked up letter by letter and the walk stops at the first prefix no anchor has.
        prefixes = {anchor[:end]: 0 for anchor in anchors for end in range(1, len(anchor))}
        prefixes.update(anchors)
        self._prefixes = prefixes
        self._always = always
        self._cache: dict[str, int] = {}

    def candidates(self, text: FoldedText) -> int:
        """The bits present in the text: compare with the clauses' masks."""
        chunks = text.distinct
        try:
            # Most chunks start no anchor: dropping their zeros saves allocating a wide int per chunk.
            return reduce(or_, filter(None, map(self._cache.__getitem__, chunks)), self._always)
        except KeyError:  # some chunk not seen yet
            found = self._always
            for chunk in chunks:
                bits = self._cache.get(chunk)
                found |= self._learn(chunk) if bits is None else bits
            return found

    def _learn(self, chunk: str) -> int:
        prefixes = self._prefixes
        bits = 0
        for token in (chunk,) if chunk.isalnum() else _TOKEN_RE.findall(chunk):
            token = token.lower()
            for end in range(1, len(token) + 1):
                found = prefixes.get(token[:end])
                if found is None:
                    break
                bits |= found
        remember(self._cache, chunk, bits)
        return bits


def _positions(lowered: str, starts: tuple[str, ...]) -> list[int]:
    """Every index where one of ``starts`` occurs in ``lowered``, ascending (overlaps included)."""
    find = lowered.find
    found: list[int] = []
    for anchor in starts:
        index = find(anchor)
        while index >= 0:
            found.append(index)
            index = find(anchor, index + 1)
    if len(starts) > 1:
        found.sort()
    return found


def first_match(
    clause: IndexedClause, folded: str, lowered: str | None, candidates: int
) -> re.Match[str] | None:
    """``clause.pattern.search(folded)``, trying only where the clause can start (``lowered`` None: search)."""
    starts = None if lowered is None else clause.live_starts(candidates)
    if lowered is None or starts is None:
        return clause.pattern.search(folded)
    match = clause.pattern.match
    if len(starts) == 1:  # the common case, without building the list of positions
        anchor = starts[0]
        find = lowered.find
        index = find(anchor)
        while index >= 0:
            found = match(folded, index)
            if found is not None:
                return found
            index = find(anchor, index + 1)
        return None
    for index in _positions(lowered, starts):
        found = match(folded, index)
        if found is not None:
            return found
    return None


def _matches(
    clause: IndexedClause, folded: str, lowered: str | None, candidates: int
) -> Iterator[re.Match[str]]:
    """``clause.pattern.finditer(folded)``, trying only where the clause can start."""
    starts = None if lowered is None else clause.live_starts(candidates)
    if lowered is None or starts is None:
        yield from clause.pattern.finditer(folded)
        return
    match = clause.pattern.match
    end = 0
    for index in _positions(lowered, starts):
        if index < end:
            continue  # finditer resumes after the previous match
        found = match(folded, index)
        if found is not None:
            end = found.end()
            yield found


def all_spans(
    clause: IndexedClause, folded: str, lowered: str | None, candidates: int
) -> list[tuple[int, int]]:
    """The spans of ``clause.pattern.finditer(folded)``, in order."""
    return [found.span() for found in _matches(clause, folded, lowered, candidates)]


def _found_outside(
    clause: IndexedClause, folded: str, lowered: str | None, candidates: int, blocked: _Blocked
) -> bool:
    """``_clause_found`` with the indexed search: a finditer match that overlaps no blocked span."""
    if not blocked:
        return first_match(clause, folded, lowered, candidates) is not None
    return any(not blocked.overlaps(*found.span()) for found in _matches(clause, folded, lowered, candidates))


class _Blocked:
    """Spans hidden by exclusions, answering "does [start, end) overlap one?" in O(log n)."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        spans.sort()
        self._starts = [start for start, _ in spans]
        reach = -1
        ends: list[int] = []
        for _, end in spans:
            reach = max(reach, end)
            ends.append(reach)  # the furthest end among spans starting here or earlier
        self._ends = ends

    def __bool__(self) -> bool:
        return bool(self._starts)

    def overlaps(self, start: int, end: int) -> bool:
        count = bisect_left(self._starts, end)  # spans starting before ``end``
        return count > 0 and self._ends[count - 1] > start


_NO_SPANS = _Blocked([])
_Masked = tuple[int, tuple[IndexedClause, ...]]  # a rule: the bits of all its clauses, and the clauses


@dataclass(frozen=True)
class _TopicPlan:
    key: str
    include_bits: int  # every include clause's bit: none of them a candidate means the topic cannot fire
    include: Mapping[int, tuple[_Masked, ...]]  # include rules by the lowest bit of their mask
    veto: tuple[_Masked, ...]
    exclude: tuple[IndexedClause, ...]

    def candidate_includes(self, candidates: int) -> list[tuple[IndexedClause, ...]]:
        """Include rules all of whose clauses are candidates (a rule is listed under its lowest bit)."""
        found: list[tuple[IndexedClause, ...]] = []
        bits = candidates & self.include_bits
        while bits:
            low = bits & -bits
            bits ^= low
            for mask, clauses in self.include.get(low, ()):
                if mask & candidates == mask:
                    found.append(clauses)
        return found


@dataclass(frozen=True)
class _LangPlan:
    """Every topic's section for one language, over one ClauseIndex of all their clauses."""

    index: ClauseIndex
    topics: tuple[_TopicPlan, ...]

    @classmethod
    def build(cls, compiled: Sequence[_CompiledTopic], lang: str) -> _LangPlan:
        sections = [(topic.topic.key, topic.section(lang)) for topic in compiled]
        unique: dict[int, ClausePlan] = {}
        for _, section in sections:
            for rule in section.include + section.exclude + section.veto:
                for plan in rule.plans:
                    unique.setdefault(id(plan), plan)
        index = ClauseIndex(list(unique.values()))
        indexed = dict(zip(unique, index.clauses, strict=True))

        def masked(rule: Rule) -> _Masked:
            clauses = tuple(indexed[id(plan)] for plan in rule.plans)
            return reduce(or_, (clause.mask for clause in clauses), 0), clauses

        topics: list[_TopicPlan] = []
        for key, section in sections:
            include = [masked(rule) for rule in section.include]
            veto = tuple(masked(rule) for rule in section.veto)
            exclude = tuple(indexed[id(plan)] for rule in section.exclude for plan in rule.plans)
            by_low_bit: dict[int, list[_Masked]] = {}
            for mask, clauses in include:
                by_low_bit.setdefault(mask & -mask, []).append((mask, clauses))
            listed = {low: tuple(rules) for low, rules in by_low_bit.items()}
            include_bits = reduce(or_, (mask for mask, _ in include), 0)
            topics.append(_TopicPlan(key, include_bits, listed, veto, exclude))
        return cls(index, tuple(topics))

    def match(self, text: FoldedText) -> list[str]:
        candidates = self.index.candidates(text)
        folded = text.folded
        lowered: str | None = None
        result: list[str] = []
        for topic in self.topics:
            if not candidates & topic.include_bits:
                continue
            include = topic.candidate_includes(candidates)
            if not include:
                continue
            if lowered is None:
                lowered = text.lowered
            if any(
                all(first_match(clause, folded, lowered, candidates) is not None for clause in clauses)
                for mask, clauses in topic.veto
                if mask & candidates == mask
            ):
                continue
            spans = [
                span
                for clause in topic.exclude
                if clause.mask & candidates == clause.mask
                for span in all_spans(clause, folded, lowered, candidates)
            ]
            blocked = _Blocked(spans) if spans else _NO_SPANS
            if any(
                all(_found_outside(clause, folded, lowered, candidates, blocked) for clause in clauses)
                for clauses in include
            ):
                result.append(topic.key)
        return result


class TopicRules:
    """The compiled contents of one topics file."""

    def __init__(self, compiled: Iterable[_CompiledTopic]) -> None:
        self._compiled = tuple(compiled)
        self._by_key = {c.topic.key: c for c in self._compiled}
        self._topics = tuple(c.topic for c in self._compiled)
        self._keys = tuple(t.key for t in self._topics)
        langs = {lang for c in self._compiled for lang in c.sections}
        self._plans = {lang: _LangPlan.build(self._compiled, lang) for lang in sorted(langs)}
        self._plans[_ANY_LANG] = _LangPlan.build(self._compiled, _ANY_LANG)

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
        prepared = folded_text(text)
        if not prepared.lower_exact:
            return self.match_slowly(text, lang)
        plan = self._plans.get(lang) or self._plans[_ANY_LANG]
        return plan.match(prepared)

    def match_slowly(self, text: str, lang: str) -> list[str]:
        """``match`` by running every rule over the whole text: the reference the fast path must agree with."""
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
