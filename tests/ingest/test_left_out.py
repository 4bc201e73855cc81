"""Entries dropped for want of a link newswatch may fetch (javascript:, data:, file:, over
4,096 characters, none) are counted in the source's outcome and named in its log line, never
dropped without a word (issue #19 item 21)."""

from __future__ import annotations

import logging

import pytest

from tasks.config import SourceSpec, load_settings
from tasks.ingest import IngestOptions, plan_ingest
from tasks.ingest.batch import ingest_batch
from tasks.ingest.feeds import parse_feed
from tests.newsweb import NewsWeb, rss

LONG = "https://news.example/" + "a" * 4100


def feed_with_bad_links(good: str) -> str:
    links = [good, "javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", LONG]
    return rss("Outlet", "https://news.example/", [{"title": f"Story {i}", "link": u} for i, u in enumerate(links)])


def test_the_parser_says_which_entries_it_left_out_and_why() -> None:
    parsed = parse_feed(feed_with_bad_links("https://news.example/a/1").encode(), "https://news.example/feed")
    assert [e.url for e in parsed.entries] == ["https://news.example/a/1"]
    assert (
        [(link[:11], reason) for link, reason in parsed.left_out]
        == [
            ("javascript:", "not an http(s) link"),
            ("data:text/h", "not an http(s) link"),
            ("file://etc/", "not an http(s) link"),  # as feedparser gives it
            (LONG[:11], "a link of 4121 characters (at most 4096)"),
        ]
    )
    assert all(len(link) <= 200 for link, _ in parsed.left_out)


def test_json_feed_items_without_a_link_are_counted() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1"}, "junk", {"url": "https://x.example/a"}]}'
    parsed = parse_feed(body, "https://x.example/feed.json", "application/feed+json")
    assert len(parsed.entries) == 1
    assert [reason for _, reason in parsed.left_out] == ["no link", "not a JSON object"]


def test_the_source_outcome_and_its_log_line_count_them(
    db_url: str, web: NewsWeb, caplog: pytest.LogCaptureFixture
) -> None:
    url = web.add("/feed.xml", feed_with_bad_links(web.url("/a/1")), "application/rss+xml")
    web.add("/a/1", "<html><body><article><p>" + "Text of the story. " * 40 + "</p></article></body></html>")
    spec = SourceSpec(name="Outlet", url=url, fetch_pages=False)
    (batch,) = plan_ingest(db_url, [spec], True, 10).batches
    options = IngestOptions.from_settings(load_settings())
    caplog.set_level(logging.INFO)
    (outcome,) = ingest_batch.fn(db_url, batch.sources, batch.states, options, "1-of-1")  # its log line too
    assert outcome.entries == 5 and outcome.new == 1 and len(outcome.rejected) == 4
    assert outcome.rejected[0].url == "javascript:alert(1)" and outcome.rejected[0].reason == "not an http(s) link"
    line = (
        "Outlet: 5 entries, 1 new, 0 known, 0 duplicates, 4 left out (first: javascript:alert(1): not an http(s) link)"
    )
    assert line in caplog.text
