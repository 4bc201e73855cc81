"""One bad entry never takes down more than itself (issue #19, item 16), as a property: feeds of
generated entries (any Unicode, lone surrogates included; identifiers and links of any length up to
thousands of characters; dates whose UTC offset carries them past year 9999 or before year 1)
go end to end, from a local HTTP server through parse and ingest into SQLite and PostgreSQL, and
every well-formed entry beside them is stored, the source counted as a success."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage.db import get_engine
from storage.models import Article
from tasks.config import SourceSpec, load_settings
from tasks.ingest import IngestOptions, plan_ingest
from tasks.ingest.batch import ingest_sources
from tests.helpers import Watched, run_monitor, write_config
from tests.newsweb import NewsWeb, rss
from tests.receivers import JsonReceiver

# Every code point, lone surrogates (category Cs) included.
ANY_CHAR = st.characters(exclude_categories=())
SHORT_TEXT = st.text(ANY_CHAR, max_size=40)


@st.composite
def long_text(draw: st.DrawFn) -> str:
    """Thousands of characters that do not compress (PostgreSQL compresses an index entry before
    its 2,704-byte check, so a repeated string would pass where a real long link fails)."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    length = draw(st.integers(1000, 3600))
    return draw(SHORT_TEXT) + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789é中") for _ in range(length))


IDENTIFIER = st.one_of(SHORT_TEXT, long_text())


