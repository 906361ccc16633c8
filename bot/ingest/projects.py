"""Named investment projects and companies mentioned in a news item.

Two sources, merged into one list per item:

* the shipped catalog (bot/data/projects.toml): known names with their Russian, Kazakh and Latin spellings
  and aliases, so «Сатимола», «Сатимоладағы» and "Satimola" all land on one key;
* heuristics for names nobody has catalogued yet: a quoted name next to a word such as месторождение,
  завод, ТОО, жоба, кен орны, ЖШС (before or after the quotes), and runs of capitalised Latin words
  ("Jiangsu SOHO Holding Group", "CHN ENERGY").  Unknown names get ``textfold.latin_key`` as their key,
  which is what merges the Russian and Kazakh spellings of the same unknown name.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import reduce
from operator import or_
from pathlib import Path
from types import MappingProxyType

from bot.textfold import FoldedText, fold_yo, folded_text, latin_key
from bot.topics import ClauseIndex, IndexedClause, PatternError, Rule, compile_pattern, first_match
from storage.models import ProjectRef

__all__ = ["KnownProject", "ProjectCatalog", "ProjectCatalogError", "ProjectMention"]

KINDS = ("project", "company")
_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
_NAME_LANGS = ("ru", "kk", "latin")
_VOWELS = set("аеёиоуыэюяәөұүіaeiouy")
_AUTO_STEM_MIN = 5  # shorter last words are matched exactly: a stem of КМГ or Орал would be too greedy
_LOOKUP_THRESHOLD = 0.75

# ---------------------------------------------------------------- heuristics' vocabulary

# Words that make a quoted name a project (first group) or a company (second group).  They may stand
# before the quotes (месторождение «Сатимола», ТОО «Батыс») or after (кен орны, ЖШС, компаниясы).
_PROJECT_TRIGGERS = (
    r"(?i:месторожден\w*|завод\w*|проект\w*|комбинат\w*|фабрик\w*|жоба\w*|зауыт\w*|кен\s+(?:орн|орын)\w*)"
)
_COMPANY_TRIGGERS = (
    r"(?i:компани\w*|корпорац\w*|холдинг\w*|предприяти\w*|концерн\w*|кәсіпор[ын]\w*|серіктест\w*)"
    r"|(?:ТОО|АО|ПАО|ООО|ЗАО|АҚ|ЖШС|ЖАҚ|ГК|LLP|JSC|LLC|Ltd|Inc)"
)
_TRIGGER_RE = re.compile(
    rf"(?<![^\W_])(?:(?P<project>{_PROJECT_TRIGGERS})|(?P<company>{_COMPANY_TRIGGERS}))(?![^\W_])"
)
_QUOTE_RE = re.compile(
    r"«(?P<a>[^«»\n]{2,60})»|“(?P<b>[^“”\n]{2,60})”|„(?P<c>[^„“”\n]{2,60})[“”]|\"(?P<d>[^\"\n]{2,60})\""
)
_QUOTE_OPENERS = '«“„"'  # every _QUOTE_RE match starts with one of these
_SENTENCE_END = re.compile(r"[.!?;\n]")
_WINDOW_WORDS_BEFORE = 4
_WINDOW_WORDS_AFTER = 3
_MAX_NAME_WORDS = 6

_LATIN_WORD_REST = r"[A-Za-z0-9]*(?:[&'’\-][A-Za-z0-9]+)*"
_LATIN_WORD = rf"[A-Za-z]{_LATIN_WORD_REST}"
# A run of Latin words not glued to a word, e-mail, path or domain before it.  Written as "a Latin letter,
# then look behind it" rather than "look behind, then a Latin letter": the same matches, but the regex
# engine can skip straight to Latin letters instead of trying every position of a Cyrillic text.
_LATIN_RUN_RE = re.compile(
    rf"[A-Za-z](?<![\w@./\\-][A-Za-z]){_LATIN_WORD_REST}"
    rf"(?:[ \t]+(?:&[ \t]+)?{_LATIN_WORD})*(?![\w@]|\.[A-Za-z])"
)
# Bytes other than ASCII letters, to tell cheaply whether a text has any Latin letter at all.
_NOT_ASCII_LETTERS = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))
_CONNECTORS = frozenset({"of", "and", "&", "de", "for", "the"})
_EDGE_STOPWORDS = frozenset(
    {"the", "a", "an", "in", "on", "at", "by", "for", "with", "from", "to", "of", "and"}
)
# Acronyms, units and platform names that look like company names but never are investment news.
_JUNK = frozenset(
    """
    usd eur kzt rub cny gbp jpy gdp cpi covid covid-19 sars mers hiv dna it ai pdf sms mms tv ok ceo cfo cto vip pr
    ipo esg eu un usa uk uae nato who unesco unicef opec fifa uefa ufc nba nhl gps led lng lpg cng api vpn url
    html www http https faq ps nb am pm mw gw kw kwh mwh gwh km kg ha id iq atm pos qr wifi wi-fi usb sim
    mba phd bbc cnn tass ria reuters telegram whatsapp instagram facebook youtube tiktok twitter iphone android
    linkedin paypal google apple windows online offline news breaking live photo video foto
    i ii iii iv v vi vii viii ix x xi xii xx xxi
    """.split()
)


class ProjectCatalogError(Exception):
    """The projects file cannot be used; the message names the file, the entry and what is wrong."""


@dataclass(frozen=True)
class ProjectMention:
    key: str  # catalog key, or latin_key of the name for projects not in the catalog
    name: str  # display name: the catalog name in the item's language, else the name as written
    kind: str  # "project" | "company"
    known: bool  # found through the catalog
    surface: str  # the text as it appears in the item


@dataclass(frozen=True)
class KnownProject:
    key: str
    names: Mapping[str, str] = field(hash=False)  # "ru", "kk" and optionally "latin"
    kind: str = "project"
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class _CompiledProject:
    project: KnownProject
    rules: tuple[Rule, ...]
    latin_keys: frozenset[str]


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    mention: ProjectMention


class ProjectCatalog:
    """The shipped list of known projects plus the heuristics for unknown ones."""

    def __init__(self, compiled: tuple[_CompiledProject, ...]) -> None:
        self._compiled = compiled
        self._known = tuple(c.project for c in compiled)
        self._by_latin_key = {k: c for c in compiled for k in c.latin_keys}
        # For the indexed search: one ClauseIndex over every clause of every rule.
        plans = [plan for entry in compiled for rule in entry.rules for plan in rule.plans]
        self._index = ClauseIndex(plans)
        indexed = iter(self._index.clauses)
        entries: list[tuple[int, _CompiledProject, tuple[tuple[int, tuple[IndexedClause, ...]], ...]]] = []
        for entry in compiled:
            rules: list[tuple[int, tuple[IndexedClause, ...]]] = []
            for rule in entry.rules:
                clauses = tuple(next(indexed) for _ in rule.clauses)
                rules.append((reduce(or_, (clause.mask for clause in clauses), 0), tuple(clauses)))
            any_bits = reduce(or_, (mask for mask, _ in rules), 0)
            entries.append((any_bits, entry, tuple(rules)))
        self._entries = tuple(entries)

    @classmethod
    def load(cls, path: Path) -> ProjectCatalog:
        """Read and compile a projects file, reporting any problem as ProjectCatalogError."""
        try:
            with Path(path).open("rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise ProjectCatalogError(f"{path}: cannot read projects file: {exc.strerror or exc}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ProjectCatalogError(f"{path}: not valid TOML: {exc}") from exc
        return cls(tuple(_compile_entry(key, value, str(path)) for key, value in data.items()))

    @property
    def known(self) -> tuple[KnownProject, ...]:
        return self._known

    def find(self, text: str, lang: str) -> list[ProjectMention]:
        """Projects and companies named in ``text``, one per key, in order of first appearance."""
        prepared = folded_text(text)
        if prepared.lower_exact:
            hits = list(self._known_hits(prepared, lang))
        else:
            hits = list(self._known_hits_slowly(prepared.folded, text, lang))
        taken = [(h.start, h.end) for h in hits]
        for hit in [*_quoted_hits(text), *_latin_hits(text)]:
            if any(hit.start < end and start < hit.end for start, end in taken):
                continue
            hits.append(self._as_known(hit, lang))
            taken.append((hit.start, hit.end))
        seen: set[str] = set()
        result: list[ProjectMention] = []
        for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
            if hit.mention.key and hit.mention.key not in seen:
                seen.add(hit.mention.key)
                result.append(hit.mention)
        return result

    def lookup(self, query: str) -> list[KnownProject]:
        """Known projects resembling what a user typed, best first (any script, inflected, misspelt)."""
        key = latin_key(query)
        if not key:
            return []
        folded = fold_yo(query)
        scored: list[tuple[float, int, KnownProject]] = []
        for index, compiled in enumerate(self._compiled):
            score = _lookup_score(key, folded, compiled)
            if score >= _LOOKUP_THRESHOLD:
                scored.append((score, -index, compiled.project))
        return [project for *_, project in sorted(scored, key=lambda s: (s[0], s[1]), reverse=True)]

    def _known_hits(self, text: FoldedText, lang: str) -> Iterator[_Hit]:
        """The earliest catalogued name of each project; extra ``&`` clauses only need to be present.

        Indexed: only rules whose clauses can occur are searched, only where they can start.
        """
        candidates = self._index.candidates(text)
        folded, original = text.folded, text.text
        lowered: str | None = None
        for any_bits, compiled, rules in self._entries:
            if not candidates & any_bits:
                continue
            first: re.Match[str] | None = None
            for mask, clauses in rules:
                if mask & candidates != mask:
                    continue
                if lowered is None:
                    lowered = text.lowered
                match = first_match(clauses[0], folded, lowered, candidates)
                if match is None or not all(first_match(c, folded, lowered, candidates) for c in clauses[1:]):
                    continue
                if first is None or match.start() < first.start():
                    first = match
            if first is not None:
                surface = original[first.start() : first.end()]
                yield _Hit(first.start(), first.end(), _known_mention(compiled.project, lang, surface))

    def _known_hits_slowly(self, folded: str, original: str, lang: str) -> Iterator[_Hit]:
        """``_known_hits`` by searching every rule over the whole text (the reference, and the fallback)."""
        for compiled in self._compiled:
            first: re.Match[str] | None = None
            for rule in compiled.rules:
                match = rule.clauses[0].search(folded)
                if match is None or not all(c.search(folded) for c in rule.clauses[1:]):
                    continue
                if first is None or match.start() < first.start():
                    first = match
            if first is not None:
                surface = original[first.start() : first.end()]
                yield _Hit(first.start(), first.end(), _known_mention(compiled.project, lang, surface))

    def _as_known(self, hit: _Hit, lang: str) -> _Hit:
        """A heuristic find whose spelling folds onto a catalogued name is that catalogued project."""
        compiled = self._by_latin_key.get(hit.mention.key)
        if compiled is None:
            return hit
        return _Hit(hit.start, hit.end, _known_mention(compiled.project, lang, hit.mention.surface))


def _known_mention(project: KnownProject, lang: str, surface: str) -> ProjectMention:
    name = project.names.get(lang) or project.names["ru"]
    return ProjectMention(key=project.key, name=name, kind=project.kind, known=True, surface=surface)


def _lookup_score(key: str, folded_query: str, compiled: _CompiledProject) -> float:
    if any(_fully_matches(rule, folded_query) for rule in compiled.rules):
        return 1.0
    best = 0.0
    for known_key in compiled.latin_keys:
        ratio = SequenceMatcher(None, key, known_key).ratio()
        if len(key) >= 4 and known_key.startswith(key):
            ratio = max(ratio, 0.9)
        best = max(best, ratio)
    return best


def _fully_matches(rule: Rule, text: str) -> bool:
    """The rule's name clause covers the whole query (so «месторождение» alone is not «Сатимола»)."""
    match = rule.clauses[0].search(text.strip())
    return bool(match) and match.group().strip() == text.strip()


