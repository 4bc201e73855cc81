"""Crash safety and concurrent delivery (the long version, with many kills, is bench/killtest.py).

(a) `newswatch run` as a subprocess is SIGKILLed at each crash point (tasks/common/faults.py), then run
again without a kill: no alert is lost, and only a kill between a target accepting an alert
and the alert being marked sent ("after-send") repeats one. The killed run's claims are
released before the second run, as their lease (NEWSWATCH_ALERT_CLAIM_LEASE, 10 minutes)
would be by the next scheduled run.
(b) Two processes deliver the same outbox at once, on SQLite and PostgreSQL: every alert is
received exactly once and no writer fails with "database is locked".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.killtest import (
    LOCAL_ENV,
    Site,
    alert_states,
    expire_leases,
    receipts,
    run_env,
    run_monitor,
    target_keys,
    write_config,
)
from storage import repository
from storage.db import dispose_all, get_engine
from storage.models import Alert
from storage.records import MatchRecord, Target
from tests.helpers import processes, stored_article, wait_ready
from tests.newsweb import NewsWeb
from tests.receivers import JsonReceiver


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize(
    "crash_at", ["after-store:1", "after-match:1", "before-send:2", "after-send:2", "after-mark:2"]
)
def test_kill_at_each_step_then_rerun_loses_nothing(crash_at: str, web: NewsWeb, tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    point = crash_at.split(":")[0]
    site = Site(web, sources=1)
    site.publish(per_source=3)
    src, wl = write_config(tmp_path, site.feeds)
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    with JsonReceiver() as hook:
        keys = target_keys([hook.apprise_url()])
        # The session's Prefect server (prefect_harness): a run costs ~3 s instead of ~8 s with
        # the ephemeral API; the kill hits the monitor process either way.
        env = run_env(tmp_path / "prefect", tmp_path / "home", PREFECT_API_URL.value())
        args = ["--sources", src, "--watchlist", wl, "--db", db, "--notify", hook.apprise_url(), "--force", "--json"]

        killed = run_monitor(args, env, crash_at=crash_at, timeout=120, logs=tmp_path)
        assert killed.killed, f"not killed at {crash_at}: rc {killed.returncode}\n{killed.stderr[-3000:]}"
        after_kill = receipts([hook])
        states = alert_states(db, keys)
        window = [k for k in after_kill if states.get(k) != "sent"]  # received, not marked
        assert len(window) == (1 if point == "after-send" else 0)

        leases = expire_leases(db)  # lease expiry simulated
        if point in ("before-send", "after-send"):
            # Claimed just before its send: exactly the alert being sent is left leased.
            assert leases == 1

        clean = run_monitor(args, env, timeout=120, logs=tmp_path)
        assert clean.returncode == 0, clean.stderr[-3000:]

    got = receipts([hook])
    titles = set(site.titles)
    assert {title for _, title in got} == titles  # 0 lost, nothing unexpected
    duplicates = sum(got.values()) - len(titles)
    assert duplicates == (1 if point == "after-send" else 0)
    if duplicates:
        assert [k for k, n in got.items() if n > 1] == window  # the one left in the window, once more
    final = alert_states(db, keys)
    assert len(final) == 3 and set(final.values()) == {"sent"}
    dispose_all()


DELIVER_SCRIPT = """
import json, sys
from storage.db import get_engine
from tasks.alerting import deliver, load_senders
from tasks.config import TopicSpec, Watchlist, load_settings

db_url = sys.argv[1]
senders = load_senders(load_settings())
watchlist = Watchlist(topics=(TopicSpec(name="t", terms=("x",)),))
get_engine(db_url)
print("ready", flush=True)
sys.stdin.readline()  # both start on the same signal
report = deliver(db_url, senders, watchlist, 8)
print(json.dumps({"sent": report.sent, "failed": report.failed, "errors": report.errors}), flush=True)
"""

ALERTS = 200


def _seed_outbox(db_url: str, target: Target, n: int) -> list[str]:
    """n pending alerts to one target, straight through the repository; returns the titles."""
    ids = repository.upsert_sources(db_url, [("Seed", "https://seed.example/rss", [])])
    titles = [f"Seeded story {i:03d} about x" for i in range(n)]
    records = [
        stored_article(
            ids["Seed"],
            f"https://seed.example/{i}",
            title,
            f"Story {i} mentions x.",
            guid=f"seed-{i}",
            language="en",
            text_origin="feed",
        )
        for i, title in enumerate(titles)
    ]
    article_ids = repository.insert_articles(db_url, records).new_ids
    assert len(article_ids) == n
    matches = [MatchRecord("t", a, ["x"], ["x"], f"Story {a} mentions x.", "text") for a in article_ids]
    assert len(repository.save_matches(db_url, article_ids, matches, {"t": [target]})) == n
    assert repository.count_pending_alerts(db_url) == n
    return titles


def test_two_runs_at_once_never_send_an_alert_twice(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.alerting import load_senders
    from tasks.config import load_settings

    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        (sender,) = load_senders(load_settings())
        titles = _seed_outbox(db_url, sender.target, ALERTS)
        dispose_all()

        env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "PREFECT_"))}
        env.update(LOCAL_ENV, NEWSWATCH_NOTIFY=hook.apprise_url(), NEWSWATCH_HOME=str(tmp_path / "home"))
        env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        with processes([[sys.executable, "-c", DELIVER_SCRIPT, db_url]] * 2, env=env, stdin=subprocess.PIPE) as procs:
            wait_ready(procs)
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            outputs = [p.communicate(timeout=120) for p in procs]

    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert "database is locked" not in out + err
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert [r["failed"] for r in reports] == [0, 0] and [r["errors"] for r in reports] == [[], []]
    assert sum(r["sent"] for r in reports) == ALERTS
    assert min(r["sent"] for r in reports) > 0, reports  # both really took part

    got = Counter(str(p["title"]).removeprefix("[newswatch] t: ") for p in hook.posts)
    assert len(hook.posts) == ALERTS
    assert set(got) == set(titles) and set(got.values()) == {1}  # each exactly once
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(Alert.status, Alert.attempts)).all()  # type: ignore[call-overload]
    assert len(rows) == ALERTS and set(rows) == {("sent", 1)}  # each attempted once
