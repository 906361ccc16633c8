"""The command line as an operator uses it: real subprocesses, a real SQLite file, feeds on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fake_telegram import FakeTelegram, fake_telegram  # noqa: F401
from tests.feed_server import FeedServer, feed_server  # noqa: F401
from tests.feedgen import Item, atom, rss

NOW = datetime.now(UTC).replace(microsecond=0)
ROOT = Path(__file__).resolve().parents[1]


async def habar(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=cwd,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    base.update(
        PYTHONPATH=str(ROOT),
        DATABASE_PATH=str(tmp_path / "db" / "habar.sqlite3"),
        FEEDS_FILE=str(tmp_path / "feeds.toml"),
    )
    return base


def write_feeds(path: Path, server: FeedServer) -> None:
    path.write_text(
        "[[feeds]]\n"
        f'url = "{server.url("/ru.xml")}"\nname = "Ру <лента> & Co"\nlang = "ru"\n\n'
        "[[feeds]]\n"
        f'url = "{server.url("/kk.xml")}"\nname = "Қаз-лента"\nlang = "kk"\n\n'
        "[[feeds]]\n"
        f'url = "{server.url("/missing.xml")}"\nname = "Missing"\n',
        encoding="utf-8",
    )
    server.add_feed(
        "/ru.xml",
        rss([
            Item("Китайские инвесторы построят завод по производству метанола в ЗКО", "https://ru.kz/1",
                 "Инвестиционный проект обсудили в акимате", published=NOW - timedelta(hours=1)),
            Item("Погода в Уральске: ожидается дождь", "https://ru.kz/2", "Синоптики обещают прохладу",
                 published=NOW - timedelta(hours=2)),
        ]),
    )
    server.add_feed(
        "/kk.xml",
        atom([Item("Қытай инвесторлары Оралда метанол зауытын салады", "https://kk.kz/1",
                   "Инвестициялық жоба әкімдікте талқыланды", published=NOW - timedelta(minutes=30))]),
        content_type="application/atom+xml",
    )
    server.add_status("/missing.xml", 404)


async def test_ingest_export_stats_preview_backup(
    feed_server: FeedServer, env: dict[str, str], tmp_path: Path  # noqa: F811
) -> None:
    write_feeds(tmp_path / "feeds.toml", feed_server)
    code, out, err = await habar("ingest", env=env, cwd=tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["feed", "status", "new", "dup", "skipped", "reason"]
    ru_line = next(line for line in lines if line.startswith("Ру <лента>"))
    assert ru_line.split()[4:8] == ["ok", "2", "0", "0"]
    missing = next(line for line in lines if line.startswith("Missing"))
    assert "failed" in missing and "404" in missing
    assert "3 feeds: 3 new, 0 duplicate, 1 failed" in out

    code, out, _ = await habar("export", "--format", "jsonl", env=env, cwd=tmp_path)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 3
    assert all(set(r) == {"url", "title", "lang", "topics", "projects", "story", "feed", "published"} for r in records)
    by_url = {r["url"]: r for r in records}
    assert by_url["https://kk.kz/1"]["lang"] == "kk" and "china" in by_url["https://kk.kz/1"]["topics"]
    assert by_url["https://ru.kz/1"]["lang"] == "ru" and {"china", "investments"} <= set(by_url["https://ru.kz/1"]["topics"])
    assert by_url["https://ru.kz/2"]["topics"] == []
    assert by_url["https://ru.kz/1"]["published"].endswith("Z")
    datetime.fromisoformat(by_url["https://ru.kz/1"]["published"])

    code, out, _ = await habar("stats", env=env, cwd=tmp_path)
    assert code == 0
    assert "feeds: 3 (2 ok, 1 failing)" in out
    assert "articles: 3 (kk 1, ru 2)" in out
    assert "subscribers: 0 active, 0 inactive" in out

    code, out, _ = await habar("digest", "--preview", "--ui", "kk", "--lang", "both", env=env, cwd=tmp_path)
    assert code == 0
    assert "жаңалықтар дайджесі" in out
    assert '<a href="https://kk.kz/1">Қытай инвесторлары Оралда метанол зауытын салады</a>' in out
    assert "Ру &lt;лента&gt; &amp; Co" in out  # a feed name is escaped like any text from outside
    assert "Погода" not in out

    code, out, _ = await habar("digest", "--preview", "--lang", "kk", "--topics", "energy", env=env, cwd=tmp_path)
    assert code == 0 and "пока нет" in out

    code, out, _ = await habar("backup", str(tmp_path / "copy.sqlite3"), env=env, cwd=tmp_path)
    assert code == 0 and (tmp_path / "copy.sqlite3").exists()


async def test_bad_configuration_exits_2_with_a_clear_message(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text('[[feeds]]\nurl = "ftp://x"\nname = "X"\n', encoding="utf-8")
    code, out, err = await habar("ingest", env=env, cwd=tmp_path)
    assert code == 2 and "url must be an http(s) address" in err and "Traceback" not in err

    code, _, err = await habar("stats", env={**env, "BROADCAST_RATE": "50"}, cwd=tmp_path)
    assert code == 2 and "BROADCAST_RATE" in err and "Traceback" not in err

    code, _, err = await habar("stats", env={**env, "TIMEZONE": "Mars/Olympus"}, cwd=tmp_path)
    assert code == 2 and "TIMEZONE" in err

    code, _, err = await habar("digest", "--preview", "--topics", "nonsense", env=env, cwd=tmp_path)
    assert code == 2 and "unknown topic" in err


async def test_ingest_whose_workers_cannot_start_exits_1_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a configuration error and not a feed's: one clear line, no traceback, exit 1 (the pass did not run).
    (tests/test_analyse.py makes real workers fail to start; here the command's reply to it.)"""
    import argparse

    from bot import cli
    from bot.config import Settings
    from bot.ingest.analyse import WorkersUnavailable

    async def cannot_start(settings: Settings, *, force: bool = False) -> None:
        raise WorkersUnavailable("the worker processes did not start: BrokenProcessPool: terminated abruptly")

    monkeypatch.setattr(cli, "run_ingest", cannot_start)
    settings = Settings(_env_file=None, database_path=tmp_path / "h.sqlite3")  # type: ignore[call-arg]
    code = await cli.cmd_ingest(argparse.Namespace(force=False), settings)
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err == "habar: the ingestion pass did not run: the worker processes did not start: BrokenProcessPool: terminated abruptly\n"


