"""`newswatch setup`: this environment's configuration stored on the Prefect server for the
deployments: the Apprise targets in a Secret block, the other NEWSWATCH_* settings as Variables,
and the automations that crash zombie runs and cancel late ones (deploy/automations.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from deploy.cli_common import err, esc, fail, out, print_json, quiet_prefect

BlockOpt = Annotated[str, typer.Option("--block", help="Name of the Prefect Secret block.")]


def _api_error(api: str, exc: Exception) -> typer.Exit:
    """One line for a server that failed us; never the request, which may hold the secret."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        reason = f"HTTP {exc.response.status_code}"
    elif isinstance(exc, httpx.TransportError | OSError):
        reason = f"{type(exc).__name__}: {exc}"
    else:
        reason = type(exc).__name__
    return fail("Prefect API error", f"{api}: {reason}", 1)


def setup(
    block: BlockOpt = "newswatch-apprise",
    as_json: Annotated[bool, typer.Option("--json", help="Print what was stored as JSON.")] = False,
) -> None:
    """Store this environment's configuration on the Prefect server for the deployments (idempotent).

    The Apprise targets (NEWSWATCH_NOTIFY or NEWSWATCH_APPRISE_CONFIG) go to a Secret block; the
    other NEWSWATCH_* settings of the environment (files, schedule, batch sizes, host limits,
    never the database URL) become Prefect Variables named newswatch_<setting>, which workers
    and served runs read when their environment does not set them. The automations that crash
    zombie runs and cancel late runs are created, or updated when they exist.

    Example: NEWSWATCH_APPRISE_CONFIG=apprise.yaml PREFECT_API_URL=http://127.0.0.1:4200/api newswatch setup
    """
    from deploy.automations import ensure_automations
    from tasks.alerting import NotifyConfigError, save_secret_block
    from tasks.config import (
        VARIABLE_PREFIX,
        ConfigError,
        environment_values,
        load_settings,
        prefect_api_url,
        save_variables,
    )

    quiet_prefect()
    api = prefect_api_url()
    if not api:
        raise fail("no Prefect server", "set PREFECT_API_URL to the server of the deployments", 2)
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise fail("config error", exc, 2) from None
    values = environment_values()
    has_targets = bool(settings.notify_urls() or settings.apprise_config)
    count = 0
    try:
        if has_targets:  # validated before anything is saved
            count = save_secret_block(settings, block)
            values["apprise_secret_block"] = block
        names = save_variables(values)
        automations = ensure_automations()
    except NotifyConfigError as exc:
        raise fail("config error", exc, 2) from None
    except Exception as exc:
        raise _api_error(api, exc) from None
    if as_json:
        secret = {"secret_block": block if has_targets else None, "targets": count}
        variables = {VARIABLE_PREFIX + k: v for k, v in sorted(values.items())}
        print_json({"api": api, **secret, "variables": variables, "automations": automations})
        return
    _print_stored(block if has_targets else None, count, names, automations)


def _print_stored(block: str | None, count: int, names: list[str], automations: dict[str, str]) -> None:
    """What setup stored, for a person: the Secret block (None: left as it was), the Variables,
    the automations."""
    if block:
        out.print(
            f"saved {count} Apprise target(s) in the Secret block {esc(block)}; workers and `newswatch serve` "
            "find it through the Variable newswatch_apprise_secret_block "
            f"(or NEWSWATCH_APPRISE_SECRET_BLOCK={esc(block)})",
            highlight=False,
        )
    if names:
        out.print(f"saved {len(names)} Prefect Variable(s): {esc(', '.join(names))}", highlight=False)
    for name, what in automations.items():
        out.print(f"automation {what}: {esc(name)}", highlight=False)
    if not block:
        err.print("no Apprise targets in this environment: the Secret block was left as it was", highlight=False)
