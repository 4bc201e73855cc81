"""fetching."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.fetching.discovery import feed_links, looks_like_html
    from tasks.fetching.fetch import FetchError, FetchPolicy, FetchResult, RetryLater, fetch, new_session
    from tasks.fetching.politeness import HostGate, RobotsCache

__all__ = [
    "feed_links",
    "fetch",
    "FetchError",
    "FetchPolicy",
    "FetchResult",
    "HostGate",
    "looks_like_html",
    "new_session",
    "RetryLater",
    "RobotsCache",
]
__getattr__ = lazy_exports(__name__, __file__)
