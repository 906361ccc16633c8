"""The service's ingestion passes, each in a child process at a lower CPU priority.

A pass over hundreds of feeds is seconds of CPU: parsing and tagging in worker processes, and in the
process that runs it, deciding reprints and stories and writing with the full-text index. In the bot's
own process that work competed with the handlers for the interpreter lock, and the workers competed for
the cores at the same priority: with 100,000 stored articles on 2 cores, `/search` answered in 87 ms
(p95) during a pass instead of 23 ms. In a child process at nice +10 (the workers it starts inherit it),
the pass takes whatever CPU the bot leaves and shares no lock with it: measured the same way, `/search`
p95 33-35 ms during a pass (benchmarks/RESULTS.md, "Bot handlers", runs 10 and 11).

A child also gives back the memory of each pass's indexes when it exits, and a crash in a parser cannot
take the bot down. The child writes to the same SQLite file (WAL: the bot keeps reading meanwhile) and
sends its report back as JSON on stdout; its log lines go to stderr, which it shares with the bot.

The parent side (`IsolatedIngestor`) offers what the scheduler and `/ingest` use of `Ingestor`:
`running` and `run_pass`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bot import metrics
from bot.config import Settings
from bot.ingest.analyse import WorkersUnavailable
from bot.ingest.pipeline import FeedReport, IngestReport
from storage import FeedSpec

log = logging.getLogger("bot.ingest.isolated")  # also when run as __main__ (the child)

NICENESS = 10  # added to the bot's; CFS then gives the bot ~10 times the pass's share of a busy core
STOP_GRACE = 10.0  # seconds a child gets to stop its workers after SIGTERM before it is killed
# Settings a pass needs. The child gets these explicitly and no other Settings variable (the bot token
# above all: a pass never talks to Telegram).
_PASSED = ("database_path", "topics_file", "projects_file", "log_level", "log_format")


class IngestProcessError(RuntimeError):
    """A pass's child process failed as a whole (per-feed failures are in its report instead)."""


class IsolatedIngestor:
    def __init__(self, settings: Settings, *, niceness: int = NICENESS) -> None:
        self._settings = settings
        self._niceness = niceness
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        return self._lock.locked()

    async def run_pass(self, specs: Sequence[FeedSpec], *, respect_backoff: bool = True) -> IngestReport:
        """One pass in a child process; passes never overlap (a second caller waits for the first)."""
        async with self._lock:
            request = {
                "settings": {name: str(getattr(self._settings, name)) for name in _PASSED},
                "feeds": [[s.url, s.name, s.lang] for s in specs],
                "respect_backoff": respect_backoff,
                "niceness": self._niceness,
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", __name__,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=_child_environment(),
            )  # fmt: skip
            try:
                out, _ = await proc.communicate(json.dumps(request).encode())
            finally:
                if proc.returncode is None:  # cancelled (the bot is stopping): let the child stop its workers
                    await _stop(proc)
            if proc.returncode != 0:
                raise IngestProcessError(f"the ingest process exited with status {proc.returncode} (its log says why)")
            try:
                report = report_from_json(out)
            except (ValueError, KeyError, TypeError) as exc:
                raise IngestProcessError(f"the ingest process sent an unreadable report: {exc}") from exc
            metrics.ingest_pass(report)  # the child's own counters die with it
            return report


async def _stop(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_GRACE)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def _child_environment() -> dict[str, str]:
    """The bot's environment without Settings variables (the child gets its settings in the request), with
    this checkout importable even when the package is not installed."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def report_to_json(report: IngestReport) -> str:
    return json.dumps(
        {
            "started": report.started.isoformat(),
            "finished": report.finished.isoformat() if report.finished else None,
            "feeds": [asdict(f) for f in report.feeds],
        }
    )


def report_from_json(data: bytes | str) -> IngestReport:
    raw: dict[str, Any] = json.loads(data)
    return IngestReport(
        started=datetime.fromisoformat(raw["started"]),
        finished=datetime.fromisoformat(raw["finished"]) if raw["finished"] else None,
        feeds=[FeedReport(**f) for f in raw["feeds"]],
    )


# --- the child -----------------------------------------------------------------------------------------


async def _child_pass(request: dict[str, Any]) -> IngestReport:
    from bot.ingest.projects import ProjectCatalog
    from bot.services import Catalogs, create_ingestor
    from bot.topics import TopicRules
    from storage import Storage

    settings = Settings(_env_file=None, **request["settings"])  # type: ignore[call-arg]
    catalogs = Catalogs(
        feeds=[], topics=TopicRules.load(settings.topics_file), projects=ProjectCatalog.load(settings.projects_file)
    )
    storage = await Storage.open(settings.database_path)
    ingestor, analyser = create_ingestor(storage, settings, catalogs)
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # stop the workers, then exit
    try:
        specs = [FeedSpec(url, name, lang) for url, name, lang in request["feeds"]]
        return await ingestor.run_pass(specs, respect_backoff=request["respect_backoff"])
    finally:
        analyser.close()
        await storage.close()


def main() -> int:
    from bot.logs import setup_logging

    request = json.load(sys.stdin)
    with contextlib.suppress(OSError):  # a priority that cannot be lowered is no reason to skip a pass
        os.nice(int(request["niceness"]))
    setup_logging(request["settings"]["log_level"], request["settings"]["log_format"])
    try:
        report = asyncio.run(_child_pass(request))
    except asyncio.CancelledError:
        log.warning("ingest pass stopped by SIGTERM")
        return 1
    except WorkersUnavailable as exc:  # the workers' own error is already in the log, above this line
        log.error("ingest pass did not run: %s", exc)
        return 1
    sys.stdout.write(report_to_json(report))
    return 0


if __name__ == "__main__":  # not when the worker processes' fork server imports this module
    sys.exit(main())
