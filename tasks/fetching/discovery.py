"""Finding a site's feed from its HTML page (<link rel="alternate">), as feed readers do."""

from __future__ import annotations

from urllib.parse import urljoin

import lxml.html
from lxml.etree import ParserError

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/json",
    "text/xml",
    "application/xml",
)


def looks_like_html(body: bytes, content_type: str) -> bool:
    """An HTML page where a feed was expected (by its type, or by its first bytes)."""
    if "html" in content_type.lower() and "xhtml+xml" not in content_type.lower():
        return True
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:256]


def feed_links(html: bytes, base_url: str) -> list[str]:
    """Absolute URLs of the feeds a page announces, RSS/Atom first, in page order."""
    try:
        tree = lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return []
    found: list[tuple[int, str]] = []
    for link in tree.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            url = urljoin(base_url, link.get("href").strip())
            if url not in (u for _, u in found):
                found.append((FEED_TYPES.index(kind), url))
    return [u for _, u in sorted(found, key=lambda pair: pair[0])]
