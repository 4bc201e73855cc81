"""A topic against its earlier version over a real archive (compare_topics), on SQLite and
PostgreSQL: the articles a change adds, with why they match now, and removes, with why they
matched before; a topic new in the watchlist adds every match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import repository
from tasks.config import TopicSpec
from tasks.matching import compare_topics, compile_topic
from tests.helpers import stored_article

NOW = compile_topic(TopicSpec(name="t", query="@held AND kiln", groups={"held": ["debt bondage", "locked in"]}))
BEFORE = compile_topic(TopicSpec(name="t", terms=("debt bondage", "forced labour")))


def test_compare_topics_lists_what_a_change_adds_and_removes(db_url: str) -> None:
    source = repository.upsert_sources(db_url, [("S", "https://s.example/rss", [])])["S"]
    day = datetime.now(UTC) - timedelta(days=1)
    texts = [
        (day, "Kiln workers held in debt bondage were freed."),  # both
        (day - timedelta(days=1), "Workers were locked in at a brick kiln."),  # now only
        (day, "Workers were locked in at a kiln near the border."),  # now only, newer
        (day, "A forced labour bill was debated."),  # before only
        (day - timedelta(days=60), "Old: kiln workers locked in."),  # outside the window
    ]
    records = [
        stored_article(source, f"https://s.example/{i}", f"Story {i}", text, published_at=when, language="en")
        for i, (when, text) in enumerate(texts)
    ]
    ids = repository.insert_articles(db_url, records).new_ids

    report = compare_topics(db_url, NOW, BEFORE, datetime.now(UTC) - timedelta(days=30))

    assert (report.topic, report.scanned, report.matched_now, report.matched_before) == ("t", 4, 3, 2)
    assert [h.id for h in report.added] == [ids[2], ids[1]]  # newest first
    assert report.added[0].indicators == {"held": ["locked in"]} and report.added[0].source == "S"
    (removed,) = report.removed
    assert (removed.id, removed.clauses, removed.sentence) == (ids[3], ['"forced labour"'], texts[3][1])

    new_topic = compare_topics(db_url, NOW, None, datetime.now(UTC) - timedelta(days=30))
    assert sorted(h.id for h in new_topic.added) == sorted(ids[:3]) and new_topic.removed == []
