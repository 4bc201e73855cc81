"""Crash safety under SIGKILL: run `newswatch run` as a subprocess again and again, killing it at
every step of a run, then once more without a kill, and count what the webhook receivers got.

Run from the repository root:  .venv/bin/python bench/killtest.py [--kills N] [--db sqlite|postgresql]
Prints a table per run, a summary table and one JSON line, writes bench/results/killtest.json,
exits 1 if an alert is lost or if there are more duplicates than kills in the window.

Setup: a local news web with S sources (3) and two json:// receivers on different ports (two
targets: every article makes 2 alerts). Before each run every source publishes one new article
that matches the topic, so each run has work at every step: storing (after-store, once per
source), matching (after-match), sending (before-send, after-send, after-mark, once per
alert). Each run sets NEWSWATCH_CRASH_AT=POINT:N (tasks/common/faults.py: the process SIGKILLs itself
the Nth time it passes that point), cycling through the five points and several N; every 6th
run is killed instead by this script after a random delay (places without a crash point: the
Prefect engine, fetching, HTTP sends, commits). A final run without a kill must complete.

Figures: expected = articles x targets; delivered = distinct (target, article title) received;
lost = expected - delivered (must be 0); duplicated = receipts - delivered. A kill "falls in
the window" when, right after it, an alert that this run sent (its receiver got it) is still
not marked sent in the database: the one place where a repeat is expected. Bound: duplicated
<= kills in the window, and no kill leaves more than one alert in the window.

Lease expiry simulated: a run claims each alert just before sending it, for
NEWSWATCH_ALERT_CLAIM_LEASE (10 min); a killed run leaves its claim until the lease runs
out. Scheduled runs are 15 min apart, so the next one finds the leases expired; here runs
follow each other at once, so after each killed run the script does what time passing does:
`UPDATE alerts SET claimed_until = NULL WHERE status = 'pending'` (counted as leases_expired).

Prefect: the ephemeral API (as `newswatch run` uses it) with a persistent PREFECT_HOME in a
temporary folder (about 8 s a run); --prefect-server starts one Prefect server for all runs
instead (about 3 s a run: more kills in the same time). A killed run's ephemeral Prefect
server (a child process) is killed with it: each run is its own process group.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, update  # noqa: E402

from bench.reference import with_reference  # noqa: E402
from storage.db import dispose_all, get_engine  # noqa: E402
from storage.models import Alert, Article  # noqa: E402
from tests.newsweb import NewsWeb, article_page, distinct_paragraphs, rfc822, rss  # noqa: E402
from tests.receivers import JsonReceiver  # noqa: E402

CRASH_POINTS = ("after-store", "after-match", "before-send", "after-send", "after-mark")
WINDOW_POINT = "after-send"
TOPIC = "human-trafficking"
TITLE_PREFIX = f"[newswatch] {TOPIC}: "
PG_ADMIN_URL = os.environ.get("NEWSWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# Tests serve everything from 127.0.0.1 (same as tests/conftest.py TEST_ENV).
LOCAL_ENV = {"NEWSWATCH_ALLOW_PRIVATE": "127.0.0.1", "NEWSWATCH_HOST_MIN_GAP": "0"}
TIMER_EVERY = 6  # every 6th planned kill is by timer
# (point, N): the Nth pass. Per run: after-store once per source (3), after-match once, and the
# send points once per alert (at least 6 new alerts a run with 3 sources and 2 targets).
CYCLE = [
    ("after-store", 1),
    ("after-match", 1),
    ("before-send", 1),
    ("after-send", 1),
    ("after-mark", 1),
    ("after-store", 3),
    ("after-match", 1),
    ("before-send", 4),
    ("after-send", 5),
    ("after-mark", 2),
    ("after-store", 2),
    ("after-match", 1),
    ("before-send", 6),
    ("after-send", 3),
    ("after-mark", 6),
]

AL = Alert.__table__  # type: ignore[attr-defined]
AR = Article.__table__  # type: ignore[attr-defined]
PLACES = ["Sihanoukville", "Poipet", "Bavet", "Koh Kong", "Kampot", "Siem Reap", "Battambang", "Kratie"]


# ---------------------------------------------------------------- the news web


class Site:
    """`sources` outlets on a NewsWeb, each with an RSS feed; publish() adds one new article to
    each. Every article matches the topic and has a unique title and text."""

    def __init__(self, web: NewsWeb, sources: int = 3) -> None:
        self.web = web
        self.names = [f"Outlet {chr(ord('A') + i)}" for i in range(sources)]
        self.items: dict[str, list[dict[str, str]]] = {n: [] for n in self.names}
        self.titles: list[str] = []
        for name in self.names:
            self._write_feed(name)

    def _slug(self, name: str) -> str:
        return "/" + name.lower().replace(" ", "-")

    def _write_feed(self, name: str) -> None:
        slug = self._slug(name)
        self.web.add(f"{slug}/feed.xml", rss(name, self.web.url(slug), self.items[name]), "application/rss+xml")

    @property
    def feeds(self) -> list[tuple[str, str]]:
        return [(n, self.web.url(f"{self._slug(n)}/feed.xml")) for n in self.names]

    def publish(self, per_source: int = 1) -> list[str]:
        """One (or per_source) new article in every outlet; returns the new titles."""
        new = []
        for name in self.names:
            for _ in range(per_source):
                n = len(self.titles) + 1
                place = PLACES[n % len(PLACES)]
                title = f"{name} story {n}: police free {n + 20} workers held by human traffickers in {place}"
                paragraphs = [
                    f"Police in {place} said they had freed {n + 20} workers held by a human trafficking ring in "
                    f"a guarded compound, case {name} {n}, and arrested {n % 7 + 2} suspected organisers on Tuesday.",
                    f"The workers, recruited with false job offers in case {n}, described having their passports "
                    "confiscated and being forced to work long hours defrauding strangers online.",
                    f"Rights groups said the raid number {n} showed how widespread trafficking remains in the "
                    "province and urged authorities to prosecute officials who protected the compounds.",
                    "The Ministry of Interior said the investigation was continuing and that further arrests "
                    "were expected in the coming weeks as victims give evidence to investigators.",
                    *distinct_paragraphs(n),
                ]
                path = f"{self._slug(name)}/news/{n}"
                link = self.web.add(path, article_page(title, paragraphs, name))
                published = datetime(2026, 11, 27, 1, 15, tzinfo=UTC) + timedelta(minutes=n)
                self.items[name].insert(
                    0,
                    {
                        "title": title,
                        "link": link,
                        "guid": f"{name}-{n}",
                        "summary": paragraphs[0],
                        "pubDate": rfc822(published),
                    },
                )
                self.titles.append(title)
                new.append(title)
            self._write_feed(name)
        return new


def write_config(folder: Path, feeds: list[tuple[str, str]]) -> tuple[str, str]:
    src = folder / "sources.yaml"
    src.write_text("sources:\n" + "".join(f"  - name: {n}\n    url: {u}\n" for n, u in feeds))
    wl = folder / "watchlist.yaml"
    wl.write_text(
        f"topics:\n  - name: {TOPIC}\n"
        '    terms: ["human trafficking", "human traffickers", "traffick*", "forced labour"]\n'
    )
    return str(src), str(wl)


# ---------------------------------------------------------------- one run as a subprocess


@dataclass
class RunResult:
    returncode: int | None
    seconds: float
    killed: bool  # died of SIGKILL (its own crash point, or our timer)
    stdout: str
    stderr: str


def run_env(prefect_home: Path, home: Path, api_url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for `newswatch run` (as tests/helpers.py builds it for `cli()`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "PREFECT_"))}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_HOME=str(prefect_home), NEWSWATCH_HOME=str(home))
    env.update(LOCAL_ENV)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    env.update(extra or {})
    return env


def run_monitor(
    args: list[str],
    env: dict[str, str],
    crash_at: str | None = None,
    kill_after: float | None = None,
    timeout: float = 240,
    logs: Path | None = None,
) -> RunResult:
    """`python -m deploy.cli run ARGS` in its own process group. crash_at sets NEWSWATCH_CRASH_AT;
    kill_after SIGKILLs it after that many seconds. Whatever it left behind (the ephemeral
    Prefect server) is killed with its process group once it has ended."""
    env = dict(env)
    env.pop("NEWSWATCH_CRASH_AT", None)
    if crash_at:
        env["NEWSWATCH_CRASH_AT"] = crash_at
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=logs))
    out_path, err_path = folder / "stdout", folder / "stderr"
    started = time.monotonic()
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "run", *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group: the ephemeral server goes with it
        )
        try:
            try:
                proc.wait(timeout=kill_after if kill_after is not None else timeout)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                if kill_after is None:
                    raise
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
    seconds = time.monotonic() - started
    return RunResult(
        proc.returncode,
        seconds,
        proc.returncode == -signal.SIGKILL,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
    )


# ---------------------------------------------------------------- the database and the receivers


def expire_leases(db_url: str) -> int:
    """What time passing does to a dead run's claims (DEFAULT_CLAIM_LEASE, 10 min): release them.
    Only when no run is going on."""
    with get_engine(db_url).begin() as conn:
        result = conn.execute(
            update(AL).where(AL.c.status == "pending", AL.c.claimed_until.is_not(None)).values(claimed_until=None)
        )
        return int(result.rowcount)


def target_keys(urls: list[str]) -> list[str]:
    """The key the outbox stores for each Apprise URL (as tasks.alerting.channels.AppriseSender computes it)."""
    from tasks.alerting.channels import load_senders
    from tasks.config.settings import Settings

    keys = []
    for url in urls:
        settings = Settings(notify=url, apprise_config=None, apprise_secret_block=None)  # type: ignore[arg-type]
        keys.append(load_senders(settings)[0].target.key)
    return keys


def alert_states(db_url: str, keys: list[str]) -> dict[tuple[int, str], str]:
    """(receiver index, article title) -> status of its alert."""
    index = {k: i for i, k in enumerate(keys)}
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(AL.c.target, AR.c.title, AL.c.status).join(AR, AR.c.id == AL.c.article_id)).all()
    return {(index.get(t, -1), title): status for t, title, status in rows}


def receipts(receivers: list[JsonReceiver]) -> Counter[tuple[int, str]]:
    """(receiver index, article title) -> times received."""
    got: Counter[tuple[int, str]] = Counter()
    for i, r in enumerate(receivers):
        for post in list(r.posts):
            title = str(post.get("title", ""))
            got[(i, title.removeprefix(TITLE_PREFIX))] += 1
    return got


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database (PostgreSQL: created and dropped, as tests/conftest.py does)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'killtest.db'}"
        dispose_all()
        return
    import psycopg

    name = "nw_killtest_" + uuid.uuid4().hex[:10]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        dispose_all()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def prefect_api(enabled: bool) -> Iterator[str | None]:
    """None (each run starts Prefect's ephemeral API), or the URL of one server for all runs."""
    if not enabled:
        yield None
        return
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


# ---------------------------------------------------------------- the bench


@dataclass
class Row:
    run: int
    plan: str  # "after-send:3", "timer 7.2s", "none (final)"
    outcome: str  # killed, completed, failed
    seconds: float
    new_articles: int  # published before this run
    receipts: int  # posts the receivers got during this run
    window: int  # alerts this run sent that are not marked sent after it ended
    resent_after_mark: int  # posts of alerts already marked sent before this run (must be 0)
    leases_expired: int  # claims released after the run (lease expiry simulated)


@dataclass
class Plan:
    point: str | None  # a crash point, or None for a kill by timer
    nth: int = 1

    @property
    def spec(self) -> str | None:
        return f"{self.point}:{self.nth}" if self.point else None


def make_plan(kills: int) -> list[Plan]:
    plans: list[Plan] = []
    cycle = iter(CYCLE * (kills // len(CYCLE) + 2))
    for i in range(kills):
        if i % TIMER_EVERY == TIMER_EVERY - 1:
            plans.append(Plan(None))
        else:
            point, nth = next(cycle)
            plans.append(Plan(point, nth))
    return plans


@dataclass
class Figures:
    articles: int = 0
    targets: int = 0
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    receipts: int = 0
    unknown_receipts: int = 0
    runs: int = 0
    kills: int = 0
    kills_by_point: dict[str, int] = field(default_factory=dict)
    kills_in_window: int = 0
    kills_at_after_send: int = 0
    max_window_per_kill: int = 0
    resent_after_mark: int = 0
    leases_expired: int = 0
    alerts_in_db: int = 0
    alerts_sent_in_db: int = 0
    final_run_ok: bool = False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=12, help="kills to inflict (default 12: about 2 min)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sources", type=int, default=3, help="outlets; each publishes one article a run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the timer kills' delays")
    parser.add_argument("--prefect-server", action="store_true", help="one Prefect server for all runs (faster)")
    opts = parser.parse_args()
    rng = random.Random(opts.seed)
    started = time.monotonic()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="killtest-")))
        db_url = stack.enter_context(database(opts.db, tmp))
        web = stack.enter_context(NewsWeb())
        receivers = [stack.enter_context(JsonReceiver()), stack.enter_context(JsonReceiver())]
        api_url = stack.enter_context(prefect_api(opts.prefect_server))
        site = Site(web, opts.sources)
        src, wl = write_config(tmp, site.feeds)
        urls = [r.apprise_url() for r in receivers]
        keys = target_keys(urls)
        env = run_env(tmp / "prefect", tmp / "home", api_url)
        args = ["--sources", src, "--watchlist", wl, "--db", db_url, "--force", "--json"]
        for url in urls:
            args += ["--notify", url]

        rows: list[Row] = []
        kill_times: list[float] = []  # when crash-point kills happened: where the pipeline runs
        figures = Figures(targets=len(receivers))
        plans = make_plan(opts.kills)
        attempts = 0
        print(f"killtest: {opts.kills} kills, {opts.db}, {opts.sources} sources x {len(receivers)} targets", flush=True)
        print(
            "new: articles published before the run; recv: posts received during it; win: alerts it sent that "
            "are not marked sent after it (the window); lease: claims released after it (lease expiry simulated)"
        )
        print(f"{'run':>3}  {'plan':<16} {'outcome':<10} {'s':>5}  {'new':>3}  {'recv':>4}  {'win':>3}  {'lease':>5}")
        while figures.kills < opts.kills and attempts < 2 * opts.kills + 5:
            plan = plans[figures.kills]
            attempts += 1
            new = site.publish()
            if plan.point is None:  # by timer: somewhere in the pipeline (or Prefect's start)
                # The crash points fire within about a second of each other, after Prefect's start.
                lo, hi = (min(kill_times) - 1.5, statistics.median(kill_times) + 0.5) if kill_times else (3.0, 9.0)
                delay = round(rng.uniform(max(0.5, lo), hi), 2)
                label = f"timer {delay:.1f}s"
            else:
                delay, label = None, plan.spec or ""
            row, result = _one_run(len(rows) + 1, label, args, env, receivers, db_url, keys, tmp, plan.spec, delay)
            row.new_articles = len(new)
            rows.append(row)
            _print_row(row)
            if result.killed:
                figures.kills += 1
                name = plan.point or "timer"
                figures.kills_by_point[name] = figures.kills_by_point.get(name, 0) + 1
                if plan.point:
                    kill_times.append(result.seconds)
            elif result.returncode != 0:
                print(result.stderr[-3000:], file=sys.stderr)
                print("a run failed without being killed", file=sys.stderr)
                return 1
        # The final run: nothing new published, no crash.
        row, result = _one_run(len(rows) + 1, "none (final)", args, env, receivers, db_url, keys, tmp, None, None)
        rows.append(row)
        _print_row(row)
        figures.final_run_ok = result.returncode == 0
        if not figures.final_run_ok:
            print(result.stderr[-3000:], file=sys.stderr)

        got = receipts(receivers)
        known = {(i, t) for i in range(len(receivers)) for t in site.titles}
        states = alert_states(db_url, keys)
        figures.articles = len(site.titles)
        figures.expected = len(known)
        figures.delivered = len(known & set(got))
        figures.lost = figures.expected - figures.delivered
        figures.receipts = sum(got.values())
        figures.unknown_receipts = sum(n for k, n in got.items() if k not in known)
        figures.duplicated = sum(n - 1 for k, n in got.items() if k in known)
        figures.runs = len(rows)
        killed = [r for r in rows if r.outcome == "killed"]
        figures.kills_in_window = sum(1 for r in killed if r.window > 0)
        figures.kills_at_after_send = figures.kills_by_point.get(WINDOW_POINT, 0)
        figures.max_window_per_kill = max((r.window for r in killed), default=0)
        figures.resent_after_mark = sum(r.resent_after_mark for r in rows)
        figures.leases_expired = sum(r.leases_expired for r in rows)
        figures.alerts_in_db = len(states)
        figures.alerts_sent_in_db = sum(1 for s in states.values() if s == "sent")
        after_send_in_window = all(r.window == 1 for r in killed if r.plan.startswith(WINDOW_POINT))

    checks = {
        "all planned kills happened": figures.kills == opts.kills,
        "0 alerts lost": figures.lost == 0 and figures.final_run_ok,
        "duplicated <= kills in the window": figures.duplicated <= figures.kills_in_window,
        "at most 1 duplicate per kill": figures.max_window_per_kill <= 1,
        "no repeat of an alert already marked sent": figures.resent_after_mark == 0,
        "every after-send kill fell in the window": after_send_in_window,
        "every alert row sent, no stray receipt": (
            figures.alerts_sent_in_db == figures.alerts_in_db == figures.expected and figures.unknown_receipts == 0
        ),
    }
    seconds = round(time.monotonic() - started, 1)
    _print_summary(figures, checks, opts, seconds)
    summary = {
        "bench": "killtest",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "db": opts.db,
        "prefect": "server" if opts.prefect_server else "ephemeral",
        "seconds": seconds,
        "lease_expiry_simulated": True,
        **{k: v for k, v in asdict(figures).items()},
        "checks": checks,
    }
    summary = with_reference(summary, ("seconds",))
    print(json.dumps(summary))
    out = ROOT / "bench" / "results" / "killtest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**summary, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    return 0 if all(checks.values()) else 1


