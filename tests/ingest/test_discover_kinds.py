"""`newswatch sources add` on each kind of site picks the right kind (issue #17 part 2): a site
with a feed, a site with only a news sitemap (named in robots.txt), a site with only a listing
page (a starter entry with guessed selectors); and `sources test` reads every kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tasks.config import load_sources
from tests.helpers import cli
from tests.newsweb import NewsWeb, article_page, rss
from tests.sitemapweb import news_sitemap, section_page

NOW = datetime.now(UTC)


def stories(web: NewsWeb) -> list[tuple[str, str, datetime]]:
    listed = []
    for i, title in enumerate(["Floods close the river road for a week", "Council approves the new market budget"]):
        url = web.add(f"/news/{i}", article_page(title, [f"{title}, officials said on Monday."], "Outlet"))
        listed.append((url, title, NOW - timedelta(hours=i + 1)))
    listed.append((web.url("/news/2"), "Teachers return to provincial schools", NOW - timedelta(hours=3)))
    return listed


def test_sources_add_picks_the_kind_each_site_needs(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("# my sources\nsources:\n  - name: Other\n    url: https://other.example/rss  # keep me\n")
    env = {"NEWSWATCH_HOME": str(tmp_path / "home")}
    with NewsWeb() as feed_site, NewsWeb() as sitemap_site, NewsWeb() as page_site:
        items = [{"title": t, "link": u} for u, t, _ in stories(feed_site)]
        feed = feed_site.add("/rss.xml", rss("Feed Outlet", feed_site.url("/"), items), "application/rss+xml")
        feed_site.add("/", f'<html><head><link rel="alternate" type="application/rss+xml" href="{feed}"></head></html>')

        sitemap_site.add("/", section_page([]))  # its home page lists nothing and announces no feed
        sitemap = sitemap_site.add("/sitemaps/google-news.xml", news_sitemap(stories(sitemap_site)), "application/xml")
        sitemap_site.add("/robots.txt", f"User-agent: *\nAllow: /\nSitemap: {sitemap}\n", "text/plain")

        page_site.add("/national", section_page(stories(page_site)))

        added = cli(["sources", "add", feed_site.url("/"), "--sources", str(sources), "--json"], env, 60)
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout)["kind"] == "feed" and json.loads(added.stdout)["url"] == feed

        added = cli(["sources", "add", sitemap_site.url("/"), "--name", "Map", "--sources", str(sources)], env, 60)
        assert added.returncode == 0, added.stderr
        assert "kind sitemap, 3 entries" in added.stdout

        starter = cli(["sources", "add", page_site.url("/national"), "--sources", str(sources)], env, 60)
        assert starter.returncode == 1 and "needs a page source" in starter.stdout
        assert "kind: page" in starter.stdout and "item: //article" in starter.stdout

        text = sources.read_text()
        assert text.startswith("# my sources\n") and "# keep me" in text
        listed = {s.name: (s.url, s.kind) for s in load_sources(sources).sources}
        assert listed == {
            "Other": ("https://other.example/rss", "feed"),
            "Feed Outlet": (feed, "feed"),
            "Map": (sitemap, "sitemap"),
        }

        tested = cli(["sources", "test", "Map", "--sources", str(sources), "--json"], env, 60)
        assert tested.returncode == 0, tested.stderr
        report = json.loads(tested.stdout)
        assert report["kind"] == "sitemap" and report["entries"] == 3
        assert report["sample"][0]["title"] == "Floods close the river road for a week"

        tested = cli(["sources", "test", page_site.url("/national"), "--kind", "page"], env, 60)
        assert tested.returncode == 0, tested.stderr
        assert "entries: 3" in tested.stdout and "selector item: //article" in tested.stdout
        assert "Teachers return to provincial schools" in tested.stdout
