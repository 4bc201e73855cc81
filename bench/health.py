"""What the health stage's read costs as the archive grows.

    .venv/bin/python bench/health.py [--sizes 20000,100000,500000] [--sources 1000] [--no-pg]

Every run reads every source's 20 newest articles (its rhythm, for "silent" sources). This
builds archives of each size (articles spread over --sources sources, some without a publication
date) on SQLite and, when it answers, PostgreSQL (NEWSWATCH_TEST_PG's server), then times
  - `windowed`: the query before migration 0006, a row_number() window over the whole archive;
  - `source_health`: storage.repository.source_health as it is (the index walk, and the sources
    themselves).
Both must return the same rows. Median of 3. Prints a table and one JSON line, writes
bench/results/health.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench.reference import in_loops, machine_reference, reference_line  # noqa: E402
from storage import repository  # noqa: E402
from storage.db import dispose_all, get_engine  # noqa: E402
from storage.models import Article  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "health.json"
PG_ADMIN = os.environ.get("NEWSWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
RECENT = 20
RUNS = 3
A = Article.__table__  # type: ignore[attr-defined]

# One statement for both backends: article k belongs to source k % sources + 1, is k minutes
# after 2025-01-01, and every 7th has no publication date (its fetch time is the one that counts).
FILL = {
    "sqlite": """
        WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < :size)
        INSERT INTO articles (source_id, canonical_url, url, guid, title, text, content_hash, fetched_at,
                              published_at, revision, text_origin)
        SELECT n % :sources + 1, 'https://bench.example/' || n, 'https://bench.example/' || n, 'g' || n,
               'Title ' || n, 'text', printf('%064d', n), datetime('2025-01-01', '+' || (n + 3) || ' minutes'),
               CASE WHEN n % 7 = 0 THEN NULL ELSE datetime('2025-01-01', '+' || n || ' minutes') END, 1, 'page'
        FROM k""",
    "postgresql": """
        INSERT INTO articles (source_id, canonical_url, url, guid, title, text, content_hash, fetched_at,
                              published_at, revision, text_origin)
        SELECT n % :sources + 1, 'https://bench.example/' || n, 'https://bench.example/' || n, 'g' || n,
               'Title ' || n, 'text', lpad(n::text, 64, '0'), timestamptz '2025-01-01' + (n + 3) * interval '1 minute',
               CASE WHEN n % 7 = 0 THEN NULL ELSE timestamptz '2025-01-01' + n * interval '1 minute' END, 1, 'page'
        FROM generate_series(0, :size - 1) n""",
}


def windowed(db_url: str) -> dict[int, list[Any]]:
    """The rhythm read before migration 0006: rank the whole archive per source."""
    when = func.coalesce(A.c.published_at, A.c.fetched_at).label("at")
    rank = func.row_number().over(partition_by=A.c.source_id, order_by=when.desc()).label("rank")
    ranked = select(A.c.source_id, when, rank).subquery()
    query = select(ranked.c.source_id, ranked.c.at).where(ranked.c.rank <= RECENT)
    times: dict[int, list[Any]] = {}
    with get_engine(db_url).connect() as conn:
        for source_id, at in conn.execute(query.order_by(ranked.c.source_id, ranked.c.rank)):
            times.setdefault(source_id, []).append(at)
    return times


def indexed(db_url: str) -> dict[int, list[Any]]:
    ids = {row.name: row.id for row in _sources(db_url)}
    return {
        ids[row.name]: row.recent_published for row in repository.source_health(db_url, RECENT) if row.recent_published
    }


def _sources(db_url: str) -> list[Any]:
    with get_engine(db_url).connect() as conn:
        return list(conn.execute(text("SELECT id, name FROM sources")))


def median_s(fn: Callable[[str], object], db_url: str) -> float:
    walls = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn(db_url)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def build(db_url: str, size: int, sources: int) -> float:
    """Fill an empty database; seconds it took."""
    start = time.perf_counter()
    repository.upsert_sources(db_url, [(f"Source {i:05d}", f"https://s{i}.example/rss", []) for i in range(sources)])
    engine = get_engine(db_url)
    with engine.begin() as conn:
        first = min(r.id for r in conn.execute(text("SELECT id FROM sources")))
        assert first == 1, "the fill statement numbers sources from 1"
        conn.execute(text(FILL[engine.dialect.name]), {"size": size, "sources": sources})
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - start


def measure(backend: str, db_url: str, size: int, sources: int) -> dict[str, Any]:
    built = build(db_url, size, sources)
    before, after = windowed(db_url), indexed(db_url)
    assert before == after, f"{backend} at {size}: the two queries disagree"
    old, new = median_s(windowed, db_url), median_s(repository.source_health, db_url)
    return {
        "backend": backend,
        "articles": size,
        "sources": sources,
        "build_s": round(built, 2),
        "windowed_s": round(old, 4),
        "source_health_s": round(new, 4),
        "ratio": round(old / new, 1),
    }


def _pg_database() -> tuple[str, Callable[[], None]] | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            name = "nw_bench_" + uuid.uuid4().hex[:8]
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001  (no PostgreSQL here: the SQLite figures stand alone)
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        return None

    def drop() -> None:
        dispose_all()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,100000,500000", help="archive sizes, comma-separated")
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    reference = machine_reference()  # in the same run (bench/reference.py)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            rows.append(measure("sqlite", f"sqlite:///{tmp}/health-{size}.db", size, args.sources))
            dispose_all()
            pg = None if args.no_pg else _pg_database()
            if pg is not None:
                url, drop = pg
                try:
                    rows.append(measure("postgresql", url, size, args.sources))
                finally:
                    drop()
    for r in rows:  # the times in reference loops, to compare across machines
        r["source_health_loops"] = round(in_loops(r["source_health_s"], reference), 4)
    print(reference_line(reference))
    print(f"{'backend':<11} {'articles':>9} {'windowed s':>11} {'source_health s':>16} {'ratio':>6} {'in loops':>9}")
    for r in rows:
        old, new = r["windowed_s"], r["source_health_s"]
        line = f"{r['backend']:<11} {r['articles']:>9,} {old:>11.3f} {new:>16.3f} {r['ratio']:>6}"
        print(f"{line} {r['source_health_loops']:>9.4f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": RUNS, "recent": RECENT, "rows": rows, "reference": reference}, indent=2))
    print(json.dumps({"health": rows, "reference": reference}))


if __name__ == "__main__":
    main()
