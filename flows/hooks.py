"""Flow state hooks: a failed run tells the operators (the `ops` Apprise targets)."""

from __future__ import annotations

import logging

from tasks.alerting import notify_run_failed
from tasks.config import load_settings

log = logging.getLogger(__name__)


def tell_ops(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
    errors = notify_run_failed(load_settings(), flow.name, flow_run.name, state.message or "unknown reason")
    for error in errors:
        log.warning("could not tell ops that %s failed: %s", flow_run.name, error)
