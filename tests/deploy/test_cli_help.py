"""`--help` as an operator reads it, and the small print of `export`, `alerts` and `search`
(issue #19 item 11): flags without a value type, readable metavars, conventional usage lines,
examples in a paragraph of their own (groups too), every option described."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from deploy.cli import app
from deploy.cli_alerts import short_label
from deploy.cli_archive import counted, write_rows
from storage import repository
from storage.db import dispose_all
from tests.helpers import cli, stored_article
from tests.test_readme import all_commands

PATHS = all_commands()


def help_of(path: list[str]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="newswatch", terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def command_at(path: list[str]):  # type: ignore[no-untyped-def]
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "newswatch")
def test_help_reads_plainly(path: list[str]) -> None:
    text = help_of(path)
    assert "<bool>" not in text and "list[" not in text and "<str>" not in text and "<int>" not in text, text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and not re.search(r"\[[a-z_]+\]", usage), usage  # QUERY, [QUERY]: not {query}, [query]
    for line in text.splitlines():
        if line.startswith("│ --") and "--help" not in line:
            assert len(line.split("  ")) > 2 or "│ --" in line, line
    help_text = command_at(path).help or ""
    assert re.search(r"(^|\n\s*\n\s*)Example", help_text), f"no Example paragraph in: {help_text!r}"


def test_flags_take_no_value_and_options_name_theirs() -> None:
    text = help_of(["run"])
    assert re.search(r"--dry-run\s+Match and record", text), text
    assert re.search(r"--notify\s+URL\s+Apprise URL", text), text
    assert re.search(r"--db\s+URL\s+Database URL", text), text
    assert "Usage: newswatch topics test [OPTIONS] [QUERY]" in help_of(["topics", "test"])
    assert "Usage: newswatch search [OPTIONS] QUERY" in help_of(["search"])


def test_alerts_limit_is_described() -> None:
    assert re.search(r"--limit\s+N\s+How many alerts", help_of(["alerts", "list"]))


def test_export_counts_in_words_and_csv_lists_read_as_text() -> None:
    assert [counted(n, k) for n, k in [(1, "matches"), (2, "matches"), (1, "articles"), (0, "alerts")]] == [
        "1 match",
        "2 matches",
        "1 article",
        "0 alerts",
    ]
    stream = io.StringIO()
    rows = [{"id": 1, "terms": ['"forced labour"', "traffick*"], "at": datetime(2026, 11, 27, tzinfo=UTC)}]
    assert write_rows(iter(rows), "csv", stream) == 1
    assert stream.getvalue().splitlines()[1] == '1,"""forced labour""; traffick*",2026-11-27 00:00:00+00:00'


def test_search_since_all_reaches_an_old_archive(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    ids = repository.upsert_sources(db, [("Old", "https://old.example/rss", [])])
    old = stored_article(
        ids["Old"],
        "https://old.example/a",
        "Trafficking ring tried",
        "A trafficking ring was tried in 2001. " * 8,
        published_at=datetime(2001, 5, 1, tzinfo=UTC),
        language="en",
    )
    repository.insert_articles(db, [old])
    dispose_all()
    args = ["search", "trafficking", "--db", db, "--json"]
    recent = cli(args, {}, 60)
    assert recent.returncode in (0, 1) and "Trafficking ring tried" not in recent.stdout  # 30 days by default
    every = cli([*args, "--since", "all"], {}, 60)
    assert every.returncode == 0, every.stderr
    assert "Trafficking ring tried" in every.stdout
    bad = cli(["search", "x", "--since", "nonsense"], {}, 60)
    assert bad.returncode == 2 and "or all" in bad.stderr


def test_alert_target_labels_are_cut_between_words() -> None:
    assert (
        short_label("json://127.0.0.1:8080/hook?method=POST&overflow=upstream&retry=0") == "json://127.0.0.1:8080/hook"
    )
    long = "mailtos://alerts:****@gmail.com/analyst%40example.org/desk%40example.org"
    assert short_label(long) == "mailtos://alerts:****@gmail.com/…"
    assert short_label(long, 60) == "mailtos://alerts:****@gmail.com/analyst%40example.org/…"
