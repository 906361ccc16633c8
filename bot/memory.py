"""Keeping the garbage collector's full passes short in a long-running process.

A full (generation 2) collection visits every object the cyclic collector tracks. After start-up that is
some 200,000 objects, nearly all from importing aiogram (its pydantic models), and a full collection over
them stalls the event loop for 150-250 ms; a /digest allocates enough to trigger one every few calls
(benchmarks/RESULTS.md, "Bot handlers"). Those start-up objects live as long as the process, so `run`
freezes them once (`freeze_long_lived`): later full collections visit only what was made since.

Ingestion passes freeze what they create as they go, to keep collections out of a pass
(`bot.ingest.pipeline`); with a start-up freeze in place they no longer hand everything back at the end of
a pass (that would thaw the start-up objects too). Cyclic garbage frozen during a pass — an exception's
traceback, say — then waits for the nightly `collect_frozen`, one full collection (a few hundred ms) at a
quiet hour, which bounds what waits to a day of passes.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)

_long_lived_frozen = False


def freeze_long_lived() -> None:
    """Collect once, then move every surviving object out of the collector's reach (call after start-up)."""
    global _long_lived_frozen
    gc.collect()
    gc.freeze()
    _long_lived_frozen = True


def long_lived_frozen() -> bool:
    return _long_lived_frozen


def collect_frozen() -> None:
    """Thaw, collect everything, freeze the survivors again: frees cyclic garbage frozen since last time."""
    started = time.perf_counter()
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    log.info(
        "gc refreeze collected=%d frozen=%d ms=%.0f", found, gc.get_freeze_count(), (time.perf_counter() - started) * 1000
    )
