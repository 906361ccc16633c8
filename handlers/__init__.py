"""The bot's routers, one per feature; the catch-all `fallback` is always last.

Each feature module builds its router in a `router()` factory: an aiogram router can join only one
dispatcher, and the tests build a dispatcher per test with the same wiring as production.
"""

from __future__ import annotations

from aiogram import Router

__all__ = ["routers"]


def routers() -> list[Router]:
    from handlers import admin, digest, fallback, help, project, search, settings, start, stop, topics, trends

    features = (start, help, topics, digest, project, search, trends, settings, stop, admin)
    return [module.router() for module in features] + [fallback.router()]
