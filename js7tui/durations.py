"""Durations as administrators write them (``30m``, ``1h``, ``90s``, ``2d``), as in JS7 settings."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from js7tui.errors import ValidationError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")


def parse_duration(text: str) -> int:
    """Seconds in ``text``; a bare number means seconds. Negative values are refused here."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValidationError(
            f"'{text}' is not a duration; write a number with s, m, h, d or w (e.g. 30m)"
        )
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def format_duration(seconds: int) -> str:
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_moment(text: str, now: datetime) -> datetime:
    """An absolute ISO date/time, or a relative one such as ``-1d`` or ``-30m`` from ``now``."""
    text = text.strip()
    if text.startswith("-"):
        return now - timedelta(seconds=parse_duration(text[1:]))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"'{text}' is not a date; use ISO form (2026-11-23 or 2026-11-23T08:00) or -1d, -2h"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return moment