async def test_run_without_token_explains_and_still_ingests_and_previews(
    feed_server: FeedServer, env: dict[str, str], tmp_path: Path  # noqa: F811
) -> None:
    write_feeds(tmp_path / "feeds.toml", feed_server)
    code, out, err = await habar("run", env=env, cwd=tmp_path)
    assert code == 0, err
    assert "@BotFather" in out and ".env" in out
    assert "3 feeds: 3 new" in out
    assert "Дайджест новостей" in out


async def test_offline_commands_do_not_import_aiogram(env: dict[str, str], tmp_path: Path) -> None:
    script = (
        "import sys\nfrom bot.__main__ import main\n"
        "for args in (['stats'], ['export'], ['digest', '--preview']):\n"
        "    assert main(args) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram')\n"
        "print('AIOGRAM', loaded)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env, cwd=tmp_path,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "AIOGRAM []" in out.decode()


def test_almaty_is_utc_plus_5_from_tzdata() -> None:
    from zoneinfo import ZoneInfo

    assert datetime(2025, 1, 15, tzinfo=ZoneInfo("Asia/Almaty")).utcoffset() == timedelta(hours=5)
    assert datetime(2025, 7, 15, tzinfo=ZoneInfo("Asia/Almaty")).utcoffset() == timedelta(hours=5)


async def test_run_with_a_token_telegram_refuses_says_so_and_exits_2(
    fake_telegram: FakeTelegram, env: dict[str, str], tmp_path: Path  # noqa: F811
) -> None:
    wrong = "999999:wrong-token-for-this-test-only"
    env = {**env, "BOT_TOKEN": wrong, "TELEGRAM_API_URL": fake_telegram.base_url}
    # A missing feeds file is a configuration error for `run` too, named, before Telegram is asked.
    code, out, err = await habar("run", env=env, cwd=tmp_path)
    assert code == 2 and "feeds.toml does not exist" in err and "Traceback" not in err
    (tmp_path / "feeds.toml").write_text('[[feeds]]\nurl = "http://127.0.0.1:9/rss"\nname = "X"\nlang = "ru"\n')
    code, out, err = await habar("run", env=env, cwd=tmp_path)
    assert code == 2, err
    assert "Telegram refused BOT_TOKEN" in err and "@BotFather" in err
    assert wrong not in out + err and "Traceback" not in err


async def test_run_ingests_in_a_child_process_and_stops_cleanly_on_sigterm(
    fake_telegram: FakeTelegram, feed_server: FeedServer, env: dict[str, str], tmp_path: Path  # noqa: F811
) -> None:
    import signal
    import sqlite3

    write_feeds(tmp_path / "feeds.toml", feed_server)
    env = {**env, "BOT_TOKEN": fake_telegram.token, "TELEGRAM_API_URL": fake_telegram.base_url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        # The first pass starts at once (aiogram's import takes seconds here); its summary line, written by
        # the child to the shared stderr, comes once the pass has finished.
        async def pass_summary() -> None:
            while line := (await proc.stderr.readline()).decode():  # type: ignore[union-attr]
                seen.append(line)
                if "ingest pass feeds=" in line:
                    return

        await asyncio.wait_for(pass_summary(), timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    text = "".join(seen) + out.decode() + err.decode()
    with sqlite3.connect(f"file:{env['DATABASE_PATH']}?mode=ro", uri=True) as db:
        titles = sorted(row[0] for row in db.execute("SELECT title FROM articles"))
    assert len(titles) == 3 and titles[0].startswith("Китайские инвесторы"), titles
    assert proc.returncode == 0, text
    assert "logger=bot.ingest.pipeline" in text and "ingest pass feeds=3 new=3 duplicate=0 failed=1" in text
    assert "bot stopped" in text
    assert fake_telegram.token not in text and fake_telegram.token.split(":", 1)[1] not in text
