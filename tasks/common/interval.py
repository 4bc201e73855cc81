"""Poll intervals as operators write them: 90s, 30m, 1h30m, 1d."""

from __future__ import annotations

import re
from datetime import timedelta

_INTERVAL = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> timedelta:
    """'30m', '1h', '1h30m', '90s', '1d' -> timedelta; ValueError for anything else."""
    compact = text.strip().lower().replace(" ", "")
    parts = _INTERVAL.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"invalid interval {text!r}: use e.g. 90s, 30m, 1h, 1h30m, 1d")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds < 60:
        raise ValueError(f"interval {text!r} is under a minute: too aggressive for a publisher")
    return timedelta(seconds=seconds)
