"""Storage on SQLite and PostgreSQL: the database decides what is new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from storage import repository
from storage.clock import aware
from storage.db import get_engine
from storage.records import MatchRecord, Target
from tests.helpers import numbered_article


def test_insert_returns_only_new_rows(db_url: str) -> None:
    ids = repository.upsert_sources(db_url, [("A", "https://a.example/rss", ["x"]), ("B", "https://b.example/rss", [])])
    a, b = ids["A"], ids["B"]
    first = repository.insert_articles(db_url, [numbered_article(a, 1), numbered_article(a, 2)])
    assert len(first.new_ids) == 2 and first.conflicts == 0
    again = repository.insert_articles(
        db_url,
        [
            numbered_article(a, 1),  # same everything
            numbered_article(b, 3, canonical_url="https://news.example/a/1"),  # same canonical URL, other source
            numbered_article(a, 4, guid="g2"),  # same GUID from the same source
            numbered_article(b, 5, content_hash=f"{1:064d}"),  # same text
            numbered_article(b, 6, guid="g1"),  # same GUID from another source: a different article
            numbered_article(a, 7, content_hash=None),
            numbered_article(a, 8, content_hash=None),  # NULL hashes never collide
        ],
    )
    assert again.ids[:5] == [None, None, None, None, again.ids[4]]
    assert again.ids[4] is not None and len(again.new_ids) == 3


def test_known_entries_by_url_or_guid(db_url: str) -> None:
    ids = repository.upsert_sources(db_url, [("A", "https://a.example/rss", []), ("B", "https://b.example/rss", [])])
    repository.insert_articles(db_url, [numbered_article(ids["A"], 1)])
    known = repository.known_entries(db_url, ids["A"], ["https://news.example/a/1"], [])
    assert set(known) == {"https://news.example/a/1", "g1"}
    assert known["g1"].source_id == ids["A"] and known["g1"].revision == 1 and known["g1"].summary == "s"
    assert "g1" in repository.known_entries(db_url, ids["A"], [], ["g1"])
    assert repository.known_entries(db_url, ids["B"], [], ["g1"]) == {}


def test_matches_alerts_and_claims(db_url: str) -> None:
    ids = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])
    art = repository.insert_articles(db_url, [numbered_article(ids["A"], 1), numbered_article(ids["A"], 2)]).new_ids
    assert repository.unmatched_articles(db_url, 10) == []  # not yet in a story: not matched yet
    assert [a for a, _ in repository.articles_without_story(db_url, 10)] == art
    repository.set_stories(db_url, [(a, a) for a in art])
    unmatched = repository.unmatched_articles(db_url, 10)
    assert [u.id for u in unmatched] == art
    targets = [Target("t1", "json://one"), Target("t2", "json://two")]
    fired = {"means": ["traffickers"], "purpose": ["forced labour", "débt bondage"]}
    m = MatchRecord("ht", art[0], ["@means", "@purpose"], ["traffickers"], "A sentence.", "text", indicators=fired)
    new = repository.save_matches(db_url, art, [m], {"ht": targets})
    assert len(new) == 1
    (row,) = repository.match_rows(db_url, new)  # the run report's row carries the indicators
    assert row.indicators == fired and row.terms == ["@means", "@purpose"]
    assert repository.unmatched_articles(db_url, 10) == []
    assert repository.save_matches(db_url, art, [m], {"ht": targets}) == []  # a second run adds nothing
    assert repository.count_pending_alerts(db_url) == 2

    # Two claimers at once, in the one interleaving that matters, made to happen (threads met it
    # only sometimes): the late claimer read both alerts as claimable, then the other claimed them
    # before its first UPDATE. Each alert is taken exactly once.
    engine = get_engine(db_url)
    early: list[int] = []
    interleaved: list[bool] = []

    def other_run_claims_first(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE ALERTS") and not interleaved:
            interleaved.append(True)  # once: the other run's own UPDATEs pass through
            early.extend(a.id for a in repository.claim_pending_alerts(db_url, ["t1", "t2"], timedelta(minutes=5)))

    event.listen(engine, "before_cursor_execute", other_run_claims_first)
    try:
        late = [a.id for a in repository.claim_pending_alerts(db_url, ["t1", "t2"], timedelta(minutes=5))]
    finally:
        event.remove(engine, "before_cursor_execute", other_run_claims_first)
    assert len(early) == 2 and len(set(early)) == 2 and late == []
    taken = early
    assert repository.claim_pending_alerts(db_url, ["t1", "t2"], timedelta(minutes=5)) == []  # leased

    repository.mark_alert(db_url, taken[0], None)
    repository.mark_alert(db_url, taken[1], "refused")
    assert repository.count_pending_alerts(db_url) == 1
    retry = repository.claim_pending_alerts(db_url, ["t1", "t2"], timedelta(minutes=5))
    assert [a.id for a in retry] == [taken[1]] and retry[0].attempts == 1
    assert retry[0].title == "Title 1" and retry[0].source_name == "A" and retry[0].words == ["traffickers"]
    assert retry[0].indicators == fired  # read with the alert's match


def test_matches_without_indicators_store_none(db_url: str) -> None:
    ids = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])
    art = repository.insert_articles(db_url, [numbered_article(ids["A"], 1)]).new_ids
    m = MatchRecord("ht", art[0], ["traffick*"], ["traffickers"], "A sentence.", "text")
    new = repository.save_matches(db_url, art, [m], {"ht": [Target("t1", "json://one")]})
    assert [r.indicators for r in repository.match_rows(db_url, new)] == [{}]
    (alert,) = repository.claim_pending_alerts(db_url, ["t1"], timedelta(minutes=5))
    assert alert.indicators == {}


def test_text_survives_nul_and_unicode(db_url: str) -> None:
    from tasks.common.text import clean

    ids = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])
    text = clean("ការជួញដូរមនុស្ស\x00 nul\x07 removed " * 20)
    new = repository.insert_articles(db_url, [numbered_article(ids["A"], 1, text=text, title="ខ្មែរ")]).new_ids
    repository.set_stories(db_url, [(new[0], new[0])])
    stored = repository.unmatched_articles(db_url, 5)
    assert stored[0].id == new[0] and stored[0].text == text and "\x00" not in stored[0].text


def test_source_health_reads_each_sources_newest_articles(db_url: str) -> None:
    ids = repository.upsert_sources(db_url, [(n, f"https://{n}.example/rss", []) for n in ("busy", "quiet", "new")])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # "busy": 25 articles, every third without a publication date (its fetch time stands in),
    # inserted out of time order so that insertion order is not the answer.
    busy = [start + timedelta(hours=7 * n % 25) for n in range(25)]
    records = [numbered_article(ids["busy"], n, published_at=None if n % 3 == 0 else t) for n, t in enumerate(busy)] + [
        numbered_article(ids["quiet"], 100 + n, published_at=start + timedelta(days=n)) for n in range(2)
    ]
    repository.insert_articles(db_url, records)
    # Fetch times are "now" when stored; give the undated ones a known one.
    from sqlalchemy import update

    from storage.db import get_engine
    from storage.models import Article

    table = Article.__table__  # type: ignore[attr-defined]
    with get_engine(db_url).begin() as conn:
        for n, t in enumerate(busy):
            if n % 3 == 0:
                conn.execute(update(table).where(table.c.guid == f"g{n}").values(fetched_at=t))

    health = {row.name: row for row in repository.source_health(db_url)}
    assert [aware(t) for t in health["busy"].recent_published] == sorted(busy, reverse=True)[:20]
    assert [aware(t) for t in health["quiet"].recent_published] == [start + timedelta(days=1), start]
    assert health["new"].recent_published == []


def test_source_health_walks_the_recent_index(db_url: str) -> None:
    """The rhythm query must not scan the archive: it has to use ix_articles_source_recent."""
    from sqlalchemy import text

    from storage.db import get_engine

    engine = get_engine(db_url)
    query = repository.newest_per_source(engine.dialect.name, 20)
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))  # tiny tables: make the planner show its index choice
            plan = "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())
        else:
            plan = "\n".join(str(row[-1]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_articles_source_recent" in plan, plan
