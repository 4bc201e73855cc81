"""Alerting: everything that leaves newswatch as a message. It owns the Apprise targets (read
from the settings, or the console when none is set), what alerts and digests say in each
channel's syntax with third-party text escaped, the sending of the alert outbox that matching
filled (claim, send, mark; backoff and dead letters for failed sends; quiet hours and
max_per_hour), and the operational notices for the people who run newswatch.

Modules:
    channels  the Apprise targets: loading them, sending to one, storing them in a Secret block
    render    per-channel escaping and the text of alerts and digests
    delivery  the outbox sender for immediate alerts, and how a failed send is recorded
    digests   one message per topic and target for hourly and daily topics
    ops       operational notices (a run failed, a source paused) and the `ops` target tag
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.alerting.channels import NotifyConfigError, close_all, load_senders, save_secret_block
    from tasks.alerting.delivery import DeliveryReport, deliver, deliver_task
    from tasks.alerting.digests import DigestReport, digest_task
    from tasks.alerting.ops import alert_senders, notify_run_failed
    from tasks.alerting.render import escape, indicators_line, link, sentence

__all__ = [
    "alert_senders",
    "close_all",
    "deliver",
    "deliver_task",
    "DeliveryReport",
    "digest_task",
    "DigestReport",
    "escape",
    "indicators_line",
    "link",
    "load_senders",
    "notify_run_failed",
    "NotifyConfigError",
    "save_secret_block",
    "sentence",
]
__getattr__ = lazy_exports(__name__, __file__)
