"""Alembic migrations (storage.migrate), on SQLite and PostgreSQL: the migrations build the models'
schema, an upgrade from the first revision keeps every row, and databases made by create_all
(builds before the migrations) are adopted without losing anything."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, DateTime, Engine, bindparam, inspect, text
from sqlmodel import Session, SQLModel, select

from storage import migrate
from storage.engine import new_engine, normalize_url
from storage.models import Alert, Article, Digest, Match, Source
from tests.helpers import ROOT, processes, wait_ready

FIRST = "0001_initial"
SECOND = "0002_health_digests_explanations"
BEFORE_INDICATORS = "0006_source_recent_index"
INDICATORS = "0007_match_indicators"
JUDGMENTS = "0008_alert_judgments"
VECTORS = "0009_article_vectors"
HEAD = migrate.head()

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
T1 = datetime(2024, 5, 1, 12, 5, 30, tzinfo=UTC)
T2 = datetime(2024, 5, 2, 8, 0, 0, 1, tzinfo=UTC)

Rows = dict[type[SQLModel], dict[int, dict[str, Any]]]  # model -> id -> column values

# The columns that 0002 and later added: NULL or their server default in rows from before.
ADDED_DEFAULTS: dict[type[SQLModel], dict[str, Any]] = {
    Source: dict.fromkeys(
        ("etag", "last_modified", "body_hash", "next_attempt_at", "paused_at", "pause_notified_at", "last_new_at")
    ),
    Article: {"signature": None, "story_id": None, "revision": 1, "vector": None, "vector_model": None},
    Match: {"spans": [], "sentences": [], "indicators": {}},
    Alert: {"digest": False, "next_attempt_at": None},
}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine as storage.db makes them (SQLite: WAL, foreign keys on)."""
    eng = new_engine(normalize_url(db_url))
    yield eng
    eng.dispose()


def _insert(conn: Any, sql: str, **values: Any) -> int:
    """Raw INSERT ... RETURNING id, with JSON and timestamps bound as each backend stores them."""
    stmt = text(sql + " RETURNING id").bindparams(
        *(
            bindparam(key, type_=JSON if isinstance(value, list) else DateTime(timezone=True))
            for key, value in values.items()
            if isinstance(value, list | datetime)
        )
    )
    return int(conn.execute(stmt, values).scalar_one())


# Realistic rows of the first version's schema, as its code wrote them.
SOURCE: dict[str, Any] = {
    "name": "Reuters – World",
    "url": "https://feeds.example.org/world.xml",
    "tags": ["world", "en"],
    "created_at": T0,
    "last_fetched_at": T2,
    "last_success_at": T1,
    "last_error": "HTTP 503: Service Unavailable",
    "consecutive_failures": 2,
}
ARTICLES: list[dict[str, Any]] = [
    {
        "canonical_url": "https://news.example.org/2024/05/01/port-strike",
        "url": "https://news.example.org/2024/05/01/port-strike?utm_source=rss",
        "guid": "tag:example.org,2024:1001",
        "title": "Dockworkers strike at the port of Rotterdam",
        "author": "Anne de Vries",
        "published_at": T0,
        "fetched_at": T1,
        "language": "en",
        "summary": "Thousands of dockworkers walked out on Wednesday.",
        "text": "Thousands of dockworkers walked out on Wednesday, halting container traffic. " * 5,
        "content_hash": "a" * 64,
        "text_origin": "page",
        "text_note": None,
        "matched_at": T2,
    },
    {
        "canonical_url": "https://news.example.org/2024/05/02/überschwemmung",
        "url": "https://news.example.org/2024/05/02/%C3%BCberschwemmung",
        "guid": None,
        "title": "Überschwemmung in Süddeutschland: „Lage bleibt angespannt“",
        "author": None,
        "published_at": None,
        "fetched_at": T2,
        "language": "de",
        "summary": None,
        "text": "Kurzmeldung.",
        "content_hash": None,
        "text_origin": "feed",
        "text_note": "page: HTTP 403",
        "matched_at": None,
    },
]
MATCH: dict[str, Any] = {
    "topic": "labour unrest",
    "terms": ["strike*", "walk out"],
    "words": ["strike", "walked out"],
    "hit_sentence": "Thousands of dockworkers walked out on Wednesday, halting container traffic.",
    "hit_field": "text",
    "created_at": T2,
}
ALERT: dict[str, Any] = {
    "topic": "labour unrest",
    "target": "3f2a9c0d1e",
    "target_label": "mailto://ops@…",
    "status": "sent",
    "attempts": 1,
    "last_error": None,
    "claimed_until": None,
    "created_at": T2,
    "sent_at": T2,
}


