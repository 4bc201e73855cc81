"""Canonical URLs: one article, one URL, whatever tracking decorations a feed adds."""

from __future__ import annotations

from collections.abc import Sequence
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


def _fragment(url: str) -> str:
    try:
        return urlsplit(url.strip()).fragment
    except ValueError:
        return ""


def entry_keys(urls: Sequence[str]) -> list[str]:
    """The identity of each of one listing's (a feed's, a sitemap's, a page's) entries: its
    canonical URL, with the fragment kept where the listing's links differ only by fragment.
    A weblog's feed names its posts `.../2002/09/29#When:12:59:01PM` and `#When:6:52:02PM`:
    without the fragment both are one URL, and the second post was never stored. A lone
    `#comments` or `#top` still goes (fragments tell entries apart only among siblings)."""
    plain = [canonical_url(u) for u in urls]
    fragments: dict[str, set[str]] = {}
    for url, key in zip(urls, plain, strict=True):
        if fragment := _fragment(url):
            fragments.setdefault(key, set()).add(fragment)
    return [
        f"{key}#{fragment}" if len(fragments.get(key, ())) > 1 and (fragment := _fragment(url)) else key
        for url, key in zip(urls, plain, strict=True)
    ]


def anchored_key(url: str) -> str | None:
    """The key entry_keys gives `url` among siblings (its canonical URL and fragment), if it has
    a fragment: a post stored under it is found again when the feed lists it alone."""
    fragment = _fragment(url)
    return f"{canonical_url(url)}#{fragment}" if fragment else None
