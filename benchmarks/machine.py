"""What every benchmark prints about the machine it ran on, for benchmarks/RESULTS.md."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe(*extra: str) -> str:
    """uname, cores, CPU, Python, SQLite, the date and load average, and whatever the caller adds."""
    parts = [
        f"`{' '.join(platform.uname())}`",
        f"nproc {os.cpu_count()}",
        cpu_model(),
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
        *extra,
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"load average {os.getloadavg()[0]:.2f}",
    ]
    return "; ".join(parts)
