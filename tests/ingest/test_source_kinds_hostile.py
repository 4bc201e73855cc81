"""Hostile sitemaps and listing pages (issue #17): loops, huge indexes and sitemaps, gzip bombs,
redirects and entries pointing inside, runaway selectors, bodies of the wrong kind. Each ends
with a clear error or a capped read, and no request reaches an internal address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tasks.fetching import FetchPolicy, PoliteFetcher
from tests.fetching.test_fetch_hostile import Listener
from tests.newsweb import NewsWeb
from tests.sitemapweb import HostileCase, describe, gzip_bomb, hostile_cases

MiB = 1 << 20


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[NewsWeb, Listener, list[HostileCase]]]:
    with NewsWeb() as web:
        listener = Listener("127.0.0.2")
        try:
            yield web, listener, hostile_cases(web, listener.url(), gzip_bomb(200))
        finally:
            listener.close()


CASES = [
    "sitemap index loop",
    "sitemap index lists itself",
    "index of 50,000 sitemaps",
    "sitemap of 100,000 URLs",
    "gzip bomb .xml.gz (200 MiB)",
    ".gz that is not gzip",
    "gzip inside gzip",
    "entity bomb (billion laughs)",
    "sitemap redirects to internal",
    "internal, javascript:, data: entries",
    "page selector matches 10,000 links",
    "page source returns a feed",
    "feed source returns a sitemap",
    "sitemap source returns a page",
]


@pytest.mark.parametrize("name", CASES)
def test_hostile_listing(name: str, hostile: tuple[NewsWeb, Listener, list[HostileCase]]) -> None:
    web, listener, cases = hostile
    case = next(c for c in cases if c.name == name)
    # The local web only, by its port; 16 MiB: room for the 100,000-URL sitemap, not the bomb.
    policy = FetchPolicy(user_agent="t", total_timeout=5.0, max_bytes=16 * MiB, allow_private=(web.base[7:],))
    with PoliteFetcher(policy, 2, 0.0, True) as fetcher:
        try:
            outcome: object = case.run(fetcher)
        except Exception as exc:  # the error is the outcome: its words are checked
            outcome = exc
    assert case.expect in describe(outcome), describe(outcome)
    assert listener.connections == 0
