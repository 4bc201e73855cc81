"""Sitemaps and listing pages for the local news web (tests/newsweb.py): a news sitemap with
the news: extension, plain urlsets, sitemap indexes and a section page, written as outlets
write them."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from tasks.config import PageSelectors, SourceSpec
from tasks.fetching import PoliteFetcher
from tasks.ingest.sourcekinds import parse_feed_source, read_listing
from tests.newsweb import NewsWeb, rss

SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def news_sitemap(stories: list[tuple[str, str, datetime]], language: str = "en", site: str = "Outlet") -> str:
    """A Google News sitemap of these (url, title, published) stories."""
    urls = "".join(
        f"<url><loc>{escape(url)}</loc><news:news><news:publication><news:name>{escape(site)}</news:name>"
        f"<news:language>{language}</news:language></news:publication>"
        f"<news:publication_date>{iso(when)}</news:publication_date><news:title>{escape(title)}</news:title>"
        "</news:news></url>"
        for url, title, when in stories
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {SITEMAP_NS} {NEWS_NS}>{urls}</urlset>'


def urlset(pages: list[tuple[str, datetime | None]]) -> str:
    """A plain sitemap of these (url, lastmod) pages."""
    urls = "".join(
        f"<url><loc>{escape(url)}</loc>{f'<lastmod>{iso(when)}</lastmod>' if when else ''}</url>" for url, when in pages
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {SITEMAP_NS}>{urls}</urlset>'


def sitemap_index(sitemaps: list[str]) -> str:
    locs = "".join(f"<sitemap><loc>{escape(url)}</loc></sitemap>" for url in sitemaps)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex {SITEMAP_NS}>{locs}</sitemapindex>'


def section_page(stories: list[tuple[str, str, datetime]], site: str = "Outlet") -> str:
    """A section page: navigation and a "most read" box around the list of stories, each an
    <article> with its headline link and a <time>."""
    items = "".join(
        f'<article class="story"><h2><a href="{escape(url)}">{escape(title)}</a></h2>'
        f'<time datetime="{iso(when)}">{when:%d %b}</time><p>Teaser.</p></article>'
        for url, title, when in stories
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><title>National | {escape(site)}</title></head><body>'
        '<nav><a href="/">Home</a> <a href="/national">National</a> <a href="/sport">Sport</a></nav>'
        f"<main><h1>National</h1>{items}</main>"
        '<aside class="most-read"><h3>Most read</h3><a href="/old/story-1">An old story</a>'
        '<a href="javascript:void(0)">More</a></aside>'
        "<footer><a href='/about'>About</a></footer></body></html>"
    )


# --- hostile sites (tests/ingest/test_source_kinds_hostile.py and bench/hostile.py) -------------


@dataclass(frozen=True)
class HostileCase:
    name: str
    run: Callable[[PoliteFetcher], object]  # raises, or returns a Listing / ParsedFeed
    expect: str  # words in describe(outcome)


def describe(outcome: object) -> str:
    """A listing's outcome in one line: the error, or its entries, requests and warning."""
    if isinstance(outcome, Exception):
        return f"{type(outcome).__name__}: {outcome}"
    feed = getattr(outcome, "feed", outcome)
    requests = getattr(outcome, "requests", 1)
    entries = len(getattr(feed, "entries", []))
    return f"ok {entries} entries, {requests} requests; {getattr(feed, 'warning', None) or ''}"


