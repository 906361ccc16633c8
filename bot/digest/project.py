"""A project's timeline and the project list, shared by /project and anything else that shows them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.digest.render import ht, render_stories, shorten
from bot.digest.stories import group_stories
from storage import ProjectSummary, Storage

TIMELINE_STORIES = 10
ATTENTION_WINDOW = timedelta(days=30)  # "recent attention" orders /project: stories in this window
LIST_LIMIT = 30


async def project_timeline(storage: Storage, project: ProjectSummary, ui_lang: str, zone: ZoneInfo) -> list[str]:
    """The latest stories about the project in both languages, newest first, each story once with a link
    to every report; the headline in the reader's language where there is a report in it."""
    name = shorten(project.display_name(ui_lang), 100)
    articles = await storage.projects.timeline(project.id, langs=("ru", "kk"), stories=TIMELINE_STORIES)
    if not articles:
        return [ht(ui_lang, "project.no_news", name=name)]
    stories = group_stories(articles, ui_lang)[:TIMELINE_STORIES]
    return render_stories(stories, ui_lang, zone, ht(ui_lang, "project.news_header", name=name))


async def projects_by_attention(storage: Storage, now: datetime) -> list[ProjectSummary]:
    return await storage.projects.tracked(limit=LIST_LIMIT, attention_since=now - ATTENTION_WINDOW)
