"""Fetcher against the local feed server: every network outcome becomes a FetchResult with a clear reason."""

from __future__ import annotations

import asyncio
import gzip
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.ingest.fetch import DEFAULT_USER_AGENT, Fetcher, human_size, parse_retry_after
from tests.feed_server import FeedServer, feed_server_fixture, unused_port  # noqa: F401

RSS = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Жайык Ньюс</title>'
    "<item><title>Метанольный завод в ЗКО</title><link>https://zhaik-news.example/1</link></item>"
    "</channel></rss>"
).encode()
LAST_MODIFIED = "Wed, 08 Oct 2025 06:00:00 GMT"


async def test_ok_captures_validators_and_metadata(feed_server: FeedServer) -> None:
    feed_server.add_feed("/rss/ru.xml", RSS, etag='"v1"', last_modified=LAST_MODIFIED)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss/ru.xml"))
    assert result.status == "ok"
    assert result.body == RSS
    assert result.http_status == 200
    assert result.etag == '"v1"'
    assert result.last_modified == LAST_MODIFIED
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.final_url == feed_server.url("/rss/ru.xml")
    assert result.error is None and result.retry_after is None
    assert 0 <= result.elapsed < 5


async def test_request_identifies_the_bot_and_accepts_compression(feed_server: FeedServer) -> None:
    feed_server.add_feed("/rss", RSS)
    async with Fetcher() as fetcher:
        await fetcher.fetch(feed_server.url("/rss"))
    (_, headers) = feed_server.requests[0]
    assert headers["User-Agent"] == DEFAULT_USER_AGENT
    assert "HabarBot/" in DEFAULT_USER_AGENT and "+https://" in DEFAULT_USER_AGENT
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert "application/rss+xml" in headers["Accept"]
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers


async def test_conditional_get_with_etag_is_not_modified(feed_server: FeedServer) -> None:
    feed_server.add_feed("/rss", RSS, last_modified=LAST_MODIFIED)
    async with Fetcher() as fetcher:
        first = await fetcher.fetch(feed_server.url("/rss"))
        second = await fetcher.fetch(
            feed_server.url("/rss"), etag=first.etag, last_modified=first.last_modified
        )
    assert second.status == "not_modified"
    assert second.body is None and second.http_status == 304 and second.error is None
    (_, headers) = feed_server.requests[1]
    assert headers["If-None-Match"] == first.etag
    assert headers["If-Modified-Since"] == LAST_MODIFIED
    assert feed_server.hits["/rss"] == 2


async def test_conditional_get_with_last_modified_only(feed_server: FeedServer) -> None:
    feed_server.add_feed("/rss", RSS, etag=None, last_modified=LAST_MODIFIED)
    async with Fetcher() as fetcher:
        first = await fetcher.fetch(feed_server.url("/rss"))
        second = await fetcher.fetch(feed_server.url("/rss"), last_modified=first.last_modified)
    assert first.etag is None
    assert second.status == "not_modified"


async def test_changed_feed_is_fetched_again_despite_old_validators(feed_server: FeedServer) -> None:
    feed_server.add_feed("/rss", RSS)
    async with Fetcher() as fetcher:
        first = await fetcher.fetch(feed_server.url("/rss"))
        feed_server.add_feed("/rss", RSS.replace("ЗКО".encode(), "БҚО".encode()))
        second = await fetcher.fetch(feed_server.url("/rss"), etag=first.etag)
    assert second.status == "ok"
    assert second.etag != first.etag
    assert "БҚО".encode() in (second.body or b"")


async def test_validators_with_line_breaks_are_not_sent(feed_server: FeedServer) -> None:
    """A stored validator comes from a server; it must not be able to inject request headers."""
    feed_server.add_feed("/rss", RSS)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"), etag='"x"\r\nX-Evil: 1', last_modified="a\nb")
    assert result.status == "ok"
    (_, headers) = feed_server.requests[0]
    assert "If-None-Match" not in headers and "X-Evil" not in headers and "If-Modified-Since" not in headers


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (410, "HTTP 410 Gone")],
)
async def test_http_errors_have_a_reason(feed_server: FeedServer, status: int, reason: str) -> None:
    feed_server.add_status("/rss", status, body=b"<html>oops</html>")
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"))
    assert result.status == "failed"
    assert result.error == reason
    assert result.http_status == status
    assert result.body is None and result.retry_after is None


