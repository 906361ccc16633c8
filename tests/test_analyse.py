"""What the worker processes' fork server imports before it forks them (bot/ingest/analyse.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from bot.ingest import analyse

ROOT = Path(__file__).resolve().parents[1]


def fake_main(spec_name: str | None, file: str | None = None) -> types.ModuleType:
    main = types.ModuleType("__main__")
    main.__spec__ = None if spec_name is None else types.SimpleNamespace(name=spec_name)  # type: ignore[assignment]
    if file is not None:
        main.__file__ = file
    return main


@pytest.mark.parametrize(
    ("main", "extra"),
    [
        # The service's pass: its imports (aiohttp, storage, settings) are done once, in the server.
        (fake_main("bot.ingest.isolated"), ["bot.ingest.forkserver_quiet", "bot.ingest.isolated"]),
        (fake_main("benchmarks.bench_ingest"), ["bot.ingest.forkserver_quiet", "benchmarks.bench_ingest"]),
        # `python -m bot`: multiprocessing does not run a __main__ module again in a worker; nor do we.
        (fake_main("bot.__main__"), []),
        # A script: the 3.11 server is not told its path, so it is left to the workers.
        (fake_main(None, "/srv/habar/run_pass.py"), []),
    ],
)
def test_fork_server_preloads_this_module_and_the_main_module_run_with_dash_m(
    monkeypatch: pytest.MonkeyPatch, main: types.ModuleType, extra: list[str]
) -> None:
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert analyse._preload() == ["__main__", "bot.ingest.analyse", "bot.ingest.forkserver_lingua", *extra]  # noqa: SLF001


def test_workers_started_by_a_module_run_with_dash_m_work_and_warn_of_nothing() -> None:
    """As the service's pass runs (`python -m bot.ingest.isolated`): the fork server imports the main module,
    each worker runs it again, and nothing of that reaches stderr (the bot's log)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.worker_probe"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    # Loaded once, in the server, which the workers share (bot/ingest/forkserver_lingua.py) ...
    assert lines[0] == "lingua models in the workers before any text: True"
    assert lines[1].startswith("kk ") and lines[1].endswith("Қытай компаниясы Орал маңында зауыт салады")
    assert lines[2].startswith("ru ") and "china" in lines[2].split()[1].split(",")
    # ... and usable there: the server started no thread that the fork would have left behind.
    assert lines[3] == "kk  Теміржол вокзалы жөндеуден кейін ашылды"


def test_workers_that_die_starting_are_reported_and_say_why() -> None:
    """Workers whose rules file is gone die in their initializer: parsing raises WorkersUnavailable (which
    fails the pass, blaming no feed), and the cause is in the log."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.worker_probe", "gone"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("WorkersUnavailable: the worker processes did not start: BrokenProcessPool")
    assert "/nonexistent/habar/topics.toml: cannot read topics file" in done.stderr


_LOAD_MODELS_PROBE = """
from lingua import Language
from bot.ingest import language

def rss_mb():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1]) // 1024

before = rss_mb()
language.load_models()
loaded = rss_mb()
for text in ("Теміржол вокзалы жөндеуден кейін ашылды", "Инвестиции в экономику области выросли " * 5):
    language._detector().compute_language_confidence(text, Language.KAZAKH)
print(loaded - before, rss_mb() - loaded)
"""


def test_load_models_loads_every_model_lingua_uses_later() -> None:
    """What the fork server loads must be all that a worker would otherwise load itself, by the first short text
    it scores (lingua's models weigh about 70 MB). A fresh interpreter: this one may have loaded them already."""
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_MODELS_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    loaded_mb, later_mb = map(int, done.stdout.split())
    assert loaded_mb >= 50, "load_models() did not load lingua's models"
    assert later_mb <= 5, "texts scored afterwards still loaded models of their own"


def test_the_parent_parses_and_tags_while_the_workers_start_but_leaves_lingua_to_them() -> None:
    """Their start (imports, lingua's models) takes a good part of a second; meanwhile the parent does the jobs,
    except tagging items that need lingua: its models are loaded in the workers' server, not in the parent."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.worker_probe", "early"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "parsed and tagged while the workers started: True ['ru']",
        "tagged by the workers: ['kk', 'kk'] True",
        "lingua loaded in this process: False",
    ]
