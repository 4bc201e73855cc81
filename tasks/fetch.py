"""HTTP GET with the limits every fetch needs, in the one place newswatch talks HTTP.

Feed and page URLs come from outside (feeds name the pages; servers name redirect targets), so
every fetch is treated as hostile:

- Address check on the address actually connected to, at every hop: our own connection class
  resolves the name, checks each candidate and connects only to an allowed one. Checking the URL
  (or resolving once up front) is not enough: DNS can answer differently the second time
  (rebinding) and a redirect can point anywhere.
- Redirects are followed here, one hop at a time (requests would follow them silently, up to 30,
  reading each redirect body whole), so each hop's scheme is checked and the count is bounded.
- A total deadline: requests' timeouts are per socket read, so a server dripping a byte a second
  outlives them (shared NOTES). A watchdog timer shuts the sockets down when the deadline passes.
- A byte cap counted on decoded bytes, so a gzip bomb stops at the cap.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import ipaddress
import itertools
import os
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from tasks.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_RETRY_AFTER = 24 * 3600.0
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024


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


# --- which addresses are internal ----------------------------------------------------------------

_V4_BLOCKED: list[tuple[IPNetwork, str]] = [
    (ipaddress.ip_network(net), label)
    for net, label in [
        ("0.0.0.0/8", "an unspecified address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (CGNAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.169.254/32", "a link-local (cloud metadata) address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "a reserved address"),
        ("192.0.2.0/24", "a reserved (documentation) address"),
        ("192.88.99.0/24", "a reserved address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a reserved (benchmarking) address"),
        ("198.51.100.0/24", "a reserved (documentation) address"),
        ("203.0.113.0/24", "a reserved (documentation) address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),  # 255.255.255.255 included
    ]
]
_V6_BLOCKED: list[tuple[IPNetwork, str]] = [
    (ipaddress.ip_network(net), label)
    for net, label in [
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/8", "a reserved address"),
        ("64:ff9b:1::/48", "a private (local NAT64) address"),
        ("100::/64", "a reserved (discard) address"),
        ("2001::/23", "a reserved address"),  # IETF assignments, Teredo included
        ("2001:db8::/32", "a reserved (documentation) address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    ]
]


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: mapped, compatible, NAT64 or 6to4 forms all lead to
    the IPv4 host they embed, so they must be judged as that host."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d (deprecated IPv4-compatible)
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def classify(ip: IPAddress) -> str | None:
    """Why `ip` must not be fetched ("a private address", ...), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_unspecified or ip.is_loopback:
            return "an unspecified address" if ip.is_unspecified else "a loopback address"
        inner = _embedded_v4(ip)
        if inner is not None:
            why = classify(inner)
            return f"{why} in IPv6 form" if why else None
    for net, label in _V4_BLOCKED if ip.version == 4 else _V6_BLOCKED:
        if ip in net:
            return label
    # Anything else the stdlib does not call global (new special-purpose ranges) is refused too.
    return None if ip.is_global else "a non-public address"


# --- the explicit allowance (intranet sources, tests) --------------------------------------------


@dataclass(frozen=True)
class _Rule:
    net: IPNetwork | None
    host: str | None
    port: int | None

    def matches(self, host: str, port: int, ip: IPAddress) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.host is not None:
            return host.lower().rstrip(".") == self.host
        assert self.net is not None
        v4 = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        return ip in self.net or (v4 is not None and v4 in self.net)


def split_allowance(text: str) -> tuple[str, ...]:
    """Split "a, b c" into ("a", "b", "c")."""
    return tuple(part for part in re.split(r"[,\s]+", text) if part)


@functools.lru_cache(maxsize=64)
def _rules(entries: tuple[str, ...]) -> tuple[_Rule, ...]:
    """Hosts ("intranet.example"), host:port pairs ("127.0.0.1:8080", "[::1]:8080") or CIDRs
    ("10.1.0.0/16"). A bare IP is a one-address CIDR. ValueError names a bad entry."""
    rules = []
    for entry in entries:
        target, port = entry, None
        bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", entry)
        if bracketed:
            target, port = bracketed[1], int(bracketed[2]) if bracketed[2] else None
        elif entry.count(":") == 1:  # host:port or v4/cidr:port; more colons is bare IPv6
            target, _, port_text = entry.partition(":")
            if not port_text.isdigit():
                raise ValueError(f"allow_private: bad port in {entry!r}")
            port = int(port_text)
        try:
            rules.append(_Rule(ipaddress.ip_network(target, strict=False), None, port))
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", target) or "/" in target:
                raise ValueError(f"allow_private: not a host, host:port or CIDR: {entry!r}") from None
            rules.append(_Rule(None, target.lower().rstrip("."), port))
    return tuple(rules)


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
        _rules(self.allow_private)  # a typo fails at startup, not as a refusal at 3 a.m.

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


# --- the per-fetch guard: allowance and deadline, seen by the connections -------------------------


class _Refused(Exception):
    """Raised inside urllib3's connect step. Not an OSError, so urllib3 and requests neither retry
    it nor wrap it: it reaches fetch() as it is."""


