"""Every hostile case against tasks.fetching.httpget.fetch, then every hostile sitemap and listing
page (bench/hostile_listings.py), in one process: a hostile server on 127.0.0.1 plus
"internal" listeners (127.0.0.2, another port on 127.0.0.1, ::1) that count connections.

Run from the repository root:  .venv/bin/python bench/hostile.py
Prints a table and one JSON line, writes bench/results/hostile.json, exits 1 if a target is missed.

Targets: every fetch ends within its deadline + 1 s; peak memory growth under 100 MB for the
bombs; 0 connections reach an internal listener; each case ends the way it should.
Memory is the process's peak RSS growth during the case (VmHWM reset through
/proc/self/clear_refs), so it includes C allocations such as zlib's; tracemalloc where that file
is not writable.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.hostile_listings import listing_rows  # noqa: E402
from bench.reference import print_verdicts, summary_head, with_reference, write_results  # noqa: E402
from tasks.fetching.httpget import AddressRefused, FetchError, FetchPolicy, RetryLater, fetch, new_session  # noqa: E402
from tests.fetching.test_fetch_hostile import ETAG, HostileServer, Listener, fake_dns, policy_for  # noqa: E402

MB = 1_000_000
MEMORY_TARGET_MB = 100.0


@dataclass
class Row:
    case: str
    expected: str
    outcome: str
    seconds: float
    deadline: float
    memory_mb: float
    internal_connections: int
    passed: bool


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Memory:
    """Peak memory growth of the process during a block, in MB."""

    def __init__(self) -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.method = "peak RSS (VmHWM)"
        except OSError:
            self.method = "tracemalloc peak"

    @contextlib.contextmanager
    def measure(self) -> Iterator[list[float]]:
        box = [0.0]
        if self.method.startswith("peak RSS"):
            Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
            before = _kib("VmRSS")
            yield box
            box[0] = max(0, _kib("VmHWM") - before) * 1024 / MB
        else:
            tracemalloc.start()
            try:
                yield box
                box[0] = tracemalloc.get_traced_memory()[1] / MB
            finally:
                tracemalloc.stop()


@contextlib.contextmanager
def dns(names: dict[str, Callable[[], str]]) -> Iterator[None]:
    real = socket.getaddrinfo
    socket.getaddrinfo = fake_dns(names)  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.getaddrinfo = real  # type: ignore[assignment]


def describe(outcome: object) -> str:
    if isinstance(outcome, Exception):
        return f"{type(outcome).__name__}: {outcome}"
    status = getattr(outcome, "status", "?")
    return f"ok {status}, {len(getattr(outcome, 'body', b''))} bytes"


def main() -> int:
    memory = Memory()
    rows: list[Row] = []
    with HostileServer() as server:
        server.bomb()  # built before any measurement
        listeners = [Listener("127.0.0.2"), Listener("127.0.0.1")]
        with contextlib.suppress(OSError):
            listeners.append(Listener("::1"))
        i2, i1 = listeners[0], listeners[1]
        v6 = listeners[2].url() if len(listeners) > 2 else "http://[::1]:9/"
        same_port: Listener | None = None
        with contextlib.suppress(OSError):
            same_port = Listener("127.0.0.2", server.port)  # for DNS rebinding
            listeners.append(same_port)
        strict = policy_for(server)
        roomy = policy_for(server, total_timeout=10.0)
        slow_connect = policy_for(server, connect_timeout=10.0)

        def get(url: str, policy: FetchPolicy = strict, **kw: Any) -> Callable[[], object]:
            return lambda: fetch(url, policy, new_session(policy), **kw)

        def redirect(target: str) -> Callable[[], object]:
            return get(server.url(f"/redirect?to={target}"))

        def rebinding() -> object:
            answers = iter(["127.0.0.1", "127.0.0.2"])
            with dns({"rebind.test": lambda: next(answers)}):
                fetch(f"http://rebind.test:{server.port}/ok", strict, new_session(strict))
                return fetch(f"http://rebind.test:{server.port}/ok", strict, new_session(strict))

        def slow_dns() -> object:
            def slow() -> str:
                time.sleep(6)
                return "127.0.0.1"

            with dns({"slow.test": slow}):
                return fetch(f"http://slow.test:{server.port}/ok", slow_connect, new_session(slow_connect))

        def private_name() -> object:
            with dns({"intranet.test": lambda: "127.0.0.2"}):
                return redirect(f"http://intranet.test:{i2.port}/secret")()

        def stalled_tls() -> object:
            mute = socket.socket()
            mute.bind(("127.0.0.1", 0))
            mute.listen(4)
            port = mute.getsockname()[1]
            policy = policy_for(server, connect_timeout=10.0, allow_private=(f"127.0.0.1:{port}",))
            try:
                return fetch(f"https://127.0.0.1:{port}/", policy, new_session(policy))
            finally:
                mute.close()

        def allowed(entry: str, host: str = "127.0.0.1") -> Callable[[], object]:
            policy = FetchPolicy(user_agent="bench", total_timeout=2.0, allow_private=(entry,))
            return get(f"http://{host}:{server.port}/ok", policy)

        when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
        no_allowance = FetchPolicy(user_agent="bench", total_timeout=2.0)
        # (case, call, expected exception or None for success, words expected in str(outcome), deadline)
        cases: list[tuple[str, Callable[[], object], type[Exception] | None, str, float]] = [
            ("redirect to 127.0.0.2", redirect(i2.url()), AddressRefused, "loopback", 2),
            ("redirect to 127.0.0.1, other port", redirect(i1.url()), AddressRefused, "loopback", 2),
            ("redirect to [::1]", redirect(v6), AddressRefused, "::1 is a loopback", 2),
            (
                "redirect to [::ffff:127.0.0.2]",
                redirect(f"http://[::ffff:127.0.0.2]:{i2.port}/"),
                AddressRefused,
                "in IPv6 form",
                2,
            ),
            ("redirect to 10.0.0.5", redirect("http://10.0.0.5/"), AddressRefused, "private", 2),
            (
                "redirect to 169.254.169.254",
                redirect("http://169.254.169.254/latest/meta-data/"),
                AddressRefused,
                "cloud metadata",
                2,
            ),
            ("redirect to 100.64.0.1", redirect("http://100.64.0.1/"), AddressRefused, "CGNAT", 2),
            ("redirect to [fd00::1]", redirect("http://[fd00::1]/"), AddressRefused, "unique local", 2),
            ("redirect to private host name", private_name, AddressRefused, "127.0.0.2 is a loopback", 2),
            ("DNS rebinding", rebinding, AddressRefused, "127.0.0.2 is a loopback", 2),
            ("redirect to file://", redirect("file:///etc/passwd"), AddressRefused, "file scheme", 2),
            ("redirect to ftp://", redirect("ftp://ftp.example.org/x"), AddressRefused, "ftp scheme", 2),
            ("5 redirects", get(server.url("/chain/5")), None, "ok 200", 2),
            ("6 redirects", get(server.url("/chain/6")), FetchError, "more than 5 redirects", 2),
            ("redirect loop", get(server.url("/loop/a")), FetchError, "redirect loop", 2),
            ("drip 1 B/s", get(server.url("/drip")), FetchError, "took longer than 2 s", 2),
            ("drip 1 B/s, no length", get(server.url("/drip?nolength=1")), FetchError, "took longer than 2 s", 2),
            ("slow headers", get(server.url("/slow-headers")), FetchError, "took longer than 2 s", 2),
            ("slow DNS (6 s)", slow_dns, FetchError, "took longer than 2 s", 2),
            ("stalled TLS handshake", stalled_tls, FetchError, "took longer than 2 s", 2),
            ("gzip bomb 200 MiB, cap 1 MiB", get(server.url("/bomb"), roomy), FetchError, "body larger than", 10),
            ("gzip bomb in a redirect body", get(server.url("/redirect-bomb"), roomy), None, "ok 200", 10),
            ("Content-Length 10^12", get(server.url("/huge-length"), roomy), FetchError, "Content-Length is", 10),
            ("304 with ETag", get(server.url("/conditional"), etag=ETAG), None, "ok 304, 0 bytes", 2),
            (
                "429 Retry-After: 120",
                get(server.url("/status/429?retry_after=120")),
                RetryLater,
                "retry after 120 s",
                2,
            ),
            (
                "503 Retry-After: HTTP-date",
                get(server.url(f"/status/503?retry_after={when}")),
                RetryLater,
                "retry after",
                2,
            ),
            ("allow 127.0.0.1 (host)", allowed("127.0.0.1"), None, "ok 200", 2),
            ("allow localhost (host name)", allowed("localhost", "localhost"), None, "ok 200", 2),
            ("allow 127.0.0.1:port", allowed(f"127.0.0.1:{server.port}"), None, "ok 200", 2),
            ("allow 127.0.0.0/8 (CIDR)", allowed("127.0.0.0/8"), None, "ok 200", 2),
            ("no allowance: 127.0.0.1", get(server.url("/ok"), no_allowance), AddressRefused, "loopback", 2),
        ]
        if same_port is None:
            cases = [c for c in cases if c[0] != "DNS rebinding"]

        for name, call, expected, words, deadline in cases:
            before = sum(listener.connections for listener in listeners)
            with memory.measure() as grown:
                started = time.monotonic()
                try:
                    outcome: object = call()
                except (FetchError, requests.RequestException) as exc:
                    outcome = exc
                seconds = time.monotonic() - started
            reached = sum(listener.connections for listener in listeners) - before
            text = describe(outcome)
            right = (type(outcome) is expected if expected else not isinstance(outcome, Exception)) and words in text
            bomb = "bomb" in name
            passed = right and seconds <= deadline + 1 and reached == 0 and (not bomb or grown[0] < MEMORY_TARGET_MB)
            label = expected.__name__ if expected else "success"
            rows.append(Row(name, f"{label}: {words}", text, seconds, deadline, grown[0], reached, passed))
        for listener in listeners:
            listener.close()
    rows += [Row(*row) for row in listing_rows(memory.measure)]  # sitemaps and listing pages (issue #17)

    width = max(len(r.case) for r in rows)
    print(f"{'case':<{width}}  {'s':>5}  {'mem MB':>6}  {'int':>3}  {'':4}  outcome")
    for r in rows:
        verdict = "pass" if r.passed else "FAIL"
        outcome = r.outcome if len(r.outcome) <= 110 else r.outcome[:107] + "..."
        numbers = f"{r.seconds:5.2f}  {r.memory_mb:6.1f}  {r.internal_connections:3d}"
        print(f"{r.case:<{width}}  {numbers}  {verdict}  {outcome}")
    targets = {
        "every fetch within deadline + 1 s": all(r.seconds <= r.deadline + 1 for r in rows),
        f"bombs under {MEMORY_TARGET_MB:g} MB peak growth": all(
            r.memory_mb < MEMORY_TARGET_MB for r in rows if "bomb" in r.case
        ),
        "0 connections to internal listeners": sum(r.internal_connections for r in rows) == 0,
        "every case ended as expected": all(r.passed for r in rows),
    }
    print_verdicts(targets)
    summary = {
        **summary_head("hostile"),
        "requests": requests.__version__,
        "memory_method": memory.method,
        "cases": len(rows),
        "passed": sum(r.passed for r in rows),
        "max_seconds_over_deadline": round(max(r.seconds - r.deadline for r in rows), 3),
        "max_bomb_memory_mb": round(max(r.memory_mb for r in rows if "bomb" in r.case), 1),
        "internal_connections": sum(r.internal_connections for r in rows),
        "targets": targets,
    }
    summary = with_reference(summary, ("max_seconds_over_deadline",))
    write_results(summary, ROOT / "bench" / "results" / "hostile.json", {**summary, "rows": [asdict(r) for r in rows]})
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
