"""bench/hostile.py's sitemap and listing-page cases (issue #17): the hostile sites of
tests/sitemapweb.py read as a `kind: sitemap` or `kind: page` source would be, through the
real fetcher, with an "internal" listener on 127.0.0.2 that no request may reach.

Each row: the case, what was expected, the outcome, seconds, its deadline, peak memory growth
(MB), connections to the internal listener, and whether every target was met."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from tasks.fetching import FetchPolicy, PoliteFetcher
from tests.fetching.test_fetch_hostile import Listener
from tests.newsweb import NewsWeb
from tests.sitemapweb import describe, gzip_bomb, hostile_cases

DEADLINE = 5.0  # seconds per case: a walk of a few sitemaps, each fetch within its own 2 s
MEMORY_TARGET_MB = 100.0
MiB = 1 << 20

ListingRow = tuple[str, str, str, float, float, float, int, bool]


def listing_rows(measure: Callable[[], AbstractContextManager[list[float]]]) -> list[ListingRow]:
    """Every hostile sitemap and page case, measured by `measure` (peak memory growth, MB)."""
    rows: list[ListingRow] = []
    with NewsWeb() as web:
        listener = Listener("127.0.0.2")
        cases = hostile_cases(web, listener.url(), gzip_bomb(200))  # built before any measurement
        policy = FetchPolicy(user_agent="bench", total_timeout=2.0, max_bytes=16 * MiB, allow_private=(web.base[7:],))
        for case in cases:
            before = listener.connections
            with measure() as grown, PoliteFetcher(policy, 2, 0.0, True) as fetcher:
                started = time.monotonic()
                try:
                    outcome: object = case.run(fetcher)
                except Exception as exc:  # the error is the outcome
                    outcome = exc
                seconds = time.monotonic() - started
            reached = listener.connections - before
            text = describe(outcome)
            passed = case.expect in text and seconds <= DEADLINE and reached == 0 and grown[0] < MEMORY_TARGET_MB
            rows.append((case.name, case.expect, text, seconds, DEADLINE, grown[0], reached, passed))
        listener.close()
    return rows