async def test_429_with_retry_after_seconds(feed_server: FeedServer) -> None:
    feed_server.add_status("/rss", 429, headers={"Retry-After": "120"})
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"))
    assert result.status == "failed"
    assert result.error == "HTTP 429 Too Many Requests"
    assert result.retry_after == 120.0


async def test_503_with_retry_after_http_date(feed_server: FeedServer) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    feed_server.add_status("/rss", 503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"))
    assert result.error == "HTTP 503 Service Unavailable"
    assert result.retry_after is not None
    assert 590 <= result.retry_after <= 600


async def test_retry_after_is_ignored_on_other_statuses(feed_server: FeedServer) -> None:
    feed_server.add_status("/rss", 404, headers={"Retry-After": "120"})
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"))
    assert result.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        (" 3600 ", 3600.0),
        ("Wed, 08 Oct 2025 12:05:00 GMT", 300.0),
        ("Wed, 08 Oct 2025 11:00:00 GMT", 0.0),  # already past
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=datetime(2025, 10, 8, 12, 0, tzinfo=UTC)) == expected


async def test_total_timeout(feed_server: FeedServer) -> None:
    feed_server.add_slow("/slow", delay=5)
    started = time.monotonic()
    async with Fetcher(total_timeout=0.3) as fetcher:
        result = await fetcher.fetch(feed_server.url("/slow"))
    assert result.status == "failed"
    assert result.error == "timed out after 0.3 s"
    assert time.monotonic() - started < 2


async def test_redirects_up_to_five_are_followed(feed_server: FeedServer) -> None:
    for hop in range(5):
        feed_server.add_redirect(f"/r{hop}", f"/r{hop + 1}", status=301 if hop % 2 else 302)
    feed_server.add_feed("/r5", RSS)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/r0"))
    assert result.status == "ok"
    assert result.final_url == feed_server.url("/r5")
    assert result.body == RSS


async def test_sixth_redirect_fails(feed_server: FeedServer) -> None:
    for hop in range(6):
        feed_server.add_redirect(f"/r{hop}", f"/r{hop + 1}")
    feed_server.add_feed("/r6", RSS)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/r0"))
    assert result.status == "failed"
    assert result.error == "too many redirects (more than 5)"
    assert feed_server.hits["/r6"] == 0


async def test_redirect_loop_fails_with_reason(feed_server: FeedServer) -> None:
    feed_server.add_redirect("/a", "/b")
    feed_server.add_redirect("/b", "/a")
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/a"))
    assert result.status == "failed"
    assert result.error == "too many redirects (more than 5), a redirect loop"
    assert feed_server.hits["/a"] + feed_server.hits["/b"] == 6


async def test_redirect_to_another_scheme_fails(feed_server: FeedServer) -> None:
    feed_server.add_status("/rss", 302, headers={"Location": "ftp://files.example/feed.xml"})
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"))
    assert result.status == "failed"
    assert result.error == "redirect to a non-HTTP URL"


@pytest.mark.parametrize(
    ("location", "reason"),
    [("http://[zz]/feed", "redirect to an invalid URL"), ("http://zhaik..example/feed", "invalid URL")],
)
async def test_redirect_to_a_broken_url_fails(feed_server: FeedServer, location: str, reason: str) -> None:
    feed_server.add_status("/rss", 301, headers={"Location": location})
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"))
    assert result.status == "failed"
    assert result.error == reason


async def test_declared_content_length_over_the_cap(feed_server: FeedServer) -> None:
    feed_server.add_feed("/big", b"<rss>" + b" " * (2 * 1024 * 1024) + b"</rss>")
    async with Fetcher(max_bytes=1024 * 1024) as fetcher:
        result = await fetcher.fetch(feed_server.url("/big"))
    assert result.status == "failed"
    assert result.error == "response larger than 1 MB"
    assert result.body is None


async def test_streamed_body_over_the_cap(feed_server: FeedServer) -> None:
    feed_server.add_huge("/endless", 3 * 1024 * 1024)
    async with Fetcher(max_bytes=1024 * 1024) as fetcher:
        result = await fetcher.fetch(feed_server.url("/endless"))
    assert result.status == "failed"
    assert result.error == "response larger than 1 MB"


async def test_eleven_megabytes_against_the_default_cap(feed_server: FeedServer) -> None:
    feed_server.add_huge("/huge", 11 * 1024 * 1024)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/huge"))
    assert result.status == "failed"
    assert result.error == "response larger than 10 MB"


