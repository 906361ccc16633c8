"""`python -m bot <command>` (also the `habar` console script): parse arguments, then hand over to bot.cli.

Only `run` and `digest --send` import aiogram (lazily): its import alone takes seconds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="habar", description="Kazakh news digests in Russian and Kazakh.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="the bot with its scheduler (long polling, or webhook when WEBHOOK_URL is set)")
    ingest = sub.add_parser("ingest", help="one ingestion pass over the feeds file, with a per-feed summary")
    ingest.add_argument("--force", action="store_true", help="also fetch feeds that are backing off after failures")
    digest = sub.add_parser("digest", help="preview or send digests")
    mode = digest.add_mutually_exclusive_group(required=True)
    mode.add_argument("--preview", action="store_true", help="print the digest a subscriber would get now")
    mode.add_argument("--send", action="store_true", help="send today's digest now to everyone who has not had it")
    digest.add_argument("--ui", choices=("ru", "kk"), default="ru", help="interface language (default ru)")
    digest.add_argument("--lang", choices=("ru", "kk", "both"), default="both", help="news languages (default both)")
    digest.add_argument("--topics", default=None, help="comma separated topic keys (default: the onboarding ones)")
    digest.add_argument("--hours", type=int, default=24, help="how far back to look, in hours (default 24, max 168)")
    export = sub.add_parser("export", help="every stored article as JSON lines")
    export.add_argument("--format", choices=("jsonl",), default="jsonl")
    sub.add_parser("stats", help="counts of feeds, articles, subscribers and deliveries")
    trends = sub.add_parser("trends", help="chart of stories per topic per day (PNG)")
    trends.add_argument("--out", required=True, help="PNG file to write")
    trends.add_argument("--days", type=int, default=30, help="how many days back (default 30, max 90)")
    trends.add_argument("--ui", choices=("ru", "kk"), default="ru", help="language of title and labels")
    backup = sub.add_parser("backup", help="consistent online copy of the database")
    backup.add_argument("path", help="file to create")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.cli import dispatch

    return dispatch(args)


if __name__ == "__main__":
    sys.exit(main())
