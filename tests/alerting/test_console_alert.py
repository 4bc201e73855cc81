"""With no notifier configured, an alert is printed once (issue #19 item 8): on stdout, where
the operator reads it; the run's log (on the terminal too, and in the Prefect UI) names it in
one line instead of printing it again."""

from __future__ import annotations

import logging

import pytest
from prefect import flow

from tasks.alerting.channels import ConsoleSender
from tasks.alerting.render import Message


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.usefixtures("prefect_harness")
def test_an_alert_is_printed_once(capsys: pytest.CaptureFixture[str]) -> None:
    collect = Collect()
    run_log = logging.getLogger("prefect.flow_runs")
    run_log.addHandler(collect)

    @flow
    def alert() -> None:
        ConsoleSender().send(Message(title="Raid frees forty workers", body="BODY LINE one\nBODY LINE two"))

    try:
        alert()
    finally:
        run_log.removeHandler(collect)
    assert capsys.readouterr().out.count("BODY LINE one") == 1
    assert not any("BODY LINE" in line for line in collect.lines), collect.lines
    assert any("Raid frees forty workers" in line and "stdout" in line for line in collect.lines), collect.lines
