"""A programmable feed server on 127.0.0.1 for every ingestion test (the model: aiohttp's own functional tests).

Tests register what a path answers (a feed with validators, a status, a redirect, a slow or an endless
response) and then assert on what the client asked (`hits`, `requests`).

    from tests.feed_server import FeedServer, feed_server_fixture  # noqa: F401  (registers "feed_server")

    async def test_something(feed_server: FeedServer) -> None:
        feed_server.add_feed("/rss", body)
        result = await fetcher.fetch(feed_server.url("/rss"))
"""

from __future__ import annotations

import asyncio
import gzip as gzip_module
import hashlib
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import pytest
from aiohttp import web
from multidict import CIMultiDict

__all__ = ["FeedServer", "feed_server", "feed_server_fixture", "unused_port"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HUGE_CHUNK = 64 * 1024


@dataclass
class _Feed:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    gzip: bool
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """One aiohttp app on a random loopback port; every route is set up by the test."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, CIMultiDict[str]]] = []
        # Requests being answered right now, and the most at once: proves the client's concurrency limits.
        self.in_flight = 0
        self.max_in_flight = 0
        self._routes: dict[str, Handler] = {}
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # A short shutdown wait: slow handlers are released by _stopping, nothing else should linger.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FeedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def url(self, path: str) -> str:
        return self.base_url + _slash(path)

    # --- programming the routes -------------------------------------------------------------------------

    def add_feed(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str | None = "application/rss+xml; charset=utf-8",
        etag: str | None = "auto",
        last_modified: str | None = None,
        gzip: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve `body`; answers 304 to a matching If-None-Match / If-Modified-Since.

        etag="auto" derives a strong ETag from the body; None sends none. `gzip` compresses when the
        client accepts it. With `content_type=None` aiohttp sends application/octet-stream, as a
        misconfigured server would. `headers` adds any other response headers.
        """
        if etag == "auto":
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        feed = _Feed(body, content_type or "", etag, last_modified, gzip, dict(headers or {}))
        self._routes[_slash(path)] = lambda request: self._serve_feed(request, feed)

    def add_status(
        self, path: str, status: int, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        """Answer with a bare status, e.g. 404, 500, or 429 with Retry-After."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers=headers, body=body)

        self._routes[_slash(path)] = handler

    def add_redirect(self, path: str, to_path: str, status: int = 302) -> None:
        """Redirect to another path of this server (a relative Location); chain calls to build loops."""

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": _slash(to_path)})

        self._routes[_slash(path)] = handler

    def add_slow(self, path: str, delay: float, body: bytes = b"<rss version='2.0'><channel/></rss>") -> None:
        """Wait `delay` seconds before answering; the wait ends early when the server stops."""

        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            except TimeoutError:
                pass
            return web.Response(body=body, content_type="application/rss+xml")

        self._routes[_slash(path)] = handler

    def add_huge(self, path: str, size: int) -> None:
        """Stream `size` bytes, chunked, without Content-Length and without holding them in memory."""

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            chunk = (b"<!-- padding: a feed that never ends -->\n" * (_HUGE_CHUNK // 41 + 1))[:_HUGE_CHUNK]
            sent = 0
            try:
                while sent < size and not self._stopping.is_set():
                    piece = chunk[: min(_HUGE_CHUNK, size - sent)]
                    await response.write(piece)
                    sent += len(piece)
                await response.write_eof()
            except (ConnectionError, RuntimeError):
                pass  # the client gave up at its size cap: exactly what the test wants
            return response

        self._routes[_slash(path)] = handler

    # --- serving ----------------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.requests.append((request.path, CIMultiDict(request.headers)))
        handler = self._routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="no such test route")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1

    async def _serve_feed(self, request: web.Request, feed: _Feed) -> web.StreamResponse:
        validators = {}
        if feed.etag:
            validators["ETag"] = feed.etag
        if feed.last_modified:
            validators["Last-Modified"] = feed.last_modified
        if _not_modified(request, feed):
            return web.Response(status=304, headers=validators)
        headers = {**feed.headers, **validators}
        if feed.content_type:
            headers["Content-Type"] = feed.content_type
        body = feed.body
        if feed.gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)


def _not_modified(request: web.Request, feed: _Feed) -> bool:
    """RFC 9110 §13.1: If-None-Match wins; If-Modified-Since only counts without it."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if feed.etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or feed.etag.removeprefix("W/") in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None or feed.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(feed.last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


def _slash(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def unused_port() -> int:
    """A loopback port nobody listens on (bound, read, released): for "connection refused" tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(name="feed_server")
async def feed_server_fixture() -> AsyncIterator[FeedServer]:
    """A started server, stopped after the test. Request it as `feed_server`."""
    server = FeedServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# Importing either name registers the fixture "feed_server" in a test module. Prefer importing
# feed_server_fixture (with a noqa for F401): importing `feed_server` itself makes ruff report F811 at every
# test whose parameter is named `feed_server`.
feed_server = feed_server_fixture
