"""Global settings (reference section 3.3 and 7) with their types, defaults and checks.

The initial password is kept only as an argon2 hash: resets copy the hash, and "is this the
initial password?" is a verification, so the store never holds it in clear.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from js7tui.durations import format_duration, parse_duration
from js7tui.errors import ValidationError

INITIAL_PASSWORD_HASH = "initial_password_hash"


def _bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise ValidationError(f"'{text}' is not a yes/no value; use true or false")


def _timeout(text: Any) -> int:
    value = str(text).strip()
    if value in ("-1", "never"):
        return -1
    seconds = parse_duration(value)
    if seconds < 60:
        raise ValidationError("idle_session_timeout must be at least 1m (or -1 for never)")
    return seconds


def _min_length(text: Any) -> int:
    try:
        value = int(str(text))
    except ValueError:
        raise ValidationError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= 1024:
        raise ValidationError("minimum_password_length must be between 1 and 1024")
    return value


def _duration(key: str, minimum: int) -> Callable[[Any], int]:
    def parse(text: Any) -> int:
        seconds = text if isinstance(text, int) else parse_duration(str(text).strip())
        if seconds < minimum:
            raise ValidationError(f"{key} must be at least {format_duration(minimum)}")
        return seconds
    return parse


# What a requestor's change may be (issue 22); the names ``operations_requiring_approval``
# takes.
APPROVAL_KINDS = ("deploy", "revoke", "import-deploy", "accounts", "roles",
                  "identity-services", "certificates", "settings")


def _kinds(text: Any) -> list[str]:
    items = _comments(text) if not isinstance(text, list) else [str(i).strip() for i in text]
    items = [i for part in items for i in part.replace(",", " ").split() if i]
    unknown = [i for i in items if i not in APPROVAL_KINDS]
    if unknown:
        raise ValidationError(f"unknown operation(s) {', '.join(unknown)}; operations that "
                              f"can require approval: {', '.join(APPROVAL_KINDS)}")
    return list(dict.fromkeys(items))


def _names(text: Any) -> list[str]:
    items = text if isinstance(text, list) else str(text).replace(",", ";").split(";")
    return list(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))


def _comments(text: Any) -> list[str]:
    if isinstance(text, list):
        items = [str(item).strip() for item in text]
    else:
        items = [part.strip() for part in str(text).split(";")]
    return [item for item in items if item]


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    parse: Callable[[Any], Any]
    show: Callable[[Any], str]
    description: str
    secret: bool = False


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec("idle_session_timeout", 900, _timeout,
                    lambda v: "-1 (never)" if v < 0 else format_duration(v),
                    "Idle time after which a session ends, existing sessions too (e.g. 15m; "
                    "-1 for never)"),
        SettingSpec("initial_password", None, str, lambda v: "(set, stored as argon2 hash)",
                    "Password given to new and reset accounts; always forces a change; as "
                    "long as a chosen password must be", secret=True),
        SettingSpec("minimum_password_length", 12, _min_length, str,
                    "Shortest password an account may choose"),
        SettingSpec("force_comments_for_audit_log", False, _bool,
                    lambda v: "true" if v else "false",
                    "Every change must carry an audit comment"),
        SettingSpec("enable_remember_me", True, _bool, lambda v: "true" if v else "false",
                    "Allow keeping the session token in the user's state file"),
        SettingSpec("comments_for_audit_log", [
            "System maintenance", "Repeat execution", "Business requirement",
            "Restart failed execution", "Re-instantiate stopped object", "Temporary stop",
            "Change of Controller object", "Rerun with parameter changes",
            "Change of external dependency", "Application deployment and upgrade",
        ], _comments, lambda v: "; ".join(v), "Predefined audit comments ('; '-separated)"),
        SettingSpec("approval_requestor_roles", [], _names, lambda v: "; ".join(v) or "(none)",
                    "Roles whose changes need a second person's approval ('; '-separated)"),
        SettingSpec("operations_requiring_approval", list(APPROVAL_KINDS), _kinds,
                    lambda v: " ".join(v) or "(none)",
                    "Which changes of a requestor role become approval requests"),
        SettingSpec("approval_request_lifetime", 86400,
                    _duration("approval_request_lifetime", 60), format_duration,
                    "How long a request may be approved and executed (e.g. 24h)"),
        SettingSpec("approval_requests_age", 7 * 86400,
                    _duration("approval_requests_age", 3600), format_duration,
                    "Requests older than this are cleaned up (e.g. 7d)"),
    )
}

# JS7's is "initial"; ours respects the default minimum_password_length (12), as the
# minimum applies to the initial password too.
DEFAULT_INITIAL_PASSWORD = "initial-password"
INITIAL_PASSWORD_LENGTH = "initial_password_length"  # kept beside the hash: the rule above


def spec_for(key: str) -> SettingSpec:
    if key not in SPECS:
        hint = (" (the security level is fixed at init and is not a setting)"
                if key == "security_level" else "")
        raise ValidationError(
            f"unknown setting '{key}'{hint}; settings are: {', '.join(SPECS)}"
        )
    return SPECS[key]


def read(conn: sqlite3.Connection, key: str) -> Any:
    spec = spec_for(key)
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else spec.default


def read_all(conn: sqlite3.Connection) -> dict[str, Any]:
    stored = {row[0]: json.loads(row[1]) for row in conn.execute("SELECT key, value FROM settings")}
    return {key: stored.get(key, spec.default) for key, spec in SPECS.items()}


def write(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value)),
    )


def initial_password_hash(conn: sqlite3.Connection) -> str:
    row = conn.execute(
        "SELECT value FROM settings WHERE key = ?", (INITIAL_PASSWORD_HASH,)
    ).fetchone()
    if not row:
        raise ValidationError("the initial password is not set; set it with "
                              "'js7tui settings set initial_password'")
    return json.loads(row[0])


def write_initial_password_hash(conn: sqlite3.Connection, password_hash: str,
                                length: int | None = None) -> None:
    for key, value in ((INITIAL_PASSWORD_HASH, password_hash), (INITIAL_PASSWORD_LENGTH, length)):
        if value is None:
            continue
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )


def initial_password_length(conn: sqlite3.Connection) -> int | None:
    """How long the initial password is (None for a home from before this was kept)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?",
                       (INITIAL_PASSWORD_LENGTH,)).fetchone()
    return int(json.loads(row[0])) if row else None
