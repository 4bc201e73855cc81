"""Judgments of alerts (storage.repository.judgments), on SQLite and PostgreSQL: one per topic and
article whichever of its alerts is marked, the outcomes the weekly report counts, the judged
articles an export writes, and pruning that takes them with the article."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import archive, repository
from storage.records import MatchRecord, Target
from tests.helpers import stored_article


def test_judgments_replace_count_export_and_prune(db_url: str) -> None:
    source = repository.upsert_sources(db_url, [("S", "https://s.example/rss", [])])["S"]
    old = datetime.now(UTC) - timedelta(days=400)
    records = [
        stored_article(source, f"https://s.example/{i}", f"Story {i}", f"text {i} " * 20, published_at=old)
        for i in range(2)
    ]
    ids = repository.insert_articles(db_url, records).new_ids
    matches = [MatchRecord("t", a, ["x"], ["x"], "s", "text") for a in ids]
    repository.save_matches(db_url, ids, matches, {"t": [Target("k1", "one"), Target("k2", "two")]}, "sent")
    alerts = {r.title: sorted(x.id for x in repository.list_alerts(db_url) if x.title == r.title)
              for r in repository.list_alerts(db_url)}  # fmt: skip

    assert repository.judge_alert(db_url, 10**6, True, None, "mai") is None
    first = repository.judge_alert(db_url, alerts["Story 0"][0], False, "no", "mai")
    second = repository.judge_alert(db_url, alerts["Story 0"][1], True, "yes after all", "dara")
    assert first is not None and second is not None and second.article_id == ids[0]
    (judged,) = repository.judged_articles(db_url)
    assert (judged.alert_id, judged.relevant, judged.note, judged.judged_by) == (
        alerts["Story 0"][1],
        True,
        "yes after all",
        "dara",
    )
    assert judged.judged_at is not None and judged.judged_at.tzinfo is not None
    assert repository.judged_articles(db_url, "other") == []

    outcomes = repository.alert_outcomes(db_url, datetime.now(UTC) - timedelta(days=1))
    assert sorted((o.article_id, o.sent, o.relevant) for o in outcomes) == [(ids[0], True, True), (ids[1], True, None)]
    assert repository.alert_outcomes(db_url, datetime.now(UTC) + timedelta(days=1)) == []

    assert archive.prune(db_url, datetime.now(UTC) - timedelta(days=365)) == 2
    assert repository.judged_articles(db_url) == []
