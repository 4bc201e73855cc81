"""`newswatch topics list|test` and `newswatch backtest`: a query tried before it goes live."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import repository
from storage.db import dispose_all
from tests.helpers import cli, stored_article


def test_topics_test_explains_a_match_and_a_miss(tmp_path: Path) -> None:
    query = '(official* OR police) NEAR/6 traffick* NOT "drug trafficking"'
    hit = cli(
        ["topics", "test", query, "--text", "Three officials colluded with traffickers, a report says.", "--json"],
        {},
        timeout=60,
    )
    assert hit.returncode == 0, hit.stderr
    result = json.loads(hit.stdout)
    assert result["matches"] and result["language"] == "en"
    assert result["clauses"] and {w.lower() for w in result["words"]} >= {"officials", "traffickers"}
    assert result["sentences"] == ["Three officials colluded with traffickers, a report says."]

    miss = cli(["topics", "test", query, "--text", "Police seized heroin in a drug trafficking case."], {}, 60)
    assert miss.returncode == 1 and "no match" in miss.stdout

    article = tmp_path / "article.txt"
    article.write_text("Rescue at the border\nForty workers held in debt bondage were freed.\n")
    named = cli(["topics", "test", "human-trafficking", "--file", str(article)], {}, 60)
    assert named.returncode == 0 and '"debt bondage"' in named.stdout and "debt bondage were freed" in named.stdout


def test_invalid_query_shows_where(tmp_path: Path) -> None:
    bad = cli(["topics", "test", "(officials OR police", "--text", "x"], {}, 60)
    assert bad.returncode == 2
    assert "unbalanced parenthesis at position 0" in bad.stderr and "\n  ^" in bad.stderr


def test_topics_list_shows_the_shipped_queries() -> None:
    listed = cli(["topics", "list", "--json"], {}, 60)
    assert listed.returncode == 0, listed.stderr
    topics = {t["topic"]: t for t in json.loads(listed.stdout)}
    assert set(topics["human-trafficking"]["queries"]) == {"*", "km", "th", "vi"}


def test_backtest_counts_matches_per_day_without_alerting(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    ids = repository.upsert_sources(db, [("Archive", "https://archive.example/rss", ["cambodia"])])
    day = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    texts = [
        (day - timedelta(days=1), "Officials accused of colluding with traffickers who lured workers abroad."),
        (day - timedelta(days=1), "The trafficking of women across the border rose, police said."),
        (day - timedelta(days=2), "Heavy traffic is expected during the Water Festival."),
        (day - timedelta(days=40), "Old news: officials and traffickers, long ago."),
    ]
    repository.insert_articles(
        db,
        [
            stored_article(
                ids["Archive"], f"https://archive.example/{i}", f"Story {i}", text, published_at=when, language="en"
            )
            for i, (when, text) in enumerate(texts)
        ],
    )
    dispose_all()
    env = {"NEWSWATCH_DATABASE_URL": db}
    result = cli(["backtest", "traffick* NEAR/8 (officials OR women)", "--since", "30d", "--json"], env, 60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scanned"] == 3 and report["matched"] == 2
    assert report["per_day"] == {(day - timedelta(days=1)).date().isoformat(): 2}
    assert {e["title"] for e in report["examples"]} == {"Story 0", "Story 1"}
    assert repository.count_pending_alerts(db) == 0  # a backtest alerts no one
    table = cli(["backtest", "human-trafficking", "--since", "7d"], env, 60)
    assert table.returncode == 0 and "of 3 articles" in table.stdout
