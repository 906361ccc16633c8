"""Alerts for followers of a project: a short message when a new story about it appears.

Planned by the delivery tick after the digests and sent by the same sender from the same ledger, so alerts
obey the broadcast rate, the one-message-per-second-per-chat rule, 429s, blocked users and crash recovery
exactly as digests do. A follower gets at most one alert per project per `ALERT_GAP`: stories that appear
in the meantime wait and are merged into the next one. Only stories new to the follower count (see
storage/follows.py); a further report of a story already told of is not news.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digest.render import render_alert
from bot.digest.stories import group_stories
from storage import Follow, ProjectSummary, Storage

log = logging.getLogger(__name__)

ALERT_GAP = timedelta(hours=1)


@dataclass
class AlertReport:
    due: int = 0  # follows with mentions newer than their watermark, not alerted within the gap
    planned: int = 0  # alerts written to the ledger
    quiet: int = 0  # nothing new for them after all (other language, known stories): watermark moved


def alert_key(project_id: int, now: datetime) -> str:
    """The ledger key of an alert (in place of a digest's date; never looks like one)."""
    return f"alert:{project_id}:{now:%Y%m%dT%H%M}"


async def plan_alerts(storage: Storage, now: datetime) -> AlertReport:
    """Write the alert of every follower who has news and may get it now into the ledger."""
    report = AlertReport()
    follows = await storage.follows.due(now - ALERT_GAP)
    report.due = len(follows)
    if not follows:
        return report
    newest = await storage.follows.newest_article_id()
    projects: dict[int, ProjectSummary | None] = {}
    rendered: dict[tuple[int, int, tuple[str, ...], str, str], list[str]] = {}
    for follow in follows:
        if follow.project_id not in projects:
            projects[follow.project_id] = await storage.projects.get(follow.project_id)
        project = projects[follow.project_id]
        if project is None:
            continue
        texts = await _texts(storage, follow, project, rendered)
        if not texts:
            await storage.follows.advance(follow.chat_id, follow.project_id, newest)
            report.quiet += 1
            continue
        if await storage.deliveries.plan_alert(
            chat_id=follow.chat_id,
            project_id=follow.project_id,
            key=alert_key(follow.project_id, now),
            texts=texts,
            seen_article_id=newest,
            now=now,
        ):
            report.planned += 1
    if report.planned:
        log.info("alerts planned=%d quiet=%d due=%d", report.planned, report.quiet, report.due)
    return report


async def _texts(
    storage: Storage,
    follow: Follow,
    project: ProjectSummary,
    cache: dict[tuple[int, int, tuple[str, ...], str, str], list[str]],
) -> list[str]:
    """Followers with the same watermark, languages and zone get the same alert: rendered once."""
    key = (follow.project_id, follow.seen_article_id, follow.langs, follow.ui_lang, follow.timezone)
    if key not in cache:
        articles = await storage.follows.new_stories(follow.project_id, follow.seen_article_id, follow.langs)
        stories = group_stories(articles, follow.ui_lang, follow.langs)
        cache[key] = render_alert(project, stories, follow.ui_lang, ZoneInfo(follow.timezone)) if stories else []
    return cache[key]
