"""Where `newswatch run`, `demo` and `digest` run their flow: on the Prefect server of
PREFECT_API_URL when one is configured (asked for its health first, so a server that is down
is one line naming the fix, not Prefect's retries and traceback), else in this process without
Prefect (flows/stages.py: Prefect's temporary server took 18-27 s to start on a busy machine
and failed 3 runs in 6; without it a quiet run of the example config takes about 3 s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HEALTH_TIMEOUT_SECONDS = 5.0


class PrefectUnreachable(RuntimeError):
    """PREFECT_API_URL names a server that does not answer."""


def prefect_api() -> str | None:
    """The configured Prefect API (environment or Prefect profile), or None."""
    from tasks.config import prefect_api_url

    return prefect_api_url()


def _shown(api: str) -> str:
    """The API URL without credentials, for a message."""
    import httpx

    return str(httpx.URL(api).copy_with(username=None, password=None))


def check_api(api: str) -> None:
    """Raise PrefectUnreachable, with what to do, unless the server at `api` answers its health check."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with (
        temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}),
        get_client(httpx_settings={"timeout": HEALTH_TIMEOUT_SECONDS}, sync_client=True) as client,
    ):
        problem = client.api_healthcheck()
    if problem is not None:
        raise PrefectUnreachable(
            f"the Prefect server at {_shown(api)} does not answer ({type(problem).__name__}): start it "
            "(`prefect server start`) or unset PREFECT_API_URL to run in this process without a server"
        )


def monitor_runner() -> Callable[..., Any]:
    """The monitor flow when a Prefect server is configured (and answers), else `monitor_here`."""
    from flows.monitor import monitor, monitor_here

    return _pick(monitor, monitor_here)


def digest_runner() -> Callable[..., Any]:
    """The digest flow when a Prefect server is configured (and answers), else `digest_here`."""
    from flows.digest import digest, digest_here

    return _pick(digest, digest_here)


def _pick(on_server: Callable[..., Any], here: Callable[..., Any]) -> Callable[..., Any]:
    api = prefect_api()
    if api is None:
        return here
    check_api(api)
    return on_server