def _one_run(
    number: int,
    label: str,
    args: list[str],
    env: dict[str, str],
    receivers: list[JsonReceiver],
    db_url: str,
    keys: list[str],
    logs: Path,
    crash_at: str | None,
    kill_after: float | None,
) -> tuple[Row, RunResult]:
    before = receipts(receivers)
    states_before = alert_states(db_url, keys)
    result = run_monitor(args, env, crash_at=crash_at, kill_after=kill_after, logs=logs)
    time.sleep(0.2)  # a post the receiver was still reading when the sender died
    after = receipts(receivers)
    states_after = alert_states(db_url, keys)
    sent_now = {k for k, n in after.items() if n > before.get(k, 0)}
    window = sum(1 for k in sent_now if states_after.get(k) != "sent")
    resent = sum(after[k] - before.get(k, 0) for k in sent_now if states_before.get(k) == "sent")
    leases = expire_leases(db_url)  # lease expiry simulated (see the module's docstring)
    outcome = "killed" if result.killed else ("completed" if result.returncode == 0 else f"rc {result.returncode}")
    row = Row(
        number,
        label,
        outcome,
        round(result.seconds, 1),
        0,
        sum(after.values()) - sum(before.values()),
        window,
        resent,
        leases,
    )
    return row, result


def _print_row(r: Row) -> None:
    print(
        f"{r.run:>3}  {r.plan:<16} {r.outcome:<10} {r.seconds:>5.1f}  {r.new_articles:>3}  {r.receipts:>4}  "
        f"{r.window:>3}  {r.leases_expired:>5}",
        flush=True,
    )