def _columns(row: dict[str, Any]) -> tuple[str, str]:
    return ", ".join(row), ", ".join(f":{key}" for key in row)


def _fill_first_version(engine: Engine) -> Rows:
    """One source, two articles, a match and an alert, inserted with raw SQL into the 0001 schema."""
    with engine.begin() as conn:
        source_id = _insert(conn, "INSERT INTO sources ({}) VALUES ({})".format(*_columns(SOURCE)), **SOURCE)
        article_ids = []
        for article in ARTICLES:
            row = {"source_id": source_id, **article}
            article_ids.append(_insert(conn, "INSERT INTO articles ({}) VALUES ({})".format(*_columns(row)), **row))
        match_row = {"article_id": article_ids[0], **MATCH}
        match_id = _insert(conn, "INSERT INTO matches ({}) VALUES ({})".format(*_columns(match_row)), **match_row)
        alert_row = {"match_id": match_id, "article_id": article_ids[0], **ALERT}
        alert_id = _insert(conn, "INSERT INTO alerts ({}) VALUES ({})".format(*_columns(alert_row)), **alert_row)
    return {
        Source: {source_id: SOURCE},
        Article: {i: {"source_id": source_id, **a} for i, a in zip(article_ids, ARTICLES, strict=True)},
        Match: {match_id: match_row},
        Alert: {alert_id: alert_row},
    }


def _assert_rows_kept(engine: Engine, expected: Rows) -> None:
    """Every row is there with every value (read through the models: the new schema works for them)."""
    with Session(engine) as session:
        for model, rows in expected.items():
            stored: dict[int, Any] = {row.id: row for row in session.exec(select(model))}  # type: ignore[attr-defined]
            assert set(stored) == set(rows), model.__name__
            for row_id, values in rows.items():
                dumped = stored[row_id].model_dump()
                assert {key: dumped[key] for key in values} == values, (model.__name__, row_id)
                added = ADDED_DEFAULTS.get(model, {})
                assert {key: dumped[key] for key in added} == added, (model.__name__, row_id)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


# --- tests ---------------------------------------------------------------------------------------


def test_revisions_are_a_single_line() -> None:
    assert migrate.revisions()[:2] == [FIRST, SECOND]
    assert migrate.revisions()[-1] == HEAD
    assert all(len(revision) <= 32 for revision in migrate.revisions())  # alembic_version.version_num


def test_empty_database_upgrades_to_the_models_schema(db_url: str) -> None:
    assert migrate.current(db_url) is None
    assert migrate.upgrade(db_url) == HEAD
    assert migrate.current(db_url) == HEAD
    assert migrate.schema_drift(db_url) == []  # the migrations build exactly what the models declare


def test_drift_is_reported(db_url: str) -> None:
    migrate.upgrade(db_url, FIRST)
    drift = migrate.schema_drift(db_url)
    assert "add_table digests" in drift
    assert "add_column sources.etag" in drift
    assert "add_column matches.spans" in drift


def test_upgrade_from_the_first_revision_keeps_every_row(db_url: str, engine: Engine) -> None:
    assert migrate.upgrade(db_url, FIRST) == FIRST
    assert "digests" not in _tables(engine)
    expected = _fill_first_version(engine)

    assert migrate.upgrade(db_url) == HEAD

    _assert_rows_kept(engine, expected)
    assert migrate.schema_drift(db_url) == []
    # The new columns and tables work: the code of today can write next to the old rows.
    with Session(engine) as session:
        match_id, article_id = next(iter(expected[Match])), next(iter(expected[Article]))
        session.add(
            Alert(match_id=match_id, topic="labour unrest", article_id=article_id, target="t2", target_label="x")
        )
        session.add(Digest(topic="labour unrest", target="t2", sent_at=T2, stories=3))
        session.commit()
        assert len(session.exec(select(Alert)).all()) == 2
        assert session.exec(select(Digest)).one().stories == 3


