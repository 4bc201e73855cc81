"""Per-host politeness across processes: each host's row in host_slots holds when the next request
to it may start and the requests in flight, and every worker on this database takes it under the
row's lock (SELECT ... FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite), so a host sees at
most `concurrency` requests at once and their starts `min_gap` apart however the sources are split
between processes and machines. A request in flight is a lease that expires: a worker killed
mid-request holds its slot only until then.

Times are seconds on the database's clock (PostgreSQL's clock_timestamp(); SQLite is one machine's
file, so that machine's clock), never on each worker's: machines need not agree on the time."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import Connection

from storage.db import dialect_insert, get_engine
from storage.models import HOST_SLOTS

# Every slot taken: ask again this soon (a claim and release cost 0.6 ms on SQLite, 3 ms on
# PostgreSQL, measured), or when the oldest lease expires if that is sooner.
FULL_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Claim:
    """The answer to a request for a slot: granted (start at `start` on the database's clock,
    `wait` seconds after it decided), or not (every slot is taken: ask again after `wait` s)."""

    granted: bool
    wait: float
    start: float = 0.0


def _now(conn: Connection) -> float:
    if conn.dialect.name == "postgresql":
        return float(conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
    return time.time()


def clock_offset(db_url: str, samples: int = 5) -> float:
    """The database's clock minus this machine's (time.time()), to within half the shortest of
    `samples` round trips: 0 for SQLite, whose clock is this machine's."""
    with get_engine(db_url).connect() as conn:
        if conn.dialect.name != "postgresql":
            return 0.0
        best = (float("inf"), 0.0)
        for _ in range(samples):
            before = time.time()
            now = _now(conn)
            after = time.time()
            best = min(best, (after - before, now - (before + after) / 2))
        return best[1]


# Built once, values bound at execution: a claim and a release run for every request of a run
# (19,600 pages in bench/pipeline.py's cold run), and statements built per call, with the row's
# insert tried every time, cost 1.0 ms of CPU per claim and release on SQLite; these 0.25 ms.
_ROW = select(HOST_SLOTS.c.next_start, HOST_SLOTS.c.leases).where(HOST_SLOTS.c.host == bindparam("slot_host"))
_LOCKED_ROW = _ROW.with_for_update()
_SET_SLOTS = (
    update(HOST_SLOTS)
    .where(HOST_SLOTS.c.host == bindparam("slot_host"))
    .values(next_start=bindparam("slot_next", type_=HOST_SLOTS.c.next_start.type))
    .values(leases=bindparam("slot_leases", type_=HOST_SLOTS.c.leases.type))
)
_SET_LEASES = (
    update(HOST_SLOTS)
    .where(HOST_SLOTS.c.host == bindparam("slot_host"))
    .values(leases=bindparam("slot_leases", type_=HOST_SLOTS.c.leases.type))
)


def _locked_row(conn: Connection, host: str) -> tuple[float, dict[str, float]]:
    """The host's (next_start, leases), its row created if need be and locked until the commit."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, waiting up to the busy timeout
    query = _LOCKED_ROW if conn.dialect.name == "postgresql" else _ROW
    row = conn.execute(query, {"slot_host": host}).first()
    if row is None:  # the host's first request on this database (two workers may both insert: one wins)
        insert = dialect_insert(conn, HOST_SLOTS).values(host=host, next_start=0.0, leases={})
        conn.execute(insert.on_conflict_do_nothing(index_elements=["host"]))
        row = conn.execute(query, {"slot_host": host}).one()
    return float(row.next_start), dict(row.leases or {})


def claim_slot(db_url: str, host: str, token: str, concurrency: int, min_gap: float, lease: float) -> Claim:
    """Take one of `host`'s `concurrency` slots for `token` (held at most `lease` seconds) and the
    next start time, `min_gap` after the previous one; or say how long to wait before asking again."""
    with get_engine(db_url).connect() as conn:
        next_start, leases = _locked_row(conn, host)
        now = _now(conn)
        leases = {t: expiry for t, expiry in leases.items() if expiry > now}
        if len(leases) >= concurrency:
            conn.commit()
            return Claim(False, max(0.0, min(min(leases.values()) - now, FULL_POLL_SECONDS)))
        start = max(now, next_start)
        leases[token] = start + lease
        conn.execute(_SET_SLOTS, {"slot_host": host, "slot_next": start + min_gap, "slot_leases": leases})
        conn.commit()
        return Claim(True, start - now, start)


# SQLite: the lease dropped by one statement, atomic on its own (no read, no lock taken first).
_DROP_LEASE = text(
    "UPDATE host_slots SET leases = json_remove(leases, :path) "
    "WHERE host = :host AND json_type(leases, :path) IS NOT NULL"
)


def release_slot(db_url: str, host: str, token: str) -> None:
    """The request of `token` is done: its slot is free for any process."""
    with get_engine(db_url).connect() as conn:
        if conn.dialect.name == "sqlite" and token.isalnum():  # a token a JSON path can name as it is
            # 0.14 -> 0.09 ms of CPU per release against the locked read and write below.
            conn.execute(_DROP_LEASE, {"host": host, "path": f'$."{token}"'})
            conn.commit()
            return
        _, leases = _locked_row(conn, host)
        if leases.pop(token, None) is not None:
            conn.execute(_SET_LEASES, {"slot_host": host, "slot_leases": leases})
        conn.commit()
