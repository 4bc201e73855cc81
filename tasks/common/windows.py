"""Times of day in a time zone: quiet hours ("22:00-07:00 Asia/Phnom_Penh") and the daily
digest time. Wall-clock times in the operator's zone, so daylight saving moves nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_clock(text: str) -> time:
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"invalid time of day {text!r}: use HH:MM, e.g. 07:30")
    return time(int(match.group(1)), int(match.group(2)))


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Asia/Phnom_Penh") from None


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """'22:00-07:00 Asia/Phnom_Penh' (the zone defaults to UTC)."""
        parts = text.split()
        if not parts or len(parts) > 2 or "-" not in parts[0]:
            raise ValueError(f"invalid quiet hours {text!r}: use e.g. '22:00-07:00 Asia/Phnom_Penh'")
        start, end = parts[0].split("-", 1)
        return cls(parse_clock(start), parse_clock(end), parse_zone(parts[1] if len(parts) == 2 else "UTC"))

    def ends_at(self, now: datetime) -> datetime | None:
        """When the quiet window around `now` ends, or None when `now` is not in one."""
        local = now.astimezone(self.zone)
        t = local.time().replace(second=0, microsecond=0)
        if self.start == self.end:
            return None
        inside = (self.start <= t < self.end) if self.start < self.end else (t >= self.start or t < self.end)
        if not inside:
            return None
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(now.tzinfo)


def last_slot(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The most recent moment (<= now) at which the local clock read `at`."""
    local = now.astimezone(zone)
    slot = datetime.combine(local.date(), at, tzinfo=zone)
    if slot > local:
        slot = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    return slot.astimezone(now.tzinfo)
