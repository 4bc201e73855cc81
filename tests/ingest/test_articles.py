"""The one path from a URL to an article (fetch_article) and from a source URL to its feed
(fetch_feed), as a run and the operator commands use them, against a local news web."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from tasks.config import load_settings
from tasks.fetching import FetchError, FetchResult, PoliteFetcher
from tasks.ingest import IngestOptions, fetch_article
from tasks.ingest.feedfetch import NoFeedAnnounced, fetch_feed
from tasks.ingest.feeds import ParseError
from tests.newsweb import TRAFFICKING_PARAGRAPHS, TRAFFICKING_TITLE, NewsWeb, article_page, build_site

SUMMARY = "Three officials are accused of colluding with traffickers."


@pytest.fixture
def options() -> IngestOptions:
    return dataclasses.replace(IngestOptions.from_settings(load_settings()), extract_processes=1)


@pytest.fixture
def fetcher(options: IngestOptions) -> Iterator[PoliteFetcher]:
    with options.fetcher() as fetcher:
        yield fetcher


def test_a_page_is_fetched_and_extracted_with_its_language(web: NewsWeb, fetcher, options) -> None:
    site = build_site(web)
    web.add("/moved", "", status=301, headers={"Location": site["story"]})
    article = fetch_article(web.url("/moved"), fetcher, options, title="", summary=SUMMARY, language_hint="vi")
    assert article.fetched and article.note is None and article.url == site["story"]
    page = article.content.page
    assert page is not None and page.title == TRAFFICKING_TITLE and page.author == "Staff Reporter"
    assert TRAFFICKING_PARAGRAPHS[0] in article.content.text and "Related stories" not in article.content.text
    assert article.content.language == "en"  # the page's lang="en" outranks the source's hint
    assert article.content.signature and article.content.content_hash


def test_robots_txt_is_asked_first_and_the_summary_stands_in(web: NewsWeb, fetcher, options) -> None:
    site = build_site(web)
    web.add("/robots.txt", "User-agent: *\nDisallow: /mekong/national/\n", "text/plain")
    article = fetch_article(site["story"], fetcher, options, title=TRAFFICKING_TITLE, summary=SUMMARY)
    assert not article.fetched and article.note == "robots.txt disallows the page"
    assert article.content.page is None and article.content.text == SUMMARY and article.url == site["story"]
    assert "/mekong/national/officials-traffickers" not in web.hits


def test_a_failed_fetch_or_a_page_without_article_text_falls_back_to_the_summary(web, fetcher, options) -> None:
    missing = fetch_article(web.url("/gone"), fetcher, options, summary=SUMMARY)
    assert not missing.fetched and missing.note is not None and missing.note.startswith("page not fetched: HTTP 404")
    assert missing.content.text == SUMMARY

    empty = web.add("/empty", "<html><body><p>Subscribe.</p></body></html>")
    thin = fetch_article(empty, fetcher, options, summary=SUMMARY)
    assert thin.fetched and thin.note == "page had no extractable article text" and thin.content.text == SUMMARY


def test_a_page_the_source_says_not_to_fetch_is_not_requested(web: NewsWeb, fetcher, options) -> None:
    page = web.add("/story", article_page(TRAFFICKING_TITLE, TRAFFICKING_PARAGRAPHS, "Site"))
    article = fetch_article(page, fetcher, options, summary=SUMMARY, language_hint="en", skip_page="not wanted")
    assert not article.fetched and article.note == "not wanted" and article.content.text == SUMMARY
    assert article.content.language == "en" and web.hits == []


def test_a_feed_url_is_fetched_conditionally(web: NewsWeb, fetcher) -> None:
    site = build_site(web)
    web.routes["/mekong/feed.xml"].headers = {"ETag": '"v1"'}
    fetched = fetch_feed(site["feed"], fetcher)
    assert not fetched.followed and fetched.response.status == 200 and fetched.response.etag == '"v1"'
    again = fetch_feed(site["feed"], fetcher, etag='"v1"')
    assert again.response.status == 304 and again.response.body == b""


def test_an_html_page_is_followed_to_the_feed_it_announces(web: NewsWeb, fetcher) -> None:
    site = build_site(web)
    home = web.add(
        "/mekong/",
        '<html><head><link rel="alternate" type="application/atom+xml" href="/none.atom">'
        '<link rel="alternate" type="application/rss+xml" href="/mekong/feed.xml"></head><body>Home</body></html>',
    )
    pages: list[tuple[FetchResult, list[str]]] = []
    fetched = fetch_feed(home, fetcher, on_html_page=lambda page, feeds: pages.append((page, feeds)))
    assert fetched.followed and fetched.page is not None and fetched.page.url == home
    assert fetched.announced == (site["feed"], web.url("/none.atom")) and fetched.response.url == site["feed"]
    assert [(p.url, feeds) for p, feeds in pages] == [(home, [site["feed"], web.url("/none.atom")])]

    web.routes.pop("/mekong/feed.xml")  # the page is reported even when its feed then fails
    pages.clear()
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_feed(home, fetcher, on_html_page=lambda page, feeds: pages.append((page, feeds)))
    assert len(pages) == 1


def test_an_html_page_that_announces_no_feed_is_a_parse_error(web: NewsWeb, fetcher) -> None:
    page = web.add("/about", "<html><head><title>About</title></head><body>About us</body></html>")
    seen: list[list[str]] = []
    with pytest.raises(NoFeedAnnounced, match="announces no feed") as info:
        fetch_feed(page, fetcher, on_html_page=lambda _page, feeds: seen.append(feeds))
    assert isinstance(info.value, ParseError) and seen == [[]]


def test_an_unreadable_robots_txt_says_so_rather_than_that_robots_forbids(web: NewsWeb, fetcher, options) -> None:
    site = build_site(web)
    web.add("/robots.txt", "busy", "text/plain", status=503)
    article = fetch_article(site["story"], fetcher, options, summary=SUMMARY)
    assert not article.fetched and article.note == "robots.txt could not be read: no page until it can"
    assert article.content.text == SUMMARY