def test_downgrade_and_upgrade_again_keep_the_rows(db_url: str, engine: Engine) -> None:
    migrate.upgrade(db_url, FIRST)
    expected = _fill_first_version(engine)
    migrate.upgrade(db_url)
    assert migrate.downgrade(db_url, FIRST) == FIRST
    assert "digests" not in _tables(engine)
    assert migrate.upgrade(db_url) == HEAD
    _assert_rows_kept(engine, expected)


def test_0007_gives_the_matches_of_a_0006_database_their_indicators(db_url: str, engine: Engine) -> None:
    """A database of the build before indicators, with its rows: 0007 adds matches.indicators ({} in the
    rows there were), keeps every row, and the code of today stores and reads indicators next to them;
    going back to 0006 drops only the column."""
    from storage import repository
    from storage.records import MatchRecord, Target

    assert migrate.upgrade(db_url, BEFORE_INDICATORS) == BEFORE_INDICATORS
    assert "indicators" not in {c["name"] for c in inspect(engine).get_columns("matches")}
    expected = _fill_first_version(engine)
    assert INDICATORS in migrate.revisions()

    assert migrate.upgrade(db_url) == HEAD

    _assert_rows_kept(engine, expected)  # the old match reads with indicators {}
    assert migrate.schema_drift(db_url) == []
    old_match = next(iter(expected[Match]))
    second_article = list(expected[Article])[1]
    fired = {"unrest": ["walked out"], "place": ["Süddeutschland"]}
    record = MatchRecord("floods", second_article, ["@place"], ["Süd"], "Kurzmeldung.", "text", indicators=fired)
    (new_match,) = repository.save_matches(db_url, [second_article], [record], {"floods": [Target("t9", "json://x")]})
    rows = {r.topic: r for r in repository.match_rows(db_url, [old_match, new_match])}
    assert rows["labour unrest"].indicators == {} and rows["floods"].indicators == fired
    (alert,) = repository.claim_pending_alerts(db_url, ["t9"], timedelta(minutes=5))
    assert alert.indicators == fired
    from storage.db import dispose_all

    dispose_all()  # storage.db's engine: SQLite's batch downgrade rebuilds the table

    assert migrate.downgrade(db_url, BEFORE_INDICATORS) == BEFORE_INDICATORS
    assert "indicators" not in {c["name"] for c in inspect(engine).get_columns("matches")}
    with Session(engine) as session:
        assert set(session.exec(select(Match.topic))) == {"labour unrest", "floods"}
    assert migrate.upgrade(db_url) == HEAD


def test_0008_adds_judgments_to_a_0007_database_and_keeps_its_rows(db_url: str, engine: Engine) -> None:
    """A database of the build before judgments, with its rows: 0008 adds the judgments table and
    nothing else, every row stays, an alert of before can be judged (and judged again: one row);
    going back to 0007 drops only the table."""
    from storage import repository

    assert migrate.upgrade(db_url, INDICATORS) == INDICATORS
    assert "judgments" not in _tables(engine)
    expected = _fill_first_version(engine)

    revisions = migrate.revisions()
    assert revisions[revisions.index(INDICATORS) + 1] == JUDGMENTS
    assert migrate.upgrade(db_url) == HEAD

    _assert_rows_kept(engine, expected)
    assert migrate.schema_drift(db_url) == []
    old_alert = next(iter(expected[Alert]))
    first = repository.judge_alert(db_url, old_alert, False, "a strike, not labour abuse", "mai")
    again = repository.judge_alert(db_url, old_alert, True, None, "mai")
    assert first is not None and again is not None and (again.topic, again.relevant) == ("labour unrest", True)
    (judged,) = repository.judged_articles(db_url)
    assert (judged.alert_id, judged.relevant, judged.note, judged.title) == (
        old_alert,
        True,
        None,
        ARTICLES[0]["title"],
    )
    from storage.db import dispose_all

    dispose_all()

    assert migrate.downgrade(db_url, INDICATORS) == INDICATORS
    assert "judgments" not in _tables(engine)
    assert migrate.upgrade(db_url) == HEAD
    _assert_rows_kept(engine, expected)