async def test_body_just_under_the_cap_is_kept(feed_server: FeedServer) -> None:
    feed_server.add_huge("/fits", 1024 * 1024)
    async with Fetcher(max_bytes=1024 * 1024) as fetcher:
        result = await fetcher.fetch(feed_server.url("/fits"))
    assert result.status == "ok"
    assert len(result.body or b"") == 1024 * 1024


async def test_gzip_is_decoded(feed_server: FeedServer) -> None:
    feed_server.add_feed("/rss", RSS, gzip=True)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss"))
    assert result.status == "ok"
    assert result.body == RSS


async def test_gzip_bomb_is_cut_at_the_cap(feed_server: FeedServer) -> None:
    """Content-Length counts compressed bytes; the cap must apply to what we decode."""
    bomb = b"<rss>" + b" " * (4 * 1024 * 1024) + b"</rss>"
    assert len(gzip.compress(bomb)) < 64 * 1024
    feed_server.add_feed("/bomb", bomb, gzip=True)
    async with Fetcher(max_bytes=1024 * 1024) as fetcher:
        result = await fetcher.fetch(feed_server.url("/bomb"))
    assert result.status == "failed"
    assert result.error == "response larger than 1 MB"


async def test_connection_refused() -> None:
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(f"http://127.0.0.1:{unused_port()}/rss")
    assert result.status == "failed"
    assert result.error == "connection refused"


async def test_tls_error_is_reported(feed_server: FeedServer) -> None:
    """https:// to a plain-HTTP port: the handshake fails, and the reason says TLS."""
    feed_server.add_feed("/rss", RSS)
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(feed_server.url("/rss").replace("http://", "https://"))
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("TLS error: ")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example/feed.xml",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "not a url",
        "",
        "http://",
        "https:///no-host",
        "http://example.kz:99999/rss",
        "http://zhaik..example/rss",
        "http://./rss",
        "http://" + "a" * 64 + ".kz/",
    ],
)
async def test_invalid_url(url: str) -> None:
    async with Fetcher() as fetcher:
        result = await fetcher.fetch(url)
    assert result.status == "failed"
    assert result.error == "invalid URL"


async def test_per_host_limit(feed_server: FeedServer) -> None:
    feed_server.add_slow("/slow", delay=0.15)
    async with Fetcher(per_host=2) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(feed_server.url("/slow")) for _ in range(6)))
    assert all(r.status == "ok" for r in results)
    assert feed_server.max_in_flight == 2


async def test_global_limit(feed_server: FeedServer) -> None:
    feed_server.add_slow("/slow", delay=0.15)
    async with Fetcher(max_connections=3, per_host=10) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(feed_server.url("/slow")) for _ in range(7)))
    assert all(r.status == "ok" for r in results)
    assert feed_server.max_in_flight == 3


async def test_waiting_for_a_slot_does_not_count_against_the_timeout(feed_server: FeedServer) -> None:
    """Three 0.3 s fetches one after another take 0.9 s; none of them may time out at 0.6 s."""
    feed_server.add_slow("/slow", delay=0.3)
    async with Fetcher(per_host=1, total_timeout=0.6) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(feed_server.url("/slow")) for _ in range(3)))
    assert [r.status for r in results] == ["ok", "ok", "ok"]


async def test_close_is_idempotent_and_fetcher_can_reopen(feed_server: FeedServer) -> None:
    feed_server.add_feed("/rss", RSS)
    fetcher = Fetcher()
    await fetcher.close()  # nothing opened yet
    assert (await fetcher.fetch(feed_server.url("/rss"))).status == "ok"
    await fetcher.close()
    await fetcher.close()
    assert (await fetcher.fetch(feed_server.url("/rss"))).status == "ok"
    await fetcher.close()


def test_fetcher_can_be_built_outside_a_running_loop() -> None:
    """Wiring code builds it synchronously; the session appears only on the first fetch."""
    fetcher = Fetcher()
    assert fetcher._session is None


@pytest.mark.parametrize(
    ("size", "text"),
    [(10 * 1024 * 1024, "10 MB"), (1024 * 1024, "1 MB"), (512 * 1024, "512 KB"), (1000, "1000 bytes")],
)
def test_human_size(size: int, text: str) -> None:
    assert human_size(size) == text
