"""A one-line audit filter as administrators type it: ``account:alice cat:identity since:-1d``.

One line fits an 80-column terminal where a form with ten fields does not, and it reads back
exactly as typed in the viewer's status line. Words are ``key:value`` (values with spaces in
quotes, lists with commas); ``refused`` alone keeps only refused security events. Dates are ISO
or relative to now (``-1d``, ``-2h``, ``-30m``), as in ``js7tui audit list --since``.
"""

from __future__ import annotations

import shlex
from datetime import datetime

from js7tui.audit.log import Category, Outcome
from js7tui.audit.query import AuditFilter
from js7tui.durations import parse_moment
from js7tui.errors import ValidationError

KEYS: dict[str, str] = {
    "account": "account", "a": "account", "user": "account",
    "request": "request",
    "category": "categories", "cat": "categories", "c": "categories",
    "controller": "controller_id",
    "type": "object_type",
    "object": "path_contains", "path": "path_contains", "p": "path_contains",
    "folder": "folders", "f": "folders",
    "comment": "comment_contains",
    "ticket": "ticket_link",
    "outcome": "outcome",
    "since": "date_from", "from": "date_from",
    "until": "date_to", "to": "date_to",
}
HELP = ("account:NAME  cat:IDENTITY,SETTINGS  controller:ID  type:WORKFLOW  object:TEXT  "
        "folder:/a,/b  comment:TEXT  ticket:LINK  since:-1d  until:2026-01-31  refused")


def parse(text: str, now: datetime) -> AuditFilter:
    """The filter for ``text`` (empty: everything); a ValidationError names the bad word."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ValidationError(f"filter: {exc} (close the quote)") from None
    values: dict[str, object] = {}
    for word in words:
        if word.lower() == "refused":
            values["outcome"] = Outcome.REFUSED.value
            continue
        key, colon, value = word.partition(":")
        field = KEYS.get(key.lower())
        if not colon or field is None:
            raise ValidationError(f"filter: '{word}' is not one of the filter words: {HELP}")
        if not value:
            raise ValidationError(f"filter: '{key}:' needs a value")
        if field == "categories":
            values[field] = tuple(_category(v) for v in value.split(",") if v.strip())
        elif field == "folders":
            values[field] = tuple(v.strip() for v in value.split(",") if v.strip())
        elif field == "outcome":
            if value.upper() not in Outcome.__members__:
                raise ValidationError("filter: outcome is OK or REFUSED")
            values[field] = value.upper()
        elif field in ("date_from", "date_to"):
            values[field] = parse_moment(value, now)
        else:
            values[field] = value
    return AuditFilter(**values)  # type: ignore[arg-type]


def _category(typed: str) -> str:
    """A category by its name or a unique beginning of it (``certificate``, or the cut label
    ``CERTIFICAT…`` the list shows): whatever the view displays, the filter accepts."""
    name = typed.strip().rstrip("…").rstrip(".").upper()
    if name in Category.__members__:
        return name
    matches = [member for member in Category.__members__ if member.startswith(name)] \
        if name else []
    if len(matches) == 1:
        return matches[0]
    raise ValidationError(f"filter: unknown category '{typed.strip().upper()}'; one of "
                          + ", ".join(Category.__members__))