def test_0009_article_vectors_round_trip(db_url: str, engine: Engine) -> None:
    """A 0008 database with its rows: 0009 adds articles.vector and vector_model (NULL in the rows
    there were), the code of today stores an article's int8 vector and reads the same bytes back
    (BLOB on SQLite, bytea on PostgreSQL); going back to 0008 drops only the two columns."""
    from storage import repository
    from storage.db import dispose_all
    from tests.helpers import stored_article

    assert migrate.upgrade(db_url, JUDGMENTS) == JUDGMENTS
    assert "vector" not in {c["name"] for c in inspect(engine).get_columns("articles")}
    expected = _fill_first_version(engine)

    assert migrate.upgrade(db_url) == HEAD
    assert migrate.revisions().index(VECTORS) == migrate.revisions().index(JUDGMENTS) + 1
    _assert_rows_kept(engine, expected)  # the old articles read with no vector
    assert migrate.schema_drift(db_url) == []
    source_id = next(iter(expected[Source]))
    vector = bytes((i * 37) % 256 for i in range(64))  # int8 bytes, zero and the high bit included
    text = "Text. " * 40
    record = stored_article(
        source_id,
        "https://news.example.org/v",
        "Sold to a boat",
        text,
        vector=vector,
        vector_model="tokenlearn-static-64",
    )
    (new_id,) = repository.insert_articles(db_url, [record]).new_ids
    by_id = {a.id: a for a in repository.articles_by_id(db_url, [*expected[Article], new_id])}
    assert (by_id[new_id].vector, by_id[new_id].vector_model) == (vector, "tokenlearn-static-64")
    assert {by_id[i].vector for i in expected[Article]} == {None}
    expected[Article][new_id] = {"title": "Sold to a boat"}
    dispose_all()

    assert migrate.downgrade(db_url, JUDGMENTS) == JUDGMENTS
    assert "vector" not in {c["name"] for c in inspect(engine).get_columns("articles")}
    assert migrate.upgrade(db_url) == HEAD
    _assert_rows_kept(engine, expected)


def test_upgrade_is_idempotent(db_url: str) -> None:
    assert migrate.upgrade(db_url) == HEAD
    assert migrate.upgrade(db_url) == HEAD
    assert migrate.ensure_schema(db_url) == HEAD
    assert migrate.current(db_url) == HEAD
    assert migrate.schema_drift(db_url) == []


def test_upgrade_refuses_to_go_back(db_url: str) -> None:
    migrate.upgrade(db_url)
    with pytest.raises(migrate.MigrationError, match="downgrade"):
        migrate.upgrade(db_url, FIRST)
    with pytest.raises(migrate.MigrationError, match="0999_nope"):
        migrate.upgrade(db_url, "0999_nope")
    assert migrate.current(db_url) == HEAD


# Columns and tables that revisions after the migrations took over added: no database made by
# create_all has them.
AFTER_CREATE_ALL = {
    "matches": ("indicators",),
    "articles": ("vector", "vector_model", "declared_language"),
}  # 0007, 0009, 0011
TABLES_AFTER_CREATE_ALL = ("judgments", "host_slots")  # 0008, 0010


def test_adopts_a_database_made_by_create_all(db_url: str, engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)  # what get_engine did before the migrations
    with Session(engine) as session:
        source = Source(name="AP", url="https://ap.example/rss", tags=["us"], etag='W/"1"', last_new_at=T1)
        session.add(source)
        session.flush()
        assert source.id is not None
        session.add(
            Article(
                source_id=source.id,
                canonical_url="https://ap.example/a",
                url="https://ap.example/a",
                title="A",
                text="text",
                text_origin="page",
                revision=2,
            )
        )
        session.commit()
    with engine.begin() as conn:  # ... with the models of those builds (the rows above
        # written first: today's Article has columns those builds did not)
        for table, columns in AFTER_CREATE_ALL.items():
            for column in columns:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        for table in TABLES_AFTER_CREATE_ALL:
            conn.execute(text(f"DROP TABLE {table}"))
    assert migrate.current(db_url) is None

    assert migrate.ensure_schema(db_url) == HEAD  # stamped: nothing to run, nothing lost

    assert migrate.current(db_url) == HEAD
    assert migrate.schema_drift(db_url) == []
    with Session(engine) as session:
        stored = session.exec(select(Source)).one()
        assert (stored.name, stored.tags, stored.etag, stored.last_new_at) == ("AP", ["us"], 'W/"1"', T1)
        assert session.exec(select(Article)).one().revision == 2


