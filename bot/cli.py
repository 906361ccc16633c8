"""The command-line commands. Output here is for operators (English); subscribers' text uses the catalogs."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from bot.clock import utc_now
from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

ONBOARDING_TOPICS = ("investments", "china", "projects")
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2


def dispatch(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"habar: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    setup_logging(settings.log_level, settings.log_format, secrets=(token,))
    command = {
        "ingest": cmd_ingest,
        "export": cmd_export,
        "stats": cmd_stats,
        "backup": cmd_backup,
        "digest": cmd_digest,
        "run": cmd_run,
        "trends": cmd_trends,
    }[args.command]
    try:
        return asyncio.run(command(args, settings))
    except KeyboardInterrupt:
        return EXIT_OK
    except ConfigError as exc:
        print(f"habar: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _catalogs(settings: Settings):  # noqa: ANN202 — returns bot.services.Catalogs, imported lazily
    from bot.feeds_file import FeedsFileError
    from bot.ingest.projects import ProjectCatalogError
    from bot.services import load_catalogs
    from bot.topics import TopicsFileError

    try:
        return load_catalogs(settings)
    except (FeedsFileError, TopicsFileError, ProjectCatalogError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def _topics(settings: Settings):  # noqa: ANN202 — returns bot.topics.TopicRules
    from bot.topics import TopicRules, TopicsFileError

    try:
        return TopicRules.load(settings.topics_file)
    except TopicsFileError as exc:
        raise ConfigError(str(exc)) from None


async def _open(settings: Settings):  # noqa: ANN202 — returns storage.Storage
    from storage import Storage, StorageError

    try:
        return await Storage.open(settings.database_path)
    except StorageError as exc:
        raise ConfigError(str(exc)) from None


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- ingest -------------------------------------------------------------------------------------


def print_ingest_report(report, out: TextIO = sys.stdout) -> None:  # noqa: ANN001 — bot.ingest.pipeline.IngestReport
    rows = [("feed", "status", "new", "dup", "skipped", "reason")]
    for f in report.feeds:
        reason = f.reason or (f"warning: {f.problem}" if f.problem else "")
        rows.append((f.name, f.status, str(f.new), str(f.duplicate), str(f.skipped_entries), reason))
    widths = [min(max(len(r[i]) for r in rows), 40) for i in range(5)]
    for row in rows:
        cells = [row[i][:40].ljust(widths[i]) if i in (0, 1) else row[i].rjust(widths[i]) for i in range(5)]
        print("  ".join(cells) + "  " + row[5], file=out)
    seconds = ((report.finished or report.started) - report.started).total_seconds()
    print(
        f"\n{len(report.feeds)} feeds: {report.new} new, {report.duplicate} duplicate, "
        f"{report.failed} failed in {seconds:.1f} s",
        file=out,
    )


async def run_ingest(settings: Settings, *, force: bool = False):  # noqa: ANN201 — IngestReport
    from bot.services import create_ingestor

    catalogs = _catalogs(settings)
    storage = await _open(settings)
    ingestor, analyser = create_ingestor(storage, settings, catalogs)
    try:
        return await ingestor.run_pass(catalogs.feeds, respect_backoff=not force)
    finally:
        analyser.close()
        await storage.close()


async def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ingest.analyse import WorkersUnavailable

    try:
        report = await run_ingest(settings, force=args.force)
    except WorkersUnavailable as exc:
        # No feed was at fault, and none is marked as failing; the workers' own error is in the log above.
        print(f"habar: the ingestion pass did not run: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print_ingest_report(report)
    return EXIT_OK


# --- export / stats / backup ----------------------------------------------------------------------


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    storage = await _open(settings)
    out = sys.stdout
    try:
        async for art in storage.articles.iter_all():
            record = {
                "url": art.url,
                "title": art.title,
                "lang": art.lang,
                "topics": list(art.topics),
                "projects": list(art.projects),
                "story": art.story_id,
                "feed": art.feed_name,
                "published": iso_utc(art.published_at),
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        await storage.close()
    return EXIT_OK


async def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    storage = await _open(settings)
    try:
        counts = await storage.stats.counts()
    finally:
        await storage.close()
    print(f"feeds: {counts.feeds_ok + counts.feeds_failing} ({counts.feeds_ok} ok, {counts.feeds_failing} failing)")
    langs = ", ".join(f"{k} {v}" for k, v in counts.articles_by_lang.items()) or "none"
    print(f"articles: {counts.articles_total} ({langs})")
    for topic, n in counts.articles_by_topic.items():
        print(f"  {topic}: {n}")
    print(f"projects: {counts.projects}")
    print(f"subscribers: {counts.subscribers_active} active, {counts.subscribers_inactive} inactive")
    deliveries = ", ".join(f"{k} {v}" for k, v in counts.deliveries.items()) or "none"
    print(f"deliveries: {deliveries}")
    return EXIT_OK


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from storage import StorageError

    storage = await _open(settings)
    try:
        path = await storage.backup(args.path)
    except StorageError as exc:
        raise ConfigError(str(exc)) from None
    finally:
        await storage.close()
    print(f"backup written to {path}")
    return EXIT_OK


async def cmd_trends(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from bot.trends import MAX_DAYS, TrendCharts

    if not 1 <= args.days <= MAX_DAYS:
        raise ConfigError(f"--days must be between 1 and {MAX_DAYS}")
    rules = _topics(settings)
    storage = await _open(settings)
    try:
        png = await TrendCharts(storage.db, rules, settings.zone).chart(now=utc_now(), days=args.days, ui=args.ui)
    finally:
        await storage.close()
    out = Path(args.out)
    await asyncio.to_thread(out.write_bytes, png)
    print(f"chart written to {out} ({len(png)} bytes)")
    return EXIT_OK


# --- digest ---------------------------------------------------------------------------------------


async def preview_digest(
    settings: Settings, *, ui: str, lang: str, topics: tuple[str, ...] | None, hours: int, now: datetime | None = None
) -> list[str]:
    from bot.digest.build import DigestRequest, build_digest
    from bot.digest.render import render_digest

    rules = _topics(settings)
    chosen = topics or ONBOARDING_TOPICS
    unknown = [t for t in chosen if t not in rules.keys]
    if unknown:
        raise ConfigError(f"unknown topic(s): {', '.join(unknown)}; known: {', '.join(rules.keys)}")
    if not 1 <= hours <= 168:
        raise ConfigError("--hours must be between 1 and 168")
    until = now or utc_now()
    request = DigestRequest(
        topics=tuple(chosen),
        langs=("ru", "kk") if lang == "both" else (lang,),
        ui_lang=ui,
        since=until - timedelta(hours=hours),
        until=until,
    )
    storage = await _open(settings)
    try:
        digest = await build_digest(storage, request, rules.keys)
    finally:
        await storage.close()
    names = {k: rules.name(k, ui) for k in rules.keys}
    return render_digest(digest, names, settings.zone)


async def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    if args.send:
        from bot.delivery.command import send_all_due_now

        return await send_all_due_now(settings)
    topics = tuple(t.strip() for t in args.topics.split(",") if t.strip()) if args.topics else None
    messages = await preview_digest(settings, ui=args.ui, lang=args.lang, topics=topics, hours=args.hours)
    print("\n\n──────── (next message) ────────\n\n".join(messages))
    return EXIT_OK


# --- run ------------------------------------------------------------------------------------------

NO_TOKEN_HELP = """\
BOT_TOKEN is not set, so the Telegram bot cannot start.

To get a token: open Telegram, talk to @BotFather, send /newbot and follow its questions;
it answers with a token like 123456789:AA... Put it in a file named .env next to this README:

    BOT_TOKEN=123456789:AA...

(.env.example lists every setting with a comment.) Then run `make run` again.

Meanwhile, here is what Habar does without Telegram: one ingestion pass and the digest a new
subscriber would get now.
"""


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.bot_token is None:
        print(NO_TOKEN_HELP)
        report = await run_ingest(settings)
        print_ingest_report(report)
        print("\n──────── digest preview (Russian interface, both languages) ────────\n")
        messages = await preview_digest(settings, ui="ru", lang="both", topics=None, hours=48)
        print("\n\n".join(messages))
        return EXIT_OK
    catalogs = _catalogs(settings)  # a bad feeds/topics/projects file is a configuration error (exit 2)
    from bot.app import run_bot

    return await run_bot(settings, catalogs)
