"""Pure decisions: back-off, reprints, feeds file, settings, log redaction, message splitting, due times."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, parse_hhmm
from bot.digest.render import TELEGRAM_LIMIT, esc, pack, visible_length
from bot.digest.schedule import is_due, next_delivery
from bot.feeds_file import FeedsFileError, load_feeds
from bot.ingest.backoff import next_attempt
from bot.ingest.reprints import ReprintIndex, fingerprint, prints
from bot.logs import RedactingFilter, redact
from storage import Subscriber

NOW = datetime(2025, 8, 8, 4, 0, tzinfo=UTC)  # 09:00 in Almaty


def test_backoff_doubles_to_six_hours_and_honours_retry_after() -> None:
    assert next_attempt(NOW, 1) - NOW == timedelta(minutes=5)
    assert next_attempt(NOW, 2) - NOW == timedelta(minutes=10)
    assert next_attempt(NOW, 30) - NOW == timedelta(hours=6)
    assert next_attempt(NOW, 1, retry_after=3600) - NOW == timedelta(hours=1)
    assert next_attempt(NOW, 1, retry_after=10**9) - NOW == timedelta(days=1)


def test_reprint_with_small_edits_points_to_the_original_and_other_news_does_not() -> None:
    index = ReprintIndex()
    text = "Аким области провел переговоры с руководством компании и подписал дорожную карту по проектам"
    index.add(1, 1, "ru", fingerprint("Аким подписал дорожную карту", text))
    assert index.original_of("ru", fingerprint("Аким подписал дорожную карту", text + " Об этом сообщили.")) == 1
    assert index.original_of("kk", fingerprint("Аким подписал дорожную карту", text)) is None
    other = "Аким области провел совещание по подготовке к зиме и проверил котельные в районах"
    assert index.original_of("ru", fingerprint("Аким провел совещание по подготовке к зиме", other)) is None


def test_a_placeholder_given_its_stored_id_is_found_under_it_and_a_dropped_one_is_gone() -> None:
    """A pass adds a batch under placeholder ids, then moves each to its stored id (or drops a duplicate)."""
    index = ReprintIndex()
    text = "Инвестор из Цзянсу подписал соглашение о строительстве завода по выпуску метанола в области"
    first = prints(fingerprint("Подписано соглашение о заводе метанола", text))
    index.add(-1, -1, "ru", first)
    index.add(-2, -2, "ru", prints(fingerprint("Зерно нового урожая уходит на экспорт", "Аграрии отгружают " * 3)))
    again = fingerprint("Подписано соглашение о заводе метанола", text + " Сообщает пресс-служба.")
    assert index.original_of("ru", again) == -1
    index.rekey(-1, 17, 17)
    index.remove(-2)
    assert index.original_of("ru", again) == 17
    assert index.original_of("ru", prints(again)) == 17
    assert index.original_of("ru", fingerprint("Зерно нового урожая уходит на экспорт", "Аграрии отгружают " * 3)) is None
    assert all(-1 not in ids and -2 not in ids for ids in index._by_word.values())  # noqa: SLF001


def test_feeds_file_errors_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text('[[feeds]]\nurl = "https://a.kz/rss"\nname = "A"\nlang = "en"\n', encoding="utf-8")
    with pytest.raises(FeedsFileError, match="lang must be one of"):
        load_feeds(path)
    path.write_text("[[feeds]\n", encoding="utf-8")
    with pytest.raises(FeedsFileError, match="not valid TOML"):
        load_feeds(path)
    with pytest.raises(FeedsFileError, match="does not exist"):
        load_feeds(tmp_path / "none.toml")


def test_shipped_feeds_cover_both_languages() -> None:
    from bot.config import DEFAULT_FEEDS_FILE

    feeds = load_feeds(DEFAULT_FEEDS_FILE)
    assert {f.lang for f in feeds} >= {"ru", "kk"} and len(feeds) >= 10


def test_settings_validate_and_never_echo_the_token(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    monkeypatch.setenv("BOT_TOKEN", token)
    monkeypatch.setenv("ADMIN_IDS", "1, 22,333")
    settings = load_settings()
    assert settings.admin_ids == frozenset({1, 22, 333})
    assert token not in repr(settings)
    monkeypatch.setenv("BROADCAST_RATE", "31")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "BROADCAST_RATE" in str(err.value) and token not in str(err.value)
    monkeypatch.setenv("BROADCAST_RATE", "25")
    monkeypatch.setenv("DIGEST_TIME", "25:00")
    with pytest.raises(ConfigError, match="DIGEST_TIME"):
        load_settings()


@pytest.mark.parametrize("text", ["9:00", "09:00", " 23:59 "])
def test_hhmm_accepts(text: str) -> None:
    parse_hhmm(text)


@pytest.mark.parametrize("text", ["24:00", "9", "09:60", "ab:cd", "09:5", ""])
def test_hhmm_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hhmm(text)


def test_token_is_redacted_from_messages_args_and_tracebacks() -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    assert token not in redact(f"POST https://api.telegram.org/bot{token}/sendMessage failed")
    try:
        raise RuntimeError(f"url /bot{token}/getMe")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", (token,), exc_info=True)
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter((token,)).filter(record)
    assert token not in record.getMessage() and token not in (record.exc_text or "")
    assert "<redacted>" in record.exc_text  # type: ignore[operator]


def test_pack_splits_between_blocks_and_counts_visible_text() -> None:
    block = f'<a href="https://example.kz/{"x" * 200}">{esc("<заголовок> & " * 20)}</a>'
    assert visible_length(block) == len("<заголовок> & " * 20)
    messages = pack([block] * 40)
    assert len(messages) > 1
    assert all(visible_length(m) <= TELEGRAM_LIMIT for m in messages)
    assert sum(m.count("<a href") for m in messages) == 40
    assert all(m.count("<a ") == m.count("</a>") for m in messages)
    emoji = "🇰🇿" * 1500  # 4 UTF-16 units per flag: Telegram counts units, not characters
    assert len(pack([emoji, emoji])) == 2


def _sub(**kw: object) -> Subscriber:
    base = dict(
        chat_id=1, user_id=1, ui_lang="ru", news_langs="both", digest_time="09:00", timezone="Asia/Almaty",
        active=True, paused=False, notify_empty=True, topics=("investments",), last_digest_date=None,
        last_digest_at=None, created_at=NOW,
    )
    base.update(kw)
    return Subscriber(**base)  # type: ignore[arg-type]


def test_due_once_a_day_after_local_time() -> None:
    sub = _sub(digest_time="09:30")
    assert not is_due(sub, NOW)  # 09:00 local
    assert is_due(sub, NOW + timedelta(minutes=30))
    assert is_due(sub, NOW + timedelta(hours=10))  # restarted late the same day: still due
    done = _sub(digest_time="09:30", last_digest_date="2025-08-08")
    assert not is_due(done, NOW + timedelta(hours=10))
    assert not is_due(_sub(paused=True), NOW + timedelta(hours=1))
    assert next_delivery(sub, NOW).isoformat() == "2025-08-08T09:30:00+05:00"
    assert next_delivery(done, NOW + timedelta(hours=1)).isoformat() == "2025-08-09T09:30:00+05:00"
