"""Feed parsing (RSS 2.0, Atom 1.0, RSS 1.0/RDF, JSON Feed 1.1, broken bodies) and the HTTP fetch
underneath it, against feeds written here and a loopback NewsWeb. No outside network."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tasks.fetching import FetchError, FetchPolicy, fetch, new_session
from tasks.ingest.feeds import ParseError, parse_feed
from tests.newsweb import NewsWeb

RSS20 = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Mekong &amp; Daily</title>
  <link>https://news.example/</link>
  <language>en</language>
  <item>
    <title>Officials &quot;accused&quot; of collusion</title>
    <link>https://news.example/national/1001</link>
    <guid isPermaLink="false">mekong-1001</guid>
    <pubDate>Fri, 27 Nov 2026 08:15:00 +0700</pubDate>
    <dc:creator>Sok Dara</dc:creator>
    <description>&lt;p&gt;Three &lt;b&gt;officials&lt;/b&gt; are accused &amp;amp; face an &lt;a href="https://news.example/x"&gt;inquiry&lt;/a&gt;.&lt;/p&gt;</description>
  </item>
  <item>
    <title>Second story</title>
    <link>https://news.example/business/1002</link>
    <guid isPermaLink="false">mekong-1002</guid>
    <pubDate>Thu, 26 Nov 2026 23:59:59 GMT</pubDate>
    <description>Plain summary.</description>
  </item>
</channel>
</rss>"""

ATOM10 = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="vi">
  <title type="text">Tin Tức</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-11-27T09:00:00Z</updated>
  <link rel="self" href="https://tin.example/feeds/atom.xml"/>
  <entry>
    <title type="html">Buôn người &amp;amp; lừa đảo</title>
    <link rel="alternate" type="text/html" href="https://tin.example/bai/1"/>
    <id>tag:tin.example,2026:1</id>
    <published>2026-11-27T08:15:00+07:00</published>
    <updated>2026-11-27T10:00:00+07:00</updated>
    <author><name>Nguyễn Văn A</name></author>
    <summary type="html">&lt;p&gt;Cảnh sát &lt;em&gt;bắt giữ&lt;/em&gt; 5 người.&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>Only an updated date</title>
    <link href="https://tin.example/bai/2"/>
    <id>tag:tin.example,2026:2</id>
    <updated>2026-11-26T23:30:00Z</updated>
  </entry>
</feed>"""

RSS10_RDF = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/">
    <title>RDF News</title>
    <link>https://rdf.example/</link>
    <description>An RSS 1.0 channel</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://rdf.example/story/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://rdf.example/story/1">
    <title>RDF story</title>
    <link>https://rdf.example/story/1</link>
    <description>An RDF summary.</description>
    <dc:creator>Jane Roe</dc:creator>
    <dc:date>2026-11-27T03:00:00+02:00</dc:date>
  </item>
</rdf:RDF>"""


def rss_with_items(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://t.example/</link>{''.join(items)}</channel></rss>"
    ).encode()


# --- RSS 2.0 -----------------------------------------------------------------------------------


def test_rss20_entries_fields() -> None:
    feed = parse_feed(RSS20.encode(), "https://news.example/feed.xml", "application/rss+xml")
    assert feed.kind == "rss20"
    assert feed.title == "Mekong & Daily"
    assert feed.language == "en"
    assert feed.warning is None
    assert len(feed.entries) == 2
    first, second = feed.entries
    assert first.guid == "mekong-1001"
    assert first.url == "https://news.example/national/1001"
    assert first.title == 'Officials "accused" of collusion'
    assert first.summary == "Three officials are accused & face an inquiry."
    assert "<" not in first.summary and "&amp;" not in first.summary
    assert first.author == "Sok Dara"
    assert first.published == datetime(2026, 11, 27, 1, 15, tzinfo=UTC)
    assert first.published.utcoffset().total_seconds() == 0
    assert second.published == datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)
    assert second.summary == "Plain summary."
    assert second.author is None


def test_rss20_without_content_type_is_still_parsed() -> None:
    feed = parse_feed(RSS20.encode(), "https://news.example/feed.xml")
    assert feed.kind == "rss20"
    assert [e.guid for e in feed.entries] == ["mekong-1001", "mekong-1002"]


