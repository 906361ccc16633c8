"""Fetching feeds over HTTP: one shared session, bounded, and never raising for network trouble.

A pass fetches dozens of feeds from a handful of outlets. Everything that can go wrong on the network
(refused connections, TLS, slow or huge responses, redirect loops, rate limits) ends as a `FetchResult`
with a short human reason, so the pipeline records it on the feed and moves on. Only programming errors
propagate.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Literal

import aiohttp
from yarl import URL

__all__ = ["DEFAULT_USER_AGENT", "FetchResult", "Fetcher", "human_size", "parse_retry_after"]

DEFAULT_USER_AGENT = "HabarBot/0.1 (+https://github.com/habar-bot; news digest)"

# Feeds first, generic XML next, anything else last: some servers pick the representation by Accept.
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
# Explicit, so that a server never answers with an encoding we might not be able to decode (br, zstd).
_ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_KIB = 1024
_MIB = 1024 * 1024


@dataclass(frozen=True)
class FetchResult:
    """What one GET produced; `error` is short enough to show an operator in /feeds."""

    status: Literal["ok", "not_modified", "failed"]
    body: bytes | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    final_url: str | None = None
    error: str | None = None
    retry_after: float | None = None
    elapsed: float = 0.0


class _Failure(Exception):
    """Internal: carries a reason (and maybe an HTTP status) out of the request code to `fetch`."""

    def __init__(self, reason: str, *, http_status: int | None = None, final_url: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.http_status = http_status
        self.final_url = final_url


class Fetcher:
    """One shared aiohttp session for a whole pass (or the whole service).

    The session is created lazily because aiohttp binds it to the running loop: a Fetcher can be built in
    synchronous wiring code and used later inside the loop.

    Concurrency is bounded twice: our own per-host and global semaphores decide when a fetch may *start*,
    so its total timeout does not tick while it queues behind other feeds of the same outlet; the
    connector limits are the same numbers again as a backstop (redirects to other hosts, for example).
    """

    def __init__(
        self,
        *,
        max_connections: int = 32,
        per_host: int = 4,
        connect_timeout: float = 10,
        total_timeout: float = 30,
        max_bytes: int = 10 * 1024 * 1024,
        max_redirects: int = 5,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        if max_connections < 1 or per_host < 1:
            raise ValueError("max_connections and per_host must be at least 1")
        if max_bytes < 1 or max_redirects < 0 or connect_timeout <= 0 or total_timeout <= 0:
            raise ValueError("limits must be positive")
        self._max_connections = max_connections
        self._per_host = per_host
        self._connect_timeout = connect_timeout
        self._total_timeout = total_timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._global_slots = asyncio.Semaphore(max_connections)
        self._host_slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session; safe to call twice. A later `fetch` would open a new one."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url`, conditionally when validators from the previous 200 are given."""
        started = time.monotonic()
        target = _http_url(url)
        if target is None:
            return FetchResult(status="failed", error="invalid URL", elapsed=time.monotonic() - started)
        headers = _conditional_headers(etag, last_modified)
        try:
            async with self._slot(target.host or ""):
                # The clock starts only once we hold a slot: queueing is not the server's fault.
                started = time.monotonic()
                async with asyncio.timeout(self._total_timeout):
                    result = await self._get(target, headers)
        except _Failure as failure:
            return FetchResult(
                status="failed",
                error=failure.reason,
                http_status=failure.http_status,
                final_url=failure.final_url,
                elapsed=time.monotonic() - started,
            )
        except (aiohttp.ClientError, OSError, TimeoutError, UnicodeError) as exc:
            # UnicodeError: a host that cannot be IDNA-encoded, e.g. in a redirect's Location.
            return FetchResult(status="failed", error=self._describe(exc), elapsed=time.monotonic() - started)
        return replace(result, elapsed=time.monotonic() - started)

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Host slot first, global slot second: waiting for a busy outlet must not hold a global slot."""
        key = host.lower()
        semaphore, users = self._host_slots.get(key, (None, 0))
        if semaphore is None:
            semaphore = asyncio.Semaphore(self._per_host)
        self._host_slots[key] = (semaphore, users + 1)
        try:
            async with semaphore, self._global_slots:
                yield
        finally:
            semaphore, users = self._host_slots[key]
            if users <= 1:
                del self._host_slots[key]  # keep the table as small as the set of hosts in flight
            else:
                self._host_slots[key] = (semaphore, users - 1)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                limit_per_host=self._per_host,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # Total is enforced by asyncio.timeout in fetch() so the reason names our own limit.
                timeout=aiohttp.ClientTimeout(total=None, connect=self._connect_timeout),
                headers={
                    "User-Agent": self._user_agent,
                    "Accept": _ACCEPT,
                    "Accept-Encoding": _ACCEPT_ENCODING,
                },
                # Stateless requests: a feed fetch has no business carrying cookies between outlets.
                cookie_jar=aiohttp.DummyCookieJar(),
                # No proxies from the environment: tests talk to 127.0.0.1 and must stay there.
                trust_env=False,
            )
        return self._session

    async def _get(self, url: URL, headers: dict[str, str]) -> FetchResult:
        session = self._get_session()
        # aiohttp counts the redirect that trips the limit, so "at most N followed" needs N + 1.
        async with session.get(
            url, headers=headers, allow_redirects=True, max_redirects=self._max_redirects + 1
        ) as response:
            final_url = str(response.url)
            if response.status == HTTPStatus.NOT_MODIFIED:
                return FetchResult(
                    status="not_modified",
                    http_status=response.status,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    final_url=final_url,
                )
            if not 200 <= response.status < 300:
                return FetchResult(
                    status="failed",
                    http_status=response.status,
                    error=_status_reason(response.status, response.reason),
                    retry_after=_retry_after(response),
                    final_url=final_url,
                )
            body = await self._read_capped(response, final_url)
            return FetchResult(
                status="ok",
                body=body,
                http_status=response.status,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get("Content-Type"),
                final_url=final_url,
            )

    async def _read_capped(self, response: aiohttp.ClientResponse, final_url: str) -> bytes:
        """Stream the body and stop at the cap: neither a lying server nor a gzip bomb gets our memory."""
        too_large = _Failure(
            f"response larger than {human_size(self._max_bytes)}",
            http_status=response.status,
            final_url=final_url,
        )
        declared = response.content_length
        # Content-Length counts compressed bytes; with gzip the decoded body may still exceed the cap below.
        if declared is not None and declared > self._max_bytes:
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > self._max_bytes:
                raise too_large
        return bytes(body)

    def _describe(self, exc: BaseException) -> str:
        """Turn a network exception into a reason an operator understands without a traceback."""
        if isinstance(exc, aiohttp.TooManyRedirects):
            reason = f"too many redirects (more than {self._max_redirects})"
            urls = [str(r.url) for r in exc.history]
            return reason + ", a redirect loop" if len(set(urls)) < len(urls) else reason
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return f"connect timed out after {self._connect_timeout:g} s"
        if isinstance(exc, TimeoutError):
            return f"timed out after {self._total_timeout:g} s"
        return _describe_network_error(exc)


def _describe_network_error(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "invalid URL"
    if isinstance(exc, aiohttp.NonHttpUrlRedirectClientError):
        return "redirect to a non-HTTP URL"
    if isinstance(exc, aiohttp.InvalidUrlRedirectClientError):
        return "redirect to an invalid URL"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return f"TLS error: {_short(_ssl_detail(exc))}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"DNS lookup failed for {exc.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"cannot connect: {_short(exc.os_error.strerror or str(exc.os_error))}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"broken response body: {_short(str(exc))}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"bad response: {_short(exc.message)}"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, OSError) and exc.strerror:
        return f"network error: {_short(exc.strerror)}"
    return f"network error: {_short(str(exc) or type(exc).__name__)}"


def _ssl_detail(exc: BaseException) -> str:
    """The innermost SSL message (e.g. "certificate verify failed"), not aiohttp's long wrapper."""
    certificate_error = getattr(exc, "certificate_error", None)
    if isinstance(certificate_error, ssl.SSLError | ssl.CertificateError):
        exc = certificate_error
    else:
        os_error = getattr(exc, "os_error", None)
        if isinstance(os_error, ssl.SSLError):
            exc = os_error
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason.replace("_", " ").lower()
    return str(exc) or type(exc).__name__


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _http_url(url: str) -> URL | None:
    """Accept only absolute http(s) URLs with a host; anything else is an invalid feed address."""
    try:
        parsed = URL(url.strip())
        if parsed.scheme not in ("http", "https") or not parsed.host:
            return None
        parsed.port  # noqa: B018 - raises ValueError for a non-numeric or out-of-range port
        parsed.host.encode("idna")  # empty or over-long labels ("a..b", "."), which aiohttp would raise on
    except (ValueError, TypeError):
        return None
    return parsed


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """Stored validators come from servers: drop any that could smuggle a line break into our request."""
    headers: dict[str, str] = {}
    if etag and _header_safe(etag):
        headers["If-None-Match"] = etag
    if last_modified and _header_safe(last_modified):
        headers["If-Modified-Since"] = last_modified
    return headers


def _header_safe(value: str) -> bool:
    return value.isprintable() and value.isascii()


def _status_reason(status: int, reason: str | None) -> str:
    """`HTTP 404 Not Found`; the standard phrase when the server sent none."""
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {status} {_short(reason, 60)}".rstrip()


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    if response.status not in _RETRY_AFTER_STATUSES:
        return None
    return parse_retry_after(response.headers.get("Retry-After"), now=datetime.now(UTC))


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date (past dates give 0)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def human_size(size: int) -> str:
    """Reads "10 MB" for the default cap; exact bytes when the number is not round."""
    if size % _MIB == 0:
        return f"{size // _MIB} MB"
    if size % _KIB == 0:
        return f"{size // _KIB} KB"
    return f"{size} bytes"
