"""Fetching: newswatch's only HTTP client. A URL from outside (a feed, the page a feed names, the
target of a redirect) is fetched under the limits every fetch needs: the address actually
connected to is checked at every hop (no internal address unless the operator allows it), a total
deadline, a byte cap, bounded redirects; and politely: per-host concurrency and spacing, a host's
Retry-After honoured, robots.txt for article pages. It knows nothing of feeds or articles beyond
finding the feed an HTML page announces (ingest, above it, parses what is fetched).

- httpget.py: fetch(): one GET under a FetchPolicy, redirects followed hop by hop; FetchError,
  RetryLater (429/503), AddressRefused.
- politeness.py: the per-host gate, the robots.txt cache, and PoliteFetcher, fetch() behind both.
- netguard.py: the connection classes that apply the address rules at connect time, and the
  watchdog that enforces the deadline.
- addresses.py: which addresses are internal, and the operator's allowance (allow_private).
- discovery.py: is this body an HTML page, and which feeds does it announce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.fetching.discovery import feed_links, looks_like_html
    from tasks.fetching.httpget import FetchError, FetchPolicy, FetchResult, RetryLater, fetch, new_session
    from tasks.fetching.politeness import HostGate, PoliteFetcher, RobotsCache

__all__ = [
    "feed_links",
    "fetch",
    "FetchError",
    "FetchPolicy",
    "FetchResult",
    "HostGate",
    "looks_like_html",
    "new_session",
    "PoliteFetcher",
    "RetryLater",
    "RobotsCache",
]
__getattr__ = lazy_exports(__name__, __file__)
