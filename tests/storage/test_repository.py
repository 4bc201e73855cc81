"""Storage on SQLite and PostgreSQL: the database decides what is new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select, update

from storage import repository
from storage.clock import aware
from storage.db import get_engine
from storage.models import ALERTS
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


T1, T2 = Target("t1", "json://one"), Target("t2", "json://two")
LEASE = timedelta(minutes=5)


def _alert(db_url: str, n: int, targets: list[Target], topic: str = "ht", status: str = "pending") -> list[int]:
    """Article n of source A, matched by `topic` and alerted to each target in turn: the alerts' ids."""
    src = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])["A"]
    (article,) = repository.insert_articles(db_url, [numbered_article(src, n)]).new_ids
    m = MatchRecord(topic, article, ["traffick*"], ["traffickers"], "A sentence.", "text")
    repository.save_matches(db_url, [article], [m], {topic: targets}, status)
    with get_engine(db_url).connect() as conn:
        query = select(ALERTS.c.id).where(ALERTS.c.article_id == article).order_by(ALERTS.c.id)
        return list(conn.execute(query).scalars())


def _set(db_url: str, alert_id: int, **values: object) -> None:
    with get_engine(db_url).begin() as conn:
        conn.execute(update(ALERTS).where(ALERTS.c.id == alert_id).values(**values))


def _row(db_url: str, alert_id: int) -> dict[str, object]:
    with get_engine(db_url).connect() as conn:
        row = conn.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).mappings().one()
    return {k: aware(v) if isinstance(v, datetime) else v for k, v in row.items()}


def test_a_claim_takes_the_oldest_due_alert_of_its_topics_behind_any_number_sent(db_url: str) -> None:
    """Delivery claims one alert at a time (limit=1): the candidates it reads are claimable ones, not
    the first ids (five sent alerts before the pending ones hid them); the oldest first, also after
    an UPDATE moved its row (PostgreSQL's heap order); a backoff that is over, a lease that ran out
    (its run died) and the topics filter (digests claim per topic)."""
    for n in range(1, 6):
        _alert(db_url, n, [T1], status="sent")
    (first,), (second,), (other,) = _alert(db_url, 6, [T1]), _alert(db_url, 7, [T1]), _alert(db_url, 8, [T1], "wl")
    assert [a.id for a in repository.claim_pending_alerts(db_url, ["t1"], LEASE, limit=1)] == [first]
    past = datetime.now(UTC) - timedelta(minutes=1)
    repository.mark_alert(db_url, first, "down", retry_at=past)  # its backoff is over
    assert [a.id for a in repository.claim_pending_alerts(db_url, ["t1"], LEASE, limit=1)] == [first]
    repository.mark_alert(db_url, first, "down", retry_at=datetime.now(UTC) + timedelta(hours=1))
    assert [a.id for a in repository.claim_pending_alerts(db_url, ["t1"], LEASE, topics=["ht"])] == [second]
    assert repository.claim_pending_alerts(db_url, ["t1"], LEASE, topics=["ht"]) == []  # leased, or not due
    _set(db_url, second, claimed_until=past)  # the run that claimed it died; its lease ran out
    assert [a.id for a in repository.claim_pending_alerts(db_url, ["t1"], LEASE, topics=["ht"])] == [second]
    assert [a.id for a in repository.claim_pending_alerts(db_url, ["t1"], LEASE, topics=["wl", "x"])] == [other]


def test_a_claimed_alert_names_the_other_outlets_of_its_story(db_url: str) -> None:
    """`also`: the story's other outlets, not the alert's own (even with a second article there);
    none for an article in no story (a database from before stories), whatever else has none."""
    ids = repository.upsert_sources(db_url, [(s, f"https://{s}.example/rss", []) for s in ("A", "B")])
    own, again, alone = repository.insert_articles(db_url, [numbered_article(ids["A"], n) for n in (1, 2, 3)]).new_ids
    elsewhere, unsorted = repository.insert_articles(db_url, [numbered_article(ids["B"], n) for n in (4, 5)]).new_ids
    repository.set_stories(db_url, [(own, elsewhere), (again, elsewhere), (elsewhere, elsewhere)])  # story != own id
    m = [MatchRecord("ht", a, ["traffick*"], ["traffickers"], "A sentence.", "text") for a in (own, alone)]
    repository.save_matches(db_url, [own, alone], m, {"ht": [T1]})
    first, second = repository.claim_pending_alerts(db_url, ["t1"], LEASE)
    assert (first.article_id, first.story_id, first.also, first.source_name) == (own, elsewhere, ("B",), "A")
    assert (second.article_id, second.story_id, second.also) == (alone, None, ())  # not B's `unsorted`


