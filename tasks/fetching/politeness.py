"""Politeness toward publishers: per-host limits, and robots.txt for article pages (the feeds
themselves are subscribed to, so they are fetched). PoliteFetcher applies both to fetch().

Given the newswatch database, the limits hold across every process that shares it
(SharedHostGate: the host's slots in storage.hostslots), however the sources are split between
workers; without one, within this process (HostGate), and several workers would each keep their
own: a host would see workers x host_concurrency requests at once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego

from tasks.fetching.httpget import FetchError, FetchPolicy, FetchResult, RetryLater, fetch, new_session

ROBOTS_TTL = 3600.0
LEASE_MARGIN = 30.0
LATE_START = 0.05


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


@dataclass
class _Host:
    slots: threading.BoundedSemaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0  # monotonic time before which no request may start
    blocked_until: float = 0.0  # the host asked us to wait (Retry-After)


class HostGate:
    """At most `concurrency` requests in flight per host, and `min_gap` seconds between the
    starts of two requests to the same host, whatever the global concurrency."""

    def __init__(self, concurrency: int, min_gap: float) -> None:
        self.concurrency = concurrency
        self.min_gap = min_gap
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()

    def _host(self, key: str) -> _Host:
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                host = self._hosts[key] = _Host(threading.BoundedSemaphore(self.concurrency))
            return host

    def blocked_for(self, url: str) -> float:
        """Seconds this host asked us to stay away (0 when none)."""
        return max(0.0, self._host(host_key(url)).blocked_until - time.monotonic())

    def block(self, url: str, seconds: float) -> None:
        host = self._host(host_key(url))
        with host.lock:
            host.blocked_until = max(host.blocked_until, time.monotonic() + seconds)

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = self._host(host_key(url))
        with host.slots:
            with host.lock:
                start = max(time.monotonic(), host.next_start)
                host.next_start = start + self.min_gap
            delay = start - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield


class SharedHostGate(HostGate):
    """HostGate whose slots and gap are held in the database every worker shares. This process
    still takes a local slot first, so its threads wait here rather than poll the database.

    A slot is granted with a start time on the database's clock; a worker that reaches it more
    than LATE_START late (a busy machine left it unscheduled, a slow round trip) does not use it
    but asks again: with the grants LATE_START further apart than the gap, two requests' real
    starts stay the gap apart (three workers on a loaded 2-core machine, PostgreSQL: requests
    granted 0.2 s apart reached the server 0.05-0.08 s apart before this)."""

    def __init__(self, concurrency: int, min_gap: float, db_url: str, lease: float) -> None:
        super().__init__(concurrency, min_gap)
        self.db_url = db_url
        self.lease = lease
        self.spacing = min_gap + LATE_START if min_gap > 0 else 0.0
        self._offset: float | None = None  # the database's clock minus ours

    def _clock_offset(self) -> float:
        from storage.hostslots import clock_offset

        if self._offset is None:
            self._offset = clock_offset(self.db_url)
        return self._offset

    def _granted(self, key: str, token: str) -> bool:
        """Wait for a slot of `key` and its start; False when it came too late to be used.
        Lateness is read on the database's clock (mapped to ours), so the time a claim waited
        for the row's lock (SQLite's busy writers) does not count against it."""
        from storage.hostslots import claim_slot

        claim = claim_slot(self.db_url, key, token, self.concurrency, self.spacing, self.lease)
        while not claim.granted:
            time.sleep(claim.wait)
            claim = claim_slot(self.db_url, key, token, self.concurrency, self.spacing, self.lease)
        due = claim.start - self._clock_offset()  # the start on this machine's clock
        time.sleep(max(0.0, due - time.time()))
        return self.spacing == 0 or time.time() - due <= LATE_START

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        from storage.hostslots import release_slot

        key = host_key(url)
        with self._host(key).slots:
            token = uuid.uuid4().hex
            while not self._granted(key, token):
                release_slot(self.db_url, key, token)
                token = uuid.uuid4().hex
            try:
                yield
            finally:
                release_slot(self.db_url, key, token)


class RobotsCache:
    """robots.txt per host for our User-Agent, cached for an hour. Following RFC 9309: a
    missing robots.txt (4xx) allows everything; one that cannot be fetched (5xx, network)
    disallows for now, and the article falls back to its feed summary."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self._cache: dict[str, tuple[float, Protego | None, bool]] = {}
        self._lock = threading.Lock()

    def _robots_url(self, url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}/robots.txt"

    def allowed(self, url: str, load: Callable[[str], tuple[int, bytes]]) -> bool:
        """`load(robots_url)` returns (status, body) or raises; it is called once per host per hour."""
        key = host_key(url)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or time.monotonic() - cached[0] > ROBOTS_TTL:
            try:
                status, body = load(self._robots_url(url))
                if 200 <= status < 300:
                    cached = (time.monotonic(), Protego.parse(body.decode("utf-8", "replace")), True)
                elif 400 <= status < 500:
                    cached = (time.monotonic(), None, True)
                else:
                    cached = (time.monotonic(), None, False)
            except Exception:  # unreachable: disallow for now (RFC 9309 section 2.3.1.4)
                cached = (time.monotonic(), None, False)
            with self._lock:
                self._cache[key] = cached
        _, rules, default = cached
        if rules is None:
            return default
        return bool(rules.can_fetch(url, self.user_agent))

    def unreadable(self, url: str) -> bool:
        """Whether the host's robots.txt could not be read when last asked (5xx, network): pages
        are then refused for now, and an operator should be told that, not that robots forbids."""
        with self._lock:
            cached = self._cache.get(host_key(url))
        return cached is not None and cached[1] is None and not cached[2]


