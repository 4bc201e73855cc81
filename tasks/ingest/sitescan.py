"""Which kind of source a site needs (`newswatch sources add URL`), tried in order: the URL as a
feed; the feeds its page announces; its sitemaps (robots.txt `Sitemap:` lines, then the
well-known news-sitemap paths); and otherwise a `page` source, with selectors guessed from the
page's repeated article links for the operator to check with `newswatch sources test`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from protego import Protego

from tasks.config import PageSelectors, SourceKind, SourceSpec
from tasks.fetching import FetchError, PoliteFetcher
from tasks.ingest.feeds import ParseError
from tasks.ingest.sourcekinds import read_listing, same_site

# Where outlets put their news sitemap when robots.txt does not say (Google News, Yoast, WordPress).
NEWS_SITEMAP_PATHS = (
    "/news-sitemap.xml",
    "/sitemap-news.xml",
    "/sitemap_news.xml",
    "/news_sitemap.xml",
    "/sitemap_index.xml",
    "/sitemap.xml",
)
MAX_SITEMAP_TRIES = 6  # sitemaps tried before concluding the site needs a page source
MIN_LINK_TEXT = 20  # a headline's length: "Home", "Sport", "More" are not stories
MIN_ITEMS = 3  # a repeated pattern: fewer is not a listing


@dataclass(frozen=True)
class SitemapFound:
    url: str
    entries: int


def sitemap_candidates(url: str, fetcher: PoliteFetcher) -> list[str]:
    """The site's sitemaps worth trying, news first: robots.txt's `Sitemap:` lines, then the
    well-known paths; at most MAX_SITEMAP_TRIES."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    listed: list[str] = []
    try:
        robots = fetcher.get(root + "/robots.txt", "text/plain")
        listed = [u for u in Protego.parse(robots.body.decode("utf-8", "replace")).sitemaps if same_site(u, url)]
    except FetchError:
        pass  # no robots.txt: the well-known paths only
    news = [u for u in listed if "news" in u.lower()]
    ordered = [*news, *(root + p for p in NEWS_SITEMAP_PATHS if "news" in p), *listed]
    ordered += [root + p for p in NEWS_SITEMAP_PATHS]
    return list(dict.fromkeys(ordered))[:MAX_SITEMAP_TRIES]


def find_sitemap(url: str, fetcher: PoliteFetcher) -> SitemapFound | None:
    """The first of the site's sitemaps that lists stories of the last days, if any."""
    for candidate in sitemap_candidates(url, fetcher):
        try:
            listing = read_listing(SourceSpec(name="probe", url=candidate, kind="sitemap"), fetcher)
        except (FetchError, ParseError):
            continue
        if listing.feed is not None and listing.feed.entries:
            return SitemapFound(candidate, len(listing.feed.entries))
    return None


def _class_test(element: etree._Element) -> str:  # noqa: SLF001 - lxml's element type
    classes = (element.get("class") or "").split()
    return f"[contains(concat(' ', normalize-space(@class), ' '), ' {classes[0]} ')]" if classes else ""


def _item_of(anchor: etree._Element) -> tuple[etree._Element, str] | None:  # noqa: SLF001
    """The anchor's item: its nearest <article> or <li>, or else the nearest ancestor with a
    class (three levels up at most), and the path from that item down to the anchor."""
    steps, node = ["a"], anchor.getparent()
    for _ in range(4):
        if node is None or node.tag in ("body", "html"):
            return None
        if node.tag in ("article", "li") or (len(steps) > 1 and node.get("class")) or len(steps) == 4:
            return node, "./" + "/".join(reversed(steps))
        steps.append(str(node.tag))
        node = node.getparent()
    return None


def guess_selectors(body: bytes, url: str) -> PageSelectors | None:
    """Selectors for the page's most repeated pattern of article links (a headline of at least
    MIN_LINK_TEXT characters, on the same site), or None when nothing repeats MIN_ITEMS times."""
    try:
        tree = lxml.html.document_fromstring(body, base_url=url)
    except (etree.ParserError, ValueError):
        return None
    patterns: Counter[tuple[str, str]] = Counter()
    has_time: dict[tuple[str, str], bool] = {}
    for anchor in tree.xpath("//a[@href]"):
        text = " ".join(anchor.text_content().split())
        if len(text) < MIN_LINK_TEXT or not same_site(urljoin(url, anchor.get("href")), url):
            continue
        found = _item_of(anchor)
        if found is None:
            continue
        item, path = found
        key = (f"//{item.tag}{_class_test(item)}", path)
        patterns[key] += 1
        has_time[key] = has_time.get(key, False) or bool(item.xpath(".//time[@datetime]"))
    best = next(((key, n) for key, n in patterns.most_common(1) if n >= MIN_ITEMS), None)
    if best is None:
        return None
    (item_xpath, path), _ = best
    timestamp = ".//time/@datetime" if has_time[(item_xpath, path)] else None
    return PageSelectors(item=item_xpath, item_uri=f"{path}/@href", item_title=path, item_timestamp=timestamp)


def starter_entry(name: str, url: str, selectors: PageSelectors) -> dict[str, object]:
    """A `kind: page` entry for sources.yaml with these selectors (those set)."""
    page = {k: v for k, v in selectors.model_dump().items() if v not in (None, False)}
    return {"name": name, "url": url, "kind": "page", "page": page}


def kind_label(kind: SourceKind) -> str:
    return {"feed": "a feed", "sitemap": "a news sitemap", "page": "a listing page"}[kind]