# --- Atom 1.0 ----------------------------------------------------------------------------------


def test_atom10_entries_fields() -> None:
    feed = parse_feed(ATOM10.encode(), "https://tin.example/feeds/atom.xml", "application/atom+xml")
    assert feed.kind == "atom10"
    assert feed.title == "Tin Tức"
    assert feed.language == "vi"
    assert feed.warning is None
    first, second = feed.entries
    assert first.guid == "tag:tin.example,2026:1"
    assert first.url == "https://tin.example/bai/1"
    assert first.title == "Buôn người & lừa đảo"
    assert first.summary == "Cảnh sát bắt giữ 5 người."
    assert first.author == "Nguyễn Văn A"
    # <published> wins over <updated>
    assert first.published == datetime(2026, 11, 27, 1, 15, tzinfo=UTC)
    # no <published>: <updated> is used
    assert second.published == datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert second.summary == ""
    assert second.author is None


# --- RSS 1.0 / RDF -----------------------------------------------------------------------------


def test_rss10_rdf_entries_fields() -> None:
    feed = parse_feed(RSS10_RDF.encode(), "https://rdf.example/index.rdf", "application/rdf+xml")
    assert feed.kind == "rss10"
    assert feed.title == "RDF News"
    assert feed.warning is None
    [entry] = feed.entries
    assert entry.url == "https://rdf.example/story/1"
    assert entry.title == "RDF story"
    assert entry.summary == "An RDF summary."
    assert entry.author == "Jane Roe"
    assert entry.published == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


# --- JSON Feed 1.1 -----------------------------------------------------------------------------


def json_feed(items: list[dict[str, object]], **top: object) -> bytes:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "JSON News", **top, "items": items}
    return json.dumps(doc).encode()


def test_json_feed_11_entries_fields() -> None:
    body = json_feed(
        [
            {
                "id": 42,
                "url": "https://j.example/posts/42",
                "title": "Hello <b>world</b>",
                "content_html": "<p>Body &amp; more</p>",
                "date_published": "2026-11-27T08:15:00+07:00",
                "authors": [{"name": "A. One"}, {"name": "B. Two"}, {"url": "https://no-name.example"}],
            },
            {
                "id": "p-43",
                "url": "https://j.example/posts/43",
                "title": "Zulu time",
                "summary": "Short summary",
                "content_text": "Longer text that the summary wins over",
                "date_published": "2026-11-27T01:00:00Z",
            },
        ],
        language="km",
    )
    feed = parse_feed(body, "https://j.example/feed.json", "application/feed+json")
    assert feed.kind == "json1.1"
    assert feed.title == "JSON News"
    assert feed.language == "km"
    first, second = feed.entries
    assert first.guid == "42"  # numeric ids become strings
    assert first.url == "https://j.example/posts/42"
    assert first.title == "Hello world"
    assert first.summary == "Body & more"
    assert first.author == "A. One, B. Two"
    assert first.published == datetime(2026, 11, 27, 1, 15, tzinfo=UTC)
    assert second.guid == "p-43"
    assert second.summary == "Short summary"
    assert second.author is None
    assert second.published == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def test_json_feed_detected_by_body_without_content_type() -> None:
    body = b"  \n" + json_feed([{"id": "1", "url": "https://j.example/1", "title": "T"}])
    feed = parse_feed(body, "https://j.example/feed", "")
    assert feed.kind == "json1.1"
    assert [e.url for e in feed.entries] == ["https://j.example/1"]


def test_json_feed_external_url_and_date_modified_fallbacks() -> None:
    body = json_feed(
        [{"id": "x", "external_url": "https://other.example/x", "content_text": "text", "date_modified": "2026-11-26"}]
    )
    [entry] = parse_feed(body, "https://j.example/feed.json", "application/json").entries
    assert entry.url == "https://other.example/x"
    assert entry.summary == "text"
    assert entry.published == datetime(2026, 11, 26, tzinfo=UTC)  # naive date taken as UTC


# --- links -------------------------------------------------------------------------------------


