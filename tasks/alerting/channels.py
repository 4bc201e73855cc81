"""The Apprise targets: read from the settings (NEWSWATCH_NOTIFY URLs, an Apprise config file,
a Prefect Secret block; the console when none is set), sent one message at a time, and stored
into a Secret block for deployments. Each Apprise target is sent to on its own, so a failure of
one target is retried for that target only (Apprise's notify() over several targets returns one
falsy result when any fails; shared NOTES)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import sys
from pathlib import Path
from typing import Protocol, cast

import apprise
from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from storage.records import Target
from tasks.alerting.render import Message
from tasks.config import Settings

# Apprise's privacy mode keeps a secret's first and last characters (`T...W`), and it logs the
# URLs it refuses as written (`Unparseable URL xyz://user:T...W@host`): its log lines keep no
# URL but its scheme, and newswatch's labels no character of a masked secret.
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,31})://[^\s'\"<>]+")
_MASKED = re.compile(r"[^/:@?&=#%\s]\.\.\.[^/:@?&=#%\s]")


class RedactUrls(logging.Filter):
    """Rewrites every URL of a record to `scheme://****`, before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _URL.sub(r"\1://****", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_APPRISE_LOG = logging.getLogger("apprise")
if not any(isinstance(f, RedactUrls) for f in _APPRISE_LOG.filters):
    _APPRISE_LOG.addFilter(RedactUrls())


def target_label(server: apprise.plugins.NotifyBase) -> str:
    """How a target is named in logs, tables and the database: Apprise's privacy URL without
    its options (the query) and with every masked secret's remaining characters masked too."""
    return _MASKED.sub("****", server.url(privacy=True).split("?", 1)[0])


class NotifyConfigError(ValueError):
    """A notifier setting cannot be used; the message never contains the URL's secrets."""


class Sender(Protocol):
    target: Target
    tags: set[str]  # Apprise tags; "ops" marks targets for operational notices
    format: str  # the body format this channel takes best: html, markdown or text

    def send(self, message: Message) -> None:
        """Deliver or raise with a reason."""

    def close(self) -> None:
        """Release connections the channel keeps open between sends."""


_APPRISE_FORMATS = {
    apprise.NotifyFormat.HTML: "html",
    apprise.NotifyFormat.MARKDOWN: "markdown",
    apprise.NotifyFormat.TEXT: "text",
}


def _preferred_format(server: apprise.plugins.NotifyBase) -> str:
    """The format the URL asks for (`?format=markdown`), else the channel's first. Apprise 2 keeps
    a multi-format channel's request apart from its formats (Matrix: text, html, markdown), and
    resolve_format() gives it; notify_format's first (text) sent Matrix plain text (issue #19 item 15)."""
    resolve = getattr(server, "resolve_format", None)
    if callable(resolve):
        return _APPRISE_FORMATS.get(resolve(), "text")
    formats = server.notify_format
    first = formats[0] if isinstance(formats, tuple | list) else formats
    return _APPRISE_FORMATS.get(first, "text")


class AppriseSender:
    def __init__(self, server: apprise.plugins.NotifyBase) -> None:
        self._server = server
        self.tags = {str(t).lower() for t in (getattr(server, "tags", None) or ())}
        self.format = _preferred_format(server)
        url = server.url()
        self.target = Target(
            key="apprise:" + hashlib.sha256(url.encode()).hexdigest()[:24],
            label=target_label(server),
            tags=tuple(sorted(self.tags)),
        )

    def send(self, message: Message) -> None:
        one = apprise.Apprise()
        one.add(self._server)
        body_format = {"html": apprise.NotifyFormat.HTML, "markdown": apprise.NotifyFormat.MARKDOWN}.get(
            message.format, apprise.NotifyFormat.TEXT
        )
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            title = message.title_for(merged=self._server.title_maxlen <= 0)
            ok = one.notify(body=message.body, title=title, body_format=body_format)
        if not ok:
            lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
            raise RuntimeError(lines[-1][:500] if lines else "delivery failed")

    def close(self) -> None:
        # Apprise's MQTT plugin leaves its paho client connected, with a network thread running:
        # a long-lived `newswatch serve` would gather one per run.
        client = getattr(self._server, "client", None)
        if client is not None and hasattr(client, "loop_stop"):
            with contextlib.suppress(Exception):
                client.disconnect()
                client.loop_stop()


class ConsoleSender:
    """With no notifier configured, alerts are printed: nothing is dropped silently."""

    target = Target(key="console", label="console (stdout)")
    tags: set[str] = set()
    format = "text"

    def send(self, message: Message) -> None:
        text = f"\n=== ALERT: {message.title}\n{message.body}\n"
        # Straight to stdout (log_prints would turn print() into a log line). The run's log
        # (in the Prefect UI, and on the terminal beside stdout) names it in one line: the whole
        # alert there too printed every alert twice in a terminal.
        sys.stdout.write(text)
        sys.stdout.flush()
        with contextlib.suppress(MissingContextError):
            get_run_logger().info("alert printed on stdout (no notifier configured): %s", message.title)

    def close(self) -> None:
        pass


def close_all(senders: list[Sender]) -> None:
    for sender in senders:
        sender.close()


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


def save_secret_block(settings: Settings, name: str) -> int:
    """Put the Apprise targets of this environment (NEWSWATCH_NOTIFY URLs and/or the
    NEWSWATCH_APPRISE_CONFIG file) into a Prefect Secret block, for deployments to read through
    NEWSWATCH_APPRISE_SECRET_BLOCK. Idempotent (overwrites); returns the number of targets."""
    from prefect.blocks.system import Secret

    parts = []
    if settings.notify_urls():
        parts.append("urls:\n" + "".join(f"  - {url}\n" for url in settings.notify_urls()))
    if settings.apprise_config:
        path = Path(settings.apprise_config)
        if not path.is_file():
            raise NotifyConfigError(f"NEWSWATCH_APPRISE_CONFIG: no such file {path}")
        parts.append(path.read_text(encoding="utf-8"))
    if not parts:
        raise NotifyConfigError("nothing to store: set NEWSWATCH_NOTIFY or NEWSWATCH_APPRISE_CONFIG")
    if len(parts) == 2:  # two YAML documents cannot be one config: keep the URLs and the file's entries
        raise NotifyConfigError("set NEWSWATCH_NOTIFY or NEWSWATCH_APPRISE_CONFIG for setup, not both")
    servers = _servers_from(parts[0], is_config=True)  # validates before anything is saved
    if not servers:
        raise NotifyConfigError("the Apprise configuration holds no usable URL")
    Secret(value=parts[0]).save(name, overwrite=True)  # type: ignore[arg-type]
    return len(servers)
