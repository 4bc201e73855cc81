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
    queries = topics["human-trafficking"]["queries"]  # one query; its groups carry each language's terms
    assert set(queries) == {"*"} and "ATLEAST(" in queries["*"] and "@" in queries["*"]


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


GROUPS_WATCHLIST = """\
groups:
  recruitment: [lured, "recruit*"]
  documents:
    terms: ["passports confiscated", "confiscated passport*"]
    km: ["រឹបអូសលិខិតឆ្លងដែន"]
topics:
  - name: indicators
    query: "@recruitment AND @documents"
"""
LURED = "Brokers lured the workers across the border, where their passports confiscated, they were sold."


def test_an_ad_hoc_query_uses_the_watchlists_groups_and_prints_the_indicators(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(GROUPS_WATCHLIST, encoding="utf-8")
    ad_hoc = ["topics", "test", "ATLEAST(2, @recruitment, @documents, border)", "--watchlist", str(watchlist)]
    found = cli([*ad_hoc, "--text", LURED, "--json"], {}, 60)
    assert found.returncode == 0, found.stderr
    result = json.loads(found.stdout)
    assert result["matches"] and result["indicators"] == {
        "recruitment": ["lured"],
        "documents": ["passports confiscated"],
    }
    shown = cli([*ad_hoc, "--text", LURED], {}, 60)
    assert shown.returncode == 0, shown.stderr
    assert 'indicators: recruitment: "lured"; documents: "passports confiscated"' in shown.stdout
    # A group's language lists count for an article of that language, ad hoc too.
    khmer = cli(["topics", "test", "@documents", "--watchlist", str(watchlist), "--lang", "km", "--text",
                 "គេបានរឹបអូសលិខិតឆ្លងដែន។", "--json"], {}, 60)  # fmt: skip
    assert khmer.returncode == 0 and json.loads(khmer.stdout)["indicators"] == {"documents": ["រឹបអូសលិខិតឆ្លងដែន"]}
    # A group the watchlist does not define is still an error, with where it is.
    undefined = cli(["topics", "test", "@nowhere", "--watchlist", str(watchlist), "--text", "x"], {}, 60)
    assert undefined.returncode == 2 and "nowhere" in undefined.stderr
    # Without groups, no indicators line.
    plain = cli(["topics", "test", "lured", "--watchlist", str(watchlist), "--text", LURED], {}, 60)
    assert plain.returncode == 0 and "indicators:" not in plain.stdout


def test_backtest_and_search_show_the_indicators(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(GROUPS_WATCHLIST, encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    ids = repository.upsert_sources(db, [("Archive", "https://archive.example/rss", [])])
    day = datetime.now(UTC) - timedelta(days=1)
    texts = [LURED, "Recruiters lured them with fake jobs.", "Rice exports rose."]
    repository.insert_articles(
        db,
        [
            stored_article(ids["Archive"], f"https://archive.example/{i}", f"Story {i}", text, published_at=day)
            for i, text in enumerate(texts)
        ],
    )
    dispose_all()
    env = {"NEWSWATCH_DATABASE_URL": db}
    args = ["--since", "7d", "--watchlist", str(watchlist)]
    result = cli(["backtest", "@recruitment", *args, "--json"], env, 60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["matched"] == 2 and report["per_indicator"] == {"recruitment": 2}
    assert {e["title"]: e["indicators"] for e in report["examples"]} == {
        "Story 0": {"recruitment": ["lured"]},
        "Story 1": {"recruitment": ["Recruiters", "lured"]},
    }
    table = cli(["backtest", "indicators", *args], env, 60)
    assert table.returncode == 0, table.stderr
    assert 'indicators: recruitment: "lured"; documents: "passports confiscated"' in table.stdout
    found = cli(["search", "@recruitment AND @documents", *args, "--json"], env, 60)
    assert found.returncode == 0, found.stderr
    (only,) = json.loads(found.stdout)["results"]
    assert only["title"] == "Story 0" and only["indicators"] == {
        "recruitment": ["lured"],
        "documents": ["passports confiscated"],
    }
    listed = cli(["search", "@documents", *args], env, 60)
    assert listed.returncode == 0 and 'indicators: documents: "passports confiscated"' in listed.stdout


def test_a_mistyped_topic_name_is_said(tmp_path: Path) -> None:
    """A single word that names no topic is tested as a query, saying so (and which topic was
    meant); --topic must name a topic (issue #19 item 10)."""
    text = "Forty workers held in debt bondage were freed."
    typo = cli(["topics", "test", "humn-trafficking", "--text", text], {}, 60)
    assert typo.returncode == 1 and "no match" in typo.stdout
    assert (
        "no topic 'humn-trafficking' in the watchlist (did you mean 'human-trafficking'?): "
        "tested as the query 'humn-trafficking'" in typo.stderr
    )
    named = cli(["topics", "test", "--topic", "humn-trafficking", "--text", text], {}, 60)
    assert named.returncode == 2
    assert "no topic 'humn-trafficking' in the watchlist (did you mean 'human-trafficking'?)" in named.stderr
    word = cli(["topics", "test", "bondage", "--text", text], {}, 60)  # far from every topic's name: a query
    assert word.returncode == 0 and "no topic" in word.stderr and "did you mean" not in word.stderr


def test_an_undetected_language_is_said() -> None:
    result = cli(["topics", "test", "x", "--text", "x y"], {}, 60)
    assert "language: None" not in result.stdout and "language: not detected" in result.stdout
