"""Per-host politeness across processes (storage/hostslots.py): three `newswatch run` workers,
each given a third of one host's sources, share the newswatch database. The host's server logs
when each request arrived and when it was answered: no two arrivals closer than the gap, never
more requests in flight than the per-host concurrency."""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from pathlib import Path

from tests.conftest import TEST_ENV
from tests.helpers import processes
from tests.newsweb import NewsWeb, article_page, distinct_paragraphs, rss

WORKERS = 3
SOURCES_PER_WORKER = 1
ENTRIES = 2
CONCURRENCY = 2
GAP = 0.5
ANSWER_AFTER = 0.7  # longer than the gap: two requests can be in flight at once
# An arrival may lag its start: on this 2-core machine under a load average of 20-30 (other
# jobs), requests granted 0.3 s apart reached this server's handler up to 0.17 s closer.
# Workers that did not share the limit send requests within milliseconds of each other.
JITTER = 0.2


def timed(web: NewsWeb) -> list[tuple[float, float, str]]:
    """Make `web` answer each request after ANSWER_AFTER s and log (arrived, answered, path)."""
    log: list[tuple[float, float, str]] = []
    lock = threading.Lock()
    base = web.server.RequestHandlerClass

    class Timed(base):  # type: ignore[misc,valid-type]
        def do_GET(self) -> None:  # noqa: N802
            arrived = time.monotonic()
            time.sleep(ANSWER_AFTER)
            super().do_GET()
            with lock:
                log.append((arrived, time.monotonic(), self.path))

    web.server.RequestHandlerClass = Timed
    return log


def one_host_sources(web: NewsWeb, folder: Path) -> tuple[str, str]:
    """sources.yaml with WORKERS x SOURCES_PER_WORKER feeds on the one host, tagged w0, w1, ...;
    each feed has ENTRIES articles on that host too."""
    lines = ["sources:"]
    for n in range(WORKERS * SOURCES_PER_WORKER):
        items = []
        for e in range(ENTRIES):
            path = f"/s{n}/a{e}.html"
            web.add(path, article_page(f"Story {e} of outlet {n}", distinct_paragraphs(n * 10 + e), f"Outlet {n}"))
            items.append({"title": f"Story {e} of outlet {n}", "link": web.url(path), "guid": f"s{n}-{e}"})
        feed = web.add(f"/s{n}/rss.xml", rss(f"Outlet {n}", web.url(f"/s{n}/"), items), "application/rss+xml")
        lines.append(f"  - name: Outlet {n}\n    url: {feed}\n    tags: [w{n % WORKERS}]")
    src, wl = folder / "sources.yaml", folder / "watchlist.yaml"
    src.write_text("\n".join(lines) + "\n")
    wl.write_text("topics:\n  - {name: bondage, terms: [debt bondage]}\n")
    return str(src), str(wl)


def in_flight_at_most(log: list[tuple[float, float, str]]) -> int:
    events = sorted([(a, 1) for a, _, _ in log] + [(b, -1) for _, b, _ in log], key=lambda e: (e[0], e[1]))
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


def test_three_workers_keep_one_host_limits(web: NewsWeb, db_url: str, tmp_path: Path) -> None:
    log = timed(web)
    src, wl = one_host_sources(web, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "PREFECT_"))}
    env.update(
        TEST_ENV,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        NEWSWATCH_HOME=str(tmp_path / "home"),
        NEWSWATCH_DATABASE_URL=db_url,
        NEWSWATCH_HOST_CONCURRENCY=str(CONCURRENCY),
        NEWSWATCH_HOST_MIN_GAP=str(GAP),
    )
    run = [sys.executable, "-m", "deploy.cli", "run", "--sources", src, "--watchlist", wl, "--json", "--only"]
    with processes([[*run, f"w{w}"] for w in range(WORKERS)], env=env) as workers:
        outputs = [p.communicate(timeout=180) for p in workers]
    assert all(p.returncode == 0 for p in workers), [err[-2000:] for _, err in outputs]
    assert all(f'"sources_ok": {SOURCES_PER_WORKER}' in out for out, _ in outputs), outputs

    pages = WORKERS * SOURCES_PER_WORKER * (1 + ENTRIES)
    assert len([p for _, _, p in log if p != "/robots.txt"]) == pages, sorted(p for _, _, p in log)
    arrivals = sorted(a for a, _, _ in log)
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    close = [(round(arrivals[i], 3), round(g, 3)) for i, g in enumerate(gaps) if g < GAP - JITTER]
    assert not close, (close, sorted((round(a, 3), round(b - a, 3), p) for a, b, p in log))
    assert in_flight_at_most(log) <= CONCURRENCY
    # Workers did fetch at the same time (worker w fetches /s{w}/...): two spans at least overlap.
    spans = [(min(t), max(t)) for w in range(WORKERS) if (t := [a for a, _, p in log if p.startswith(f"/s{w}/")])]
    assert any(a[0] < b[1] and b[0] < a[1] for a, b in itertools.combinations(spans, 2)), spans