def test_relative_links_resolved_against_feed_url_rss() -> None:
    body = rss_with_items(
        "<item><title>Root-relative</title><link>/news/2?page=1</link></item>",
        "<item><title>Path-relative</title><link>story-3.html</link></item>",
        "<item><title>Absolute</title><link>https://elsewhere.example/4</link></item>",
    )
    feed = parse_feed(body, "https://t.example/feeds/main.xml", "application/rss+xml")
    assert [e.url for e in feed.entries] == [
        "https://t.example/news/2?page=1",
        "https://t.example/feeds/story-3.html",
        "https://elsewhere.example/4",
    ]


def test_relative_links_resolved_against_feed_url_atom() -> None:
    body = ATOM10.replace('href="https://tin.example/bai/2"', 'href="bai/2"').encode()
    feed = parse_feed(body, "https://tin.example/feeds/atom.xml", "application/atom+xml")
    assert feed.entries[1].url == "https://tin.example/feeds/bai/2"


def test_relative_links_resolved_against_feed_url_json() -> None:
    body = json_feed([{"id": "r", "url": "/posts/43"}, {"id": "s", "url": "44.html"}])
    feed = parse_feed(body, "https://j.example/feeds/feed.json", "application/feed+json")
    assert [e.url for e in feed.entries] == ["https://j.example/posts/43", "https://j.example/feeds/44.html"]


def test_entries_without_link_are_skipped_rss() -> None:
    body = rss_with_items(
        "<item><title>Has link</title><link>https://t.example/1</link></item>",
        "<item><title>No link at all</title><description>nothing to fetch</description></item>",
        '<item><title>Opaque guid</title><guid isPermaLink="false">abc-123</guid></item>',
        "<item><title>Also has link</title><link>https://t.example/2</link></item>",
    )
    feed = parse_feed(body, "https://t.example/feed.xml", "application/rss+xml")
    assert [e.title for e in feed.entries] == ["Has link", "Also has link"]


def test_entries_without_link_are_skipped_json() -> None:
    body = json_feed(
        [
            {"id": "1", "title": "no url"},
            {"id": "2", "url": "", "title": "empty url"},
            {"id": "3", "url": 17, "title": "url not a string"},
            {"id": "4", "url": "https://j.example/4", "title": "kept"},
            "not an object",
        ]
    )
    feed = parse_feed(body, "https://j.example/feed.json", "application/feed+json")
    assert [e.guid for e in feed.entries] == ["4"]


# --- control characters ------------------------------------------------------------------------


def test_control_characters_removed_rss() -> None:
    body = rss_with_items(
        "<item><title>Bad\x00ti\x07tle</title><link>https://t.example/c</link>"
        "<description>sum\x01mary\x0b here\x1f</description></item>"
    )
    feed = parse_feed(body, "https://t.example/feed.xml", "application/rss+xml")
    [entry] = feed.entries
    assert entry.title == "Badtitle"
    assert entry.summary == "summary here"


def test_control_characters_removed_json() -> None:
    body = json_feed(
        [{"id": "1", "url": "https://j.example/1", "title": "Ti\u0000t\u0007le\u009f", "summary": "A\u0000B\u001bC"}]
    )
    [entry] = parse_feed(body, "https://j.example/feed.json", "application/feed+json").entries
    assert entry.title == "Title"
    assert entry.summary == "ABC"
    assert not any(ord(ch) < 32 for ch in entry.title + entry.summary)


# --- not a feed --------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/rss+xml", ""])
def test_html_page_is_not_a_feed(content_type: str) -> None:
    page = (
        b"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>Mekong Daily</title></head>"
        b"<body><nav><a href='/'>Home</a></nav><h1>Top stories</h1><p>Welcome.</p></body></html>"
    )
    with pytest.raises(ParseError) as info:
        parse_feed(page, "https://news.example/", content_type)
    assert "HTML page, not a feed" in str(info.value)


def test_random_bytes_are_not_a_feed() -> None:
    body = random.Random(1234).randbytes(4096)
    assert not body.lstrip().startswith(b"{")  # the seed gives a non-JSON-looking body
    with pytest.raises(ParseError) as info:
        parse_feed(body, "https://x.example/feed", "application/octet-stream")
    assert str(info.value).startswith("not a feed")


