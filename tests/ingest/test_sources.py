"""Politeness and source health through the real flow: conditional GET, due sources, backoff,
pausing with one ops notice, robots.txt, feed discovery, Retry-After; and the sources CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import repository
from storage.db import get_engine
from storage.models import Article, Source
from tests.helpers import TaggedTargets, Watched, cli, run_monitor, write_config
from tests.newsweb import TRAFFICKING_TITLE, NewsWeb, build_site, rss
from tests.receivers import JsonReceiver

pytestmark = pytest.mark.usefixtures("prefect_harness")


def feed_requests(web: NewsWeb, path: str) -> list[dict[str, str]]:
    return [headers for p, headers in web.requests if p == path]


def test_conditional_get_and_due_sources(web: NewsWeb, mekong: Watched) -> None:
    _, src, wl = mekong
    web.routes["/mekong/feed.xml"].headers = {"ETag": '"v1"', "Last-Modified": "Fri, 27 Nov 2026 01:15:00 GMT"}
    first = run_monitor(src, wl)
    assert first.new_articles == 3 and first.sources_not_modified == 0

    second = run_monitor(src, wl)  # within its 15-minute interval: not due, not fetched
    assert second.sources_not_due == 1 and second.sources_ok == 0
    assert len(feed_requests(web, "/mekong/feed.xml")) == 1

    page_hits = len(web.hits)
    forced = run_monitor(src, wl, force=True)  # a manual run may force it: the server answers 304
    assert forced.sources_ok == 1 and forced.sources_not_modified == 1 and forced.entries_seen == 0
    sent = feed_requests(web, "/mekong/feed.xml")[-1]
    assert sent.get("If-None-Match") == '"v1"' and sent.get("If-Modified-Since") == "Fri, 27 Nov 2026 01:15:00 GMT"
    assert len(web.hits) == page_hits + 1  # the feed only: no page fetched

    # The 304 sent no validators: the next request still carries the stored ones, not None.
    after_304 = run_monitor(src, wl, force=True)
    assert after_304.sources_not_modified == 1
    sent = feed_requests(web, "/mekong/feed.xml")[-1]
    assert sent.get("If-None-Match") == '"v1"' and sent.get("If-Modified-Since") == "Fri, 27 Nov 2026 01:15:00 GMT"

    web.routes["/mekong/feed.xml"].headers = None  # a server that ignores conditional GET, same bytes
    same = run_monitor(src, wl, force=True)
    assert same.sources_not_modified == 1 and same.entries_seen == 0


def test_failing_source_backs_off_pauses_notifies_ops_once_and_recovers(
    web: NewsWeb, tmp_path: Path, home_db: str, monkeypatch: pytest.MonkeyPatch, tagged_targets: TaggedTargets
) -> None:
    site = build_site(web)
    web.add("/flaky/feed.xml", "down", "text/plain", status=503)
    src, wl = write_config(tmp_path, [("Mekong Daily", site["feed"]), ("Flaky", web.url("/flaky/feed.xml"))])
    monkeypatch.setenv("NEWSWATCH_PAUSE_AFTER_FAILURES", "2")
    with JsonReceiver() as ops, JsonReceiver() as analysts:
        tagged_targets({"ops": ops, "analysts": analysts})
        for _ in range(3):
            summary = run_monitor(src, wl, force=True)
            assert summary.sources_failed == 1 and "Flaky: HTTP 503" in summary.failures[0]
        assert len(analysts.posts) == 1 and TRAFFICKING_TITLE in analysts.posts[0]["title"]  # alerts: not ops
        assert len(ops.posts) == 1  # one notice, although the source failed again after the pause
        assert "source paused: Flaky" in ops.posts[0]["title"] and "HTTP 503" in ops.posts[0]["message"]

        flaky = repository.source_states(home_db)["Flaky"]
        assert flaky.paused_at is not None and flaky.consecutive_failures == 3
        web.add("/flaky/feed.xml", rss("Flaky", web.url("/flaky"), []), "application/rss+xml")
        run_monitor(src, wl, force=True)
        healed = repository.source_states(home_db)["Flaky"]
        assert healed.paused_at is None and healed.consecutive_failures == 0 and healed.last_error is None


def test_retry_after_defers_the_source(web: NewsWeb, tmp_path: Path, home_db: str) -> None:
    web.add("/busy/feed.xml", "slow down", "text/plain", status=429, headers={"Retry-After": "3600"})
    src, wl = write_config(tmp_path, [("Busy", web.url("/busy/feed.xml"))])
    summary = run_monitor(src, wl)
    assert summary.sources_failed == 1 and "429" in summary.failures[0]
    busy = repository.source_states(home_db)["Busy"]
    assert busy.consecutive_failures == 0  # the server's request to wait is not the source's failure
    with get_engine(home_db).connect() as conn:
        next_attempt, fetched = conn.execute(select(Source.next_attempt_at, Source.last_fetched_at)).one()
    assert 3500 < (next_attempt - fetched).total_seconds() <= 3600


def test_robots_txt_is_obeyed_for_pages_not_feeds(web: NewsWeb, mekong: Watched, home_db: str) -> None:
    _, src, wl = mekong
    web.add("/robots.txt", "User-agent: *\nDisallow: /mekong/national/\n", "text/plain")
    summary = run_monitor(src, wl)
    assert summary.new_articles == 3 and summary.matches == 1  # matched on the feed's summary
    assert "/mekong/national/officials-traffickers" not in web.hits
    with get_engine(home_db).connect() as conn:
        origin, note = conn.execute(
            select(Article.text_origin, Article.text_note).where(Article.title == TRAFFICKING_TITLE)
        ).one()
    assert origin == "feed" and note == "robots.txt disallows the page"
    assert web.hits.count("/robots.txt") == 1


def home_page(web: NewsWeb) -> str:
    """The home page of build_site's Mekong Daily, announcing its feed; its URL."""
    return web.add(
        "/mekong/",
        '<html><head><link rel="alternate" type="application/rss+xml" '
        'href="/mekong/feed.xml"></head><body>Home</body></html>',
    )


