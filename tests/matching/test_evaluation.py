"""A topic scored on labelled articles (tasks/matching/evaluation.py): reading a labelled file (every
bad line named), precision and recall overall and per language, misses and false alerts with what
fired, labels of other topics left out, and the judged precision of alerts per ISO week. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.records import AlertOutcome
from tasks.config import TopicSpec
from tasks.matching import (
    LabelError,
    LabelledArticle,
    compile_topic,
    evaluate,
    labels_for,
    parse_labelled,
    read_labelled,
    weekly_precision,
    weeks_back,
)

TOPIC = compile_topic(
    TopicSpec(
        name="forced-labour",
        query="@held AND @work",
        queries={"vi": '"lao động cưỡng bức"'},
        groups={"held": ["passports confiscated", "locked in", "debt bondage"], "work": ["factory", "boat", "kiln"]},
    )
)


def line(**record: object) -> str:
    return json.dumps(record, ensure_ascii=False)


ARTICLES = [
    # en: one found, one missed, one false alert, one rightly left
    LabelledArticle("en-1", "en", "Kiln workers freed", "Forty kiln workers held in debt bondage were freed.", True),
    LabelledArticle("en-2", "en", "Fishermen adrift", "Men on a boat said the captain kept their papers.", False),
    LabelledArticle("en-3", "en", "Fishermen trapped", "The crew was held at sea for a year without pay.", True),
    LabelledArticle("en-4", "en", "Factory lockout", "Workers were locked in a dispute with the factory.", False),
    # vi: its own query
    LabelledArticle("vi-1", "vi", "Giải cứu", "Mười người bị lao động cưỡng bức đã được giải cứu.", True),
    LabelledArticle("x-1", None, "No language", "Nothing here.", False),
]


def test_precision_recall_per_language_and_overall() -> None:
    result = evaluate(TOPIC, ARTICLES)
    assert result.topic == "forced-labour"
    o = result.overall
    assert (o.articles, o.wanted, o.alerted, o.correct) == (6, 3, 3, 2)
    assert (o.precision, o.recall) == (0.6667, 0.6667)
    assert set(result.per_language) == {"en", "vi", "?"}
    en = result.per_language["en"]
    assert (en.precision, en.recall) == (0.5, 0.5)
    assert (result.per_language["vi"].precision, result.per_language["vi"].recall) == (1.0, 1.0)
    nothing = result.per_language["?"]
    assert (nothing.precision, nothing.recall) == (None, None)  # nothing alerted, nothing wanted


def test_each_miss_and_false_alert_says_why() -> None:
    result = evaluate(TOPIC, ARTICLES)
    assert [m.id for m in result.misses] == ["en-3"]
    assert result.misses[0].clauses == [] and result.misses[0].wanted
    (false,) = result.false_alerts
    assert (false.id, false.title, false.wanted) == ("en-4", "Factory lockout", False)
    assert false.indicators == {"held": ["locked in"], "work": ["Factory"]}  # the title first
    assert false.clauses and false.sentence == "Workers were locked in a dispute with the factory."


def test_reads_the_bench_set_and_the_export_format(tmp_path: Path) -> None:
    bench_set = Path(__file__).resolve().parents[2] / "bench" / "relevance" / "articles.jsonl"
    bench = read_labelled(bench_set)
    lines = [line for line in bench_set.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(bench) == len(lines) >= 408 and {a.lang for a in bench} == {"en", "km", "th", "vi"}
    exported = tmp_path / "labels.jsonl"
    exported.write_text(
        line(id=12, lang=None, title="T", text="x", wanted=False, topic="forced-labour", note="drugs")
        + "\n\n"
        + line(id=12, lang="en", title="T", text="x", wanted=True, topic="other")
        + "\n"
    )
    first, second = read_labelled(exported)
    assert first == LabelledArticle("12", None, "T", "x", False, "forced-labour")
    assert second.topic == "other" and second.wanted


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"id": "a", "title": "T", "text": "x", "wanted": true}\n{"id": "b",', "f.jsonl:2: not JSON"),
        ('{"id": "a", "title": "T", "text": "x"}', "f.jsonl:1: 'wanted' missing or not a bool"),
        ('{"id": "a", "title": "T", "text": "x", "wanted": "yes"}', "f.jsonl:1: 'wanted' missing or not a bool"),
        ('{"id": true, "title": "T", "text": "x", "wanted": true}', "f.jsonl:1: 'id' missing or not a string or int"),
        ('{"id": "a", "title": 3, "text": "x", "wanted": true}', "f.jsonl:1: 'title' missing or not a string"),
        ('{"id": "a", "lang": 1, "title": "T", "text": "x", "wanted": true}', "f.jsonl:1: 'lang' is not a string"),
        ("[1, 2]", "f.jsonl:1: not a JSON object"),
        ('\n{"id": "a", "title": "T", "text": "", "wanted": true}\n' * 2, "f.jsonl:4: id 'a' is labelled twice"),
        ("\n", "f.jsonl: no labelled article"),
    ],
)
def test_a_bad_line_is_named(content: str, problem: str) -> None:
    with pytest.raises(LabelError) as caught:
        parse_labelled(content.splitlines(), "f.jsonl")
    assert str(caught.value).startswith(problem), caught.value


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="missing.jsonl: cannot read"):
        read_labelled(tmp_path / "missing.jsonl")
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(LabelError, match="b.jsonl: cannot read"):
        read_labelled(binary)


def test_labels_of_other_topics_are_left_out() -> None:
    mine = LabelledArticle("1", "en", "T", "x", True, "Forced-Labour")
    other = LabelledArticle("2", "en", "T", "x", True, "wildlife")
    anyone = LabelledArticle("3", "en", "T", "x", False)
    assert labels_for([mine, other, anyone], "forced-labour") == ([mine, anyone], 1)
    assert labels_for([mine, other, anyone], None) == ([mine, other, anyone], 0)


def test_weekly_precision_counts_each_alerted_article_once() -> None:
    mon = datetime(2026, 11, 23, 9, tzinfo=UTC)  # ISO week 2026-W48
    next_week = datetime(2026, 11, 30, 9, tzinfo=UTC)  # 2026-W49
    outcomes = [
        AlertOutcome("t", 1, mon, True, True),
        AlertOutcome("t", 2, mon, True, False),
        AlertOutcome("t", 3, mon, False, None),  # dry run, not judged
        AlertOutcome("t", 4, next_week, True, True),
        AlertOutcome("a", 5, next_week, True, None),
    ]
    rows = [(r.topic, r.week, r.alerts, r.sent, r.judged, r.relevant, r.precision) for r in weekly_precision(outcomes)]
    assert rows == [
        ("a", "2026-W49", 1, 1, 0, 0, None),
        ("t", "2026-W48", 3, 2, 2, 1, 0.5),
        ("t", "2026-W49", 1, 1, 1, 1, 1.0),
    ]


def test_weeks_back_starts_on_a_monday() -> None:
    thursday = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
    assert weeks_back(thursday, 1) == datetime(2026, 11, 30, tzinfo=UTC)
    assert weeks_back(thursday, 4) == datetime(2026, 11, 9, tzinfo=UTC)
    assert weeks_back(thursday, 0) == weeks_back(thursday, 1)
