"""A source of any kind polled into entries: `feed` sources take the feed path (feedfetch.py,
feeds.py); `sitemap` and `page` sources are read here by sitemaps.py and listpages.py, and
come out as the same entries, so an article is one article however it was found (its identity
is its canonical URL, GUID and text, as for feeds). A body of the wrong kind is named: a
feed source that gets a sitemap is told to use `kind: sitemap`, and so on."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

import courlan

from tasks.common.interval import parse_interval
from tasks.config import SourceKind, SourceSpec
from tasks.fetching import FetchResult, PoliteFetcher, looks_like_html
from tasks.ingest.articles import PAGE_ACCEPT
from tasks.ingest.feeds import FeedEntry, ParsedFeed, ParseError, parse_feed
from tasks.ingest.listpages import read_page
from tasks.ingest.sitemaps import DEFAULT_WINDOW, SITEMAP_ACCEPT, read_sitemap

MAX_ENTRIES = 500  # entries of a sitemap or page read per poll

_SITEMAP = re.compile(rb"<(?:[a-z0-9]+:)?(?:urlset|sitemapindex)[\s>]", re.I)
_FEED = re.compile(rb"<(?:[a-z0-9]+:)?(?:rss|feed|rdf:rdf)[\s>]", re.I)


def sniff(body: bytes, content_type: str = "") -> SourceKind | None:
    """Which kind of source this body is (its first 2 KB): feed, sitemap, page, or None."""
    if body.startswith(b"\x1f\x8b"):
        return "sitemap"  # gzip: sitemaps are the documents served that way
    head = body[:2048]
    if _SITEMAP.search(head):
        return "sitemap"
    if _FEED.search(head) or b"jsonfeed.org" in head:
        return "feed"
    return "page" if looks_like_html(body, content_type) else None


def _wrong_kind(kind: SourceKind, found: SourceKind | None, url: str) -> ParseError:
    return ParseError(f"{url} is a {found}, not a {kind}: use kind: {found} in sources.yaml")


def parse_feed_source(body: bytes, url: str, content_type: str = "", timeout: float | None = None) -> ParsedFeed:
    """parse_feed, but a sitemap where a feed was expected says to use kind: sitemap."""
    try:
        return parse_feed(body, url, content_type, timeout)
    except ParseError:
        if (found := sniff(body, content_type)) == "sitemap":
            raise _wrong_kind("feed", found, url) from None
        raise


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def same_site(url: str, source_url: str) -> bool:
    """An entry of the source's own site: the same host, or a host of the same registered
    domain (www.x.com and news.x.com). A listing naming another site, an internal address or
    a bare IP elsewhere names no story of this outlet."""
    host, source_host = urlsplit(url).hostname or "", urlsplit(source_url).hostname or ""
    if host == source_host:
        return True
    if not host or _is_ip(host) or _is_ip(source_host):
        return False
    return not courlan.is_external(url, source_url, ignore_suffix=False)


Validators = tuple[str | None, str | None, str | None]  # the last poll's (etag, last_modified, body_hash)


@dataclass(frozen=True)
class Listing:
    feed: ParsedFeed | None  # the entries, or None when unchanged since the last poll
    body_hash: str
    etag: str | None = None
    last_modified: str | None = None
    requests: int = 1


def _own(entries: list[FeedEntry], *urls: str) -> tuple[list[FeedEntry], int]:
    """The entries on the site of one of `urls` (the source's, and where it redirected), and
    how many were not."""
    kept = [e for e in entries if any(same_site(e.url, u) for u in urls)]
    return kept, len(entries) - len(kept)


def _note(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def _read_sitemap(spec: SourceSpec, fetcher: PoliteFetcher, validators: Validators, now: datetime | None) -> Listing:
    """A sitemap source polled. Conditional when the last poll found a sitemap, not an index
    (an unchanged index can point to a changed news sitemap: its validators are not kept)."""
    etag, last_modified, body_hash = validators
    if not fetcher.robots_allow(spec.url):
        raise ParseError(f"robots.txt disallows the sitemap {spec.url}")
    root = fetcher.get(spec.url, SITEMAP_ACCEPT, etag, last_modified)
    if root.status == 304:
        return Listing(None, body_hash or "", etag, last_modified)
    found = sniff(root.body, root.content_type)
    if found in ("feed", "page"):
        raise _wrong_kind("sitemap", found, spec.url)
    window = parse_interval(spec.window) if spec.window else DEFAULT_WINDOW
    read = read_sitemap(root, fetcher, spec.recurse, window, MAX_ENTRIES, now)
    kept = (None, None) if read.index else (root.etag, root.last_modified)
    if read.body_hash == body_hash:
        return Listing(None, read.body_hash, *kept, requests=read.requests)
    entries, foreign = _own(read.entries, spec.url, root.url)
    warning = _note(read.warning, f"{foreign} entries on other sites ignored" if foreign else None)
    feed = ParsedFeed("sitemap", "", read.language, entries, warning)
    return Listing(feed, read.body_hash, *kept, requests=read.requests)


def _read_page(spec: SourceSpec, fetcher: PoliteFetcher, validators: Validators) -> Listing:
    etag, last_modified, body_hash = validators
    if not fetcher.robots_allow(spec.url):
        raise ParseError(f"robots.txt disallows the page {spec.url}")
    response: FetchResult = fetcher.get(spec.url, PAGE_ACCEPT, etag, last_modified)
    if response.status == 304:
        return Listing(None, body_hash or "", etag, last_modified)
    digest = hashlib.sha256(response.body).hexdigest()
    if digest == body_hash:
        return Listing(None, digest, response.etag, response.last_modified)
    found = sniff(response.body, response.content_type)
    if found in ("feed", "sitemap"):
        raise _wrong_kind("page", found, spec.url)
    assert spec.page is not None  # SourceSpec requires it for kind: page
    read = read_page(response.body, response.url, spec.page)
    entries, foreign = _own(read.entries, spec.url, response.url)
    feed = ParsedFeed("page", read.title, read.language, entries[:MAX_ENTRIES], read.warning)
    if foreign:
        feed = replace(feed, warning=_note(read.warning, f"{foreign} links to other sites ignored"))
    return Listing(feed, digest, response.etag, response.last_modified)


def read_listing(
    spec: SourceSpec,
    fetcher: PoliteFetcher,
    validators: Validators = (None, None, None),
    now: datetime | None = None,
) -> Listing:
    """A sitemap or page source polled: its entries, or None when nothing changed since the
    poll whose (etag, last_modified, body_hash) are `validators`. Raises FetchError and
    ParseError (a body of the wrong kind says which kind to use)."""
    if spec.kind == "sitemap":
        return _read_sitemap(spec, fetcher, validators, now)
    if spec.kind == "page":
        return _read_page(spec, fetcher, validators)
    raise ValueError(f"read_listing() reads sitemaps and pages, not {spec.kind} sources")