def test_a_failure_then_a_send_leave_the_alert_sent_without_its_error_or_backoff(db_url: str) -> None:
    (alert,) = _alert(db_url, 1, [T1])
    over = datetime.now(UTC) - timedelta(seconds=1)  # a backoff that is over by the next claim
    repository.mark_alert(db_url, alert, "e" * 1999 + "-and the rest", retry_at=over)
    row = _row(db_url, alert)
    assert (row["status"], row["attempts"], row["last_error"], row["next_attempt_at"]) == (
        "pending",
        1,
        "e" * 1999 + "-",  # cut at 2,000 characters
        over,
    )
    assert [a.id for a in repository.claim_pending_alerts(db_url, ["t1"], LEASE)] == [alert]
    repository.mark_alert(db_url, alert, None)  # sent this time
    row = _row(db_url, alert)
    assert (row["status"], row["attempts"], row["last_error"], row["next_attempt_at"]) == ("sent", 2, None, None)
    assert row["sent_at"] is not None and row["claimed_until"] is None


def test_sent_since_counts_the_immediate_alerts_sent_of_one_topic_to_one_target(db_url: str) -> None:
    """max_per_hour's count: sent (not pending, dead or in a digest), this topic, this target, since
    the given time inclusive."""
    counted = _alert(db_url, 1, [T1], status="sent") + _alert(db_url, 2, [T1], status="sent")
    other_target, other_topic = _alert(db_url, 3, [T2], status="sent"), _alert(db_url, 4, [T1], "wl", "sent")
    pending, dead, digest = (_alert(db_url, n, [T1], status="sent")[0] for n in (5, 6, 7))
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    for alert in counted + other_target + other_topic + [pending, dead, digest]:
        _set(db_url, alert, sent_at=at)
    _set(db_url, pending, status="pending")
    _set(db_url, dead, status="dead")
    _set(db_url, digest, digest=True)
    assert repository.sent_since(db_url, "ht", "t1", at) == 2  # sent exactly then counts
    assert repository.sent_since(db_url, "ht", "t1", at + timedelta(microseconds=1)) == 0
    assert repository.sent_since(db_url, "wl", "t1", at) == repository.sent_since(db_url, "ht", "t2", at) == 1


def test_list_alerts_newest_first_of_the_statuses_asked_with_their_article(db_url: str) -> None:
    sent, dead = _alert(db_url, 1, [T1, T2])
    (pending,) = _alert(db_url, 2, [T1])
    retry_at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    repository.mark_alert(db_url, sent, None)
    repository.mark_alert(db_url, dead, "refused", retry_at=retry_at, dead=True)
    assert [r.id for r in repository.list_alerts(db_url)] == [pending, dead, sent]
    assert [r.id for r in repository.list_alerts(db_url, limit=2)] == [pending, dead]
    assert [r.id for r in repository.list_alerts(db_url, ["dead", "sent"])] == [dead, sent]
    assert [r.id for r in repository.list_alerts(db_url, ["pending"])] == [pending]
    assert [r.id for r in repository.list_alerts(db_url, [])] == [pending, dead, sent]  # no status: every one
    row = repository.list_alerts(db_url, ["dead"])[0]
    assert (row.topic, row.title, row.url, row.target_label, row.status, row.digest, row.attempts) == (
        "ht",
        "Title 1",
        "https://news.example/a/1?x=1",
        "json://two",
        "dead",
        False,
        1,
    )
    assert (row.last_error, aware(row.next_attempt_at), row.sent_at) == ("refused", retry_at, None)


def test_retry_puts_dead_alerts_these_or_all_back_in_the_queue_due_now(db_url: str) -> None:
    """A dead alert keeps the time its last backoff named: retried, it is due at once, with a fresh
    count, and claimed before a newer one although the retry moved its row (PostgreSQL writes the
    changed status as a new row version after the others: only ORDER BY keeps the oldest first);
    a pending alert named among the ids is left as it is."""
    first, second, third = (_alert(db_url, n, [T1])[0] for n in (1, 2, 3))
    later = datetime.now(UTC) + timedelta(hours=6)
    assert len(repository.claim_pending_alerts(db_url, ["t1"], LEASE)) == 3
    for alert in (first, second):
        repository.mark_alert(db_url, alert, "down", retry_at=later, dead=True)
    repository.mark_alert(db_url, third, "down", retry_at=later)  # failed once, still pending
    (newer,) = _alert(db_url, 4, [T1])
    assert repository.retry_alerts(db_url, [first, third]) == 1
    row = _row(db_url, first)
    assert (row["status"], row["attempts"], row["next_attempt_at"], row["claimed_until"]) == ("pending", 0, None, None)
    assert _row(db_url, second)["status"] == "dead"
    assert (_row(db_url, third)["attempts"], _row(db_url, third)["next_attempt_at"]) == (1, later)
    assert [a.id for a in repository.claim_pending_alerts(db_url, ["t1"], LEASE)] == [first, newer]
    assert repository.retry_alerts(db_url) == 1  # every dead one: the second
    assert _row(db_url, second)["status"] == "pending"
    assert repository.retry_alerts(db_url, []) == 0
