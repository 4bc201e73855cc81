"""Every outlet, feed or not (issue #17): the fragment that tells two posts apart, sources that
are news sitemaps or listing pages, and one article whichever way it was found."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import get_engine
from storage.models import Article
from tests.helpers import run_monitor, write_config
from tests.newsweb import NewsWeb, rss

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
    again = run_monitor(src, wl, force=True)
    assert again.new_articles == 0
