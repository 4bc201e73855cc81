"""The exit codes and one-line messages the README promises (issue #19 items 5, 6, 9, 20): a
database URL that does not parse, a database that cannot be written, a run that completed but
whose sources all failed or whose alerts could not be delivered. `newswatch` runs in a process
of its own, as an operator or a cron job runs it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from storage import repository
from storage.db import dispose_all, get_engine
from tests.helpers import cli, write_config
from tests.newsweb import NewsWeb, build_site
from tests.receivers import JsonReceiver


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """stderr, which must be a single line without a traceback."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return lines[0]


LOG_LINE = re.compile(r"\d\d:\d\d:\d\d\.\d+ \| [A-Z]+ +\| ")


def run_ending(result: subprocess.CompletedProcess[str]) -> str:
    """The last line of a run's stderr, after its log: each log record must be one line too."""
    *log, last = result.stderr.strip().splitlines()
    assert all(LOG_LINE.match(line) for line in log) and "Traceback" not in result.stderr, result.stderr[-3000:]
    return last


@pytest.mark.parametrize("command", ["check", "run"])
def test_database_url_with_a_bad_port_is_one_line_exit_3(command: str) -> None:
    result = cli([command, "--db", "postgresql://u:secret-pw@127.0.0.1:notaport/db"], {}, timeout=60)
    assert result.returncode == 3
    line = one_line(result)
    url = "postgresql://u:***@127.0.0.1:notaport/db"
    assert line == f"database error invalid database URL '{url}': the port is not a number"
    assert "secret-pw" not in result.stderr + result.stdout


def test_a_plain_path_as_database_url_suggests_the_sqlite_url(tmp_path: Path) -> None:
    path = tmp_path / "data" / "x.db"
    result = cli(["check", "--db", str(path)], {}, timeout=60)
    assert result.returncode == 3
    assert f"use sqlite:///{path}" in one_line(result)
    assert not path.parent.exists()


def test_check_creates_nothing_for_a_database_still_to_create(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dirs" / "nw.db"
    result = cli(["check", "--db", f"sqlite:///{path}"], {}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "config ok" in result.stdout and f"{path} does not exist yet: run creates it" in result.stdout
    assert not (tmp_path / "new").exists()


def test_check_refuses_a_database_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = cli(["check", "--db", f"sqlite:///{tmp_path / 'file' / 'sub' / 'nw.db'}"], {}, timeout=60)
    assert result.returncode == 3
    assert f"{tmp_path / 'file'} is not a directory" in one_line(result)


def read_only(db_file: Path) -> str:
    """A database stored by a run, then opened read-only: SQLite's own read-only mode (the tests
    run as root, whom a read-only file does not stop); what `run` meets on a read-only file or mount."""
    repository.upsert_sources(f"sqlite:///{db_file}", [("Kept", "https://kept.example/rss", [])])
    dispose_all()
    return f"sqlite:///file:{db_file}?mode=ro&uri=true"


@pytest.mark.parametrize("command", ["check", "run"])
def test_a_database_that_cannot_be_written_is_one_line_exit_3(tmp_path: Path, command: str) -> None:
    db = read_only(tmp_path / "nw.db")
    src, wl = write_config(tmp_path, [("Kept", "http://127.0.0.1:9/rss")])
    result = cli([command, "--db", db, "--sources", src, "--watchlist", wl], {}, timeout=120)
    assert result.returncode == 3, result.stderr[-3000:]
    assert one_line(result).startswith("database error cannot write to database sqlite:///file")
    assert "readonly database" in result.stderr and "UPDATE" not in result.stderr


def test_a_write_that_fails_mid_run_is_one_line_exit_3(tmp_path: Path) -> None:
    """The database takes the preflight's probe but refuses the run's writes (a trigger stands
    for a disk that filled or a mount gone read-only meanwhile): one line, without the SQL
    statement or its parameters, exit 3."""
    db_file = tmp_path / "nw.db"
    url = f"sqlite:///{db_file}"
    repository.upsert_sources(url, [("Down", "http://127.0.0.1:9/rss", ["test"])])
    with get_engine(url).begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER full BEFORE UPDATE ON sources BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    dispose_all()
    src, wl = write_config(tmp_path, [("Down", "http://127.0.0.1:9/rss")])
    result = cli(["run", "--db", url, "--sources", src, "--watchlist", wl, "--force"], {}, timeout=120)
    assert result.returncode == 3, result.stderr[-3000:]
    line = run_ending(result)
    assert line.startswith("database error the run stopped: ") and "database or disk is full" in line
    assert "[SQL" not in result.stderr and "UPDATE" not in result.stderr


def test_every_source_failed_is_exit_4_with_the_summary(tmp_path: Path) -> None:
    src, wl = write_config(tmp_path, [("Down", "http://127.0.0.1:9/rss"), ("Also down", "http://127.0.0.1:9/b")])
    result = cli(["run", "--db", f"sqlite:///{tmp_path / 'nw.db'}", "--sources", src, "--watchlist", wl, "--json"], {})
    assert result.returncode == 4, result.stderr[-3000:]
    summary = json.loads(result.stdout)  # the summary is still there, for the script to read
    assert summary["sources_failed"] == 2 and summary["sources_ok"] == 0
    assert run_ending(result) == "run incomplete: every source failed (2 of 2)"


def test_alerts_that_could_not_be_delivered_are_exit_5(web: NewsWeb, tmp_path: Path) -> None:
    site = build_site(web)
    src, wl = write_config(tmp_path, [("Mekong Daily", site["feed"])])
    hook = JsonReceiver()  # never started: the notifier is down
    args = ["run", "--db", f"sqlite:///{tmp_path / 'nw.db'}", "--sources", src, "--watchlist", wl]
    args += ["--notify", hook.apprise_url()]
    result = cli(args, {})
    assert result.returncode == 5, result.stderr[-3000:]
    assert "alerts failed" in result.stdout
    assert run_ending(result) == "run incomplete: 1 alert could not be delivered; the next run tries again"
    pending = cli(["alerts", "list", "--status", "pending", "--json", "--db", f"sqlite:///{tmp_path / 'nw.db'}"], {})
    assert pending.returncode == 0 and len(json.loads(pending.stdout)) == 1  # kept for the next run


def test_a_config_error_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: a\n    url: https://x.example/rss\n    colour: red\n")
    result = cli(["check", "--sources", str(bad)], {}, timeout=60)
    assert result.returncode == 2
    assert one_line(result).startswith(f"config error {bad}:4: sources[0].colour: unknown key (allowed: ")


def test_a_read_only_postgresql_database_is_one_line_exit_3(db_url: str, tmp_path: Path) -> None:
    """The same on PostgreSQL: a database whose transactions are read-only (a standby, or
    default_transaction_read_only) passes `open` but not the write probe."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite: test_a_database_that_cannot_be_written_is_one_line_exit_3")
    import psycopg

    repository.upsert_sources(db_url, [("Kept", "https://kept.example/rss", [])])  # migrated, as a run left it
    dispose_all()
    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    result = cli(["check", "--db", db_url], {}, timeout=60)
    assert result.returncode == 3
    assert "cannot execute UPDATE in a read-only transaction" in one_line(result)
