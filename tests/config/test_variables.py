"""`newswatch setup` against a real Prefect API (the test harness's server): the Apprise targets
in a Secret block, the other settings as Variables that a deployment's runs read below their
environment; nothing secret in a Variable; reading fails soft and cheap."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tasks.config import VARIABLE_PREFIX, forget_read_variables, load_settings, prefect_api_url
from tasks.config.settings import VARIABLE_FIELDS
from tasks.config.variables import TIMEOUT_SECONDS as VARIABLE_READ_TIMEOUT_SECONDS
from tests.helpers import BORDER_STORIES, border_news, cli, write_config
from tests.newsweb import NewsWeb
from tests.receivers import JsonReceiver, free_port

pytestmark = pytest.mark.usefixtures("prefect_harness")

BLOCK = "nw-setup-test"


def api() -> str:
    return str(prefect_api_url())


def stored_variables() -> dict[str, object]:
    found = httpx.post(f"{api()}/variables/filter", json={}, timeout=10).json()
    return {v["name"]: v["value"] for v in found if v["name"].startswith(VARIABLE_PREFIX)}


@pytest.fixture
def clean_variables() -> Iterator[None]:
    """The harness's server is shared by the whole session: leave no newswatch Variable behind."""

    def drop() -> None:
        for name in stored_variables():
            httpx.delete(f"{api()}/variables/name/{name}", timeout=10)
        forget_read_variables()

    drop()
    yield
    drop()


@pytest.mark.usefixtures("clean_variables")
def test_setup_stores_settings_for_deployments_and_the_environment_wins(
    web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = border_news(web, BORDER_STORIES[:1])
    src, wl = write_config(tmp_path, [("Border News", feed)], "  - {name: bondage, terms: [debt bondage]}\n")
    with JsonReceiver() as hook:
        env = {
            "PREFECT_API_URL": api(),
            "NEWSWATCH_NOTIFY": hook.apprise_url(),
            "NEWSWATCH_DATABASE_URL": "postgresql://newswatch:db-secret-pw@127.0.0.1:1/nw",
            "NEWSWATCH_SOURCES_FILE": src,
            "NEWSWATCH_WATCHLIST_FILE": wl,
            "NEWSWATCH_SCHEDULE_MINUTES": "42",
            "NEWSWATCH_BATCH_SIZE": "5",
        }
        for _ in range(2):  # idempotent: the second run overwrites with the same values
            result = cli(["setup", "--block", BLOCK, "--json"], env, timeout=90)
            assert result.returncode == 0, result.stderr
            report = json.loads(result.stdout)
            assert report["secret_block"] == BLOCK and report["targets"] == 1
        expected = {
            "newswatch_sources_file": src,
            "newswatch_watchlist_file": wl,
            "newswatch_schedule_minutes": "42",
            "newswatch_batch_size": "5",
            "newswatch_apprise_secret_block": BLOCK,
            "newswatch_allow_private": "127.0.0.1",  # tests/conftest.py TEST_ENV, passed by cli()
            "newswatch_host_min_gap": "0",
        }
        assert report["variables"] == expected
        stored = stored_variables()
        assert stored == expected  # one Variable per setting, none twice, nothing secret
        assert not any("secret-pw" in str(v) or hook.apprise_url() in str(v) for v in stored.values())
        assert "secret-pw" not in result.stdout + result.stderr
        assert "database_url" not in VARIABLE_FIELDS and "notify" not in VARIABLE_FIELDS

        # A served run's process: PREFECT_API_URL and no NEWSWATCH_* but its home.
        settings = load_settings()
        assert (str(settings.sources_file), settings.schedule_minutes, settings.batch_size) == (src, 42, 5)
        assert settings.apprise_secret_block == BLOCK and settings.notify is None
        monkeypatch.setenv("NEWSWATCH_SCHEDULE_MINUTES", "7")  # the environment wins over a Variable
        assert load_settings().schedule_minutes == 7

        from flows.monitor import monitor

        summary = monitor()  # files and notifier from the Variables and the Secret block
        assert summary.sources_ok == 1 and summary.alerts_sent == 1 and len(hook.posts) == 1


@pytest.mark.usefixtures("clean_variables")
def test_setup_refuses_bad_input_and_stores_nothing(tmp_path: Path) -> None:
    bad_url = cli(["setup"], {"PREFECT_API_URL": api(), "NEWSWATCH_NOTIFY": "nosuchscheme://u:pw@x"}, timeout=60)
    assert bad_url.returncode == 2 and "no usable URL" in bad_url.stderr and "u:pw" not in bad_url.stderr
    bad_value = cli(["setup"], {"PREFECT_API_URL": api(), "NEWSWATCH_SCHEDULE_MINUTES": "often"}, timeout=60)
    assert bad_value.returncode == 2 and "NEWSWATCH_SCHEDULE_MINUTES: Input should be" in bad_value.stderr
    assert stored_variables() == {}
    no_server = cli(["setup"], {"NEWSWATCH_SCHEDULE_MINUTES": "30"}, timeout=60)
    assert no_server.returncode == 2 and "set PREFECT_API_URL" in no_server.stderr
    down = f"http://127.0.0.1:{free_port()}/api"
    unreachable = cli(["setup"], {"PREFECT_API_URL": down, "NEWSWATCH_SCHEDULE_MINUTES": "30"}, timeout=60)
    assert unreachable.returncode == 1 and f"Prefect API error {down}" in unreachable.stderr
    assert "Traceback" not in no_server.stderr + unreachable.stderr + bad_value.stderr


def test_unreachable_api_means_environment_and_defaults_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("NEWSWATCH_BATCH_SIZE", "9")
    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        forget_read_variables()
        started = time.monotonic()
        first = load_settings()
        for _ in range(20):  # load_settings() is called several times a run: the miss is remembered
            load_settings()
        elapsed = time.monotonic() - started
    forget_read_variables()
    assert first.batch_size == 9 and first.schedule_minutes == 15
    assert elapsed < VARIABLE_READ_TIMEOUT_SECONDS
