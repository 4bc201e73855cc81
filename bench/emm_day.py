"""The Europe Media Monitor's day on one machine (issue #18 part 5): about 7,000 sources polled
every 15 minutes, about 3,125 new articles per interval (300,000 a day), on the simulated news
web of bench/newsweb.py (each site its own loopback host, 20-entry feeds, 50-150 KB pages).

    .venv/bin/python bench/emm_day.py                                   # full: 7,000 sources, 8 intervals
    .venv/bin/python bench/emm_day.py --sources 700 --per-interval 312 --intervals 2   # a reduced run

For each backend (--backends: sqlite, postgres) a fresh news web (same seed, so the same web) and
a fresh newswatch database; a warm-up run learns each site's --backlog articles from the feeds
alone (fetch_pages off: it is not measured). Then, for each mode (--modes), --intervals
consecutive intervals on the same database and web, each: the web publishes --per-interval new
articles (on as many sites), then newswatch runs as a deployment would every 15 minutes:
  local   `newswatch run --force --json` without PREFECT_API_URL (the flow's stages in-process)
  split   the same as two processes at once, `--only w0` and `--only w1` (sources tagged by halves)
  prefect `newswatch run` with PREFECT_API_URL: the monitor flow on a Prefect server started here
          (SQLite, with the README's retention settings), for the growth of Prefect's database
`--force` because the clock is compressed: the simulated clock advances 15 minutes per interval
while each interval runs as fast as the pipeline can, so every source is due each time (failing
sources too, with no backoff: slightly more work than a real day).

Publication to alert: the articles of an interval were put online, in simulated time, evenly
over the 15 minutes before the run (the n-th of N at (n + 0.5) / N of the interval, in the random
order the web picked the sites); the alert time is when the local JSON receiver got the alert.
So latency = the wait for the poll (simulated) + the real time from publication to delivery.

Per interval: wall time (and whether it fits in 15 real minutes), CPU per new article (the
process tree of the run, extraction workers included, psutil), publication-to-alert p50/p95,
peak RSS (summed over the tree; both processes in split mode), bytes added to newswatch's
database per new article, bytes added to Prefect's database per run (prefect mode). Then the day
extrapolated from the means, at the configured rate and scaled to EMM's 300,000 articles:
CPU-hours, database growth (newswatch and Prefect) and the retention that keeps newswatch under
100 GB. Prints the machine reference (bench/reference.py), a table and one JSON line; writes
bench/results/emm_day.json.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.newsweb import WATCHLIST  # noqa: E402
from bench.pipeline import BIN, Bench, Measured, measure  # noqa: E402
from bench.reference import machine_reference, reference_line, write_results  # noqa: E402
from tasks.report import SOURCES_KEY, sources_table_gap  # noqa: E402
from tests.receivers import free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "emm_day.json"
MODES = ("local", "split", "prefect")
BACKENDS = ("sqlite", "postgres")
INTERVAL_S = 900  # the schedule: a run every 15 minutes
RUNS_PER_DAY = 24 * 3600 // INTERVAL_S
EMM_ARTICLES_PER_DAY = 300_000
NEWSWATCH_CAP_BYTES = 100 * 10**9
ARTICLES = "SELECT count(*) FROM articles"
WORKERS = ("w0", "w1")  # split mode: source i is tagged WORKERS[i % 2]
# The Prefect server's retention as the README's production settings give it. The events'
# period must be a duration ("P7D"): Prefect 3.9 takes plain seconds for the vacuum's period but
# refuses them for the events' one (`prefect server start` exits with a validation error).
PREFECT_RETENTION_DAYS = 14
TABLE_COPIES = 2  # Prefect keeps an artifact's data in the artifact and in its collection's event
# Events that only repeat what the task runs and artifacts hold (an artifact collection's event
# carries the artifact's data) are kept a day; heartbeats (the zombie-run automation) 7 days.
SHORT_LIVED_EVENTS = {
    "prefect.flow-run.heartbeat": 7 * 86400,
    **{f"prefect.task-run.{state}": 86400 for state in ("Pending", "Running", "Completed")},
    **{f"prefect.artifact-collection.{action}": 86400 for action in ("created", "updated")},
}
PREFECT_SERVER_ENV = {
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": str(PREFECT_RETENTION_DAYS * 86400),
    "PREFECT_SERVER_EVENTS_RETENTION_PERIOD": "P7D",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_EVENT_RETENTION_OVERRIDES": json.dumps(SHORT_LIVED_EVENTS),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


@dataclass
class Interval:
    backend: str
    mode: str
    index: int
    published: int
    new_articles: int  # rows added to the articles table (a run's summary undercounts after a retried batch)
    reported_new: int  # the runs' own count (summary JSON)
    wall_s: float
    cpu_s: float
    web_cpu_s: float
    peak_rss_mb: float
    peak_pss_mb: float
    matching: int
    alerted: int
    alert_p50_s: float | None
    alert_p95_s: float | None
    delivery_p95_s: float | None  # real time from publication to delivery, without the poll wait
    newswatch_bytes: int
    prefect_bytes: int | None
    prefect_cpu_s: float | None  # the Prefect server's CPU meanwhile (not in the run's tree)
    exit_codes: list[int] = field(default_factory=list)
    prefect_table_bytes: int | None = None  # newswatch-sources table data stored by the run (JSON bytes)

    @property
    def fits(self) -> bool:
        return self.wall_s < INTERVAL_S

    @property
    def cpu_ms_per_article(self) -> float | None:
        return 1000 * self.cpu_s / self.new_articles if self.new_articles else None

    @property
    def bytes_per_article(self) -> float | None:
        return self.newswatch_bytes / self.new_articles if self.new_articles else None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), interpolated; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[min(98, max(0, round(q) - 1))]


def sources_tables(path: Path) -> int:
    """JSON bytes of every newswatch-sources table stored in a Prefect SQLite database so far."""
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=30) as conn:
        row = conn.execute("SELECT COALESCE(SUM(length(data)), 0) FROM artifact WHERE key = ?", (SOURCES_KEY,))
        stored = int(row.fetchone()[0])
    conn.close()
    return stored


def sqlite_bytes(path: Path) -> int:
    """Bytes of a SQLite database's pages in use (its WAL included, free pages not)."""
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=30) as conn:
        pages, free, size = (
            conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size")
        )
    conn.close()
    return int((pages - free) * size)


