"""The readers of sitemap and page sources: which sub-sitemaps a poll keeps, the caps on a
sitemap's size, how a listing page's items become entries, and when a poll is conditional."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime

import pytest

from tasks.config import PageSelectors, SourceSpec
from tasks.fetching import FetchError, FetchPolicy, PoliteFetcher
from tasks.ingest.feeds import ParseError
from tasks.ingest.listpages import read_page
from tasks.ingest.sitemaps import MAX_CHILDREN, cap_urls, choose_sitemaps, inflate
from tasks.ingest.sourcekinds import read_listing, same_site, sniff
from tests.newsweb import NewsWeb
from tests.sitemapweb import news_sitemap, sitemap_index

ARCHIVES = [f"https://o.example/sitemap-{y}-{m:02d}.xml" for y in (2024, 2025) for m in range(1, 13)]


def test_a_poll_keeps_the_news_sitemap_not_the_archives() -> None:
    news = "https://o.example/news-sitemap.xml"
    assert choose_sitemaps([*ARCHIVES, news]) == [news]
    # no news sitemap: the newest dated one, and those without a date
    pages = "https://o.example/pages.xml"
    assert choose_sitemaps([*ARCHIVES, pages]) == ["https://o.example/sitemap-2025-12.xml", pages]
    # a recurse rule decides instead, at most MAX_CHILDREN
    rules = (re.compile(r"2025-(11|12)"),)
    assert choose_sitemaps(ARCHIVES, rules) == ARCHIVES[-2:]
    assert len(choose_sitemaps([f"https://o.example/section-{chr(97 + i)}.xml" for i in range(20)])) == MAX_CHILDREN
    # numbered siblings are filled oldest first (WordPress core, Yoast): the last one has the new posts
    yoast = [f"https://w.example/post-sitemap{i if i > 1 else ''}.xml" for i in range(1, 41)]
    assert choose_sitemaps([*yoast, "https://w.example/page-sitemap.xml"]) == [
        "https://w.example/post-sitemap40.xml",
        "https://w.example/page-sitemap.xml",
    ]
    # "news" in the outlet's name is not a news sitemap; a year in its host is not a date
    named = ["https://cambojanews.com/sitemap-2019-01.xml", "https://cambojanews.com/sitemap-2025-12.xml"]
    assert choose_sitemaps(named) == named[1:]
    assert choose_sitemaps(["https://site2024.example/posts.xml", *ARCHIVES[:2]]) == [
        "https://site2024.example/posts.xml",
        ARCHIVES[1],
    ]


def test_sitemap_size_caps() -> None:
    urlset = b"<urlset>" + b"".join(b"<url><loc>https://o.example/%d</loc></url>" % i for i in range(10)) + b"</urlset>"
    cut, was_cut = cap_urls(urlset, 3)
    assert was_cut and cut.count(b"<url>") == 3 and cut.endswith(b"</urlset>")
    assert cap_urls(urlset, 10) == (urlset, False)
    assert inflate(gzip.compress(urlset), 1000, "u") == urlset
    assert inflate(urlset, 10, "u") == urlset  # a .gz that is plain XML
    with pytest.raises(FetchError, match="larger than 100 bytes once inflated"):
        inflate(gzip.compress(bytes(10_000)), 100, "u")


def test_kinds_and_sites() -> None:
    assert sniff(b'<?xml version="1.0"?><urlset xmlns="x">') == "sitemap"
    assert sniff(b'<?xml version="1.0"?><rss version="2.0">') == "feed"
    assert sniff(b"<!DOCTYPE html><html><body>", "text/html") == "page"
    assert same_site("https://news.khmertimeskh.com/a", "https://www.khmertimeskh.com/list")
    assert same_site("https://bbc.co.uk/a", "https://www.bbc.co.uk/")
    assert not same_site("https://evil.co.uk/a", "https://www.bbc.co.uk/")
    assert not same_site("http://169.254.169.254/", "https://o.example/")


PAGE = b"""<html><head><base href="https://o.example/news/"></head><body>
<nav><a href="/">Home</a><a href="/sport">Sport</a></nav>
<article><a href="story-1?utm_source=x"><img src="t.jpg"></a><h2><a href="story-1">Floods close the road</a></h2>
<time datetime="2026-12-04T08:00:00+07:00">4 Dec</time></article>
<article><h2><a href="javascript:void(0)">Subscribe</a></h2></article>
<article><h2><a href="https://o.example/news/story-1">Floods close the road (again)</a></h2></article>
<article><h2><a href="/news/story-2">Council budget approved</a></h2></article>
<aside><a href="/old">Most read</a></aside></body></html>"""


@pytest.mark.parametrize(
    "selectors",
    [
        PageSelectors(item="//article", item_timestamp=".//time/@datetime"),
        PageSelectors(item="article", item_uri="h2 a", item_title="h2", item_timestamp="time", css=True),
    ],
    ids=["xpath", "css"],
)
def test_listing_page_items_become_entries(selectors: PageSelectors) -> None:
    read = read_page(PAGE, "https://o.example/list", selectors)
    assert [(e.url, e.title) for e in read.entries] == [
        ("https://o.example/news/story-1", "Floods close the road"),  # the headline, not the image link
        ("https://o.example/news/story-2", "Council budget approved"),
    ]
    assert read.matched == 4 and read.title == ""
    assert read.entries[0].published is not None and read.entries[0].published.hour == 1  # in UTC


def test_odd_selectors() -> None:
    # an XPath selecting the links themselves: each string is a link
    read = read_page(PAGE, "https://o.example/list", PageSelectors(item="//article//h2/a/@href", item_title=".//h2"))
    assert [e.url for e in read.entries] == ["https://o.example/news/story-1", "https://o.example/news/story-2"]
    with pytest.raises(ParseError, match="selects no elements"):
        read_page(PAGE, "https://o.example/list", PageSelectors(item="count(//article)"))


def test_a_news_sitemap_is_polled_conditionally_an_index_is_not(web: NewsWeb) -> None:
    now = datetime.now(UTC)
    sitemap = web.add("/news.xml", news_sitemap([(web.url("/n/1"), "A story", now)]), "application/xml")
    web.routes["/news.xml"].headers = {"ETag": '"v1"'}
    web.add("/index.xml", sitemap_index([sitemap]), "application/xml")
    policy = FetchPolicy(user_agent="t", allow_private=(web.base[7:],))
    with PoliteFetcher(policy, 2, 0.0, False) as fetcher:
        direct = SourceSpec(name="s", url=sitemap, kind="sitemap")
        first = read_listing(direct, fetcher)
        assert first.feed is not None and len(first.feed.entries) == 1 and first.etag == '"v1"'
        again = read_listing(direct, fetcher, (first.etag, first.last_modified, first.body_hash))
        assert again.feed is None and again.requests == 1  # 304: not modified
        assert web.requests[-1][1].get("If-None-Match") == '"v1"'
        via_index = read_listing(SourceSpec(name="i", url=web.url("/index.xml"), kind="sitemap"), fetcher)
        assert via_index.etag is None and via_index.feed is not None and len(via_index.feed.entries) == 1
