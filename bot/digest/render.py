"""The one place that turns digests and article lists into Telegram HTML.

Escaping uses the standard library's `html.escape` rather than aiogram's formatting helpers on purpose:
this module also serves `digest --preview`, which must not import aiogram (seconds of start-up), and
aiogram's `html.bold()`/`link()` do not escape their arguments anyway. Everything from a feed or a user
passes through `esc()`; the markup around it is ours and uses only tags Telegram accepts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.digest.build import Digest
from bot.digest.stories import Story
from bot.i18n import t, tn
from storage import Counts, FeedState, ProjectSummary, StoredArticle, Subscriber

if TYPE_CHECKING:
    from bot.ingest.pipeline import IngestReport

TELEGRAM_LIMIT = 4096
MAX_TITLE_CHARS = 300
_TAG = re.compile(r"<[^>]+>")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def visible_length(markup: str) -> int:
    """Length as Telegram counts it: text after entity parsing, in UTF-16 code units."""
    text = html.unescape(_TAG.sub("", markup))
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,.;:-") + "…"


def local_time(moment: datetime, zone: ZoneInfo, ui_lang: str) -> str:
    return moment.astimezone(zone).strftime("%d.%m %H:%M")


def article_item(article: StoredArticle, ui_lang: str, zone: ZoneInfo) -> str:
    """A linked headline, then language, source and time."""
    title = f'<a href="{esc(article.url)}">{esc(shorten(article.title))}</a>'
    meta = [t(ui_lang, f"lang.{article.lang}"), esc(article.feed_name), local_time(article.published_at, zone, ui_lang)]
    return f"• {title}\n    {' · '.join(meta)}"


MAX_REPORT_LINKS = 8


def story_item(story: Story, ui_lang: str, zone: ZoneInfo) -> str:
    """One story: the lead's linked headline, language, outlet and time, then a link to every other
    report (other outlets, the other language, reprints), each marked by outlet and language."""
    line = article_item(story.lead, ui_lang, zone)
    others = story.others
    links = [f'<a href="{esc(r.url)}">{esc(r.outlet)}</a> ({t(ui_lang, f"lang.{r.lang}")})' for r in others]
    if len(links) > MAX_REPORT_LINKS:
        links = links[:MAX_REPORT_LINKS] + [f"+{len(others) - MAX_REPORT_LINKS}"]
    if links:
        line += "\n    " + t(ui_lang, "digest.also") + " " + ", ".join(links)
    return line


def pack(blocks: Iterable[str], limit: int = TELEGRAM_LIMIT, sep: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit, splitting only between blocks (never inside a tag)."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        if visible_length(block) > limit:
            block = _hard_cut(block, limit)
        candidate = f"{current}{sep}{block}" if current else block
        if visible_length(candidate) <= limit:
            current = candidate
        else:
            if current:
                messages.append(current)
            current = block
    if current:
        messages.append(current)
    return messages


def _hard_cut(block: str, limit: int) -> str:
    """A single block over the limit (cannot happen with our templates) loses its markup, never its safety."""
    text = html.unescape(_TAG.sub("", block))
    units = text.encode("utf-16-le")[: 2 * (limit - 1)]
    return esc(units.decode("utf-16-le", errors="ignore") + "…")


def render_digest(digest: Digest, topic_names: dict[str, str], zone: ZoneInfo, *, title_key: str = "digest.header") -> list[str]:
    """The digest as Telegram messages, each ≤ 4096 visible characters, split between items."""
    req = digest.request
    ui = req.ui_lang
    date = req.until.astimezone(zone).strftime("%d.%m.%Y")
    if digest.empty:
        return [t(ui, "digest.empty")]
    blocks: list[str] = [f"<b>{esc(t(ui, title_key, date=date))}</b>"]
    for section in digest.sections:
        name = esc(topic_names.get(section.topic, section.topic))
        items = [story_item(s, ui, zone) for s in section.items]
        head = f"<b>{name}</b>\n{items[0]}" if items else f"<b>{name}</b>"
        blocks.append(head)
        blocks.extend(items[1:])
        if section.more:
            blocks.append(tn(ui, "digest.more_one", "digest.more_many", section.more, topic=section.topic))
    return pack(blocks, sep="\n")


def render_stories(stories: Sequence[Story], ui_lang: str, zone: ZoneInfo, header: str) -> list[str]:
    """A titled list of stories (a project's timeline, an alert) split like a digest."""
    blocks = [header] + [story_item(s, ui_lang, zone) for s in stories]
    return pack(blocks, sep="\n")


ALERT_STORIES = 5  # shown in one alert; the rest are counted, with the command that lists them


def render_alert(project: ProjectSummary, stories: Sequence[Story], ui_lang: str, zone: ZoneInfo) -> list[str]:
    """A followed project's new stories (bot/delivery/alerts.py): the first few, then how many more."""
    name = shorten(project.display_name(ui_lang), 100)
    texts = render_stories(stories[:ALERT_STORIES], ui_lang, zone, ht(ui_lang, "alert.header", name=name))
    rest = len(stories) - ALERT_STORIES
    if rest > 0:
        more = htn(ui_lang, "alert.more_one", "alert.more_many", rest, name=name)
        texts = pack([*texts, more], sep="\n")
    return texts


# --- bot replies ------------------------------------------------------------------------------------
# Catalog texts are trusted markup (they may hold <b>); what fills their placeholders is data from a
# feed, the operator's files or a user, so it is always escaped here, never in the handlers.


def ht(lang: str, msgid: str, /, **params: object) -> str:
    """The catalog text `msgid` as Telegram HTML, every placeholder value escaped."""
    return t(lang, msgid, **{k: esc(str(v)) for k, v in params.items()})


def htn(lang: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    """Plural-aware `ht`."""
    return tn(lang, singular, plural, n, **{k: esc(str(v)) for k, v in params.items()})


def local_date(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d.%m.%Y")


def render_topic_choices(header: str, names: dict[str, str], ui_lang: str) -> list[str]:
    """A header (already HTML) and one line per topic: the /digest command and the topic's name."""
    lines = [header] + [ht(ui_lang, "digest.topic_line", key=key, name=name) for key, name in names.items()]
    return pack(lines, sep="\n")


def render_project_list(projects: Sequence[ProjectSummary], ui_lang: str, zone: ZoneInfo) -> list[str]:
    """Tracked projects with how often and how recently the news named them."""
    blocks = [ht(ui_lang, "project.list_header")]
    for p in projects:
        mentions = tn(ui_lang, "project.mentions_one", "project.mentions_many", p.mentions)
        last = local_date(p.last_seen, zone) if p.last_seen else t(ui_lang, "project.never")
        blocks.append(
            ht(
                ui_lang,
                "project.line",
                name=shorten(p.display_name(ui_lang), 100),
                mentions=mentions,
                last=last,
            )
        )
    blocks.append(ht(ui_lang, "project.list_hint"))
    return pack(blocks, sep="\n")


def render_settings(
    sub: Subscriber, next_at: datetime | None, ui_lang: str, *, note: str | None = None
) -> str:
    """The subscriber's settings; `next_at` is the next digest (None while paused); `note` (plain text,
    e.g. "time saved") goes first."""
    if sub.news_langs == "ru":
        news = t(ui_lang, "settings.news_ru")
    elif sub.news_langs == "kk":
        news = t(ui_lang, "settings.news_kk")
    else:
        news = t(ui_lang, "settings.news_both")
    text = ht(
        ui_lang,
        "settings.summary",
        lang=t(ui_lang, "lang.button.kk") if sub.ui_lang == "kk" else t(ui_lang, "lang.button.ru"),
        news=news,
        time=sub.digest_time,
        zone=sub.timezone,
    )
    if next_at is None:
        text += "\n" + ht(ui_lang, "settings.paused_line")
    else:
        text += "\n" + ht(ui_lang, "settings.next", when=local_time(next_at, ZoneInfo(sub.timezone), ui_lang))
    return f"{esc(note)}\n\n{text}" if note else text


def render_stats(counts: Counts, topic_names: dict[str, str], ui_lang: str) -> list[str]:
    """Operators' /stats."""
    lines = [
        ht(ui_lang, "admin.stats_header"),
        ht(ui_lang, "admin.stats_feeds", ok=counts.feeds_ok, failing=counts.feeds_failing),
        ht(
            ui_lang,
            "admin.stats_articles",
            total=counts.articles_total,
            ru=counts.articles_by_lang.get("ru", 0),
            kk=counts.articles_by_lang.get("kk", 0),
        ),
    ]
    lines += [
        ht(ui_lang, "admin.stats_topic", name=topic_names.get(key, key), n=n)
        for key, n in counts.articles_by_topic.items()
    ]
    lines.append(ht(ui_lang, "admin.stats_projects", n=counts.projects))
    lines.append(
        ht(
            ui_lang,
            "admin.stats_subscribers",
            active=counts.subscribers_active,
            inactive=counts.subscribers_inactive,
        )
    )
    if counts.deliveries:
        shown = ", ".join(f"{status} {n}" for status, n in counts.deliveries.items())
        lines.append(ht(ui_lang, "admin.stats_deliveries", list=shown))
    return pack(lines, sep="\n")


def render_feed_health(feeds: Sequence[FeedState], ui_lang: str, zone: ZoneInfo) -> list[str]:
    """Operators' /feeds: each enabled feed, ok or failing, its last error and last success."""
    enabled = [f for f in feeds if f.enabled]
    failing = sum(1 for f in enabled if f.failing)
    blocks = [ht(ui_lang, "admin.feeds_header", ok=len(enabled) - failing, failing=failing)]
    for feed in enabled:
        success = (
            local_time(feed.last_success_at, zone, ui_lang)
            if feed.last_success_at
            else t(ui_lang, "admin.never")
        )
        name = shorten(feed.name, 100)
        if feed.failing:
            blocks.append(
                ht(
                    ui_lang,
                    "admin.feed_failing",
                    name=name,
                    n=feed.failure_count,
                    error=shorten(feed.last_error or "?", 300),
                    success=success,
                )
            )
        elif feed.last_attempt_at is None:
            blocks.append(ht(ui_lang, "admin.feed_unchecked", name=name))
        else:
            blocks.append(ht(ui_lang, "admin.feed_ok", name=name, success=success))
    return pack(blocks, sep="\n")


def render_ingest_report(report: IngestReport, ui_lang: str) -> list[str]:
    """Operators' /ingest: totals, then each failed feed with its reason."""
    blocks = [
        ht(
            ui_lang,
            "admin.ingest_done",
            feeds=len(report.feeds),
            new=report.new,
            duplicate=report.duplicate,
            failed=report.failed,
        )
    ]
    blocks += [
        ht(
            ui_lang,
            "admin.ingest_failed_feed",
            name=shorten(f.name, 100),
            reason=shorten(f.reason or "?", 300),
        )
        for f in report.feeds
        if f.status == "failed"
    ]
    return pack(blocks, sep="\n")
