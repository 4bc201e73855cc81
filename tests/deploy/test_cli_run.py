"""`newswatch run` as an operator runs it: a separate process, Prefect's ephemeral API, a local
news site, a real webhook receiver."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from storage import repository
from storage.db import dispose_all
from storage.models import Article
from tests.helpers import cli, count_rows, stored_article, write_config
from tests.newsweb import TRAFFICKING_TITLE, NewsWeb, build_site
from tests.receivers import JsonReceiver


def test_run_delivers_exactly_one_alert_then_nothing(web: NewsWeb, tmp_path: Path) -> None:
    site = build_site(web)
    src, wl = write_config(tmp_path, [("Mekong Daily", site["feed"]), ("Down", "http://127.0.0.1:9/rss")])
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    env = {"PREFECT_HOME": str(tmp_path / "prefect"), "NEWSWATCH_HOME": str(tmp_path / "home")}
    with JsonReceiver() as hook:
        args = ["run", "--sources", src, "--watchlist", wl, "--db", db, "--notify", hook.apprise_url(), "--json"]
        first = cli([*args, "--progress"], env)  # bars forced on (stderr is no terminal here)
        assert first.returncode == 0, first.stderr[-3000:]
        summary = json.loads(first.stdout)  # --json: stdout holds the JSON alone
        # The bars' last frame: every due source fetched, every new entry's page extracted.
        assert re.search(r"^sources fetched .* 2/2 ", first.stderr, re.M), first.stderr[-2000:]
        extracted = re.search(r"^articles extracted .* (\d+)/(\d+) ", first.stderr, re.M)
        assert extracted and extracted[1] == extracted[2] and int(extracted[1]) >= 3, first.stderr[-2000:]
        assert summary["sources_ok"] == 1 and summary["sources_failed"] == 1
        assert summary["new_articles"] == 3 and summary["duplicates"] == 1
        assert summary["matches"] == 1 and summary["alerts_sent"] == 1
        assert len(hook.posts) == 1
        message = hook.posts[0]["message"]
        assert TRAFFICKING_TITLE in hook.posts[0]["title"]
        for needle in ("Mekong Daily", "2026-11-27 01:15 UTC", "*human traffickers*", site["story"]):
            assert needle in message, needle

        second = cli([*args[:-1], "--force"], env)  # the table form this time; forced: fetched again
        assert second.returncode == 0, second.stderr[-3000:]
        assert "sources ok" in second.stdout and "Down: connection refused" in second.stdout
        assert "sources fetched" not in second.stderr  # no terminal, not asked for: no bars
        assert len(hook.posts) == 1
    assert count_rows(db, Article) == 3
    dispose_all()


def test_bad_config_stops_before_anything_is_touched(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    ids = repository.upsert_sources(db, [("Kept", "https://kept.example/rss", [])])
    kept = stored_article(ids["Kept"], "https://kept.example/a", "t", "text", guid="g", text_origin="feed")
    before = repository.insert_articles(db, [kept])
    dispose_all()
    db_file = tmp_path / "nw.db"
    mtime = db_file.stat().st_mtime_ns
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: a\n    url: https://x.example/rss\n    colour: red\n")
    result = cli(["run", "--sources", str(bad), "--db", db], {"NEWSWATCH_HOME": str(tmp_path)}, timeout=60)
    assert result.returncode == 2
    assert f"{bad}:4: sources[0].colour: unknown key" in result.stderr
    assert "Traceback" not in result.stderr
    assert db_file.stat().st_mtime_ns == mtime
    assert [a for a, _ in repository.articles_without_story(db, 10)] == before.new_ids  # still there


def test_broken_database_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = cli(["run", "--db", f"sqlite:///{tmp_path / 'file' / 'nw.db'}"], {}, timeout=60)
    assert result.returncode == 3 and "database error" in result.stderr
    result = cli(["run", "--db", "postgresql://nobody:secret-pw@127.0.0.1:1/none"], {}, timeout=60)
    assert result.returncode == 3 and "database error" in result.stderr
    assert "secret-pw" not in result.stderr + result.stdout


def test_bad_notifier_url_is_a_config_error(tmp_path: Path) -> None:
    result = cli(["check"], {"NEWSWATCH_NOTIFY": "nosuchscheme://user:pw@x"}, 60)
    assert result.returncode == 2 and "invalid Apprise URL" in result.stderr
    assert "user:pw" not in result.stderr


@pytest.mark.parametrize("command", [["--help"], ["run", "--help"], ["check", "--help"], ["serve", "--help"]])
def test_help(command: list[str]) -> None:
    result = cli(command, {}, timeout=60)
    assert result.returncode == 0 and "Usage" in result.stdout
