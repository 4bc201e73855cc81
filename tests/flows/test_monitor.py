"""The monitor flow end to end, on Prefect's real engine, against a local news web and real
receivers (SMTP via aiosmtpd, a json:// webhook)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage.db import get_engine
from storage.models import Alert, Article, Match
from tests.helpers import Watched, count_rows, run_monitor, write_config
from tests.newsweb import TRAFFICKING_TITLE, NewsWeb, build_site, rss
from tests.receivers import JsonReceiver, SmtpReceiver

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_email_alert_once_with_content(flow_db: str, mekong: Watched, monkeypatch: pytest.MonkeyPatch) -> None:
    site, src, wl = mekong
    with SmtpReceiver() as smtp:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", smtp.apprise_url())
        summary = run_monitor(src, wl)
        assert (summary.sources_ok, summary.sources_failed) == (1, 0)
        assert summary.entries_seen == 4
        assert summary.new_articles == 3 and summary.duplicates == 1  # tracking-URL copy stored once
        assert summary.matches == 1 and summary.alerts_sent == 1 and summary.alerts_failed == 0
        assert len(smtp.messages) == 1
        mail = smtp.messages[0]
        assert TRAFFICKING_TITLE in str(mail["Subject"])
        text = SmtpReceiver.text_of(mail)
        for needle in (
            TRAFFICKING_TITLE,
            "Mekong Daily",
            "2026-11-27 01:15 UTC",
            site["story"],
            "accused of colluding with human traffickers who lured workers",
            "human-trafficking",
        ):
            assert needle in text, needle
        assert "<strong>human traffickers</strong>" in text or "**human traffickers**" in text

        again = run_monitor(src, wl, force=True)  # forced: fetched again, the same bytes
        assert again.sources_not_modified == 1
        assert again.new_articles == 0 and again.matches == 0
        assert again.alerts_sent == 0
        assert len(smtp.messages) == 1
    assert count_rows(flow_db, Article) == 3 and count_rows(flow_db, Match) == 1 and count_rows(flow_db, Alert) == 1
    with get_engine(flow_db).connect() as conn:
        origin = conn.execute(select(Article.text_origin).where(Article.title == TRAFFICKING_TITLE)).scalar_one()
        text = conn.execute(select(Article.text).where(Article.title == TRAFFICKING_TITLE)).scalar_one()
    assert origin == "page" and "Victims described being held" in text
    assert "Related stories" not in text and "All rights reserved" not in text  # boilerplate left out


def test_failing_sources_do_not_stop_the_others(web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = build_site(web)
    web.add("/broken/feed.xml", "oops", "text/plain", status=500)
    web.add("/html/feed.xml", "<!DOCTYPE html><html><body><p>Welcome to our homepage</p></body></html>")
    web.add("/garbage/feed.xml", b"\x00\xff\xfe garbage \x89PNG", "application/octet-stream")
    silent = socket.socket()  # accepts connections (backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setenv("NEWSWATCH_READ_TIMEOUT", "1")
    src, wl = write_config(
        tmp_path,
        [
            ("Broken", web.url("/broken/feed.xml")),
            ("Homepage", web.url("/html/feed.xml")),
            ("Garbage", web.url("/garbage/feed.xml")),
            ("Nowhere", "http://127.0.0.1:9/feed.xml"),  # refused
            ("No such host", "http://no-such-host.invalid/feed.xml"),  # DNS fails (.invalid never resolves)
            ("Silent", f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml"),
            ("Internal", "http://127.0.0.2:8080/feed.xml"),  # loopback, not in NEWSWATCH_ALLOW_PRIVATE
            ("Mekong Daily", site["feed"]),
        ],
    )
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        summary = run_monitor(src, wl)
        assert summary.sources_ok == 1 and summary.sources_failed == 7
        reasons = "\n".join(summary.failures)
        assert "Broken: HTTP 500" in reasons
        assert "Homepage: HTML page, not a feed" in reasons
        assert "Garbage: not a feed" in reasons
        assert "Nowhere: connection refused" in reasons
        assert "No such host: DNS lookup failed" in reasons
        assert "Silent: read timeout" in reasons
        assert "Internal: refused: 127.0.0.2 is a loopback address" in reasons
        assert summary.alerts_sent == 1 and len(hook.posts) == 1
        assert TRAFFICKING_TITLE in hook.posts[0]["title"]
    silent.close()


def test_page_that_cannot_be_fetched_falls_back_to_the_feed_summary(flow_db: str, web: NewsWeb, tmp_path: Path) -> None:
    items = [
        {
            "title": "Border raid frees workers",
            "link": web.url("/gone/story"),
            "guid": "g1",
            "summary": "Police freed forty workers held in debt bondage at a compound near the border.",
        },
        {
            "title": "Empty page",
            "link": web.add("/empty/story", "<html><body><nav>Home</nav></body></html>"),
            "guid": "g2",
            "summary": "A page with no article on it.",
        },
    ]
    feed = web.add("/f.xml", rss("Border News", web.url("/"), items), "application/rss+xml")
    src, wl = write_config(tmp_path, [("Border News", feed)])
    summary = run_monitor(src, wl)
    assert summary.new_articles == 2 and summary.matches == 1
    with get_engine(flow_db).connect() as conn:
        rows = {
            r.title: r
            for r in conn.execute(select(Article.title, Article.text, Article.text_origin, Article.text_note))
        }
    gone = rows["Border raid frees workers"]
    assert gone.text_origin == "feed" and "debt bondage" in gone.text and "HTTP 404" in gone.text_note
    empty = rows["Empty page"]
    assert empty.text_origin == "feed" and empty.text_note == "page had no extractable article text"


def test_dry_run_sends_nothing_and_later_runs_do_not_send_it(mekong: Watched, monkeypatch: pytest.MonkeyPatch) -> None:
    _, src, wl = mekong
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        summary = run_monitor(src, wl, dry_run=True)
        assert summary.matches == 1 and summary.alerts_sent == 0 and summary.alerts_pending == 0
        assert run_monitor(src, wl).alerts_sent == 0
        assert hook.posts == []


def test_pending_alert_is_delivered_when_the_notifier_is_back(
    flow_db: str, mekong: Watched, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, src, wl = mekong
    hook = JsonReceiver()  # not started: the port refuses
    monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
    down = run_monitor(src, wl)
    assert down.matches == 1 and down.alerts_sent == 0 and down.alerts_failed == 1 and down.alerts_pending == 1
    with get_engine(flow_db).connect() as conn:
        alert = conn.execute(select(Alert)).one()
    assert alert.status == "pending" and alert.attempts == 1 and alert.last_error
    assert 50 < (alert.next_attempt_at - alert.created_at).total_seconds() < 70  # retried after a minute
    assert run_monitor(src, wl).alerts_sent == 0  # not yet due: backoff
    with get_engine(flow_db).begin() as conn:  # a minute later
        conn.execute(update(Alert).values(next_attempt_at=alert.created_at))
    with hook:
        back = run_monitor(src, wl)
        assert back.alerts_sent == 1 and back.alerts_pending == 0 and len(hook.posts) == 1
        assert run_monitor(src, wl).alerts_sent == 0 and len(hook.posts) == 1


def test_new_guid_and_new_article_later(web: NewsWeb, mekong: Watched, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feed that re-issues a stored article under a new GUID stores nothing; a new story alerts."""
    site, src, wl = mekong
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        assert run_monitor(src, wl).alerts_sent == 1
        from tests.newsweb import article_page

        later = web.add(
            "/mekong/national/debt",
            article_page(
                "Brick kiln families trapped in debt bondage, report says",
                [
                    "Families working at brick kilns outside Phnom Penh remain trapped in debt bondage, "
                    "a new report said, "
                    "with loans passed from parents to children over many years.",
                    "Researchers interviewed more than one hundred workers at kilns in Kandal province.",
                ],
                "Mekong Daily",
            ),
        )
        items = [
            {"title": TRAFFICKING_TITLE, "link": site["story"], "guid": "brand-new-guid"},
            {"title": "Brick kiln families trapped in debt bondage, report says", "link": later, "guid": "m-3000"},
        ]
        web.add("/mekong/feed.xml", rss("Mekong Daily", web.url("/mekong"), items), "application/rss+xml")
        second = run_monitor(src, wl, force=True)
        assert second.new_articles == 1 and second.already_known == 1
        assert second.alerts_sent == 1 and len(hook.posts) == 2
        assert "debt bondage" in hook.posts[1]["message"]


