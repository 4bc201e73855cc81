"""Runs that write the same rows at once on PostgreSQL: they wait for each other, and when
PostgreSQL still breaks a deadlock by aborting one of them, that one is run again, not failed.

(CI once saw 4 runs started together fail one of them with deadlock_detected: a late run's
sources upsert locked rows 0..n in name order while an early run recorded its fetch results in
the order the fetches finished.)
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from storage import repository
from storage.db import normalize_url
from storage.records import SourceUpdate

SOURCES = [(f"Outlet {i:02d}", f"http://127.0.0.1:9/outlet-{i:02d}/feed.xml", []) for i in range(10)]


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks and deadlock detection are PostgreSQL's")
    return db_url


def _raw(url: str) -> psycopg.Connection:
    return psycopg.connect(normalize_url(url).replace("postgresql+psycopg://", "postgresql://"))


def _in_thread(fn: object) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001  (handed to the test's assertions)
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _waiting_on_locks(conn: psycopg.Connection, not_pid: int) -> int:
    return conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> %s", (not_pid,)
    ).fetchone()[0]  # type: ignore[index]


def _until_a_write_waits(watcher: psycopg.Connection, what: str) -> None:
    """Poll (with a deadline) until some session waits on a row lock: seen, not hoped for."""
    deadline = time.monotonic() + 10
    while _waiting_on_locks(watcher, watcher.info.backend_pid) == 0:
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_unchanged_source_list_takes_no_row_lock(pg_url: str) -> None:
    ids = repository.upsert_sources(pg_url, SOURCES)
    with _raw(pg_url) as other, _raw(pg_url) as watcher:  # another run, mid-way through recording a fetch result
        watcher.autocommit = True
        other.execute("UPDATE sources SET consecutive_failures = 1 WHERE name = 'Outlet 03'")
        thread, out = _in_thread(lambda: repository.upsert_sources(pg_url, SOURCES))
        thread.join(10)
        assert not thread.is_alive(), "the upsert of an unchanged list waited on another run's row lock"
        assert out == [ids]

        # A changed source is written, after the other run's transaction ends.
        changed = [*SOURCES[:3], ("Outlet 03", "http://127.0.0.1:9/moved.xml", ["kh"]), *SOURCES[4:]]
        thread, out = _in_thread(lambda: repository.upsert_sources(pg_url, changed))
        _until_a_write_waits(watcher, "the upsert of a changed source never waited on the other run's row lock")
        assert thread.is_alive() and out == []
        other.commit()
    thread.join(10)
    assert out == [ids]
    with _raw(pg_url) as conn:
        assert conn.execute("SELECT url, tags FROM sources WHERE name = 'Outlet 03'").fetchone() == (
            "http://127.0.0.1:9/moved.xml",
            ["kh"],
        )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_write_aborted_to_break_a_deadlock_is_run_again(pg_url: str) -> None:
    ids = repository.upsert_sources(pg_url, SOURCES)
    first, second = ids["Outlet 02"], ids["Outlet 07"]
    now = datetime.now(UTC)
    change = SourceUpdate(
        last_fetched_at=now, next_attempt_at=now + timedelta(minutes=15), consecutive_failures=0, last_error=None
    )
    with _raw(pg_url) as watcher, _raw(pg_url) as other:
        watcher.autocommit = True
        # The other transaction looks for deadlocks late, so that ours is the one PostgreSQL aborts.
        other.execute("SET deadlock_timeout = '20s'")
        other.execute("UPDATE sources SET last_error = 'other run' WHERE id = %s", (second,))
        # Ours takes `first`, then waits for `second`...
        thread, out = _in_thread(lambda: repository.record_source_results(pg_url, [(second, change), (first, change)]))
        _until_a_write_waits(watcher, "our write never waited on the other's row")
        # ...and the other now waits for `first`: a deadlock, broken after 1 s by aborting ours.
        other.execute("UPDATE sources SET last_error = 'other run, again' WHERE id = %s", (first,))
        other.commit()
        thread.join(15)
    assert out == [None], out
    with _raw(pg_url) as conn:
        rows = dict(conn.execute("SELECT id, last_error FROM sources WHERE id IN (%s, %s)", (first, second)).fetchall())
    assert rows == {first: None, second: None}, "our retried write must land after the other run's"
