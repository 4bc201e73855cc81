"""A source's feed fetched, following a site's HTML page to the feed it announces
(<link rel="alternate">), as feed readers do. A run's ingest and `newswatch sources test|add`
both come through here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tasks.fetching import FetchResult, PoliteFetcher, feed_links, looks_like_html
from tasks.ingest.feeds import ParseError

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"
NO_FEED_ANNOUNCED = 'HTML page, not a feed, and it announces no feed (<link rel="alternate">)'


class NoFeedAnnounced(ParseError):
    """The URL gave an HTML page that announces no feed."""


@dataclass(frozen=True)
class FetchedFeed:
    response: FetchResult  # the feed's response (status 304 and no body when unchanged)
    page: FetchResult | None = None  # the HTML page the URL gave, when it was followed to its feed
    announced: tuple[str, ...] = ()  # the feeds that page announces, RSS/Atom first; the first was fetched

    @property
    def followed(self) -> bool:
        """The feed came from following an HTML page (its validators belong to another URL)."""
        return self.page is not None


def fetch_feed(
    url: str,
    fetcher: PoliteFetcher,
    etag: str | None = None,
    last_modified: str | None = None,
    on_html_page: Callable[[FetchResult, list[str]], None] | None = None,
) -> FetchedFeed:
    """The feed at `url` (conditionally, with `etag`/`last_modified`). An HTML page in its place
    is followed to the first feed it announces, unconditionally; `on_html_page(page, feeds)` is
    told first, so a caller can say so even if that feed then fails. Raises FetchError, and
    NoFeedAnnounced (a ParseError) for an HTML page that announces no feed."""
    response = fetcher.get(url, FEED_ACCEPT, etag, last_modified)
    if response.status == 304 or not looks_like_html(response.body, response.content_type):
        return FetchedFeed(response)
    links = feed_links(response.body, response.url)
    if on_html_page is not None:
        on_html_page(response, links)
    if not links:
        raise NoFeedAnnounced(NO_FEED_ANNOUNCED)
    return FetchedFeed(fetcher.get(links[0], FEED_ACCEPT), response, tuple(links))
