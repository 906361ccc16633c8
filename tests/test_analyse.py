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
    assert analyse._preload() == ["__main__", "bot.ingest.analyse", *extra]  # noqa: SLF001


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
    assert lines[0].startswith("kk ") and lines[0].endswith("Қытай компаниясы Орал маңында зауыт салады")
    assert lines[1].startswith("ru ") and "china" in lines[1].split()[1].split(",")


def test_workers_that_die_starting_are_reported_and_say_why() -> None:
    """Workers whose rules file is gone die in their initializer: parsing raises WorkersUnavailable (which
    fails the pass, blaming no feed), and the cause is in the log."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.worker_probe", "gone"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("WorkersUnavailable: the worker processes did not start: BrokenProcessPool")
    assert "/nonexistent/habar/topics.toml: cannot read topics file" in done.stderr
