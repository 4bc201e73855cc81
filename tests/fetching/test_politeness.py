"""Politeness as pure logic (tasks.fetching.politeness): the per-host gate (concurrency, spacing,
blocks) and the robots.txt cache."""

from __future__ import annotations

import threading
import time

from tasks.fetching import HostGate, RobotsCache


def test_host_gate_limits_concurrency_and_spaces_requests() -> None:
    gate = HostGate(concurrency=2, min_gap=0.05)
    active, peak, starts = [0], [0], []
    lock = threading.Lock()

    def request(url: str) -> None:
        with gate.slot(url):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
                starts.append((url, time.monotonic()))
            time.sleep(0.1)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=request, args=("http://a.example/x",)) for _ in range(6)]
    threads.append(threading.Thread(target=request, args=("http://b.example/y",)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a_starts = sorted(t for u, t in starts if "a.example" in u)
    assert peak[0] <= 3  # 2 on a.example + 1 on b.example
    assert all(b - a >= 0.045 for a, b in zip(a_starts, a_starts[1:], strict=False))
    gate.block("http://a.example/z", 30)
    assert 29 < gate.blocked_for("http://a.example/other") <= 30 and gate.blocked_for("http://b.example/") == 0


def test_robots_cache() -> None:
    calls: list[str] = []

    def load(url: str) -> tuple[int, bytes]:
        calls.append(url)
        if "blocked.example" in url:
            return 200, b"User-agent: newswatch\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n"
        if "missing.example" in url:
            return 404, b""
        raise OSError("unreachable")

    robots = RobotsCache("newswatch/0.1 (+https://github.com/newswatch/newswatch)")
    assert robots.allowed("https://blocked.example/news/1", load)
    assert not robots.allowed("https://blocked.example/private/2", load)
    assert robots.allowed("https://missing.example/a", load)
    assert not robots.allowed("https://down.example/a", load)
    assert robots.unreadable("https://down.example/a") and not robots.unreadable("https://blocked.example/private/2")
    robots.allowed("https://blocked.example/news/3", load)
    assert calls.count("https://blocked.example/robots.txt") == 1  # cached per host
