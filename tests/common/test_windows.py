"""Quiet hours and digest slots at clock times the tests set (issue #19 item 25): a window across
midnight holds on both sides of it, whatever the time the tests run."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tasks.common.windows import QuietHours, last_slot


def at(hour: int, minute: int = 0, day: int = 27, zone: str = "UTC") -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(zone))


NIGHT = QuietHours.parse("22:00-07:00")


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (at(23, 30), at(7, day=28)),  # before midnight: ends tomorrow morning
        (at(22, 0), at(7, day=28)),  # the first minute
        (at(0, 0), at(7)),  # midnight itself
        (at(6, 59), at(7)),  # the last minute
        (at(7, 0), None),  # ended
        (at(12, 0), None),
        (at(21, 59), None),
    ],
)
def test_quiet_hours_across_midnight(now: datetime, ends: datetime | None) -> None:
    assert NIGHT.ends_at(now) == ends


@pytest.mark.parametrize(
    ("now", "ends"), [(at(8, 59), None), (at(9), at(17)), (at(16, 59), at(17)), (at(17), None), (at(23, 30), None)]
)
def test_quiet_hours_within_one_day(now: datetime, ends: datetime | None) -> None:
    assert QuietHours.parse("09:00-17:00").ends_at(now) == ends


def test_quiet_hours_in_the_operators_zone_answer_in_the_callers_zone() -> None:
    quiet = QuietHours.parse("22:00-07:00 Asia/Phnom_Penh")  # UTC+7
    assert quiet.ends_at(at(16, 30)) == at(0, day=28)  # 23:30 in Phnom Penh: until 07:00 there
    assert quiet.ends_at(at(23, 30)) == at(0, day=28)  # 06:30 there
    assert quiet.ends_at(at(0, 0)) is None  # 07:00 there
    assert quiet.ends_at(datetime(2026, 11, 27, 23, 30, tzinfo=UTC)).tzinfo is UTC  # type: ignore[union-attr]


def test_quiet_hours_across_a_daylight_saving_change_end_at_the_local_clock_time() -> None:
    quiet = QuietHours.parse("22:00-07:00 Europe/Berlin")  # 2026-10-25: 03:00 CEST becomes 02:00 CET
    ends = quiet.ends_at(datetime(2026, 10, 24, 21, 30, tzinfo=UTC))  # 23:30 CEST
    assert ends == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)  # 07:00 CET


def test_an_empty_window_never_holds() -> None:
    assert QuietHours.parse("07:00-07:00").ends_at(at(7)) is None


def test_last_slot_is_today_after_the_time_and_yesterday_before() -> None:
    assert last_slot(at(9, 30), time(8, 0), ZoneInfo("UTC")) == at(8)
    assert last_slot(at(7, 30), time(8, 0), ZoneInfo("UTC")) == at(8, day=26)
    assert last_slot(at(8, 0), time(8, 0), ZoneInfo("UTC")) == at(8)


PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")  # UTC+7, no daylight saving


def test_last_slot_counts_days_on_the_zones_own_calendar() -> None:
    # bench/mutation.py: every case above is in UTC, where the machine's zone is the operator's;
    # reading the date in the machine's zone or the slot without a zone survived.
    # 20:00 UTC is 03:00 the next day in Phnom Penh: today's 02:00 there is 19:00 UTC on the 27th
    assert last_slot(at(20), time(2, 0), PHNOM_PENH) == at(19)
    # 00:30 UTC is 07:30 there: 08:00 has not come, so yesterday's 08:00 there (01:00 UTC on the 26th)
    assert last_slot(at(0, 30), time(8, 0), PHNOM_PENH) == at(1, day=26)
    # the answer is in the caller's zone
    now = datetime(2026, 11, 27, 9, 30, tzinfo=PHNOM_PENH)
    assert last_slot(now, time(8, 0), ZoneInfo("UTC")).tzinfo is PHNOM_PENH


def test_quiet_hours_parse_reads_hours_minutes_and_zone() -> None:
    quiet = QuietHours.parse(" 22:30-07:15  Asia/Phnom_Penh ")
    assert (quiet.start, quiet.end, quiet.zone) == (time(22, 30), time(7, 15), PHNOM_PENH)
    assert QuietHours.parse("9:05-17:00").zone == ZoneInfo("UTC")  # the zone defaults to UTC


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid quiet hours ''"),
        ("22:00 UTC", "invalid quiet hours '22:00 UTC'"),  # no range
        ("22:00-07:00 UTC extra", "invalid quiet hours '22:00-07:00 UTC extra'"),  # three parts
        ("22:00-07:00-08:00", "invalid time of day '07:00-08:00'"),  # the end is what follows the first dash
        ("24:00-07:00", "invalid time of day '24:00'"),
        ("22:00-07:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_quiet_hours_say_which_part_is_wrong(text: str, message: str) -> None:
    # bench/mutation.py: messages replaced by None, `or` by `and` and a limit of 3 parts survived
    with pytest.raises(ValueError, match=re.escape(message)):
        QuietHours.parse(text)