def test_console_alert_when_no_notifier(mekong: Watched, capsys: pytest.CaptureFixture[str]) -> None:
    site, src, wl = mekong
    summary = run_monitor(src, wl)
    assert summary.alerts_sent == 1
    printed = capsys.readouterr().out
    assert "=== ALERT: [newswatch] human-trafficking: " + TRAFFICKING_TITLE in printed
    assert site["story"] in printed


def test_apprise_config_file_with_two_targets_and_the_run_artifact(
    mekong: Watched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Targets from an Apprise YAML config (NEWSWATCH_APPRISE_CONFIG); the default SQLite file in
    WAL mode; the run's Markdown artifact lists counts and the new match."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort
    from sqlalchemy import text

    site, src, wl = mekong
    with JsonReceiver() as one, SmtpReceiver() as smtp:
        config = tmp_path / "apprise.yaml"
        config.write_text(f"urls:\n  - {one.apprise_url()}\n  - {smtp.apprise_url()}\n")
        monkeypatch.setenv("NEWSWATCH_APPRISE_CONFIG", str(config))
        summary = run_monitor(src, wl)
        assert summary.alerts_sent == 2 and len(one.posts) == 1 and len(smtp.messages) == 1
    db_file = tmp_path / "home" / "newswatch.db"  # NEWSWATCH_HOME is tmp/home (conftest)
    assert db_file.exists()
    with get_engine(f"sqlite:///{db_file}").connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["newswatch-run"])),
            sort=ArtifactSort.CREATED_DESC,  # the newest first: the session's server holds many
            limit=5,
        )
    latest = max(artifacts, key=lambda a: a.created)
    assert "| Entries | 4 seen, 0 already stored, 3 new articles, 1 duplicates, 0 revised |" in str(latest.data)
    assert "| Alerts | 2 sent, 0 failed, 0 pending |" in str(latest.data)
    assert f"### 1. [{TRAFFICKING_TITLE}]({site['story']})" in str(latest.data)
    assert "**human traffickers**" in str(latest.data)

    import re

    from prefect.client.schemas.sorting import FlowRunSort

    run_id = latest.flow_run_id
    from prefect.client.schemas.filters import ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(run_id)
        # Filtered by the server: the session's server holds every test's artifacts, more than a page.
        mine = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
        assert client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)
    assert re.fullmatch(r"monitor-\d{4}-\d\d-\d\dT\d\d:\d\dZ-1-match", flow_run.name), flow_run.name
    kinds = {(a.type, a.key) for a in mine}
    # (newswatch-sources is stored only when a source's state changed: tests/flows/test_report.py)
    assert {("table", "newswatch-matches"), ("markdown", "newswatch-run")} <= kinds
    assert all(a.key and a.description for a in mine), [(a.type, a.key) for a in mine]  # issue #19 item 3
    # No artifact per article (issue #18: a key each in the UI's list, bytes in Prefect's
    # database): the report's block links to it.
    assert {a.key for a in mine} <= {"newswatch-run", "newswatch-matches", "newswatch-sources"}


