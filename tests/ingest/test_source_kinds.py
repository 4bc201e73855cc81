"""Every outlet, feed or not (issue #17): the fragment that tells two posts apart, sources that
are news sitemaps or listing pages, and one article whichever way it was found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import get_engine
from storage.models import Article
from tests.helpers import TaggedTargets, run_monitor, write_config
from tests.newsweb import TRAFFICKING_PARAGRAPHS, TRAFFICKING_TITLE, UNRELATED, NewsWeb, article_page, rss
from tests.receivers import JsonReceiver
from tests.sitemapweb import news_sitemap, section_page, sitemap_index, urlset

pytestmark = pytest.mark.usefixtures("prefect_harness")


def stored(db_url: str) -> list[tuple[str, str]]:
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(Article.canonical_url, Article.title).order_by(Article.id))
        return [(r[0], r[1]) for r in rows]


def test_posts_told_apart_by_fragment_are_both_stored(web: NewsWeb, tmp_path: Path, flow_db: str) -> None:
    # From a real weblog's feed: one page a day, its posts named by an anchor.
    day = web.add("/2002/09/29", "<html><body><p>Two posts of the day.</p></body></html>")
    items = [
        {"title": "Morning post", "link": f"{day}#When:12:59:01PM", "summary": "Notes on the morning market prices."},
        {"title": "Evening post", "link": f"{day}#When:6:52:02PM", "summary": "Notes on the evening council vote."},
    ]
    feed = web.add("/weblog.xml", rss("A weblog", web.url("/"), items), "application/rss+xml")
    src, wl = write_config(tmp_path, [("Weblog", feed)])
    summary = run_monitor(src, wl)
    assert summary.new_articles == 2
    assert stored(flow_db) == [(f"{day}#When:12:59:01PM", "Morning post"), (f"{day}#When:6:52:02PM", "Evening post")]
    assert "/2002/09/29" not in web.hits  # the day's page holds both posts: each is its feed text
    # The next day's feed lists the evening post alone: it is known, not a new article at the day's URL.
    web.add("/weblog.xml", rss("A weblog", web.url("/"), items[1:]), "application/rss+xml")
    again = run_monitor(src, wl, force=True)
    assert again.new_articles == 0 and again.already_known == 1


NOW = datetime.now(UTC)


def outlet(web: NewsWeb, prefix: str = "/o") -> list[tuple[str, str, datetime]]:
    """An outlet's three latest stories on the local web, the trafficking story first:
    (url, title, published)."""
    stories = [(TRAFFICKING_TITLE, TRAFFICKING_PARAGRAPHS), *UNRELATED]
    listed = []
    for i, (title, paragraphs) in enumerate(stories):
        url = web.add(f"{prefix}/news/{i}", article_page(title, paragraphs, "Outlet"))
        listed.append((url, title, NOW - timedelta(hours=i + 1)))
    return listed


def config(folder: Path, entries: str) -> tuple[str, str]:
    """sources.yaml with these entries (YAML text) and the trafficking watchlist; their paths."""
    _, wl = write_config(folder, [])
    path = folder / "sources.yaml"
    path.write_text("sources:\n" + entries)
    return str(path), wl


def test_site_with_only_a_news_sitemap(web: NewsWeb, tmp_path: Path, flow_db: str) -> None:
    stories = outlet(web)
    old = web.url("/o/archive/2019/story")
    web.add("/o/news-sitemap.xml", news_sitemap(stories), "application/xml")
    web.add("/o/sitemap-2019-01.xml", urlset([(old, NOW - timedelta(days=2000))]), "application/xml")
    index = [web.url("/o/sitemap-2019-01.xml"), web.url("/o/news-sitemap.xml")]
    web.add("/o/sitemap.xml", sitemap_index(index), "application/xml")
    src, wl = config(tmp_path, f"  - name: Outlet\n    url: {web.url('/o/sitemap.xml')}\n    kind: sitemap\n")
    summary = run_monitor(src, wl)
    assert summary.sources_failed == 0 and summary.new_articles == 3 and summary.matches == 1
    assert {u for u, _ in stored(flow_db)} == {u for u, _, _ in stories}
    assert "/o/sitemap-2019-01.xml" not in web.hits  # the archive is not polled
    hits = len(web.hits)
    quiet = run_monitor(src, wl, force=True)
    assert quiet.sources_not_modified == 1 and quiet.new_articles == 0
    assert len(web.hits) - hits == 2  # the index and the news sitemap, nothing else


def test_site_with_only_a_listing_page(web: NewsWeb, tmp_path: Path, flow_db: str) -> None:
    stories = outlet(web)
    web.add("/o/national", section_page(stories))
    src, wl = config(
        tmp_path,
        f"  - name: Outlet\n    url: {web.url('/o/national')}\n    kind: page\n"
        "    page:\n      item: //article\n      item_uri: .//h2/a/@href\n      item_title: .//h2\n"
        "      item_timestamp: .//time/@datetime\n",
    )
    summary = run_monitor(src, wl)
    assert summary.sources_failed == 0 and summary.new_articles == 3 and summary.matches == 1
    assert stored(flow_db) == [(u, t) for u, t, _ in stories]  # the nav and "most read" links ignored
    assert "/old/story-1" not in web.hits


def test_feed_and_sitemap_listing_the_same_stories_make_one_article_and_one_alert(
    web: NewsWeb, tmp_path: Path, flow_db: str, tagged_targets: TaggedTargets
) -> None:
    stories = outlet(web)
    items = [{"title": t, "link": u + "?utm_source=rss", "guid": f"g{i}"} for i, (u, t, _) in enumerate(stories)]
    feed = web.add("/o/feed.xml", rss("Outlet", web.url("/o"), items), "application/rss+xml")
    sitemap = web.add("/o/news-sitemap.xml", news_sitemap(stories), "application/xml")
    src, wl = config(
        tmp_path,
        f"  - name: Outlet feed\n    url: {feed}\n  - name: Outlet sitemap\n    url: {sitemap}\n    kind: sitemap\n",
    )
    with JsonReceiver() as analysts:
        tagged_targets({"analysts": analysts})
        summary = run_monitor(src, wl)
        assert summary.sources_ok == 2 and summary.new_articles == 3 and summary.duplicates >= 3
        assert len(analysts.posts) == 1 and TRAFFICKING_TITLE in analysts.posts[0]["title"]
    assert len(stored(flow_db)) == 3
