from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.helpers import TaggedTargets, Watched
    from tests.newsweb import NewsWeb
    from tests.receivers import JsonReceiver

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

# Prefect's first real import (prefect.main: `import prefect` alone is lazy) replaces the root
# logger's handlers and binds its console output to the stderr of that moment: do it here,
# before any test's capsys, not inside one (a later test would log to a closed capture).
import prefect.main  # noqa: E402,F401

# Tests serve everything from 127.0.0.1: allow it past the private-address guard, and do not
# space requests to the one local "host" a second apart.
TEST_ENV = {"NEWSWATCH_ALLOW_PRIVATE": "127.0.0.1", "NEWSWATCH_HOST_MIN_GAP": "0"}

PG_ADMIN_URL = os.environ.get("NEWSWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No NEWSWATCH_* setting leaks in from the developer's shell; data goes to tmp."""
    for key in list(os.environ):
        if key.startswith("NEWSWATCH_") and key != "NEWSWATCH_TEST_PG":
            monkeypatch.delenv(key)
    monkeypatch.setenv("NEWSWATCH_HOME", str(tmp_path / "home"))
    for key, value in TEST_ENV.items():
        monkeypatch.setenv(key, value)
    yield
    from storage.db import dispose_all

    dispose_all()


def _pg_available() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_ok() -> bool:
    ok = _pg_available()
    if not ok and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI and does not answer at {PG_ADMIN_URL}")
    return ok


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_ok: bool) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not pg_ok:
        pytest.skip(f"PostgreSQL does not answer at {PG_ADMIN_URL}")
    import psycopg

    name = "nw_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    from storage.db import dispose_all

    dispose_all()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def home_db(tmp_path: Path) -> str:
    """The database of a run that is given none: SQLite in NEWSWATCH_HOME (clean_env)."""
    return f"sqlite:///{tmp_path / 'home' / 'newswatch.db'}"


@pytest.fixture
def flow_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """db_url (each backend) as the database of the flows the test runs in this process."""
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", db_url)
    return db_url


@pytest.fixture
def web() -> Iterator[NewsWeb]:
    from tests.newsweb import NewsWeb

    with NewsWeb() as w:
        yield w


@pytest.fixture
def mekong(web: NewsWeb, tmp_path: Path) -> Watched:
    """Mekong Daily (tests.newsweb.build_site) on the local news web, and the config files that
    watch it for human trafficking (tests.helpers.write_config)."""
    from tests.helpers import Watched, write_config
    from tests.newsweb import build_site

    site = build_site(web)
    return Watched(site, *write_config(tmp_path, [("Mekong Daily", site["feed"])]))


@pytest.fixture
def tagged_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TaggedTargets:
    """tagged_targets({tag: receiver}): these receivers are the Apprise targets, each with its tag
    (an Apprise config file, NEWSWATCH_APPRISE_CONFIG)."""

    def use(targets: dict[str, JsonReceiver]) -> None:
        path = tmp_path / "apprise.yaml"
        urls = "".join(f"  - {receiver.apprise_url()}:\n    - tag: {tag}\n" for tag, receiver in targets.items())
        path.write_text("urls:\n" + urls)
        monkeypatch.setenv("NEWSWATCH_APPRISE_CONFIG", str(path))

    return use
