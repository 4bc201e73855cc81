"""HTTP GET with the limits every fetch needs, in the one place newswatch talks HTTP.

Feed and page URLs come from outside (feeds name the pages; servers name redirect targets), so
every fetch is treated as hostile:

- Address check on the address actually connected to, at every hop, and a total deadline:
  tasks.fetching.netguard (requests' timeouts are per socket read, so a server dripping a byte a second
  outlives them; its watchdog shuts the sockets down when the deadline passes).
- Redirects are followed here, one hop at a time (requests would follow them silently, up to 30,
  reading each redirect body whole), so each hop's scheme is checked and the count is bounded.
- A byte cap counted on decoded bytes, so a gzip bomb stops at the cap.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from tasks.config import Settings
from tasks.fetching.addresses import check_allowance, split_allowance
from tasks.fetching.netguard import Guard, GuardedAdapter, Refused, adapter_for, guarded

MAX_RETRY_AFTER = 24 * 3600.0
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
BODY_READ_SIZE = 64 * 1024  # bytes asked of a response body per read


class FetchError(Exception):
    """A fetch failed; str() is a short reason an operator can act on (no secrets, no traceback).
    `status` is the HTTP status when the server answered with an error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryLater(FetchError):
    """429 or 503: the server asked us to come back later (`retry_after` seconds, when it said)."""

    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class AddressRefused(FetchError):
    """The URL, or a redirect, leads to an internal address or a non-HTTP scheme."""


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 30.0
    max_bytes: int = 15 * 1024 * 1024
    max_redirects: int = 5
    # Private addresses that may be fetched anyway. Plain strings (not parsed objects) so the
    # policy stays picklable and JSON-able as a Prefect task parameter; a str is split on commas.
    allow_private: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.allow_private, str):
            object.__setattr__(self, "allow_private", split_allowance(self.allow_private))
        check_allowance(self.allow_private)  # a typo fails at startup, not as a refusal at 3 a.m.

    @classmethod
    def from_settings(cls, s: Settings) -> FetchPolicy:
        return cls(
            user_agent=s.user_agent,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            total_timeout=s.total_timeout,
            max_bytes=s.max_bytes,
            max_redirects=s.max_redirects,
            allow_private=split_allowance(s.allow_private),
        )


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes  # empty for a 304
    headers: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    etag: str | None = None
    last_modified: str | None = None


def new_session(policy: FetchPolicy) -> requests.Session:
    session = requests.Session()
    # No proxies or .netrc from the environment (see GuardedAdapter.proxy_manager_for); a CA bundle still counts.
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.max_redirects = policy.max_redirects
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"})
    return session


# --- messages ------------------------------------------------------------------------------------

_SECRET_PARAM = re.compile(r"(?i)([?&][^=&#]*(?:key|token|secret|passw|pwd|sig|auth)[^=&#]*=)[^&#]*")


def safe_url(url: str, limit: int = 200) -> str:
    """`url` for a message: no user:password@, no secret-looking query values, not too long."""
    try:
        parts = urlsplit(url)
        if "@" in parts.netloc:
            url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    except ValueError:
        pass
    url = _SECRET_PARAM.sub(r"\1***", url)
    return url if len(url) <= limit else url[: limit - 3] + "..."


def _where(url: str, original: str) -> str:
    if url == original:
        return f"({safe_url(url)})"
    return f"({safe_url(url)}, redirected from {safe_url(original)})"


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "invalid URL"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "Name or service not known" in text or "NameResolutionError" in text or "nodename" in text:
            return "DNS lookup failed"
        if "Connection refused" in text:
            return "connection refused"
        return "connection failed"
    return type(exc).__name__