def test_missing_apprise_config_file_fails_the_run_before_fetching(
    web: NewsWeb, mekong: Watched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.alerting import NotifyConfigError

    _, src, wl = mekong
    monkeypatch.setenv("NEWSWATCH_APPRISE_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(NotifyConfigError, match="missing.yaml"):
        run_monitor(src, wl)
    assert web.hits == []


def test_a_page_declaring_the_wrong_language_is_filed_by_its_text_and_keeps_both(
    flow_db: str, web: NewsWeb, tmp_path: Path
) -> None:
    """Issue #19 item 13: an English story on a page that says lang="de" is matched as English,
    and the article records what the page declared."""
    from tests.newsweb import TRAFFICKING_PARAGRAPHS, article_page

    site = build_site(web)
    web.add(
        "/mekong/national/officials-traffickers",
        article_page(TRAFFICKING_TITLE, TRAFFICKING_PARAGRAPHS, "M", lang="de"),
    )
    run_monitor(*write_config(tmp_path, [("Mekong Daily", site["feed"])]))
    with get_engine(flow_db).connect() as conn:
        row = conn.execute(
            select(Article.language, Article.declared_language).where(Article.url == site["story"])
        ).one()
        other = conn.execute(select(Article.language, Article.declared_language).where(Article.url != site["story"]))
        assert tuple(row) == ("en", "de")
        assert {tuple(r) for r in other} == {("en", None)}  # a right declaration stands, nothing to keep