@pytest.mark.parametrize(
    "body",
    [
        b'{"foo": 1, "items": [{"url": "https://x.example/1"}]}',
        b'{"version": "1.1", "items": []}',
        b"[1, 2, 3]",
    ],
)
def test_json_that_is_not_a_json_feed(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, "https://x.example/api", "application/json")
    assert "not a JSON Feed" in str(info.value)


def test_invalid_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "https://x.example/f", "application/json"
        )
    assert "invalid JSON" in str(info.value)


# --- truncated feed ----------------------------------------------------------------------------


def test_truncated_feed_keeps_complete_entries_and_warns() -> None:
    full = rss_with_items(
        *(
            f"<item><title>Story {i}</title><link>https://t.example/s/{i}</link>"
            f'<guid isPermaLink="false">g{i}</guid><description>Summary {i}</description></item>'
            for i in (1, 2, 3)
        )
    )
    assert parse_feed(full, "https://t.example/feed.xml").warning is None
    cut = full[: full.index(b"<title>Story 3") + len(b"<title>Sto")]  # mid-item, mid-title
    feed = parse_feed(cut, "https://t.example/feed.xml", "application/rss+xml")
    assert feed.kind == "rss20"
    assert [(e.guid, e.url, e.title, e.summary) for e in feed.entries] == [
        ("g1", "https://t.example/s/1", "Story 1", "Summary 1"),
        ("g2", "https://t.example/s/2", "Story 2", "Summary 2"),
    ]
    assert feed.warning
    assert "no element found" in feed.warning


# --- fetch -------------------------------------------------------------------------------------

POLICY = FetchPolicy(
    user_agent="newswatch-tests/1.0", connect_timeout=3, read_timeout=3, total_timeout=10, allow_private=("127.0.0.1",)
)


@pytest.fixture(scope="module")
def newsweb() -> Iterator[NewsWeb]:
    with NewsWeb() as web:
        yield web


def test_fetch_200_returns_body_and_content_type(newsweb: NewsWeb) -> None:
    url = newsweb.add("/fetch/feed.xml", RSS20, "application/rss+xml; charset=utf-8")
    started = time.monotonic()
    result = fetch(url, POLICY, new_session(POLICY))
    took = time.monotonic() - started
    assert result.status == 200
    assert result.url == url
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.body == RSS20.encode()
    assert 0 < result.elapsed <= took  # seconds, measured inside the call
    # the fetched bytes parse as the feed they are
    assert [e.guid for e in parse_feed(result.body, result.url, result.content_type).entries] == [
        "mekong-1001",
        "mekong-1002",
    ]


def test_fetch_http_500_raises(newsweb: NewsWeb) -> None:
    url = newsweb.add("/fetch/broken", "internal error", "text/plain", status=500)
    with pytest.raises(FetchError) as info:
        fetch(url, POLICY, new_session(POLICY))
    assert "HTTP 500" in str(info.value)
    assert url in str(info.value)


def test_fetch_http_404_raises(newsweb: NewsWeb) -> None:
    url = newsweb.url("/fetch/no-such-page")
    with pytest.raises(FetchError) as info:
        fetch(url, POLICY, new_session(POLICY))
    assert "HTTP 404" in str(info.value)
    assert url in str(info.value)


def test_fetch_connection_refused() -> None:
    url = "http://127.0.0.1:9/"
    with pytest.raises(FetchError) as info:
        fetch(url, POLICY, new_session(POLICY))
    assert "connection refused" in str(info.value)
    assert url in str(info.value)


def test_fetch_body_over_max_bytes(newsweb: NewsWeb) -> None:
    url = newsweb.add("/fetch/big", b"x" * 200_000, "application/octet-stream")
    small = FetchPolicy(user_agent="newswatch-tests/1.0", max_bytes=100_000, allow_private=("127.0.0.1",))
    with pytest.raises(FetchError) as info:
        fetch(url, small, new_session(small))
    assert "larger than" in str(info.value)
    assert "100000" in str(info.value)
    # the same body under a big enough cap is fine
    assert len(fetch(url, POLICY, new_session(POLICY)).body) == 200_000