# ---------------------------------------------------------------- heuristics


def _quoted_hits(text: str) -> Iterator[_Hit]:
    openers = [index for index in map(text.find, _QUOTE_OPENERS) if index >= 0]
    if not openers:
        return
    for match in _QUOTE_RE.finditer(text, min(openers)):  # no match can start before the first opener
        group = next(g for g in ("a", "b", "c", "d") if match.group(g) is not None)
        raw = match.group(group)
        name = " ".join(raw.split())
        if not _plausible_quoted_name(name):
            continue
        kind = _trigger_kind(text, match.start(), match.end())
        if kind is None:
            continue
        key = latin_key(name)
        if key:
            mention = ProjectMention(key=key, name=name, kind=kind, known=False, surface=name)
            yield _Hit(match.start(group), match.end(group), mention)


def _plausible_quoted_name(name: str) -> bool:
    """Names start with a capital or digit, are short, and are not a quoted sentence."""
    if not name or not (name[0].isupper() or name[0].isdigit()):
        return False
    if len(name.split()) > _MAX_NAME_WORDS or re.search(r"[.!?,:;]\s", name + " "):
        return False
    return any(ch.isalpha() for ch in name)


def _trigger_kind(text: str, start: int, end: int) -> str | None:
    """Kind given by the nearest trigger word within a few words before or after the quotes, if any."""
    before = _SENTENCE_END.split(text[max(0, start - 120) : start])[-1]
    after = _SENTENCE_END.split(text[end : end + 80])[0]
    candidates: list[tuple[int, str]] = []
    before_words = _last_words(before, _WINDOW_WORDS_BEFORE)
    for m in _TRIGGER_RE.finditer(before_words):
        distance = len(before_words[m.end() :].split())
        candidates.append((distance, "project" if m.group("project") else "company"))
    after_words = _first_words(after, _WINDOW_WORDS_AFTER)
    for m in _TRIGGER_RE.finditer(after_words):
        distance = len(after_words[: m.start()].split())
        candidates.append((distance, "project" if m.group("project") else "company"))
    return min(candidates)[1] if candidates else None


