"""A database error that ends a run is logged without its SQL statement (issue #19 item 20),
also by Prefect itself: a task run that raised is logged by Prefect's engine as "Task run failed
with exception: ..." with the exception's repr and traceback, and SQLAlchemy's message quotes
the statement over several lines. A run through Prefect's engine, its logs sent to a real
Prefect server and read back, on SQLite and PostgreSQL, with a write the database refuses."""

from __future__ import annotations

import re

import pytest

from storage.db import get_engine
from tests.helpers import Watched

pytestmark = pytest.mark.usefixtures("prefect_harness")

# A table refuses rows as a full disk would. matches: the run stores its article, then fails in
# match-topics, a Prefect task with a retry; sources: the flow itself fails, before any task.
DISK_FULL = {
    "sqlite": [
        "CREATE TRIGGER disk_full BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$",
        "CREATE TRIGGER disk_full BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION disk_full()",
    ],
}
REASON = {"sqlite": "database or disk is full", "postgresql": "could not extend file: No space left on device"}
STATEMENT = re.compile(r"\[SQL:|\b(INSERT INTO|UPDATE \w+ SET|SELECT .* FROM)\b", re.S)


@pytest.mark.parametrize(
    ("table", "operation", "prefects_line"),
    [
        ("matches", "match-topics", "Task run failed with exception: "),
        ("sources", "monitor", "Encountered exception during execution: "),
    ],
)
def test_a_refused_write_is_logged_without_its_statement(
    flow_db: str, mekong: Watched, table: str, operation: str, prefects_line: str
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    from flows.monitor import monitor

    _, src, wl = mekong
    backend = "sqlite" if flow_db.startswith("sqlite") else "postgresql"
    with get_engine(flow_db).begin() as conn:
        for statement in DISK_FULL[backend]:
            conn.exec_driver_sql(statement.format(table=table))

    state = monitor(sources_file=src, watchlist_file=wl, return_state=True)
    assert state.is_failed()
    APILogHandler().flush()  # ship the run's logs to the API before reading them back
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    failed = [log.message for log in logs if log.message.startswith(prefects_line)]
    assert failed, "\n".join(log.message for log in logs)
    # Prefect's line names the operation and the database's reason, on its first line.
    first = failed[-1].splitlines()[0]
    assert f"StorageError('{operation}: {REASON[backend]} (" in first, first
    assert "storage/repository/" in first  # where the write was refused
    for log in logs:
        assert not STATEMENT.search(log.message), log.message
