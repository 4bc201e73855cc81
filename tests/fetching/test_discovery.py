"""Feed discovery (tasks.fetching.discovery): the feeds an HTML page announces, and telling an
HTML page from a feed."""

from __future__ import annotations

from tasks.fetching import feed_links, looks_like_html


def test_feed_discovery() -> None:
    html = b"""<html><head>
    <link rel="stylesheet" href="/s.css">
    <link rel="alternate" type="application/atom+xml" href="/atom.xml" title="Atom">
    <link rel="alternate" type="application/rss+xml" href="https://site.example/rss" title="RSS">
    <link rel="alternate" hreflang="km" href="/km/">
    </head><body>x</body></html>"""
    assert feed_links(html, "https://site.example/news/") == [
        "https://site.example/rss",
        "https://site.example/atom.xml",
    ]
    assert feed_links(b"<html><body>no feed</body></html>", "https://x.example/") == []
    assert looks_like_html(b"<!DOCTYPE html><html>", "text/plain")
    assert looks_like_html(b"", "text/html; charset=utf-8")
    assert not looks_like_html(b'<?xml version="1.0"?><rss>', "application/xml")