class Day(Bench):
    """The news web, the Prefect server and the newswatch runs (pipeline.Bench's parts)."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        super().__init__(args, work)
        self.api = ""
        self.prefect_db = work / "prefect" / "prefect.db"
        self.intervals: list[Interval] = []
        self.warmups: dict[str, dict[str, Any]] = {}

    # --- the parts -------------------------------------------------------------------------
    def start_web(self) -> None:
        """A fresh news web (same seed: the same web), and the sources files naming its sites."""
        a = self.args
        control_port = free_port()
        flags = {
            "--sites": a.sources,
            "--entries": a.entries,
            "--initial": a.backlog,
            "--latency": a.latency,
            "--port-base": a.port_base,
            "--control-port": control_port,
            "--fail-share": a.fail_share,
            "--new-match-share": a.new_match_share,
        }
        cmd = [sys.executable, str(ROOT / "bench" / "newsweb.py")] + [str(x) for kv in flags.items() for x in kv]
        self.web_proc = self._spawn(cmd, "newsweb")
        self.control = f"http://127.0.0.1:{control_port}"
        ready = lambda: self._alive(self.web_proc) and requests.get(f"{self.control}/health", timeout=5).ok  # noqa: E731
        self._wait(ready, 300, "the news web")
        self.web = psutil.Process(self.web_proc.pid)
        sites = requests.get(f"{self.control}/state", timeout=600).json()["sites"]
        for name, pages in (("sources.yaml", True), ("sources-warmup.yaml", False)):
            entries = "".join(
                f"  - name: site-{i:05d}\n    url: {s['url']}\n    tags: [{WORKERS[i % 2]}]\n"
                + ("" if pages else "    fetch_pages: false\n")
                for i, s in enumerate(sites)
            )
            (self.work / name).write_text("sources:\n" + entries)
        (self.work / "watchlist.yaml").write_text(WATCHLIST)

    def stop_web(self) -> None:
        self.web_proc.terminate()
        self.web_proc.wait(60)
        self.procs.remove(self.web_proc)

    def start_prefect(self) -> None:
        """A Prefect server with the shipped retention settings (once, for the prefect mode)."""
        if self.api:
            return
        port = free_port()
        env = {**self.base_env(), "PREFECT_HOME": str(self.prefect_db.parent), **PREFECT_SERVER_ENV}
        cmd = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
        self.prefect_proc = self._spawn(cmd, "prefect-server", env)
        self.api = f"http://127.0.0.1:{port}/api"
        up = lambda: self._alive(self.prefect_proc) and requests.get(f"{self.api}/health", timeout=5).ok  # noqa: E731
        self._wait(up, 180, "the Prefect server")

    @staticmethod
    def base_env() -> dict[str, str]:
        import os

        return {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}

    def run_env(self, db: str, prefect: bool, sources_file: str = "sources.yaml") -> dict[str, str]:
        # Bench's settings (database URL, sources, watchlist, the JSON receiver), no Prefect server.
        env = self.base_env() | {k: v for k, v in self.env(db).items() if k.startswith("NEWSWATCH_")}
        env["NEWSWATCH_SOURCES_FILE"] = str(self.work / sources_file)
        env["PREFECT_HOME"] = str(self.work / "prefect-client")
        env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        if prefect:
            env["PREFECT_API_URL"] = self.api
        return env

    def db_bytes(self, name: str) -> int:
        if self.args.db == "sqlite":
            return sqlite_bytes(self.work / f"{name}.db")
        return self.db_number(name, "SELECT pg_database_size(current_database())")

    def db_number(self, name: str, sql: str) -> int:
        """One number read from newswatch's database (0 before its first run made the tables)."""
        import psycopg

        try:
            if self.args.db == "sqlite":
                path = self.work / f"{name}.db"
                if not path.exists():
                    return 0
                with sqlite3.connect(path, timeout=60) as conn:
                    row = conn.execute(sql).fetchone()
                conn.close()
            else:
                with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as pg:
                    row = pg.execute(sql).fetchone()
        except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
            return 0
        return int(row[0]) if row else 0

    # --- the day ---------------------------------------------------------------------------
    def backend(self, backend: str) -> None:
        self.args.db = backend  # Bench.env and Bench.new_db read it
        db = self.new_db(f"emm_day_{backend}")
        self.start_web()
        try:
            if self.args.backlog:
                self.warm_up(backend, db)
            for mode in self.args.modes:
                if mode == "prefect":
                    self.start_prefect()
                for i in range(self.args.intervals):
                    self.intervals.append(self.interval(backend, mode, i, db))
                    print(f"bench: {json.dumps(row(self.intervals[-1]))}", file=sys.stderr, flush=True)
        finally:
            self.stop_web()

    def warm_up(self, backend: str, db: str) -> None:
        """The run that learns the backlog from the feeds alone (not one of the intervals)."""
        env = self.run_env(db, False, "sources-warmup.yaml")
        warm = measure(self.cmd(None), env, self.web, self.log(f"{backend}-warmup"))
        self.warmups[backend] = {**asdict(warm), "db_bytes": self.db_bytes(db)}
        learnt = warm.output.get("new_articles")
        print(f"bench: {backend} warm-up: {warm.wall_s:.1f} s, {learnt} articles", file=sys.stderr, flush=True)

    def cmd(self, worker: str | None) -> list[str]:
        return [str(BIN / "newswatch"), "run", "--force", "--json"] + (["--only", worker] if worker else [])

    def log(self, label: str) -> Path:
        return self.work / f"{label}.log"

    def interval(self, backend: str, mode: str, index: int, db: str) -> Interval:
        self.counters(reset=True)
        nw_before = self.db_bytes(db)
        rows_before = self.db_number(db, ARTICLES)
        pf_before = sqlite_bytes(self.prefect_db) if mode == "prefect" else None
        tables_before = sources_tables(self.prefect_db) if mode == "prefect" else None
        pf_cpu = self.prefect_cpu() if mode == "prefect" else None
        web_cpu = sum(self.web.cpu_times()[:2])
        published = requests.post(f"{self.control}/publish", params={"k": self.args.per_interval}, timeout=600).json()
        waited = self.poll_waits(published["articles"])
        started = time.time()
        runs = self.run_workers(mode, db, f"{backend}-{mode}-{index}")
        wall = time.time() - started
        if pf_before is not None:
            time.sleep(self.args.settle)  # the server writes a run's events after it ends
        delays = self.delays(published["at"], started, set(waited))
        latencies = [waited[u] + d for u, d in delays.items() if u in waited]
        return Interval(
            backend,
            mode,
            index,
            len(published["articles"]),
            self.db_number(db, ARTICLES) - rows_before,
            sum(int(m.output.get("new_articles", 0)) for m in runs),
            wall,
            sum(m.cpu_s for m in runs),
            sum(self.web.cpu_times()[:2]) - web_cpu,
            sum(m.peak_rss_mb for m in runs),
            sum(m.peak_pss_mb for m in runs),
            len(waited),
            len(latencies),
            percentile(latencies, 50),
            percentile(latencies, 95),
            percentile([delays[u] for u in waited if u in delays], 95),
            self.db_bytes(db) - nw_before,
            None if pf_before is None else sqlite_bytes(self.prefect_db) - pf_before,
            None if pf_cpu is None else self.prefect_cpu() - pf_cpu,
            [m.exit_code for m in runs],
            None if tables_before is None else sources_tables(self.prefect_db) - tables_before,
        )

    def prefect_cpu(self) -> float:
        server = psutil.Process(self.prefect_proc.pid)
        return sum(sum(p.cpu_times()[:2]) for p in [server, *server.children(recursive=True)])

    def poll_waits(self, articles: list[dict[str, Any]]) -> dict[str, float]:
        """Seconds each matching article waited, in simulated time, for the run: published evenly
        over the interval before it."""
        n, step = len(articles), self.args.interval_s
        return {a["url"]: step * (1 - (j + 0.5) / n) for j, a in enumerate(articles) if a["matches"]}

    def delays(self, published_at: float, since: float, urls: set[str]) -> dict[str, float]:
        """Real seconds from publication to the first alert (since `since`) naming each of `urls`."""
        first: dict[str, float] = {}
        for t, text in self.receiver.arrivals:
            if t >= since:
                for url in urls - first.keys():
                    if url in text:
                        first[url] = t - published_at
        return first

    def run_workers(self, mode: str, db: str, label: str) -> list[Measured]:
        """The interval's newswatch run(s), measured from outside; two at once in split mode."""
        workers = list(WORKERS) if mode == "split" else [None]
        env = self.run_env(db, mode == "prefect")
        out: dict[int, Measured] = {}

        def one(k: int, worker: str | None) -> None:
            out[k] = measure(self.cmd(worker), env, self.web, self.log(f"{label}-{worker or 'all'}"))

        threads = [threading.Thread(target=one, args=(k, w)) for k, w in enumerate(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [out[k] for k in sorted(out)]


def row(i: Interval) -> dict[str, Any]:
    return {
        **asdict(i),
        "fits": i.fits,
        "cpu_ms_per_article": i.cpu_ms_per_article,
        "bytes_per_article": i.bytes_per_article,
    }


def mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def prefect_run_bytes(rows: list[Interval]) -> float | None:
    """Bytes a run adds to Prefect's database, on average over a day. The newswatch-sources table
    is stored by time, not by run (tasks/report.py: at most as often as keeps it under
    SOURCES_TABLE_BYTES_PER_DAY, at least daily): the first interval of a bench stores it, the
    next ones do not, however many a day would. So it is taken out of each interval (its data is
    kept twice: the artifact and its collection's event) and put back at its stores per day. The
    first run on a fresh server also writes one-time rows (the flow, each artifact key's collection
    row, which later runs update in place: a third copy of the first table): with several
    intervals, the runs after the first are the day's runs."""
    measured = [r for r in rows if r.prefect_bytes is not None]
    if not measured:
        return None
    steady = measured[1:] or measured
    other = statistics.fmean((r.prefect_bytes or 0) - TABLE_COPIES * (r.prefect_table_bytes or 0) for r in steady)
    size = max(r.prefect_table_bytes or 0 for r in measured)
    if not size:
        return other
    gap = sources_table_gap(size).total_seconds()
    stores_per_day = min(RUNS_PER_DAY, max(1.0, 86400 / gap if gap else RUNS_PER_DAY))
    return other + TABLE_COPIES * size * stores_per_day / RUNS_PER_DAY


def extrapolate(rows: list[Interval], per_interval: int) -> dict[str, Any]:
    """The day from one (backend, mode)'s intervals: at the configured rate and at EMM's."""
    cpu_per_article = mean([r.cpu_s / r.new_articles if r.new_articles else None for r in rows])
    bytes_per_article = mean([r.bytes_per_article for r in rows])
    prefect_per_run = prefect_run_bytes(rows)
    day: dict[str, Any] = {
        "intervals": len(rows),
        "all_fit": all(r.fits for r in rows),
        "wall_s_max": max(r.wall_s for r in rows),
        "alert_p95_s_max": max((r.alert_p95_s for r in rows if r.alert_p95_s is not None), default=None),
        "articles_per_day": per_interval * RUNS_PER_DAY,
        "prefect_bytes_per_run": prefect_per_run,
    }
    for label, articles in (("configured", per_interval * RUNS_PER_DAY), ("emm", EMM_ARTICLES_PER_DAY)):
        nw_day = bytes_per_article * articles if bytes_per_article else None
        day[label] = {
            "cpu_hours": cpu_per_article * articles / 3600 if cpu_per_article else None,
            "newswatch_gb_per_day": nw_day / 1e9 if nw_day else None,
            "retention_days_under_100gb": NEWSWATCH_CAP_BYTES / nw_day if nw_day else None,
        }
    if prefect_per_run is not None:
        day["prefect_mb_per_day"] = prefect_per_run * RUNS_PER_DAY / 1e6
        day["prefect_mb_at_retention"] = prefect_per_run * RUNS_PER_DAY * PREFECT_RETENTION_DAYS / 1e6
        server_cpu = mean([r.prefect_cpu_s for r in rows])
        day["prefect_server_cpu_hours"] = server_cpu * RUNS_PER_DAY / 3600 if server_cpu is not None else None
    return day


def days(intervals: list[Interval], per_interval: int) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Interval]] = {}
    for i in intervals:
        groups.setdefault(f"{i.backend}/{i.mode}", []).append(i)
    return {key: extrapolate(rows, per_interval) for key, rows in groups.items()}


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(results: dict[str, Any]) -> str:
    head = ["backend/mode", "#", "new", "wall s", "fits", "CPU ms/art", "p50 s", "p95 s", "alerts", "RSS MB"]
    head += ["nw B/art", "prefect KB/run"]
    lines = [head]
    for r in results["intervals"]:
        lines.append(
            [
                f"{r['backend']}/{r['mode']}",
                str(r["index"] + 1),
                str(r["new_articles"]),
                fmt(r["wall_s"]),
                "yes" if r["fits"] else "NO",
                fmt(r["cpu_ms_per_article"]),
                fmt(r["alert_p50_s"], 0),
                fmt(r["alert_p95_s"], 0),
                f"{r['alerted']}/{r['matching']}",
                fmt(r["peak_rss_mb"], 0),
                fmt(r["bytes_per_article"], 0),
                fmt(r["prefect_bytes"] / 1e3 if r["prefect_bytes"] is not None else None, 0),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    for key, d in results["days"].items():
        c, e = d["configured"], d["emm"]
        text = (
            f"day {key}: at {d['articles_per_day']:,} articles/day {fmt(c['cpu_hours'], 2)} CPU-h, newswatch "
            f"{fmt(c['newswatch_gb_per_day'], 2)} GB/day; at 300,000/day {fmt(e['cpu_hours'], 2)} CPU-h, "
            f"{fmt(e['newswatch_gb_per_day'], 2)} GB/day, under 100 GB with {fmt(e['retention_days_under_100gb'], 0)} "
            f"days' retention; every interval within 15 min: {d['all_fit']}"
        )
        if "prefect_mb_per_day" in d:
            text += (
                f"; Prefect {d['prefect_mb_per_day']:.1f} MB/day, {d['prefect_mb_at_retention']:.0f} MB "
                f"at {PREFECT_RETENTION_DAYS} days' retention; "
                f"its server {fmt(d['prefect_server_cpu_hours'], 2)} CPU-h/day"
            )
        out.append(text)
    if results.get("reference"):
        out.append(reference_line(results["reference"]))
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sources", type=int, default=7000)
    p.add_argument("--per-interval", type=int, default=3125, help="new articles per interval (one per site)")
    p.add_argument("--intervals", type=int, default=8, help="consecutive intervals per backend and mode")
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--modes", default="local,split,prefect")
    p.add_argument("--entries", type=int, default=20, help="entries a feed lists")
    p.add_argument("--backlog", type=int, default=5, help="articles per site before interval 1 (0: no warm-up)")
    p.add_argument("--latency", type=float, default=0.05, help="seconds before every answer of the web")
    p.add_argument("--fail-share", type=float, default=0.02, help="share of failing hosts")
    p.add_argument("--new-match-share", type=float, default=0.05, help="share of new articles that alert")
    p.add_argument("--interval-s", type=float, default=INTERVAL_S, help="simulated seconds per interval")
    p.add_argument("--settle", type=float, default=5.0, help="seconds for the Prefect server's writes after a run")
    # Below Linux's ephemeral ports (32768-60999) and apart from bench/pipeline.py's 22000-22999.
    p.add_argument("--port-base", type=int, default=10000, help="site i listens on port-base + i")
    p.add_argument("--no-reference", action="store_true", help="skip the machine reference (smoke tests)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, SQLite databases)")
    p.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON results")
    args = p.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    args.modes = [m for m in args.modes.split(",") if m]
    if bad := (set(args.backends) - set(BACKENDS)) | (set(args.modes) - set(MODES)):
        p.error(f"unknown backends or modes: {', '.join(sorted(bad))}")
    if args.per_interval > args.sources:
        p.error("--per-interval is at most --sources (one new article per site and interval)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the web and servers on the way out
    work = Path(tempfile.mkdtemp(prefix="newswatch-emm-"))
    day = Day(args, work)
    results: dict[str, Any] = {"config": {k: v for k, v in vars(args).items() if k != "db"}}
    results["reference"] = None if args.no_reference else machine_reference()
    try:
        for backend in args.backends:
            day.backend(backend)
    finally:
        day.stop()
        if args.keep:
            print(f"bench: work folder kept: {work}", file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", str(work)], check=False)
    results["warmups"] = day.warmups
    results["intervals"] = [row(i) for i in day.intervals]
    results["days"] = days(day.intervals, args.per_interval)
    print(table(results))
    write_results(results, args.results)


if __name__ == "__main__":
    main()
