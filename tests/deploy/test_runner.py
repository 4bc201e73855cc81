"""Where a CLI run goes (deploy/runner.py): without PREFECT_API_URL, this process and no Prefect
server at all; with one that does not answer, one line saying what to do, and exit 1."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import cli, write_config
from tests.newsweb import NewsWeb, build_site
from tests.receivers import free_port


def test_run_without_a_server_starts_none(web: NewsWeb, tmp_path: Path) -> None:
    site = build_site(web)
    src, wl = write_config(tmp_path, [("Mekong Daily", site["feed"])])
    prefect_home = tmp_path / "prefect"
    env = {"PREFECT_HOME": str(prefect_home), "NEWSWATCH_HOME": str(tmp_path / "home")}
    result = cli(["run", "--sources", src, "--watchlist", wl, "--db", f"sqlite:///{tmp_path / 'nw.db'}"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "new articles" in result.stdout and "=== ALERT:" in result.stdout
    assert "temporary server" not in result.stderr
    assert "| newswatch - checked 3 articles: 1 new matches" in result.stderr  # the stages' log lines
    assert not (prefect_home / "prefect.db").exists()  # nothing recorded a flow run anywhere


def test_a_configured_server_that_is_down_is_one_line(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{free_port()}/api"
    env = {"PREFECT_API_URL": api, "NEWSWATCH_HOME": str(tmp_path / "home")}
    for command in (["run"], ["digest"]):
        result = cli([*command, "--db", f"sqlite:///{tmp_path / 'nw.db'}"], env, timeout=60)
        assert result.returncode == 1, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        lines = [line for line in result.stderr.splitlines() if "does not answer" in line]
        assert len(lines) == 1 and api in lines[0] and "prefect server start" in lines[0], result.stderr
