"""Poll intervals and time spans as operators write them: 90s, 30m, 1h30m, 1d."""

from __future__ import annotations

import re
from datetime import timedelta

_INTERVAL = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A poll interval or a `--since` over a year is a typo; bounded, `now ± interval` (and the
# backoff's doublings) can never leave datetime's range, whatever a file or a command says.
MAX_INTERVAL = timedelta(days=365)
# A look-back (`--since`, `--older-than`) may be longer: an archive of years. A century still
# keeps `now - span` inside datetime's range.
MAX_SPAN = timedelta(days=36500)


def parse_interval(text: str, maximum: timedelta = MAX_INTERVAL) -> timedelta:
    """'30m', '1h', '1h30m', '90s', '1d' -> timedelta; ValueError for anything else, for less
    than a minute and for more than `maximum`."""
    compact = text.strip().lower().replace(" ", "")
    parts = _INTERVAL.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"invalid interval {_shown(text)}: use e.g. 90s, 30m, 1h, 1h30m, 1d")
    # Digits beyond the maximum's are over it: no need to build a huge int (or hit int's digit limit).
    limit = int(maximum.total_seconds())
    too_long = any(len(n.lstrip("0")) > len(str(limit)) for n, _ in parts)
    seconds = 0 if too_long else sum(int(n) * _UNITS[u] for n, u in parts)
    if too_long or seconds > limit:
        raise ValueError(f"interval {_shown(text)} is over {_days(maximum)}")
    if seconds < 60:
        raise ValueError(f"interval {_shown(text)} is under a minute: too aggressive for a publisher")
    return timedelta(seconds=seconds)


def _shown(text: str) -> str:
    """The text as an error quotes it: a 5,000-digit interval is named by its first characters."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _days(span: timedelta) -> str:
    return f"{span.days} days" if span.days and not span.seconds else f"{int(span.total_seconds())} s"
