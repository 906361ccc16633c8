"""Daily digest delivery: plan the digests into the ledger, then broadcast them at Telegram's pace.

Modules: `plan` (who is due, each distinct digest built and rendered once), `broadcast` (the sender),
`alerts` (followers' alerts about projects, into the same ledger), `ratelimit` (global and per-chat pacing), `groupcommit` (shared ledger transactions), `run` (one delivery
run: recover, plan, send) and `command` (`digest --send`). Import them directly: only `broadcast`, `run`
and `command` need aiogram, so planning stays cheap to import (previews, benchmarks).
"""

__all__ = ["alerts", "broadcast", "command", "groupcommit", "plan", "ratelimit", "run"]
