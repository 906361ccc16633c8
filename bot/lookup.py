"""Which stored projects a user means by what they typed in /project: a pure decision, easy to test.

Names reach us in Russian, Kazakh and Latin spellings («Сатимола», «Сәтімола», «Satimola»), so every
name and the query are compared by `latin_key`, first exactly, then as a part of a longer name, then by
difflib's similarity for typos. The shipped catalog's own aliases are matched upstream by
`ProjectCatalog.lookup`; its keys come in as `known_keys`, best first: the first counts as an exact
match, the others as close ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from bot.textfold import latin_key
from storage import ProjectSummary

EXACT = 1.0
PART = 0.9
MIN_SIMILARITY = 0.75
MIN_PART_LENGTH = 3
MAX_CANDIDATES = 8


def similarity(query_key: str, name_key: str) -> float:
    """How well a folded query matches a folded name: 1 exact, 0.9 one contains the other, else difflib."""
    if not query_key or not name_key:
        return 0.0
    if query_key == name_key:
        return EXACT
    if len(query_key) >= MIN_PART_LENGTH and (query_key in name_key or name_key in query_key):
        return PART
    return SequenceMatcher(None, query_key, name_key, autojunk=False).ratio()


def _names(project: ProjectSummary) -> set[str]:
    return {latin_key(n) for n in (project.name_ru, project.name_kk, project.name_latin, project.key) if n}


def find_projects(
    query: str,
    projects: Sequence[ProjectSummary],
    known_keys: Sequence[str] = (),
    *,
    limit: int = MAX_CANDIDATES,
) -> list[ProjectSummary]:
    """The projects `query` may mean, best first; only the exact ones when there are any."""
    query_key = latin_key(query)
    if not query_key and not known_keys:
        return []
    scored: list[tuple[float, int, str, ProjectSummary]] = []
    for project in projects:
        score = max((similarity(query_key, name) for name in _names(project)), default=0.0)
        if project.key in known_keys:
            score = max(score, EXACT if project.key == known_keys[0] else PART)
        if score >= MIN_SIMILARITY:
            scored.append((score, project.mentions, project.key, project))
    if any(s[0] == EXACT for s in scored):
        scored = [s for s in scored if s[0] == EXACT]
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    return [s[3] for s in scored[:limit]]
