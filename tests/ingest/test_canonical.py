"""Canonical URLs: tracking parameters, fragments, case, default ports and trailing slashes
removed, so that two spellings of one article's address are one."""

from __future__ import annotations

import pytest

from tasks.ingest.canonical import anchored_key, canonical_url, entry_keys


def test_canonical_removes_tracking_parameters() -> None:
    url = "https://news.example/a/1?utm_source=rss&utm_medium=feed&utm_campaign=x&fbclid=XYZ&gclid=abc"
    assert canonical_url(url) == "https://news.example/a/1"


def test_canonical_keeps_other_query_parameters() -> None:
    assert (
        canonical_url("https://news.example/list?page=2&utm_source=rss&id=7") == "https://news.example/list?id=7&page=2"
    )
    assert canonical_url("https://news.example/a?b=2&a=1") == "https://news.example/a?a=1&b=2"  # sorted


def test_canonical_drops_fragment() -> None:
    assert canonical_url("https://news.example/a/1#comments") == "https://news.example/a/1"
    assert canonical_url("https://news.example/a/1?id=3#top") == "https://news.example/a/1?id=3"


def test_canonical_lowercases_scheme_and_host_not_path() -> None:
    assert canonical_url("HTTPS://News.EXAMPLE/Politics/Story") == "https://news.example/Politics/Story"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://news.example:80/a", "http://news.example/a"),
        ("https://news.example:443/a", "https://news.example/a"),
        ("https://news.example:8443/a", "https://news.example:8443/a"),  # not a default port: kept
        ("http://news.example:443/a", "http://news.example:443/a"),  # 443 is not http's default
    ],
)
def test_canonical_default_port(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_trailing_slash_removed() -> None:
    assert canonical_url("https://news.example/a/b/") == "https://news.example/a/b"
    assert canonical_url("https://news.example/a/b/?utm_source=rss") == "https://news.example/a/b"
    # the root path stays "/"
    assert canonical_url("https://news.example/") == "https://news.example/"
    assert canonical_url("https://news.example") == "https://news.example/"


def test_canonical_two_spellings_equal() -> None:
    a = " HTTPS://News.Example:443/national/officials-traffickers/?utm_source=rss&fbclid=XYZ#comments "
    b = "https://news.example/national/officials-traffickers"
    assert canonical_url(a) == canonical_url(b) == b
    c = "http://News.Example:80/list?page=2&gclid=1&id=7"
    d = "http://news.example/list?id=7&page=2"
    assert canonical_url(c) == canonical_url(d)


def test_canonical_different_articles_stay_different() -> None:
    assert canonical_url("https://news.example/list?id=7") != canonical_url("https://news.example/list?id=8")
    assert canonical_url("https://news.example/a") != canonical_url("https://other.example/a")


def test_canonical_trailing_slash_removed_with_query() -> None:
    assert canonical_url("https://news.example/a/b/?id=3") == canonical_url("https://news.example/a/b?id=3")


def test_entry_keys_keep_the_fragment_that_tells_posts_apart() -> None:
    # A real weblog's feed: two posts of one day, one page, told apart by the fragment alone.
    day = "http://weblog.example/2002/09/29"
    keys = entry_keys([f"{day}#When:12:59:01PM", f"{day}#When:6:52:02PM", "http://weblog.example/other"])
    assert keys == [f"{day}#When:12:59:01PM", f"{day}#When:6:52:02PM", "http://weblog.example/other"]


def test_entry_keys_drop_a_fragment_that_tells_nothing_apart() -> None:
    keys = entry_keys(["https://news.example/a/1#comments", "https://news.example/a/2?utm_source=rss#top"])
    assert keys == ["https://news.example/a/1", "https://news.example/a/2"]
    # one article listed with and without an anchor is still one article
    assert entry_keys(["https://news.example/a/1", "https://news.example/a/1#comments"]) == [
        "https://news.example/a/1",
        "https://news.example/a/1",
    ]
    # the same fragment twice is the same entry twice
    assert entry_keys(["https://news.example/a#x", "https://news.example/a/?utm_source=rss#x"]) == [
        "https://news.example/a",
        "https://news.example/a",
    ]


def test_canonical_strips_only_slashes_from_the_end_of_the_path() -> None:
    # bench/mutation.py: rstrip("/") mutated to rstrip("XX/XX") survived; a path may end in any letter
    assert canonical_url("https://news.example/news/X/") == "https://news.example/news/X"
    assert canonical_url("https://news.example/XX") == "https://news.example/XX"


def test_a_url_courlan_cannot_normalize_is_kept_as_given() -> None:
    # courlan raises on a lone surrogate (UnicodeEncodeError, a ValueError); the URL falls back to
    # itself, never to None (bench/mutation.py: `normalized = None` survived)
    assert canonical_url(" https://news.example/a/\udc80 ") == "https://news.example/a/\udc80"


def test_anchored_key_is_the_key_entry_keys_gives_among_siblings() -> None:
    day = "http://Weblog.example/2002/09/29/?utm_source=rss"
    siblings = entry_keys([f"{day}#When:12:59:01PM", f"{day}#When:6:52:02PM"])
    assert anchored_key(f"{day}#When:6:52:02PM") == siblings[1] == "http://weblog.example/2002/09/29#When:6:52:02PM"
    assert anchored_key("http://weblog.example/2002/09/29") is None  # no fragment, no anchored key
    # a URL that does not parse (an unclosed IPv6 bracket) has no fragment rather than a made-up one
    assert anchored_key("http://[::1/post#x") is None
