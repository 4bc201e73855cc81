"""The address rules (tasks.fetching.addresses) enforced at connect time at every hop, and the
deadline watchdog.

The check runs on the address actually connected to: our own urllib3 connection class resolves
the name, checks each candidate and connects only to an allowed one. Checking the URL (or
resolving once up front) is not enough: DNS can answer differently the second time (rebinding)
and a redirect can point anywhere. requests' timeouts are per socket read, so a server dripping a
byte a second outlives them (shared NOTES): the watchdog shuts the sockets down when the deadline
passes.

`guarded()` is the verb: every connection made inside it, by a session mounting GuardedAdapter,
is checked against the allowance and put under the deadline.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import ipaddress
import itertools
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from tasks.fetching.addresses import AllowRule, IPAddress, allowance_rules, classify

# --- the per-fetch guard: allowance and deadline, seen by the connections -------------------------


class Refused(Exception):
    """Raised inside urllib3's connect step. Not an OSError, so urllib3 and requests neither retry
    it nor wrap it: it reaches fetch() as it is."""


class Guard:
    """Allowance + deadline of one fetch. The watchdog shuts down (never closes: the fd number
    could be reused by then) every socket the fetch used, which wakes any blocked connect, TLS
    handshake or read at once. It keeps dup()s of the sockets because an SSL wrap detaches the
    original socket object."""

    _ids = itertools.count()

    def __init__(self, rules: tuple[AllowRule, ...], seconds: float | None) -> None:
        self.id = next(self._ids)
        self.rules = rules
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._dups: list[socket.socket] = []
        self._closed = False
        if self.deadline is not None:
            _WATCHDOG.watch(self.deadline, self)

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
            if self._closed:
                return
            self.expired = True
            for dup in self._dups:
                _shutdown(dup)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for dup in self._dups:
                dup.close()
            self._dups.clear()


class _Watchdog:
    """One thread for the deadlines of every fetch in the process (a timer thread per fetch
    cost a thread start per request: thousands per run)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Guard]] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float, guard: Guard) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline, guard.id, guard))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="newswatch-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is guard:
                self._cond.notify()  # an earlier deadline than the one being waited for

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                _, _, guard = heapq.heappop(self._heap)
            guard._expire()  # outside the lock: it takes the guard's own


_WATCHDOG = _Watchdog()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed or never connected
        sock.shutdown(socket.SHUT_RDWR)


# Set by guarded() for the duration of one fetch; requests runs in the caller's thread.
_current: contextvars.ContextVar[Guard | None] = contextvars.ContextVar("newswatch_fetch_guard", default=None)


def _guard() -> Guard:
    # A session used outside guarded() gets the strict default: no allowance (no deadline either).
    return _current.get() or Guard((), None)


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
        raise Refused(refused[0] if refused else f"{host} has no address")
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


class _GuardedConnect:
    """Mixed into urllib3's connection classes: our connect step, and the watchdog on reuse."""

    def _new_conn(self) -> socket.socket:
        sock = _connect(self)  # type: ignore[arg-type]
        self._newswatch_guard = _guard().id
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch_reused(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _GuardedHTTPConnection(_GuardedConnect, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnect, HTTPSConnection):
    # TLS still verifies against the URL's host name: only the TCP connect step is ours.
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # Through a proxy the connected address is the proxy's: the check would mean nothing.
        raise Refused("fetching through a proxy is not supported")


_FALLBACK_ADAPTER = GuardedAdapter(max_retries=0)


def adapter_for(session: requests.Session, url: str) -> GuardedAdapter:
    """The session's adapter for `url`, or a guarded one if the session was not set up with
    GuardedAdapter: no request leaves without the address check."""
    adapter = session.get_adapter(url)
    return adapter if isinstance(adapter, GuardedAdapter) else _FALLBACK_ADAPTER


@contextlib.contextmanager
def guarded(allowance: tuple[str, ...], seconds: float | None) -> Iterator[Guard]:
    """Within the block, connections (made through GuardedAdapter) go only to public addresses
    or ones `allowance` names, and every socket is shut down once `seconds` have passed."""
    guard = Guard(allowance_rules(allowance), seconds)
    token = _current.set(guard)
    try:
        yield guard
    finally:
        _current.reset(token)
        guard.close()