def gzip_bomb(mebibytes: int = 200) -> bytes:
    """`mebibytes` of zeros, gzipped (about 1/1000 of that on the wire)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        chunk = bytes(1 << 20)
        for _ in range(mebibytes):
            gz.write(chunk)
    return out.getvalue()


def hostile_cases(web: NewsWeb, internal: str, bomb: bytes) -> list[HostileCase]:
    """The issue's hostile sitemaps and pages, served by `web`; `internal` is the URL of an
    internal listener no request may reach."""
    now = datetime.now(UTC)
    xml = "application/xml"
    story = web.url("/h/news/1")
    web.add("/h/news.xml", news_sitemap([(story, "A story", now)]), xml)
    web.add("/h/loop-a.xml", sitemap_index([web.url("/h/loop-b.xml")]), xml)
    web.add("/h/loop-b.xml", sitemap_index([web.url("/h/loop-a.xml"), web.url("/h/news.xml")]), xml)
    web.add("/h/self.xml", sitemap_index([web.url("/h/self.xml"), web.url("/h/news.xml")]), xml)
    many = [web.url(f"/h/part-{i}.xml") for i in range(50_000)]
    web.add("/h/huge-index.xml", sitemap_index([*many, web.url("/h/news.xml")]), xml)
    web.add("/h/100k.xml", urlset([(web.url(f"/h/a/{i}"), now) for i in range(100_000)]), xml)
    web.add("/h/bomb.xml.gz", bomb, "application/gzip")
    web.add("/h/plain.xml.gz", news_sitemap([(story, "A story", now)]), "application/x-gzip")
    web.add("/h/moved.xml", "", status=302, headers={"Location": internal})
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    web.add("/h/laughs.xml", f'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY l0 "ha">{laughs}]><urlset>&l9;</urlset>', xml)
    web.add("/h/double.xml.gz", gzip.compress(gzip.compress(bytes(1 << 20))), "application/gzip")
    odd = [internal, "javascript:alert(1)", "data:text/html,<b>x</b>", "http://169.254.169.254/latest/meta-data/"]
    web.add("/h/odd.xml", urlset([*((u, now) for u in odd), (story, now)]), xml)
    links = "".join(f'<article><a href="/h/n/{i}">Story {i}</a></article>' for i in range(10_000))
    web.add("/h/10k.html", f"<html><body>{links}</body></html>")
    web.add("/h/feed.xml", rss("Outlet", web.url("/h"), [{"title": "A story", "link": story}]), "application/rss+xml")

    def sitemap(path: str) -> Callable[[PoliteFetcher], object]:
        spec = SourceSpec(name="h", url=web.url(path), kind="sitemap")
        return lambda fetcher: read_listing(spec, fetcher)

    def page(path: str) -> Callable[[PoliteFetcher], object]:
        spec = SourceSpec(name="h", url=web.url(path), kind="page", page=PageSelectors(item="//article"))
        return lambda fetcher: read_listing(spec, fetcher)

    def feed(path: str) -> Callable[[PoliteFetcher], object]:
        def run(fetcher: PoliteFetcher) -> object:
            response = fetcher.get(web.url(path), "application/xml")
            return parse_feed_source(response.body, response.url, response.content_type, timeout=2.0)

        return run

    return [
        HostileCase("sitemap index loop", sitemap("/h/loop-a.xml"), "ok 1 entries, 3 requests"),
        HostileCase("sitemap index lists itself", sitemap("/h/self.xml"), "ok 1 entries, 2 requests"),
        HostileCase("index of 50,000 sitemaps", sitemap("/h/huge-index.xml"), "ok 1 entries, 2 requests"),
        HostileCase("sitemap of 100,000 URLs", sitemap("/h/100k.xml"), "lists more than 5000 URLs"),
        HostileCase("gzip bomb .xml.gz (200 MiB)", sitemap("/h/bomb.xml.gz"), "larger than"),
        HostileCase(".gz that is not gzip", sitemap("/h/plain.xml.gz"), "ok 1 entries"),
        HostileCase("gzip inside gzip", sitemap("/h/double.xml.gz"), "gzip inside gzip"),
        HostileCase("entity bomb (billion laughs)", sitemap("/h/laughs.xml"), "not a sitemap"),
        HostileCase("sitemap redirects to internal", sitemap("/h/moved.xml"), "AddressRefused"),
        HostileCase("internal, javascript:, data: entries", sitemap("/h/odd.xml"), "ok 1 entries"),
        HostileCase("page selector matches 10,000 links", page("/h/10k.html"), "ok 500 entries"),
        HostileCase("page source returns a feed", page("/h/feed.xml"), "use kind: feed"),
        HostileCase("feed source returns a sitemap", feed("/h/news.xml"), "use kind: sitemap"),
        HostileCase("sitemap source returns a page", sitemap("/h/10k.html"), "use kind: page"),
    ]
