"""Keeping the garbage collector's full passes short in a long-running process.

A full (generation 2) collection visits every object the cyclic collector tracks. After start-up that is
some 200,000 objects, nearly all from importing aiogram (its pydantic models), and a full collection over
them stalls the event loop for 150-250 ms; a /digest allocates enough to trigger one every few calls
(benchmarks/RESULTS.md, "Bot handlers"). Those start-up objects live as long as the process, so `run`
freezes them once (`freeze_long_lived`): later full collections visit only what was made since.

Ingestion passes freeze what they create as they go, to keep collections out of a pass
(`bot.ingest.pipeline`); with a start-up freeze in place they do not hand everything back at the end of a
pass (that would thaw the start-up objects too). The service runs its passes in a child process
(`bot.ingest.isolated`), which has no start-up freeze and exits after the pass, so this only matters to a
process that both froze at start-up and runs passes itself.
"""

from __future__ import annotations

import gc

_long_lived_frozen = False


def freeze_long_lived() -> None:
    """Collect once, then move every surviving object out of the collector's reach (call after start-up)."""
    global _long_lived_frozen
    gc.collect()
    gc.freeze()
    _long_lived_frozen = True


def long_lived_frozen() -> bool:
    return _long_lived_frozen
