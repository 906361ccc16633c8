"""Tagging benchmark (run by hand: `.venv/bin/python benchmarks/bench_tagging.py`).

Times the three per-item tagging steps of ingestion — ``detect_language``, ``TopicRules.match`` and
``ProjectCatalog.find`` — in ms per item, on four sets of items:

- short:       bench_ingest.make_feed-style items (8-word title, 40-word summary, Russian and Kazakh feeds);
- long:        the same vocabulary with ~2000-character summaries (tagging must stay linear in length);
- labelled:    the hand-written headlines and leads of tests/fixtures/labelled_items.toml (real sentences,
               real ambiguity: these are the items that still reach lingua);
- labelled-2k: labelled leads of one language glued into ~2000-character summaries.

"before" is the same measurement against the tagging modules of a git revision (``--baseline``, default
HEAD: the straightforward implementation this benchmark was written against), loaded from a scratch copy in
a separate process; "after" is the working tree.  Both run on identical items and the script checks that
they tag them identically.  "cold" is the first pass over the set with fresh caches (every chunk of text is
new to the per-chunk caches), "warm" the best of the following passes.  Each step is timed alone over the
whole set, then all three per item in the order bot/ingest/analyse.tag calls them (which lets them share
the folded and split text).  Target: ≤ 0.15 ms/item for all three together on short items.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("bot/__init__.py", "bot/textfold.py", "bot/topics.py", "bot/ingest/__init__.py",
           "bot/ingest/language.py", "bot/ingest/projects.py")  # fmt: skip
TOPICS_FILE = ROOT / "bot" / "data" / "topics.toml"
PROJECTS_FILE = ROOT / "bot" / "data" / "projects.toml"
LABELLED = ROOT / "tests" / "fixtures" / "labelled_items.toml"

# The vocabulary of benchmarks/bench_ingest.py's make_feed.
RU_WORDS = (
    "инвестиции Китай завод метанол месторождение Сатимола аким Уральск проект энергетика зерно экспорт "
    "торговля промышленность договор компания строительство область регион рабочие места налоги"
).split()
KK_WORDS = (
    "инвестиция Қытай зауыт метанол кен орны жоба әкім Орал энергетика астық экспорт сауда өнеркәсіп "
    "келісім компания құрылыс облыс өңір жұмыс орындары салық"
).split()
FEEDS = 40
ITEMS = 50
LONG_CHARS = 2000

Item = tuple[str, str, str]  # title, summary, feed hint


def generated(long: bool) -> list[Item]:
    items: list[Item] = []
    for n in range(FEEDS):
        rng = random.Random(n)
        words = KK_WORDS if n % 2 else RU_WORDS
        for _ in range(ITEMS):
            title = " ".join(rng.choice(words) for _ in range(8)).capitalize()
            summary = " ".join(rng.choice(words) for _ in range(40))
            while long and len(summary) < LONG_CHARS:
                summary += " " + " ".join(rng.choice(words) for _ in range(40))
            items.append((title, summary, "auto"))
    return items


def labelled(long: bool) -> list[Item]:
    with LABELLED.open("rb") as handle:
        raw = tomllib.load(handle)["item"]
    if not long:
        return [(r["title"], r["lead"], "auto") for r in raw]
    rng = random.Random(7)
    items: list[Item] = []
    for r in raw:
        same = [o["lead"] for o in raw if o["lang"] == r["lang"]]
        summary = r["lead"]
        while len(summary) < LONG_CHARS:
            summary += " " + rng.choice(same)
        items.append((r["title"], summary, "auto"))
    return items


# ---------------------------------------------------------------- the measurement (run in a subprocess)

MEASURE = r"""
import gc, hashlib, json, sys, time
from pathlib import Path

items_file, topics_file, projects_file, passes = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
from bot import textfold
from bot.ingest import language
from bot.ingest.language import detect_language
from bot.ingest.projects import ProjectCatalog
from bot.topics import TopicRules


def fresh_caches():
    for cache in ("_chunk_stats_once", "_chunk_stats_twice"):
        getattr(language, cache, {}).clear()
    for function in (getattr(language, "_lingua_logit", None), textfold.latin_key):
        if hasattr(function, "cache_clear"):
            function.cache_clear()