def _last_words(text: str, count: int) -> str:
    return " ".join(re.sub(r"[«»\"“”„]", " ", text).split()[-count:])


def _first_words(text: str, count: int) -> str:
    return " ".join(re.sub(r"[«»\"“”„]", " ", text).split()[:count])


def _latin_hits(text: str) -> Iterator[_Hit]:
    if not text.encode("ascii", "ignore").translate(None, _NOT_ASCII_LETTERS):
        return  # no Latin letter: scanning a Cyrillic text for one is the slow part
    for match in _LATIN_RUN_RE.finditer(text):
        for start, end in _capitalised_segments(text, match.start(), match.end()):
            name = text[start:end]
            if _acceptable_latin_name(name, text, start, end):
                mention = ProjectMention(
                    key=latin_key(name), name=name, kind="company", known=False, surface=name
                )
                yield _Hit(start, end, mention)


def _capitalised_segments(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split a Latin run at lower-case words (except connectors between capitals) and trim the edges."""
    tokens = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    segment: list[tuple[int, int]] = []
    for i, (s, e) in enumerate(tokens):
        word = text[s:e]
        capital = word[0].isupper() or word[0].isdigit()
        inner_connector = (
            word.lower() in _CONNECTORS
            and bool(segment)
            and i + 1 < len(tokens)
            and text[tokens[i + 1][0]].isupper()
        )
        if capital or inner_connector:
            segment.append((s, e))
            continue
        yield from _trimmed(text, segment)
        segment = []
    yield from _trimmed(text, segment)


def _trimmed(text: str, segment: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    words = list(segment)
    while words and _edge_junk(text[words[0][0] : words[0][1]]):
        words.pop(0)
    while words and _edge_junk(text[words[-1][0] : words[-1][1]]):
        words.pop()
    if words:
        yield words[0][0], words[-1][1]


def _edge_junk(word: str) -> bool:
    lower = word.lower()
    return lower in _JUNK or lower in _EDGE_STOPWORDS or lower in _CONNECTORS


def _acceptable_latin_name(name: str, text: str, start: int, end: int) -> bool:
    """Several capitalised words, a 4+ letter acronym, a CamelCase brand, or one word beside ТОО/компания."""
    words = name.split()
    if len(words) > _MAX_NAME_WORDS or not latin_key(name):
        return False
    significant = [w for w in words if w.lower() not in _JUNK and w.lower() not in _CONNECTORS]
    if len(significant) >= 2:
        return True
    if len(words) != 1 or not significant:
        return False
    word = words[0]
    letters = re.sub(r"[^A-Za-z]", "", word)
    if letters.isupper() and len(letters) >= 4:
        return True
    if re.search(r"[a-z][A-Z]", word):
        return True
    return _trigger_kind(text, start, end) == "company"


# ---------------------------------------------------------------- loading


def _compile_entry(key: str, value: object, source: str) -> _CompiledProject:
    where = f"{source}: entry {key!r}"
    if not _KEY_RE.fullmatch(key):
        raise ProjectCatalogError(f"{where}: key must be lower-case latin letters, digits and '_'")
    if not isinstance(value, dict):
        raise ProjectCatalogError(f"{where}: expected a table like [{key}]")
    unknown = sorted(set(value) - {"kind", "name", "aliases", "note"})
    if unknown:
        raise ProjectCatalogError(
            f"{where}: unknown field {unknown[0]!r} (expected kind, name, aliases, note)"
        )
    kind = value.get("kind")
    if kind not in KINDS:
        raise ProjectCatalogError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    names = _entry_names(value.get("name"), where)
    aliases = value.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ProjectCatalogError(f"{where}: aliases must be a list of strings")
    project = KnownProject(key=key, names=MappingProxyType(names), kind=kind, aliases=tuple(aliases))
    rules = [_name_rule(name) for name in dict.fromkeys(names.values())]
    for index, alias in enumerate(aliases):
        try:
            rules.append(compile_pattern(alias))
        except PatternError as exc:
            raise ProjectCatalogError(f"{where}: aliases[{index}] {alias!r}: {exc}") from None
    return _CompiledProject(
        project=project, rules=tuple(r for r in rules if r), latin_keys=_latin_keys(project)
    )


def _entry_names(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ProjectCatalogError(f'{where}: missing name = {{ ru = "...", kk = "..." }}')
    names: dict[str, str] = {}
    for lang, name in value.items():
        if lang not in _NAME_LANGS:
            raise ProjectCatalogError(f"{where}: name.{lang} is not one of {', '.join(_NAME_LANGS)}")
        if not isinstance(name, str) or not name.strip():
            raise ProjectCatalogError(f"{where}: name.{lang} must be a non-empty string")
        names[lang] = name.strip()
    for lang in ("ru", "kk"):
        if lang not in names:
            raise ProjectCatalogError(f"{where}: name has no {lang} entry")
    return names


def _name_rule(name: str) -> Rule | None:
    """A display name as a pattern: its words in order, the last one as a stem when long enough."""
    words = re.findall(r"[^\W_]+", name)
    if not words:
        return None
    last = words[-1]
    if len(last) >= _AUTO_STEM_MIN and last.isalpha():
        stem = last.rstrip("".join(_VOWELS) + "".join(_VOWELS).upper())
        words[-1] = f"{stem}*" if len(stem) >= 4 else last
    return compile_pattern(" ".join(words))


def _latin_keys(project: KnownProject) -> frozenset[str]:
    """Spelling skeletons for merging heuristic finds and for lookup: names and plain-word aliases."""
    plain_aliases = [
        a.lstrip("=").rstrip("*") for a in project.aliases if re.fullmatch(r"=?[^\W_][\w\s\-]*\*?", a)
    ]
    keys = {latin_key(text) for text in [*project.names.values(), *plain_aliases, project.key]}
    return frozenset(k for k in keys if len(k) >= 3)


def catalog_ref(project: KnownProject) -> ProjectRef:
    """A catalogued project as storage records it, for one the news has not named yet (to follow it)."""
    names = project.names
    return ProjectRef(
        key=project.key,
        name=names["ru"],
        kind=project.kind,
        known=True,
        name_ru=names.get("ru"),
        name_kk=names.get("kk"),
        name_latin=names.get("latin"),
    )
