"""Every `newswatch` command that prints data prints JSON with --json (stdout holds the JSON
alone), and bad input anywhere ends in one clear line on stderr and a non-zero exit code."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from deploy.cli import app
from storage.migrate import head
from tasks.config import load_sources, load_watchlist, select_sources
from tasks.config.settings import DEPLOY_DIR
from tests.newsweb import NewsWeb, build_site


def invoke(args: list[str]) -> Result:
    result = CliRunner().invoke(app, args)
    # Only deliberate exits: an exception escaping a command would print a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def as_json(args: list[str]) -> object:
    result = invoke([*args, "--json"])
    assert result.exit_code == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


@pytest.mark.usefixtures("prefect_harness")
def test_json_of_every_command_that_prints_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", db)  # restored after the test: commands write it there
    demo = invoke(["demo", "--keep", str(tmp_path), "--json"])
    assert demo.exit_code == 0, demo.stderr
    summary = json.loads(demo.stdout)  # the alerts went to stderr, not into the JSON
    assert summary["alerts_sent"] == 4 and summary["sources_ok"] == 4 and summary["failures"] == []
    assert len(set(re.findall(r"^=== ALERT: (.*)$", demo.stderr, re.M))) == 4

    assert as_json(["check", "--watchlist", str(DEPLOY_DIR / "watchlist.yaml")]) == {
        "ok": True,
        "sources": len(select_sources(load_sources(DEPLOY_DIR / "sources.yaml").sources, None)),
        "topics": len(load_watchlist(DEPLOY_DIR / "watchlist.yaml").topics),
        "targets": 1,  # the console: no notifier in this environment
        "secret_block": None,
        "database": db,
        "database_exists": True,
    }
    assert as_json(["db", "current"]) == {"database": db, "revision": head(), "head": head(), "newest": True}
    assert as_json(["db", "upgrade"]) == {"database": db, "before": head(), "after": head(), "changed": False}

    alerts = as_json(["alerts", "list"])
    assert isinstance(alerts, list) and len(alerts) == 4 and {a["status"] for a in alerts} == {"sent"}
    assert as_json(["alerts", "retry"]) == {"requeued": 0, "sent": 0, "failed": 0, "errors": []}

    stories = as_json(["stories", "--since", "30d"])
    assert isinstance(stories, list)
    syndicated = [s for s in stories if len(s["outlets"]) == 3]
    assert len(syndicated) == 1 and syndicated[0]["topics"] == ["human-trafficking"]

    found = as_json(["search", '"scam compound"', "--since", "30d", "--watchlist", str(DEPLOY_DIR / "watchlist.yaml")])
    assert isinstance(found, dict) and len(found["results"]) == 3

    pruned = as_json(["prune", "--older-than", "3650d", "--dry-run"])
    assert isinstance(pruned, dict) and (pruned["dry_run"], pruned["articles"]) == (True, 0)
    assert datetime.fromisoformat(pruned["cutoff"]) < datetime.now(UTC) - timedelta(days=3649)

    digest = as_json(["digest", "--watchlist", str(DEPLOY_DIR / "watchlist.yaml")])
    assert digest == {"digests": 0, "stories": 0, "failed": 0, "errors": []}


def test_sources_add_json(web: NewsWeb, tmp_path: Path) -> None:
    site = build_site(web)
    path = tmp_path / "sources.yaml"
    assert not path.exists()  # created on the first add
    added = as_json(["sources", "add", site["feed"], "--name", "Mekong Daily", "--sources", str(path)])
    assert added == {"name": "Mekong Daily", "url": site["feed"], "kind": "feed", "entries": 4, "file": str(path)}
    again = invoke(["sources", "add", site["feed"], "--sources", str(path)])
    assert again.exit_code == 2 and "already listed" in again.stderr


BAD_INPUT = [
    (["run", "--sources", "{tmp}/missing.yaml"], 2, "config error"),
    (["check", "--db", "nonsense://x"], 3, "database error"),
    (["check", "--db", "not a url"], 3, "database error"),
    (["db", "current", "--db", "sqlite:///{tmp}/file/nw.db"], 3, "database error"),
    (["db", "upgrade", "--revision", "nosuch"], 3, "Can't locate revision"),
    (["stories", "--db", "postgresql://nobody:pw-secret@127.0.0.1:1/x"], 3, "database error"),
    (["alerts", "retry", "--db", "mysql://x"], 3, "unsupported database"),
    (["alerts", "list", "--status", "lost"], 2, "--status lost"),
    (["topics", "list", "--watchlist", "{tmp}/missing.yaml"], 2, "cannot read"),
    (["topics", "test", "x", "--file", "{tmp}/missing.txt"], 2, "cannot read"),
    (["topics", "test", "x", "--url", "http://127.0.0.1:9/story"], 2, "fetch failed"),
    (["backtest", "(a OR"], 2, "dangling operator OR at position 3"),
    (["search", "x", "--since", "soon"], 2, "invalid interval 'soon'"),
    (["sources", "list", "--sources", "{tmp}/missing.yaml"], 2, "cannot read"),
    (["sources", "add", "ftp://example.org/feed"], 1, "ftp scheme is not allowed"),
    (["sources", "test", "http://127.0.0.1:9/feed"], 1, ""),  # the report says why, on stdout
    (["export", "--kind", "bogus"], 2, "use one of articles, matches, alerts"),
    (["export", "-o", "{tmp}/file/out.jsonl"], 1, "cannot write"),
    (["prune", "--older-than", "x"], 2, "invalid interval 'x'"),
    (["digest", "--watchlist", "{tmp}/missing.yaml"], 2, "config error"),
    (["demo", "--keep", "{tmp}/file/demo"], 1, "demo failed"),
]


@pytest.mark.parametrize(
    ("args", "code", "message"), BAD_INPUT, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(
    args: list[str], code: int, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("a file, not a directory")
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'nw.db'}")  # restored: --db writes it
    result = invoke([a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == code, result.stderr + result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "pw-secret" not in result.stderr + result.stdout
