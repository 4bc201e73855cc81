"""Where alerts go and what they say. Each Apprise target is sent to on its own, so a failure
of one target is retried for that target only (Apprise's notify() over several targets
returns one falsy result when any fails; shared NOTES)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

import apprise
from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from storage.repository import AlertToSend, Target
from tasks.match import emphasize
from tasks.settings import Settings

log = logging.getLogger(__name__)


class NotifyConfigError(ValueError):
    """A notifier setting cannot be used; the message never contains the URL's secrets."""


@dataclass(frozen=True)
class Message:
    title: str
    body: str  # Markdown


class Sender(Protocol):
    target: Target
    tags: set[str]  # Apprise tags; "ops" marks targets for operational notices

    def send(self, message: Message) -> None:
        """Deliver or raise with a reason."""


def format_alert(alert: AlertToSend) -> Message:
    published = alert.published_at.strftime("%Y-%m-%d %H:%M UTC") if alert.published_at else "date unknown"
    terms = ", ".join(f'"{t}"' for t in alert.terms)
    where = "the title" if alert.hit_field == "title" else "the text"
    body = "\n".join(
        [
            f"**{alert.title}**",
            "",
            f"Source: {alert.source_name}  ",
            f"Published: {published}  ",
            f"Topic: {alert.topic} (matched {terms} in {where})",
            "",
            f"> {emphasize(alert.hit_sentence, alert.words)}",
            "",
            f"Link: {alert.url}",
        ]
    )
    return Message(title=f"[newswatch] {alert.topic}: {alert.title}"[:250], body=body)


class AppriseSender:
    def __init__(self, server: apprise.plugins.NotifyBase) -> None:
        self._server = server
        self.tags = {str(t).lower() for t in (getattr(server, "tags", None) or ())}
        url = server.url()
        self.target = Target(
            key="apprise:" + hashlib.sha256(url.encode()).hexdigest()[:24], label=server.url(privacy=True)
        )

    def send(self, message: Message) -> None:
        one = apprise.Apprise()
        one.add(self._server)
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            ok = one.notify(body=message.body, title=message.title, body_format=apprise.NotifyFormat.MARKDOWN)
        if not ok:
            lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
            raise RuntimeError(lines[-1][:500] if lines else "delivery failed")


class ConsoleSender:
    """With no notifier configured, alerts are printed: nothing is dropped silently."""

    target = Target(key="console", label="console (stdout)")
    tags: set[str] = set()

    def send(self, message: Message) -> None:
        text = f"\n=== ALERT: {message.title}\n{message.body}\n"
        # Straight to stdout (log_prints would turn print() into a log line) and into the run's
        # log, so a served deployment shows its alerts in the Prefect UI too.
        sys.stdout.write(text)
        sys.stdout.flush()
        with contextlib.suppress(MissingContextError):
            get_run_logger().info("alert (no notifier configured):%s", text)


def _servers_from(source: str, is_config: bool) -> list[apprise.plugins.NotifyBase]:
    collected = apprise.Apprise()
    if is_config:
        config = apprise.AppriseConfig()
        config.add_config(source)
        collected.add(config)
    else:
        for url in source.replace(",", " ").split():
            if not collected.add(url):
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                raise NotifyConfigError(
                    f"invalid Apprise URL with scheme {scheme!r} (the URL is not shown: it may hold a secret)"
                )
    return list(collected)  # config containers are flattened into their services


def _secret_block(name: str) -> str:
    from prefect.blocks.system import Secret

    secret = cast(Secret, Secret.load(name))  # sync context: a Secret, not a coroutine
    value = secret.get()
    return value if isinstance(value, str) else "\n".join(map(str, value))


def load_senders(settings: Settings) -> list[Sender]:
    """NEWSWATCH_NOTIFY URLs, then an Apprise config file, then a Prefect Secret block; the
    console when none is set."""
    servers: list[apprise.plugins.NotifyBase] = []
    if settings.notify_urls():
        servers += _servers_from(" ".join(settings.notify_urls()), is_config=False)
    if settings.apprise_config:
        path = Path(settings.apprise_config)
        if not path.is_file():
            raise NotifyConfigError(f"NEWSWATCH_APPRISE_CONFIG: no such file {path}")
        found = _servers_from(path.read_text(encoding="utf-8"), is_config=True)
        if not found:
            raise NotifyConfigError(f"{path}: Apprise config holds no usable URL")
        servers += found
    if settings.apprise_secret_block:
        content = _secret_block(settings.apprise_secret_block)
        is_config = "urls:" in content or "=" in content.split("://")[0]
        servers += _servers_from(content, is_config=is_config)
    if not servers:
        return [ConsoleSender()]
    return [AppriseSender(s) for s in servers]


OPS_TAG = "ops"


def ops_senders(senders: list[Sender]) -> list[Sender]:
    """Targets tagged `ops` get operational notices; without any, every target does."""
    tagged = [s for s in senders if OPS_TAG in s.tags]
    return tagged or senders


def alert_senders(senders: list[Sender]) -> list[Sender]:
    """Alerts go to every target not reserved for operations (tagged only `ops`)."""
    return [s for s in senders if s.tags != {OPS_TAG}] or senders


def send_notice(senders: list[Sender], message: Message) -> list[str]:
    """An operational notice to the ops targets; returns the errors (empty when all took it)."""
    errors = []
    for sender in ops_senders(senders):
        try:
            sender.send(message)
        except Exception as exc:  # a notice that fails is logged and tried again next run
            errors.append(f"{sender.target.label}: {exc}")
    return errors