def test_adopts_a_first_version_database_made_by_create_all(db_url: str, engine: Engine) -> None:
    # The first version's create_all made the 0001 tables, without any migration history.
    migrate.upgrade(db_url, FIRST)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    expected = _fill_first_version(engine)
    assert migrate.current(db_url) is None

    assert migrate.ensure_schema(db_url) == HEAD  # recognised as 0001, stamped, upgraded

    _assert_rows_kept(engine, expected)
    assert migrate.schema_drift(db_url) == []


def test_leaves_an_unrecognised_database_alone(db_url: str, engine: Engine) -> None:
    # The first version's tables plus a later one (a create_all of a newer build): no revision has this.
    migrate.upgrade(db_url, FIRST)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    Digest.__table__.create(engine)  # type: ignore[attr-defined]
    before = _tables(engine)

    with pytest.raises(migrate.MigrationError, match="match no revision") as caught:
        migrate.ensure_schema(db_url)

    assert "nearest is 0001_initial" in str(caught.value)
    assert "missing none; unexpected digests.id" in str(caught.value)
    assert _tables(engine) == before
    assert migrate.current(db_url) is None


def test_refuses_a_database_from_a_newer_build(db_url: str, engine: Engine) -> None:
    migrate.upgrade(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with pytest.raises(migrate.MigrationError, match="does not know"):
        migrate.ensure_schema(db_url)


def test_accepts_the_engine_of_storage_db(db_url: str, engine: Engine) -> None:
    assert migrate.ensure_schema(engine) == HEAD
    assert migrate.downgrade(engine, FIRST) == FIRST  # SQLite: rebuilds tables, foreign keys off meanwhile
    assert migrate.ensure_schema(engine) == HEAD
    assert migrate.schema_drift(engine) == []
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:  # the pooled connection has its foreign keys back
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


# A process that imports storage.migrate, says so, waits for the go file, then opens the database.
STARTER = """
import sys, time, pathlib
from storage.migrate import ensure_schema
print("ready", flush=True)
go = pathlib.Path(sys.argv[2])
while not go.exists():
    time.sleep(0.002)
print(ensure_schema(sys.argv[1]), flush=True)
"""


def test_processes_starting_at_once_migrate_once(db_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    with processes([[sys.executable, "-c", STARTER, db_url, str(go)]] * 4) as procs:
        wait_ready(procs)
        go.touch()
        outcomes = [proc.communicate(timeout=60) for proc in procs]
    assert [(proc.returncode, out.split()) for proc, (out, _) in zip(procs, outcomes, strict=True)] == [
        (0, [HEAD])
    ] * 4, [err for _, err in outcomes]
    assert migrate.schema_drift(db_url) == []


def test_threads_starting_at_once_migrate_once(db_url: str) -> None:
    barrier = threading.Barrier(4)
    results: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait()
            results.append(migrate.ensure_schema(db_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert results == [HEAD] * 4


def test_the_revision_the_code_expects_is_alembics_head(tmp_path: Path) -> None:
    """storage.db opens a database at SCHEMA_REVISION without Alembic: that constant must be the
    newest migration, or a database would be taken for migrated when it is not."""
    from storage.db import dispose_all, get_engine
    from storage.schema import SCHEMA_REVISION

    assert migrate.head() == SCHEMA_REVISION
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    get_engine(url)  # migrates the empty database, through Alembic
    assert migrate.current(url) == SCHEMA_REVISION
    dispose_all()
    # A new process opening the migrated database does not import Alembic at all.
    code = f"import sys; from storage.db import get_engine; get_engine({url!r}); print('alembic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "False", done.stderr