def test_html_page_source_uses_the_feed_it_announces(web: NewsWeb, tmp_path: Path, home_db: str) -> None:
    site = build_site(web)
    home = home_page(web)
    src, wl = write_config(tmp_path, [("Mekong Daily", home)])
    summary = run_monitor(src, wl)
    assert summary.sources_ok == 1 and summary.new_articles == 3
    artifact_health = repository.source_health(home_db)
    assert artifact_health[0].last_success_at is not None and site["feed"]


def test_sources_cli_list_test_and_add(web: NewsWeb, tmp_path: Path) -> None:
    site = build_site(web)
    home = home_page(web)
    sources = tmp_path / "sources.yaml"
    sources.write_text("# my sources\nsources:\n  - name: Other\n    url: https://other.example/rss  # keep me\n")
    env = {"NEWSWATCH_HOME": str(tmp_path / "home")}

    tested = cli(["sources", "test", home, "--json"], env, timeout=60)
    assert tested.returncode == 0, tested.stderr
    report = json.loads(tested.stdout)
    assert report["kind"] == "feed" and report["feed_type"] == "rss20" and report["entries"] == 4
    assert report["feeds_found"] == [site["feed"]] and report["title"] == "Mekong Daily"

    added = cli(["sources", "add", home, "--tag", "cambodia", "--interval", "30m", "--sources", str(sources)], env, 60)
    assert added.returncode == 0, added.stderr
    text = sources.read_text()
    assert text.startswith("# my sources\n") and "# keep me" in text  # comments kept
    assert "name: Mekong Daily" in text and f"url: {site['feed']}" in text and "interval: 30m" in text
    again = cli(["sources", "add", home, "--sources", str(sources)], env, 60)
    assert again.returncode == 2 and "already listed" in again.stderr

    listed = cli(["sources", "list", "--json", "--sources", str(sources)], env, 60)
    assert listed.returncode == 0, listed.stderr
    rows = {r["source"]: r for r in json.loads(listed.stdout)}
    assert rows["Mekong Daily"]["status"] == "new" and rows["Other"]["status"] == "new"

    broken = cli(["sources", "test", web.url("/nothing-here")], env, 60)
    assert broken.returncode == 1 and "HTTP 404" in broken.stdout