detect_language("Сатимола кен орны")  # builds lingua's detector outside the timings
sets = json.loads(Path(items_file).read_text(encoding="utf-8"))
out = {}
for name, items in sets.items():
    texts = [f"{title}\n{summary}" for title, summary, _ in items]
    langs = [detect_language(title, summary, hint) for title, summary, hint in items]

    def per_item(topics, projects):
        result = []
        for title, summary, hint in items:
            lang = detect_language(title, summary, hint)
            text = f"{title}\n{summary}"
            result.append((lang, projects.find(text, lang), topics.match(text, lang)))
        return result

    steps = {
        "detect_language": lambda topics, projects: [detect_language(t, s, h) for t, s, h in items],
        "TopicRules.match": lambda topics, projects: [topics.match(x, lang) for x, lang in zip(texts, langs)],
        "ProjectCatalog.find": lambda topics, projects: [projects.find(x, lang) for x, lang in zip(texts, langs)],
        "all three, per item": per_item,
    }
    result = {}
    for step, run in steps.items():
        fresh_caches()  # the first pass is "cold": every chunk is new to every cache
        topics, projects = TopicRules.load(topics_file), ProjectCatalog.load(projects_file)
        times, digest = [], None
        for _ in range(passes):
            lingua_cache = getattr(language, "_lingua_logit", None)
            if lingua_cache is not None:
                lingua_cache.cache_clear()  # each item reaches lingua once in real ingestion: no replays
            gc.collect()
            start = time.perf_counter()
            value = run(topics, projects)
            times.append((time.perf_counter() - start) * 1000 / len(items))
            digest = hashlib.sha1(repr(value).encode()).hexdigest()
        result[step] = {"cold": times[0], "warm": min(times[1:] or times), "digest": digest}
    out[name] = result
print(json.dumps(out))
"""


def measure(source_root: Path, items_file: Path, passes: int) -> dict[str, dict[str, dict[str, object]]]:
    env = {**os.environ, "PYTHONPATH": str(source_root), "PYTHONHASHSEED": "0"}
    args = [sys.executable, "-c", MEASURE, str(items_file), str(TOPICS_FILE), str(PROJECTS_FILE), str(passes)]
    done = subprocess.run(args, env=env, check=True, capture_output=True, text=True, cwd=source_root)
    return json.loads(done.stdout)


def baseline_tree(revision: str, into: Path) -> Path:
    """The tagging modules as of ``revision`` (they only import each other and the standard library)."""
    for module in MODULES:
        shown = subprocess.run(
            ["git", "show", f"{revision}:{module}"], cwd=ROOT, check=True, capture_output=True
        )
        target = into / module
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(shown.stdout)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline", default="HEAD", help="git revision for the 'before' column (default HEAD)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="only time the working tree")
    parser.add_argument("--passes", type=int, default=5, help="passes over each set (first one is 'cold')")
    options = parser.parse_args()

    sets = {
        "short": generated(long=False),
        "long": generated(long=True),
        "labelled": labelled(long=False),
        "labelled-2k": labelled(long=True),
    }
    with tempfile.TemporaryDirectory() as tmp:
        items_file = Path(tmp) / "items.json"
        items_file.write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
        after = measure(ROOT, items_file, options.passes)
        before = None
        if not options.no_baseline:
            root = baseline_tree(options.baseline, Path(tmp) / "baseline")
            before = measure(root, items_file, max(2, options.passes // 2))

    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; baseline: {'none' if before is None else options.baseline}"
    )
    print("ms per item; after = working tree, warm caches (cold = first pass with empty caches)")
    header = f"{'set':12} {'items':>5} {'chars':>5}  {'step':20} {'before':>8} {'after':>8} {'cold':>8} {'speed-up':>8}"
    print(header)
    print("-" * len(header))
    for name, items in sets.items():
        chars = sum(len(t) + len(s) + 1 for t, s, _ in items) // len(items)
        totals = [0.0, 0.0, 0.0]
        steps = list(after[name].items())
        for step, now in steps[:3]:
            was = before[name][step] if before else None
            same = was is None or was["digest"] == now["digest"]
            totals[1] += now["warm"]
            totals[2] += now["cold"]
            if was is not None:
                totals[0] += was["warm"]
            print(
                f"{name:12} {len(items):5} {chars:5}  {step:20} "
                f"{_ms(was['warm'] if was else None):>8} {_ms(now['warm']):>8} {_ms(now['cold']):>8} "
                f"{_ratio(was['warm'] if was else None, now['warm']):>8}"
                + ("" if same else "  RESULTS DIFFER FROM BASELINE")
            )
        print(
            f"{name:12} {'':5} {'':5}  {'sum of the three':20} {_ms(totals[0] if before else None):>8} "
            f"{_ms(totals[1]):>8} {_ms(totals[2]):>8} {_ratio(totals[0] if before else None, totals[1]):>8}"
        )
        step, now = steps[3]
        was = before[name][step] if before else None
        print(
            f"{name:12} {'':5} {'':5}  {step:20} {_ms(was['warm'] if was else None):>8} {_ms(now['warm']):>8} "
            f"{_ms(now['cold']):>8} {_ratio(was['warm'] if was else None, now['warm']):>8}"
            + ("" if was is None or was["digest"] == now["digest"] else "  RESULTS DIFFER FROM BASELINE")
        )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _ratio(before: float | None, after: float) -> str:
    return "-" if before is None else f"{before / after:.1f}x"


if __name__ == "__main__":
    main()
