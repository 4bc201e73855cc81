"""Canonical URLs: one article, one URL, whatever tracking decorations a feed adds."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import courlan


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no tracking parameters (utm_*, fbclid,
    gclid, ...), sorted query, no fragment, no trailing slash. courlan does the work."""
    url = url.strip()
    try:
        normalized = courlan.normalize_url(url, trailing_slash=False)
    except (ValueError, AttributeError):
        normalized = url
    parts = urlsplit(normalized)
    # courlan keeps a trailing slash when a query follows; one article, one spelling.
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