@st.composite
def iso_date(draw: st.DrawFn) -> str:
    """A date of any year with any UTC offset (9999-12-31T23:00-05:00 is past year 9999 in UTC)."""
    edge = st.sampled_from(["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "", "not a date"])
    year, month, day = draw(st.integers(1, 9999)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, offset = draw(st.integers(0, 23)), draw(st.integers(-23, 23))
    built = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:00:00{'+' if offset >= 0 else '-'}{abs(offset):02d}:00"
    return draw(st.one_of(edge, st.just(built)))


HOSTILE = st.fixed_dictionaries(
    {"id": IDENTIFIER, "path": IDENTIFIER, "title": SHORT_TEXT, "summary": SHORT_TEXT, "date": iso_date()}
)


def _xml_text(value: str) -> str:
    """Text for an XML element: escaped, lone surrogates as numeric character references."""
    return "".join(f"&#x{ord(c):X};" if 0xD800 <= ord(c) <= 0xDFFF else escape(c) for c in value)


def json_feed(items: list[dict[str, str]]) -> bytes:
    entries = [
        {"id": i["id"], "url": i["url"], "title": i["title"], "summary": i["summary"], "date_published": i["date"]}
        for i in items
    ]
    # ensure_ascii: a lone surrogate goes out as the JSON escape "\ud800", as hostile feeds send it.
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": entries}).encode()


def rss_feed(items: list[dict[str, str]]) -> bytes:
    body = "".join(
        f"<item><guid>{_xml_text(i['id'])}</guid><link>{_xml_text(i['url'])}</link><title>{_xml_text(i['title'])}</title>"
        f"<description>{_xml_text(i['summary'])}</description><pubDate>{i['date']}</pubDate></item>"
        for i in items
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
    return f"{head}{body}</channel></rss>".encode()


def rss_date(iso: str) -> str:
    """The same instant as RFC 822 for RSS where it parses; the raw string otherwise."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return when.strftime("%a, %d %b %Y %H:%M:%S ") + when.strftime("%z")


def good_entries(web: NewsWeb, tag: str) -> list[dict[str, str]]:
    return [
        {
            "id": f"ok-{tag}-{n}",
            "url": web.url(f"/ok/{tag}/{n}"),
            "title": f"Well-formed story {n}",
            "summary": f"A well-formed entry {tag} number {n} beside hostile ones.",
            "date": "2026-11-27T01:15:00+00:00",
        }
        for n in range(2)
    ]


def ingest_feed(db_url: str, web: NewsWeb, body: bytes, content_type: str) -> Any:
    """The feed served on `web` as a new source, ingested as a run does it; the source's outcome."""
    name = "src-" + uuid.uuid4().hex[:10]
    url = web.add(f"/{name}/feed", body, content_type)
    spec = SourceSpec(name=name, url=url, fetch_pages=False)
    plan = plan_ingest(db_url, [spec], True, 10)
    (batch,) = plan.batches
    (outcome,) = ingest_sources(db_url, batch.sources, batch.states, IngestOptions.from_settings(load_settings()))
    return outcome


def stored_urls(db_url: str, urls: list[str]) -> set[str]:
    with get_engine(db_url).connect() as conn:
        return set(conn.execute(select(Article.url).where(Article.url.in_(urls))).scalars())


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hostile=st.lists(HOSTILE, min_size=1, max_size=3), kind=st.sampled_from(["json", "rss"]))
def test_every_well_formed_entry_beside_hostile_ones_is_stored(
    db_url: str, web: NewsWeb, hostile: list[dict[str, str]], kind: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    bad = [dict(h, url=web.url(f"/bad/{tag}/{n}/") + h["path"]) for n, h in enumerate(hostile)]
    good = good_entries(web, tag)
    items = [bad[0], good[0], *bad[1:], good[1]]
    if kind == "rss":
        body = rss_feed([dict(i, date=rss_date(i["date"])) for i in items])
        outcome = ingest_feed(db_url, web, body, "application/rss+xml")
    else:
        outcome = ingest_feed(db_url, web, json_feed(items), "application/feed+json")
    assert outcome.error is None, outcome.error
    assert stored_urls(db_url, [g["url"] for g in good]) == {g["url"] for g in good}
    assert outcome.new + outcome.duplicates + len(outcome.rejected) <= outcome.entries


def test_a_date_past_year_9999_in_utc_leaves_the_entry_undated() -> None:
    from tasks.ingest.feeds import parse_feed

    items = [
        {"id": "a", "url": "https://a.example/a", "title": "A", "summary": "", "date": "9999-12-31T23:00:00-05:00"},
        {"id": "b", "url": "https://a.example/b", "title": "B", "summary": "", "date": "0001-01-01T00:00:00+05:00"},
        {"id": "c", "url": "https://a.example/c", "title": "C", "summary": "", "date": "2026-11-27T01:15:00Z"},
    ]
    feed = parse_feed(json_feed(items), "https://a.example/feed.json", timeout=5)
    assert [e.published for e in feed.entries] == [None, None, datetime(2026, 11, 27, 1, 15, tzinfo=UTC)]


@pytest.mark.parametrize("value", ["a\ud800b", "\udfff", "x\ud83d"])
def test_lone_surrogates_become_replacement_characters_at_the_parse_boundary(value: str) -> None:
    from tasks.ingest.feeds import parse_feed

    item = {"id": value, "url": "https://a.example/a", "title": value, "summary": value, "date": ""}
    (entry,) = parse_feed(json_feed([item]), "https://a.example/feed.json", timeout=5).entries
    for text in (entry.guid, entry.title, entry.summary):
        assert text is not None and "\ufffd" in text
        text.encode("utf-8")  # valid Unicode: no UnicodeEncodeError


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_beside_an_entry_the_index_cannot_hold_still_alerts(
    flow_db: str, web: NewsWeb, mekong: Watched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 3,000-character GUID and link in one source's feed (over PostgreSQL's 2,704-byte btree
    row) failed the batch, the task, the flow, and every run after it: no source got an alert."""
    rng = random.Random(16)
    tail = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(3000))
    entries = [
        {"title": "A link of 3,000 characters", "link": web.url(f"/long/{tail}"), "guid": f"tag:{tail}"},
        {"title": "An ordinary story", "link": web.url("/long/ordinary"), "guid": "ordinary"},
    ]
    feed = web.add("/long/feed.xml", rss("Long Links", web.url("/long/"), entries), "application/rss+xml")
    src, wl = write_config(tmp_path, [("Mekong Daily", mekong.site["feed"]), ("Long Links", feed)])
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        first = run_monitor(src, wl)
        assert first.sources_failed == 0 and first.alerts_sent == 1, first
        again = run_monitor(src, wl, force=True)  # the next run, the entry still listed
        assert again.sources_failed == 0 and again.new_articles == 0, again
    assert stored_urls(flow_db, [e["link"] for e in entries]) == {e["link"] for e in entries}
