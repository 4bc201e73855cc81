"""alerting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.alerting.channels import (
        NotifyConfigError,
        alert_senders,
        close_all,
        load_senders,
        notify_run_failed,
        save_secret_block,
    )
    from tasks.alerting.delivery import DeliveryReport, deliver, deliver_task
    from tasks.alerting.digests import DigestReport, digest_task
    from tasks.alerting.render import escape, link, sentence

__all__ = [
    "alert_senders",
    "close_all",
    "deliver",
    "deliver_task",
    "DeliveryReport",
    "digest_task",
    "DigestReport",
    "escape",
    "link",
    "load_senders",
    "notify_run_failed",
    "NotifyConfigError",
    "save_secret_block",
    "sentence",
]
__getattr__ = lazy_exports(__name__, __file__)