def _print_summary(f: Figures, checks: dict[str, bool], opts: argparse.Namespace, seconds: float) -> None:
    by_point = ", ".join(f"{p} {f.kills_by_point.get(p, 0)}" for p in (*CRASH_POINTS, "timer"))
    lines = [
        ("articles", f"{f.articles} (from {opts.sources} sources)"),
        ("targets", f"{f.targets} (json:// receivers)"),
        ("alerts expected", f"{f.expected}"),
        ("alerts delivered", f"{f.delivered}"),
        ("alerts lost", f"{f.lost}"),
        ("duplicated", f"{f.duplicated}"),
        ("receipts", f"{f.receipts}"),
        ("runs", f"{f.runs} (the last without a kill: {'completed' if f.final_run_ok else 'FAILED'})"),
        ("kills (SIGKILL)", f"{f.kills}: {by_point}"),
        ("kills in the window", f"{f.kills_in_window} (at after-send: {f.kills_at_after_send})"),
        ("max duplicates per kill", f"{f.max_window_per_kill}"),
        ("repeats after mark", f"{f.resent_after_mark}"),
        ("lease expiry simulated", f"{f.leases_expired} claims released after killed runs"),
        ("alert rows sent / total", f"{f.alerts_sent_in_db} / {f.alerts_in_db}"),
        ("database, Prefect", f"{opts.db}, {'one server' if opts.prefect_server else 'ephemeral API'}"),
        ("duration", f"{seconds:.0f} s"),
    ]
    print()
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k:<{width}}  {v}")
    print()
    for check, ok in checks.items():
        print(f"{'pass' if ok else 'FAIL'}  {check}")


if __name__ == "__main__":
    sys.exit(main())