def _phrase(response: requests.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:  # unknown code: the server's own text, made harmless
        return re.sub(r"[^ -~]", "", response.reason or "")[:40]


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now (delta-seconds or HTTP-date), capped at 24 h; None if absent
    or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if re.fullmatch(r"[0-9]+", value):
        seconds = float(value) if len(value) < 12 else MAX_RETRY_AFTER
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _check_url(url: str, original: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise FetchError(f"invalid URL {_where(url, original)}") from None
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no"
        raise AddressRefused(f"refused: {scheme} scheme is not allowed {_where(url, original)}")
    if not parts.hostname:
        raise FetchError(f"invalid URL {_where(url, original)}")


# --- fetch ---------------------------------------------------------------------------------------


def fetch(
    url: str,
    policy: FetchPolicy,
    session: requests.Session,
    accept: str = "*/*",
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """GET `url`, following up to policy.max_redirects redirects, within policy.total_timeout.

    Raises FetchError for any failure (HTTP errors included), RetryLater for 429/503 and
    AddressRefused for internal addresses and non-HTTP schemes. With `etag`/`last_modified` the
    request is conditional, and a 304 comes back as a FetchResult with status 304 and no body."""
    started = time.monotonic()
    with guarded(policy.allow_private, policy.total_timeout) as guard:
        return _fetch(url, policy, session, accept, etag, last_modified, guard, started)


def _fetch(
    original: str,
    policy: FetchPolicy,
    session: requests.Session,
    accept: str,
    etag: str | None,
    last_modified: str | None,
    guard: Guard,
    started: float,
) -> FetchResult:
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    too_long = f"took longer than {policy.total_timeout:g} s"
    url, seen = original, {original}
    while True:
        _check_url(url, original)
        timeout = (guard.remaining(policy.connect_timeout), guard.remaining(policy.read_timeout))
        try:
            response = _send(session, url, headers, timeout)
        except Refused as exc:
            raise AddressRefused(f"refused: {exc} {_where(url, original)}") from None
        except requests.RequestException as exc:
            reason = too_long if guard.over() else _reason(exc)
            raise FetchError(f"{reason} {_where(url, original)}") from None
        with response:  # closing an unread response drops its connection: nothing is drained
            status = response.status_code
            if status in REDIRECT_CODES and response.headers.get("Location"):
                try:
                    following = requests.utils.requote_uri(urljoin(url, session.get_redirect_target(response) or ""))
                except (ValueError, requests.RequestException):  # a Location no URL parser accepts
                    raise FetchError(f"invalid redirect Location {_where(url, original)}") from None
                if following in seen:
                    raise FetchError(f"redirect loop back to {safe_url(following)} {_where(url, original)}")
                if len(seen) > policy.max_redirects:  # `seen` holds the start and each hop so far
                    raise FetchError(f"more than {policy.max_redirects} redirects {_where(url, original)}")
                seen.add(following)
                url = following
                continue
            if status in (429, 503):
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                after = f", retry after {wait:.0f} s" if wait is not None else ""
                message = f"HTTP {status} {_phrase(response)}{after} {_where(url, original)}"
                raise RetryLater(message, retry_after=wait, status=status)
            if status >= 400:
                raise FetchError(f"HTTP {status} {_phrase(response)} {_where(url, original)}", status)
            body = b"" if status == 304 else _read_body(response, policy, guard, too_long, url, original)
            return FetchResult(
                url=response.url,
                status=status,
                content_type=response.headers.get("Content-Type", ""),
                body=body,
                headers=dict(response.headers),
                elapsed=time.monotonic() - started,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )


def _send(
    session: requests.Session, url: str, headers: dict[str, str], timeout: tuple[float, float]
) -> requests.Response:
    """One request, no redirects. Not session.get(): even with allow_redirects=False it reads a
    redirect's whole body into memory (to precompute the next hop), a bomb included."""
    request = session.prepare_request(requests.Request("GET", url, headers=headers))
    adapter = adapter_for(session, url)  # a guarded one even for a session not made by new_session()
    verify = True if session.verify is None else session.verify
    try:
        response = adapter.send(request, stream=True, timeout=timeout, verify=verify, cert=session.cert)
    except UnicodeError as exc:  # the lookup's IDNA codec refused the host ("a..b"): fetch() raised it as is
        raise requests.exceptions.InvalidURL(str(exc)) from None
    requests.cookies.extract_cookies_to_jar(session.cookies, request, response.raw)
    return response


def _read_body(
    response: requests.Response, policy: FetchPolicy, guard: Guard, too_long: str, url: str, original: str
) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if re.fullmatch(r"[0-9]{1,30}", declared) and int(declared) > policy.max_bytes:
        raise FetchError(
            f"body larger than {policy.max_bytes} bytes: Content-Length is {declared} {_where(url, original)}"
        )
    chunks: list[bytes] = []
    size = 0
    try:
        # Counted on decoded bytes, so a compressed bomb stops at the cap.
        for chunk in response.iter_content(chunk_size=BODY_READ_SIZE):
            size += len(chunk)
            if size > policy.max_bytes:
                raise FetchError(f"body larger than {policy.max_bytes} bytes {_where(url, original)}")
            chunks.append(chunk)
    except requests.RequestException as exc:
        reason = too_long if guard.over() else f"{_reason(exc)} while reading"
        raise FetchError(f"{reason} {_where(url, original)}") from None
    if guard.expired:
        # The watchdog's shutdown looks like a normal end to a body without Content-Length:
        # what we have may be cut short.
        raise FetchError(f"{too_long} {_where(url, original)}")
    return b"".join(chunks)
