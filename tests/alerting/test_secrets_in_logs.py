"""No part of a notifier's secret reaches a log, whoever writes the line (issue #19 item 7):
Apprise's own log lines (a refused URL, a failed send) and the target labels newswatch logs
and stores. Apprise's privacy mode keeps a secret's first and last characters (`T...W`)."""

from __future__ import annotations

import logging

import apprise
import pytest

from tasks.alerting import NotifyConfigError, load_senders
from tasks.alerting.channels import AppriseSender
from tasks.alerting.render import Message
from tasks.config import Settings
from tests.receivers import free_port

SECRET_PARTS = ("secretuser", "TopSecretW", "T...W", "s...r")


def assert_no_secret(records: list[logging.LogRecord]) -> None:
    for record in records:
        line = record.getMessage()
        assert not any(part in line for part in SECRET_PARTS), line


def test_a_refused_url_is_logged_without_its_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotifyConfigError):
        load_senders(Settings(notify="xyz://secretuser:TopSecretW@nowhere", apprise_secret_block=None))
    lines = [r.getMessage() for r in caplog.records if r.name == "apprise"]
    assert "Unparseable URL xyz://****" in lines  # said, not shown
    assert_no_secret(caplog.records)


def test_a_failed_send_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"json://secretuser:TopSecretW@127.0.0.1:{free_port()}/hook?token=TopSecretW"
    (sender,) = load_senders(Settings(notify=url, apprise_secret_block=None))
    with pytest.raises(RuntimeError):
        sender.send(Message(title="t", body="b"))
    assert any(r.name == "apprise" for r in caplog.records)
    assert_no_secret(caplog.records)


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890", "tgram://****/-1001234567890/"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#alerts", "slack://****/****/****/%23alerts/"),
        (
            "mailtos://alerts:app-password@gmail.com?to=analyst@example.org",
            "mailtos://alerts:****@gmail.com/analyst%40example.org",
        ),
    ],
)
def test_target_labels_keep_no_character_of_a_secret(url: str, label: str) -> None:
    servers = apprise.Apprise()
    assert servers.add(url)
    assert AppriseSender(next(iter(servers))).target.label == label