class _Guard:
    """Allowance + deadline of one fetch. The watchdog shuts down (never closes: the fd number
    could be reused by then) every socket the fetch used, which wakes any blocked connect, TLS
    handshake or read at once. It keeps dup()s of the sockets because an SSL wrap detaches the
    original socket object."""

    _ids = itertools.count()

    def __init__(self, rules: tuple[_Rule, ...], seconds: float | None) -> None:
        self.id = next(self._ids)
        self.rules = rules
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._dups: list[socket.socket] = []
        self._timer: threading.Timer | None = None
        if seconds is not None:
            self._timer = threading.Timer(max(seconds, 0.0), self._expire)
            self._timer.daemon = True
            self._timer.start()

    def remaining(self, cap: float) -> float:
        return cap if self.deadline is None else max(0.0, min(cap, self.deadline - time.monotonic()))

    def over(self) -> bool:
        return self.expired or (self.deadline is not None and time.monotonic() >= self.deadline)

    def refusal(self, host: str, port: int, ip: IPAddress) -> str | None:
        if any(rule.matches(host, port, ip) for rule in self.rules):
            return None
        why = classify(ip)
        return f"{ip} is {why}" if why else None

    def watch(self, sock: socket.socket) -> None:
        dup = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self._lock:
            self._dups.append(dup)
            if self.expired:
                _shutdown(dup)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for dup in self._dups:
                _shutdown(dup)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            for dup in self._dups:
                dup.close()
            self._dups.clear()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed or never connected
        sock.shutdown(socket.SHUT_RDWR)


# Set by fetch() for the duration of one fetch; requests runs in the caller's thread.
_current: contextvars.ContextVar[_Guard | None] = contextvars.ContextVar("newswatch_fetch_guard", default=None)


def _guard() -> _Guard:
    # A session used outside fetch() gets the strict default: no allowance (no deadline either).
    return _current.get() or _Guard((), None)


def _resolve(host: str, port: int, timeout: float) -> list[Any]:
    """getaddrinfo, bounded: a lookup cannot be interrupted, so it runs in a daemon thread we stop
    waiting for when the time is up."""
    try:
        ipaddress.ip_address(host)
        return socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    except ValueError:
        pass
    box: list[Any] = []

    def lookup() -> None:
        try:
            box.append(socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM))
        except Exception as exc:
            box.append(exc)

    thread = threading.Thread(target=lookup, name="newswatch-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        raise TimeoutError(f"DNS lookup of {host} timed out")
    if isinstance(box[0], Exception):
        raise box[0]
    return list(box[0])


def _connect(conn: HTTPConnection) -> socket.socket:
    """urllib3's connect step, with the address check between resolving and connecting."""
    guard = _guard()
    host = conn.host.strip("[]")
    port = conn.port or 80
    limit = conn.timeout if isinstance(conn.timeout, int | float) else 10.0
    try:
        candidates = _resolve(host, port, guard.remaining(limit))
    except socket.gaierror as exc:
        raise NameResolutionError(host, conn, exc) from exc
    except TimeoutError as exc:
        raise ConnectTimeoutError(conn, f"Connection to {host} timed out (DNS)") from exc
    refused: list[str] = []
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in candidates:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        why = guard.refusal(host, port, ip)
        if why:
            refused.append(why)
            continue
        sock = socket.socket(family, kind, proto)
        guard.watch(sock)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.settimeout(guard.remaining(limit))
            sock.connect(sockaddr)
            sys.audit("http.client.connect", conn, conn.host, conn.port)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    if error is None:
        raise _Refused(refused[0] if refused else f"{host} has no address")
    if isinstance(error, TimeoutError):
        raise ConnectTimeoutError(conn, f"Connection to {host} timed out") from error
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error}") from error


def _watch_reused(conn: HTTPConnection) -> None:
    """A kept-alive connection from the pool was connected by an earlier fetch: put its socket
    under this fetch's watchdog too (once per fetch)."""
    guard = _guard()
    if conn.sock is not None and getattr(conn, "_newswatch_guard", None) != guard.id:
        guard.watch(conn.sock)
    conn._newswatch_guard = guard.id  # type: ignore[attr-defined]


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = _connect(self)
        self._newswatch_guard = _guard().id
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_reused(self)
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(HTTPSConnection):
    # TLS still verifies against the URL's host name: only the TCP connect step is ours.
    def _new_conn(self) -> socket.socket:
        sock = _connect(self)
        self._newswatch_guard = _guard().id
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_reused(self)
        super().request(*args, **kwargs)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Through a proxy the connected address is the proxy's: the check would mean nothing.
        raise _Refused("fetching through a proxy is not supported")


_FALLBACK_ADAPTER = _GuardedAdapter(max_retries=0)


def new_session(policy: FetchPolicy) -> requests.Session:
    session = requests.Session()
    # No proxies or .netrc from the environment (see proxy_manager_for); a CA bundle still counts.
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.max_redirects = policy.max_redirects
    adapter = _GuardedAdapter(max_retries=0)
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
    guard = _Guard(_rules(policy.allow_private), policy.total_timeout)
    token = _current.set(guard)
    try:
        return _fetch(url, policy, session, accept, etag, last_modified, guard, started)
    finally:
        _current.reset(token)
        guard.close()


def _fetch(
    original: str,
    policy: FetchPolicy,
    session: requests.Session,
    accept: str,
    etag: str | None,
    last_modified: str | None,
    guard: _Guard,
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
        except _Refused as exc:
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
    adapter = session.get_adapter(url)
    if not isinstance(adapter, _GuardedAdapter):  # a session not made by new_session()
        adapter = _FALLBACK_ADAPTER
    verify = True if session.verify is None else session.verify
    response = adapter.send(request, stream=True, timeout=timeout, verify=verify, cert=session.cert)
    requests.cookies.extract_cookies_to_jar(session.cookies, request, response.raw)
    return response


def _read_body(
    response: requests.Response, policy: FetchPolicy, guard: _Guard, too_long: str, url: str, original: str
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
        for chunk in response.iter_content(chunk_size=CHUNK):
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
