"""Non-secret settings kept as Prefect Variables (`newswatch_<setting>`, tagged `newswatch`), so
the workers and served runs of a deployment share one configuration that `newswatch setup`
wrote and the Prefect UI can edit. tasks/config/settings.py reads them below the environment.

Reading fails soft and cheap: no Prefect API configured (PREFECT_API_URL, env or profile; the
ephemeral API is never started for this), or a server that does not answer within a few
seconds, means no Variables; what was read is kept for a minute per process."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

VARIABLE_PREFIX = "newswatch_"
TAG = "newswatch"
CACHE_SECONDS = 60.0
TIMEOUT_SECONDS = 3.0

_cache: dict[str, tuple[float, dict[str, str]]] = {}  # API URL -> (when read, values)
_lock = threading.Lock()


def prefect_api_url() -> str | None:
    """The configured Prefect API, or None (then Prefect would start an ephemeral one)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def _text(value: Any) -> str:
    """Settings parse strings, as from the environment (a number edited in the UI becomes "30")."""
    return value if isinstance(value, str) else json.dumps(value)


def _fetch(names: list[str]) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    # No retries: an unreachable server costs one timeout, not Prefect's backoff of several.
    with (
        temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}),
        get_client(httpx_settings={"timeout": TIMEOUT_SECONDS}, sync_client=True) as client,
    ):
        response = client.request(
            "POST", "/variables/filter", json={"variables": {"name": {"any_": names}}, "limit": len(names)}
        )
    return {v["name"]: _text(v["value"]) for v in response.json() if v.get("value") is not None}


def read_variables(fields: Iterable[str]) -> dict[str, str]:
    """{setting: value} of the `newswatch_<setting>` Variables that exist, for these settings."""
    wanted = sorted(fields)
    try:
        api = prefect_api_url()
    except Exception:  # a broken Prefect profile must not break newswatch's own settings
        return {}
    if not api:
        return {}
    with _lock:
        cached = _cache.get(api)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            values = cached[1]
        else:
            try:
                values = {
                    k.removeprefix(VARIABLE_PREFIX): v for k, v in _fetch([VARIABLE_PREFIX + f for f in wanted]).items()
                }
            except Exception as exc:  # unreachable, refused, auth: environment and defaults only
                log.warning("Prefect Variables not read from %s: %s", api, type(exc).__name__)
                values = {}
            _cache[api] = (time.monotonic(), values)
    return {k: v for k, v in values.items() if k in wanted}


def forget_read_variables() -> None:
    """Drop what was read (after setup wrote new values, and in tests)."""
    with _lock:
        _cache.clear()


def save_variables(values: dict[str, str]) -> list[str]:
    """Create or overwrite one Variable per setting (idempotent); returns the Variable names."""
    from prefect.variables import Variable

    names = []
    for field, value in sorted(values.items()):
        Variable.set(VARIABLE_PREFIX + field, value, tags=[TAG], overwrite=True)
        names.append(VARIABLE_PREFIX + field)
    forget_read_variables()
    return names
