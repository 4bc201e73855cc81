"""Intervals as sources and commands write them (tasks.common.interval)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tasks.common.interval import parse_interval


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("90s", 90), ("1d", 86400), (" 2H ", 7200)]
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "m", "1x", "30m garbage", "10s", "-5m"])
def test_parse_interval_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)
