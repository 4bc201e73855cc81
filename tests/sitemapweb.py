"""Sitemaps and listing pages for the local news web (tests/newsweb.py): a news sitemap with
the news: extension, plain urlsets, sitemap indexes and a section page, written as outlets
write them."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape

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