# One gate and one robots cache per process: every fetcher of a run (each batch, each source
# thread) shares the per-host limits and the robots.txt already read.
_gates: dict[tuple[int, float, str | None], HostGate] = {}
_robots: dict[str, RobotsCache] = {}
_registry_lock = threading.Lock()


def shared_gate(concurrency: int, min_gap: float, db_url: str | None = None, lease: float = 60.0) -> HostGate:
    """The process's gate for these limits: held in the database `db_url` when given."""
    with _registry_lock:
        gate = _gates.get((concurrency, min_gap, db_url))
        if gate is None:
            gate = SharedHostGate(concurrency, min_gap, db_url, lease) if db_url else HostGate(concurrency, min_gap)
            _gates[(concurrency, min_gap, db_url)] = gate
        return gate


def shared_robots(user_agent: str) -> RobotsCache:
    with _registry_lock:
        return _robots.setdefault(user_agent, RobotsCache(user_agent))


class PoliteFetcher:
    """fetch() as a run does it: one session, behind the per-host gate (of every process on the
    database `db_url` when given, else of this process; a host that asked us to wait is not asked
    again before then), and robots.txt consulted for pages. Close it (or use it in a `with`
    block) to close its session."""

    def __init__(
        self,
        policy: FetchPolicy,
        host_concurrency: int,
        host_min_gap: float,
        obey_robots: bool,
        db_url: str | None = None,
    ) -> None:
        self.policy = policy
        self.obey_robots = obey_robots
        # A request holds its slot at most its whole deadline, and a margin for the claim itself.
        self.gate = shared_gate(host_concurrency, host_min_gap, db_url, policy.total_timeout + LEASE_MARGIN)
        self.robots = shared_robots(policy.user_agent)
        self.session = new_session(policy)

    def __enter__(self) -> PoliteFetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def get(self, url: str, accept: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """fetch(), in a slot of the host's gate. RetryLater when the host asked us to wait
        (now or earlier); a plain 503 without Retry-After is a FetchError, a failure."""
        wait = self.gate.blocked_for(url)
        if wait:
            raise RetryLater(f"host asked us to wait {wait:.0f} s more ({url})", retry_after=wait)
        with self.gate.slot(url):
            try:
                return fetch(url, self.policy, self.session, accept=accept, etag=etag, last_modified=last_modified)
            except RetryLater as exc:
                if exc.status == 503 and exc.retry_after is None:  # plain "down": a failure, not a deferral
                    raise FetchError(str(exc), exc.status) from None
                self.gate.block(url, exc.retry_after or 60.0)
                raise

    def robots_allow(self, url: str) -> bool:
        """Whether robots.txt lets us fetch the page `url` (always, when robots are not obeyed)."""
        if not self.obey_robots:
            return True

        def load(robots_url: str) -> tuple[int, bytes]:
            try:
                response = self.get(robots_url, "text/plain")
                return response.status, response.body
            except FetchError as exc:
                if exc.status is not None:
                    return exc.status, b""
                raise

        return self.robots.allowed(url, load)
