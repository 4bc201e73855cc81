"""`newswatch export` and `newswatch prune` (storage.archive, deploy.cli_archive), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from deploy.cli_archive import register
from storage import archive, repository
from storage.db import get_engine
from storage.models import Alert, Article, ArticleRevision, Judgment, Match, StoryTopic, Tombstone
from storage.records import MatchRecord, Target
from tests.helpers import Watched, count_rows, numbered_article, run_monitor, stored_article
from tests.newsweb import TRAFFICKING_PARAGRAPHS, TRAFFICKING_TITLE, NewsWeb, article_page, rss

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)
NEW = NOW - timedelta(days=2)


def _populate(db_url: str) -> dict[str, list[int]]:
    """Old articles (1-3: matched, alert delivered; 4: alert pending) and new ones (5-6: matched)."""
    src = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])["A"]
    old = repository.insert_articles(db_url, [numbered_article(src, n, published_at=OLD) for n in (1, 2, 3)]).new_ids
    pending = repository.insert_articles(db_url, [numbered_article(src, 4, published_at=OLD)]).new_ids
    new = repository.insert_articles(db_url, [numbered_article(src, n, published_at=NEW) for n in (5, 6)]).new_ids
    everything = old + pending + new
    repository.set_stories(db_url, [(a, a) for a in everything])
    stories: dict[int, int | None] = {a: a for a in everything}
    targets = {"ht": [Target("t1", "json://one")]}

    def match(a: int) -> MatchRecord:
        indicators = {"means": ["traffickers"]} if a == old[0] else {}
        return MatchRecord("ht", a, ["traffick*"], ["traffickers"], "About traffickers.", "text", indicators=indicators)

    repository.save_matches(db_url, old + new, [match(a) for a in old + new], targets, "sent", stories=stories)
    repository.save_matches(db_url, pending, [match(a) for a in pending], targets, "pending", stories=stories)
    with get_engine(db_url).begin() as conn:
        conn.execute(
            ArticleRevision.__table__.insert().values(  # type: ignore[attr-defined]
                article_id=old[0], revision=1, title="Old title", text="Old text", fetched_at=OLD
            )
        )
    return {"old": old, "pending": pending, "new": new}


def test_prune_keeps_tombstones_and_pending_alerts(db_url: str) -> None:
    ids = _populate(db_url)
    assert (
        count_rows(db_url, Match) == 6
        and count_rows(db_url, StoryTopic) == 6
        and count_rows(db_url, ArticleRevision) == 1
    )
    cutoff = NOW - timedelta(days=180)
    assert archive.count_prunable(db_url, cutoff) == 3
    assert archive.prune(db_url, cutoff, chunk=2) == 3  # two chunks
    with get_engine(db_url).connect() as conn:
        left = set(conn.execute(select(Article.id)).scalars())  # type: ignore[call-overload]
        alert_articles = set(conn.execute(select(Alert.article_id)).scalars())  # type: ignore[call-overload]
    assert left == set(ids["pending"] + ids["new"])
    assert alert_articles == left
    assert (
        count_rows(db_url, Match) == 3
        and count_rows(db_url, StoryTopic) == 3
        and count_rows(db_url, ArticleRevision) == 0
    )
    assert count_rows(db_url, Tombstone) == 3

    urls = [f"https://news.example/a/{n}" for n in range(1, 7)]
    assert archive.is_tombstoned(db_url, urls, []) == set(urls[:3])
    assert archive.is_tombstoned(db_url, [], [f"{n:064d}" for n in (2, 5)]) == {f"{2:064d}"}
    assert archive.is_tombstoned(db_url, [], []) == set()
    assert archive.prune(db_url, cutoff) == 0  # nothing left to prune; the pending one stays
    assert archive.count_prunable(db_url, cutoff) == 0


def test_prune_twice_the_same_url_keeps_one_tombstone(db_url: str) -> None:
    src = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])["A"]
    repository.insert_articles(db_url, [numbered_article(src, 1, published_at=OLD)])
    assert archive.prune(db_url, NOW) == 1
    repository.insert_articles(db_url, [numbered_article(src, 1, published_at=OLD)])  # ingested again, not checked
    assert archive.prune(db_url, NOW) == 1
    assert count_rows(db_url, Tombstone) == 1


def test_export_rows_filters_and_json_safe(db_url: str) -> None:
    ids = _populate(db_url)
    articles = list(archive.export_rows(db_url, "articles", chunk=2))
    assert [a["id"] for a in articles] == sorted(ids["old"] + ids["pending"] + ids["new"])
    assert articles[0]["source"] == "A" and articles[0]["title"] == "Title 1"
    assert datetime.fromisoformat(articles[0]["published_at"]) == OLD
    json.dumps(articles)  # every value JSON-safe
    recent = list(archive.export_rows(db_url, "articles", since=NOW - timedelta(days=30)))
    assert [a["id"] for a in recent] == ids["new"]
    assert list(archive.export_rows(db_url, "articles", topic="nope")) == []
    assert len(list(archive.export_rows(db_url, "articles", topic="ht"))) == 6
    matches = list(archive.export_rows(db_url, "matches", topic="ht"))
    assert len(matches) == 6 and matches[0]["terms"] == ["traffick*"] and matches[0]["article_title"] == "Title 1"
    assert [m["indicators"] for m in matches] == [{"means": ["traffickers"]}] + [{}] * 5
    alerts = list(archive.export_rows(db_url, "alerts", since=NOW - timedelta(hours=1)))
    assert sorted(a["status"] for a in alerts) == ["pending"] + ["sent"] * 5
    json.dumps(alerts)
    with pytest.raises(ValueError):
        list(archive.export_rows(db_url, "sources"))  # type: ignore[arg-type]


ARTICLE_COLUMNS = [
    "id", "source", "canonical_url", "url", "title", "author", "published_at", "fetched_at", "language",
    "story_id", "revision", "content_hash", "text_origin", "summary", "text",
]  # fmt: skip
MATCH_COLUMNS = [
    "id", "topic", "article_id", "article_url", "article_title", "terms", "words", "hit_field", "hit_sentence",
    "indicators", "created_at",
]  # fmt: skip
ALERT_COLUMNS = [
    "id", "topic", "match_id", "article_id", "article_url", "article_title", "target", "target_label", "status",
    "digest", "attempts", "last_error", "created_at", "sent_at",
]  # fmt: skip


def test_export_rows_every_column_and_each_filter_at_its_bound(db_url: str) -> None:
    """Each exported column by name with its value, and the filters at their edges: `since` equal
    to a row's time keeps the row, a topic keeps only the articles it matched, no filter keeps all
    (the test above checked four columns, and `since` well inside the range)."""
    ids = _populate(db_url)
    src = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])["A"]
    (unmatched,) = repository.insert_articles(db_url, [numbered_article(src, 7, published_at=NEW)]).new_ids
    (undated,) = repository.insert_articles(db_url, [numbered_article(src, 8, published_at=None)]).new_ids
    articles = {a["id"]: a for a in archive.export_rows(db_url, "articles")}
    first = articles[ids["old"][0]]
    assert list(first) == ARTICLE_COLUMNS
    assert {k: v for k, v in first.items() if k not in ("id", "fetched_at", "published_at", "revision")} == {
        "source": "A",
        "canonical_url": "https://news.example/a/1",
        "url": "https://news.example/a/1?x=1",
        "title": "Title 1",
        "author": None,
        "language": "en",
        "story_id": ids["old"][0],
        "content_hash": f"{1:064d}",
        "text_origin": "page",
        "summary": "s",
        "text": "text 1 " * 40,
    }
    assert first["revision"] is not None
    assert datetime.fromisoformat(first["fetched_at"]) > NOW - timedelta(hours=1)
    since_new = [a["id"] for a in archive.export_rows(db_url, "articles", since=NEW)]  # published exactly at NEW
    assert since_new == ids["new"] + [unmatched, undated]  # the undated one by its fetch time
    assert [a["id"] for a in archive.export_rows(db_url, "articles", topic="ht")] == sorted(
        ids["old"] + ids["pending"] + ids["new"]
    )

    matches = list(archive.export_rows(db_url, "matches"))
    assert len(matches) == 6 and list(matches[0]) == MATCH_COLUMNS
    assert (matches[0]["article_url"], matches[0]["hit_field"], matches[0]["hit_sentence"]) == (
        "https://news.example/a/1?x=1",
        "text",
        "About traffickers.",
    )
    latest = max(datetime.fromisoformat(m["created_at"]) for m in matches)
    at_latest = [m["id"] for m in matches if datetime.fromisoformat(m["created_at"]) == latest]
    assert [m["id"] for m in archive.export_rows(db_url, "matches", since=latest)] == at_latest

    alerts = list(archive.export_rows(db_url, "alerts"))
    assert len(alerts) == 6 and list(alerts[0]) == ALERT_COLUMNS
    assert [alerts[0][k] for k in ("match_id", "article_id", "target")] == [matches[0]["id"], first["id"], "t1"]
    assert list(archive.export_rows(db_url, "alerts", topic="ht")) == alerts
    assert list(archive.export_rows(db_url, "alerts", topic="nope")) == []
    latest = max(datetime.fromisoformat(a["created_at"]) for a in alerts)
    at_latest = [a["id"] for a in alerts if datetime.fromisoformat(a["created_at"]) == latest]
    assert [a["id"] for a in archive.export_rows(db_url, "alerts", since=latest)] == at_latest
    with pytest.raises(ValueError, match=r"^unknown export kind 'sources': use one of articles, matches, alerts$"):
        list(archive.export_rows(db_url, "sources"))  # type: ignore[arg-type]


def test_prune_dates_an_undated_article_by_its_fetch_and_keeps_one_at_the_cutoff(db_url: str) -> None:
    """An article without a publication date is as old as its fetch; one published exactly at the
    cutoff is not older than it and stays. Judgments of the articles kept stay too."""
    ids = _populate(db_url)
    src = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])["A"]
    cutoff = NOW - timedelta(days=180)
    (undated,) = repository.insert_articles(db_url, [numbered_article(src, 7, published_at=None)]).new_ids
    (at_cutoff,) = repository.insert_articles(db_url, [numbered_article(src, 8, published_at=cutoff)]).new_ids
    with get_engine(db_url).begin() as conn:
        conn.execute(Article.__table__.update().where(Article.__table__.c.id == undated).values(fetched_at=OLD))  # type: ignore[attr-defined]
    with get_engine(db_url).connect() as conn:
        alert_of: dict[int, int] = dict(conn.execute(select(Alert.article_id, Alert.id)).all())  # type: ignore[call-overload]
    for article in (ids["old"][0], ids["new"][0]):
        assert repository.judge_alert(db_url, alert_of[article], True, None, "analyst") is not None
    assert archive.count_prunable(db_url, cutoff) == 4  # the three old ones and the undated one
    assert archive.prune(db_url, cutoff) == 4
    with get_engine(db_url).connect() as conn:
        left = set(conn.execute(select(Article.id)).scalars())  # type: ignore[call-overload]
        judged = set(conn.execute(select(Judgment.article_id)).scalars())  # type: ignore[call-overload]
    assert left == set(ids["pending"] + ids["new"] + [at_cutoff])
    assert judged == {ids["new"][0]}


def test_is_tombstoned_reads_long_lists_in_parts(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """URLs and hashes are looked up IN_LIST_MAX at a time: with two a query, five of each take three."""
    src = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])["A"]
    repository.insert_articles(db_url, [numbered_article(src, n, published_at=OLD) for n in range(1, 6)])
    assert archive.prune(db_url, NOW - timedelta(days=1)) == 5
    monkeypatch.setattr(archive, "IN_LIST_MAX", 2)
    urls = [f"https://news.example/a/{n}" for n in range(1, 8)]
    hashes = [f"{n:064d}" for n in range(1, 8)]
    assert archive.is_tombstoned(db_url, urls, []) == set(urls[:5])
    assert archive.is_tombstoned(db_url, [], hashes) == set(hashes[:5])


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_export_and_prune(db_url: str, tmp_path: Path) -> None:
    ids = _populate(db_url)
    runner = CliRunner()
    app = _app()

    result = runner.invoke(app, ["export", "--db", db_url, "--since", "30d"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row["id"] for row in lines] == ids["new"]

    target = tmp_path / "matches.csv"
    args = ["export", "--kind", "matches", "--format", "csv", "--topic", "ht", "--output", str(target), "--db", db_url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 6 and rows[0]["topic"] == "ht" and rows[0]["words"] == "traffickers"  # a list: "a; b"
    assert json.loads(rows[0]["indicators"]) == {"means": ["traffickers"]} and rows[1]["indicators"] == "{}"
    assert list(rows[0])[:3] == ["id", "topic", "article_id"]

    assert runner.invoke(app, ["export", "--format", "xml", "--db", db_url]).exit_code == 2
    assert runner.invoke(app, ["export", "--kind", "sources", "--db", db_url]).exit_code == 2
    assert runner.invoke(app, ["prune", "--older-than", "soon", "--db", db_url]).exit_code == 2

    result = runner.invoke(app, ["prune", "--older-than", "180d", "--dry-run", "--db", db_url])
    assert result.exit_code == 0 and "3 articles" in result.stdout, result.output
    assert count_rows(db_url, Article) == 6
    result = runner.invoke(app, ["prune", "--older-than", "180d", "--db", db_url])
    assert result.exit_code == 0 and "pruned 3" in result.stdout, result.output
    assert count_rows(db_url, Article) == 3 and count_rows(db_url, Tombstone) == 3


def test_export_streams_with_flat_memory(db_url: str) -> None:
    src = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])["A"]
    big = "x" * 5000
    for start in range(0, 5000, 1000):
        records = [
            stored_article(
                src,
                f"https://news.example/big/{n}",
                f"Big {n}",
                f"{n} {big}",
                published_at=NEW,
                language="en",
                text_origin="feed",
            )
            for n in range(start, start + 1000)
        ]
        repository.insert_articles(db_url, records)
    get_engine(db_url)  # engine and schema ready before measuring
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        count = 0
        sink = io.StringIO()
        for row in archive.export_rows(db_url, "articles"):
            count += 1
            if count % 1000 == 0:
                sink = io.StringIO()  # the output goes somewhere else: only the reading is measured
            sink.write(json.dumps(row))
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert count == 5000
    # The whole export is 25 MB of text, more than the bound; one chunk of 1000 rows is ~5 MB.
    assert peak < 20 * 1024 * 1024, peak


# The mekong site's articles were published on 2026-11-27 (tests.newsweb.build_site): a cutoff
# after that, whatever today's date (a cutoff counted back from the clock held only after it).
AFTER_MEKONG = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.usefixtures("prefect_harness")
def test_pruned_articles_are_not_ingested_again(web: NewsWeb, mekong: Watched, home_db: str) -> None:
    _, src, wl = mekong
    assert run_monitor(src, wl).new_articles == 3
    assert archive.prune(home_db, AFTER_MEKONG) == 3
    web.routes["/mekong/feed.xml"].body += b"\n"  # other bytes: parsed again, not skipped as unchanged
    again = run_monitor(src, wl, force=True)
    assert again.new_articles == 0 and again.already_known == 3 and again.matches == 0


@pytest.mark.usefixtures("prefect_harness")
def test_a_pruned_story_relisted_with_a_tracking_parameter_and_a_changed_page_stays_pruned(
    web: NewsWeb, mekong: Watched, home_db: str
) -> None:
    """Tombstones are looked up by canonical URL: the feed now lists the pruned story only under
    ?utm_source=rss, with another GUID, and its page changed (so its text's hash is new too)."""
    site, src, wl = mekong
    assert run_monitor(src, wl).new_articles == 3
    assert archive.prune(home_db, AFTER_MEKONG) == 3
    path = site["story"].removeprefix(web.base)
    changed = [*TRAFFICKING_PARAGRAPHS, "Update: a fourth official was arrested on Friday, police said."]
    web.add(path, article_page(TRAFFICKING_TITLE + " (updated)", changed, "Mekong Daily"))
    relisted = {"title": TRAFFICKING_TITLE, "link": site["story"] + "?utm_source=rss", "guid": "mekong-1001-v2"}
    web.add("/mekong/feed.xml", rss("Mekong Daily", web.url("/mekong"), [relisted]), "application/rss+xml")
    again = run_monitor(src, wl, force=True)
    assert again.new_articles == 0 and again.already_known == 1 and again.matches == 0
    assert count_rows(home_db, Article) == 0
