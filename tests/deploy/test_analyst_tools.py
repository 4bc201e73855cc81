"""The analyst's tools to change a topic safely, end to end on a real archive (SQLite and
PostgreSQL, seeded through storage.repository, then `newswatch` in a process of its own):
`backtest TOPIC --against OLD_WATCHLIST`, `alerts mark`, `topics report`, `alerts export-labelled`
and `topics test --labelled` on what was exported; and each one's bad input (one line, exit 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import repository
from storage.db import dispose_all
from storage.records import MatchRecord, Target
from tests.helpers import cli, stored_article

NEW_WATCHLIST = """\
groups:
  held: ["debt bondage", "locked in", "passports confiscated"]
topics:
  - name: forced-labour
    query: "@held AND (kiln OR factory OR boat)"
  - name: wildlife
    terms: [pangolin]
"""
OLD_WATCHLIST = """\
topics:
  - name: forced-labour
    terms: ["forced labour", "debt bondage"]
"""
# (title, text): which version of forced-labour matches it
STORIES = [
    ("Kiln workers freed", "Forty kiln workers held in debt bondage were freed by police."),  # both
    ("Factory raid", "Inspectors found workers locked in a garment factory at night."),  # now only
    ("Forced labour law", "Parliament debated a forced labour bill on Tuesday."),  # before only
    ("Pangolins seized", "Customs seized pangolin scales at the port."),  # neither
]


def seed(db: str, tmp_path: Path) -> tuple[list[int], dict[str, str]]:
    """The stories in the archive, published yesterday; the article ids and the watchlist files."""
    source = repository.upsert_sources(db, [("Mekong Daily", "https://mekong.example/rss", ["kh"])])["Mekong Daily"]
    when = datetime.now(UTC) - timedelta(days=1)
    records = [
        stored_article(source, f"https://mekong.example/{i}", title, text, published_at=when, language="en")
        for i, (title, text) in enumerate(STORIES)
    ]
    ids = repository.insert_articles(db, records).new_ids
    files = {"new": tmp_path / "watchlist.yaml", "old": tmp_path / "old-watchlist.yaml"}
    files["new"].write_text(NEW_WATCHLIST)
    files["old"].write_text(OLD_WATCHLIST)
    return ids, {k: str(v) for k, v in files.items()}


def alert(db: str, article_ids: list[int]) -> dict[int, list[int]]:
    """forced-labour matches of these articles, alerted to two targets each: article -> alert ids."""
    matches = [MatchRecord("forced-labour", a, ["@held"], ["x"], STORIES[0][1], "text") for a in article_ids]
    targets = {"forced-labour": [Target("t1", "json://one"), Target("t2", "json://two")]}
    repository.save_matches(db, article_ids, matches, targets)
    rows = repository.list_alerts(db, limit=100)
    by_article: dict[int, list[int]] = {}
    for a in article_ids:
        title = STORIES[article_ids.index(a)][0]
        by_article[a] = sorted(r.id for r in rows if r.title == title)
    return by_article


def test_backtest_against_an_old_watchlist_shows_what_the_change_adds_and_removes(db_url: str, tmp_path: Path) -> None:
    ids, wl = seed(db_url, tmp_path)
    dispose_all()
    base = ["backtest", "forced-labour", "--against", wl["old"], "--watchlist", wl["new"], "--db", db_url]

    result = cli([*base, "--since", "7d", "--json"], {}, 60)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["scanned"], report["matched_now"], report["matched_before"]) == (4, 2, 2)
    assert report["new_topic"] is False and report["against"] == wl["old"]
    (added,) = report["added"]
    assert (added["id"], added["title"], added["source"]) == (ids[1], "Factory raid", "Mekong Daily")
    assert added["indicators"] == {"held": ["locked in"]} and added["published"][:10]
    (removed,) = report["removed"]
    assert (removed["id"], removed["title"]) == (ids[2], "Forced labour law")
    assert removed["clauses"] == ['"forced labour"'] and removed["words"] == ["Forced labour"]  # the title first

    shown = cli(base, {}, 60)
    assert shown.returncode == 0, shown.stderr
    assert "2 match now, 2 matched in" in shown.stdout
    assert "added (1)" in shown.stdout and "why now:" in shown.stdout and 'held: "locked in"' in shown.stdout
    assert "removed (1)" in shown.stdout and "why before:" in shown.stdout and "Forced labour law" in shown.stdout

    # A topic the old watchlist lacks: every match is new. One the current watchlist lacks: exit 2.
    new_topic = cli(["backtest", "wildlife", "--against", wl["old"], "--watchlist", wl["new"], "--db", db_url,
                     "--json"], {}, 60)  # fmt: skip
    assert new_topic.returncode == 0 and json.loads(new_topic.stdout)["new_topic"] is True
    assert [a["title"] for a in json.loads(new_topic.stdout)["added"]] == ["Pangolins seized"]
    unknown = cli(["backtest", "nope", "--against", wl["old"], "--watchlist", wl["new"], "--db", db_url], {}, 60)
    assert unknown.returncode == 2 and "'nope' is not a topic of the watchlist" in unknown.stderr
    missing = cli([*base[:3], str(tmp_path / "gone.yaml"), *base[4:]], {}, 60)
    assert missing.returncode == 2 and "gone.yaml" in missing.stderr and "Traceback" not in missing.stderr


def test_mark_report_export_and_test_the_labels(db_url: str, tmp_path: Path) -> None:
    ids, wl = seed(db_url, tmp_path)
    alerts = alert(db_url, ids[:3])
    repository.mark_alert(db_url, alerts[ids[0]][0], None)  # sent to one target
    dispose_all()
    db = ["--db", db_url]

    first = alerts[ids[0]]
    marked = cli(["alerts", "mark", str(first[0]), "--not-relevant", "--by", "mai", *db, "--json"], {}, 60)
    assert marked.returncode == 0, marked.stderr
    assert json.loads(marked.stdout) | {"judged_at": None} == {
        "alert_id": first[0],
        "topic": "forced-labour",
        "article_id": ids[0],
        "relevant": False,
        "note": None,
        "judged_by": "mai",
        "judged_at": None,
    }
    # The same article's alert to the other target: the judgment is replaced, not doubled.
    again = cli(["alerts", "mark", str(first[1]), "--relevant", "--note", "bonded kiln labour", *db], {}, 60)
    assert again.returncode == 0 and f"alert {first[1]} (forced-labour) marked relevant by" in again.stdout
    third = alerts[ids[2]][0]
    assert cli(["alerts", "mark", str(third), "--not-relevant", "--note", "a bill", *db], {}, 60).returncode == 0

    report = cli(["topics", "report", "--weeks", "2", *db, "--json"], {}, 60)
    assert report.returncode == 0, report.stderr
    (week,) = json.loads(report.stdout)
    assert (week["topic"], week["alerts"], week["sent"], week["judged"], week["relevant"]) == (
        "forced-labour",
        3,
        1,
        2,
        1,
    )
    assert week["precision"] == 0.5 and week["week"].startswith(str(datetime.now(UTC).isocalendar()[0]))
    table = cli(["topics", "report", *db], {}, 60)
    assert table.returncode == 0 and "forced-labour" in table.stdout and "0.50" in table.stdout

    exported = tmp_path / "judged.jsonl"
    done = cli(["alerts", "export-labelled", str(exported), "--topic", "forced-labour", *db, "--json"], {}, 60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"file": str(exported), "articles": 2, "relevant": 1, "not_relevant": 1}
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [(r["id"], r["wanted"], r["topic"], r["note"]) for r in lines] == [
        (ids[0], True, "forced-labour", "bonded kiln labour"),
        (ids[2], False, "forced-labour", "a bill"),
    ]
    assert lines[0]["title"] == "Kiln workers freed" and lines[0]["lang"] == "en" and lines[0]["alert"] == first[1]

    # The judged articles, as a labelled file, against the topic now and as it was.
    tested = cli(["topics", "test", "--labelled", str(exported), "--watchlist", wl["new"], "--json"], {}, 60)
    assert tested.returncode == 0, tested.stderr
    scores = json.loads(tested.stdout)
    assert scores["topic"] == "forced-labour" and scores["labels_for"] == "forced-labour"
    assert (scores["overall"]["precision"], scores["overall"]["recall"]) == (1.0, 1.0)
    before = cli(["topics", "test", "--labelled", str(exported), "--watchlist", wl["old"]], {}, 60)
    assert before.returncode == 0, before.stderr
    assert "false alerts (1)" in before.stdout and "Forced labour law" in before.stdout
    assert 'clauses: "forced labour"' in before.stdout


def test_bad_marks_are_one_clear_line(db_url: str, tmp_path: Path) -> None:
    ids, _ = seed(db_url, tmp_path)
    alerts = alert(db_url, ids[:1])
    dispose_all()
    db = ["--db", db_url]
    unknown = cli(["alerts", "mark", "999999", "--relevant", *db], {}, 60)
    assert unknown.returncode == 2 and "no alert 999999" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    real = str(alerts[ids[0]][0])
    both = cli(["alerts", "mark", real, "--relevant", "--not-relevant", *db], {}, 60)
    assert both.returncode == 2 and "one of --relevant and --not-relevant" in both.stderr
    neither = cli(["alerts", "mark", real, *db], {}, 60)
    assert neither.returncode == 2 and "one of --relevant and --not-relevant" in neither.stderr
    assert repository.judged_articles(db_url) == []
    weeks = cli(["topics", "report", "--weeks", "0", *db], {}, 60)
    assert weeks.returncode == 2 and "--weeks" in weeks.stderr


def test_a_bad_labelled_file_names_the_file_and_line(tmp_path: Path) -> None:
    good = {"id": "a", "lang": "en", "title": "Kiln", "text": "Workers held in debt bondage at a kiln.", "wanted": True}
    labelled = tmp_path / "labels.jsonl"
    labelled.write_text(json.dumps(good) + "\n" + json.dumps(good | {"id": "b", "wanted": "yes"}) + "\n")
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(NEW_WATCHLIST)
    base = ["topics", "test", "--labelled", str(labelled), "--watchlist", str(watchlist), "--topic", "forced-labour"]

    bad = cli(base, {}, 60)
    assert bad.returncode == 2 and f"{labelled}:2: 'wanted' missing or not a bool" in bad.stderr
    labelled.write_text(json.dumps(good) + "\n")
    several = cli(base[:-2], {}, 60)  # no --topic, two topics in the watchlist, none in the file
    assert several.returncode == 2 and "--topic" in several.stderr
    unknown = cli([*base[:-1], "nope"], {}, 60)
    assert unknown.returncode == 2 and "'nope' is not a topic" in unknown.stderr
    missing = cli(["topics", "test", "--labelled", str(tmp_path / "gone.jsonl"), "--topic", "x"], {}, 60)
    assert missing.returncode == 2 and "gone.jsonl: cannot read" in missing.stderr

    ok = cli(base, {}, 60)
    assert ok.returncode == 0, ok.stderr
    assert "forced-labour on" in ok.stdout and "misses (0)" in ok.stdout and "false alerts (0)" in ok.stdout
    draft = cli(["topics", "test", "pangolin", "--labelled", str(labelled), "--watchlist", str(watchlist), "--json"],
                {}, 60)  # fmt: skip
    assert draft.returncode == 0, draft.stderr
    assert [m["id"] for m in json.loads(draft.stdout)["misses"]] == ["a"]  # a draft query, scored on the same labels
