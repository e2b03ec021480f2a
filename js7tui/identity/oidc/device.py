"""Pending Device Authorization Grants (RFC 8628), kept in this console process only.

Why in memory: the ``device_code`` is a bearer secret for the login in progress. It stays inside
the provider object; the person (CLI, TUI) gets the verification URL, the user code and an
opaque random *handle* to continue with. A handle is bound to the identity service and the
login's source, lives until the code expires, and is forgotten when the login ends, fails or is
cancelled. A login therefore continues in the process that started it (the CLI command, the TUI)
- which is where the person is waiting anyway.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from js7tui.clock import to_iso
from js7tui.identity.oidc.http import ProviderUnreachable
from js7tui.identity.providers.base import DEVICE_CODE_PROMPT

DEFAULT_INTERVAL = 5     # RFC 8628 section 3.2: "If no value is provided, clients MUST use 5"
SLOW_DOWN_STEP = 5       # section 3.5: slow_down adds 5 seconds to the interval for good
MAX_PENDING = 64
PROMPT_TYPE = DEVICE_CODE_PROMPT


@dataclass
class PendingDevice:
    handle: str
    service_id: int
    source: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    interval: int
    expires_at: datetime
    next_poll: datetime
    device_code: str = field(repr=False)
    failures_in_a_row: int = 0    # polls that could not reach the provider

    def prompt(self, status: str) -> dict[str, Any]:
        """What the person needs (never the device code)."""
        return {
            "type": PROMPT_TYPE,
            "status": status,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": self.verification_uri_complete,
            "user_code": self.user_code,
            "interval": self.interval,
            "expires_at": to_iso(self.expires_at),
            "device_handle": self.handle,
        }


def parse_authorization(answer: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a device authorization response (section 3.2), checked."""
    device_code = answer.get("device_code")
    user_code = answer.get("user_code")
    # "verification_url" is the pre-RFC name some providers still send.
    uri = answer.get("verification_uri") or answer.get("verification_url")
    expires_in = answer.get("expires_in")
    interval = answer.get("interval", DEFAULT_INTERVAL)
    if not (isinstance(device_code, str) and device_code and isinstance(user_code, str)
            and user_code and isinstance(uri, str) and uri):
        raise ProviderUnreachable("the provider's device authorization answer lacks "
                                  "device_code, user_code or verification_uri")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        raise ProviderUnreachable("the provider's device authorization answer has no valid "
                                  "expires_in")
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        interval = DEFAULT_INTERVAL
    complete = answer.get("verification_uri_complete")
    return {"device_code": device_code, "user_code": user_code, "verification_uri": uri,
            "verification_uri_complete": complete if isinstance(complete, str) else None,
            "expires_in": expires_in, "interval": interval}


class DeviceFlows:
    """Handles of pending device logins -> their state; thread-safe (TUI workers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, PendingDevice] = {}

    def start(self, service_id: int, source: str, answer: Mapping[str, Any],
              now: datetime) -> PendingDevice:
        fields = parse_authorization(answer)
        pending = PendingDevice(
            handle=secrets.token_urlsafe(32), service_id=service_id, source=source,
            user_code=fields["user_code"], verification_uri=fields["verification_uri"],
            verification_uri_complete=fields["verification_uri_complete"],
            interval=fields["interval"],
            expires_at=now + timedelta(seconds=fields["expires_in"]),
            next_poll=now + timedelta(seconds=fields["interval"]),
            device_code=fields["device_code"])
        with self._lock:
            self._forget_expired(now)
            while len(self._pending) >= MAX_PENDING:
                oldest = min(self._pending.values(), key=lambda p: p.expires_at)
                del self._pending[oldest.handle]
            self._pending[pending.handle] = pending
        return pending

    def find(self, handle: str, service_id: int, source: str) -> PendingDevice | None:
        with self._lock:
            pending = self._pending.get(handle)
        if pending is None or pending.service_id != service_id or pending.source != source:
            return None
        return pending

    def finish(self, handle: str) -> None:
        with self._lock:
            self._pending.pop(handle, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def _forget_expired(self, now: datetime) -> None:
        for handle in [h for h, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[handle]


def device_handle(extra: Mapping[str, Any]) -> str | None:
    """The handle a continued login carries: ``extra["device_handle"]``, or inside the
    interaction a login form hands back whole (``extra["interaction"]``)."""
    handle = extra.get("device_handle")
    if handle is None and isinstance(extra.get("interaction"), Mapping):
        handle = extra["interaction"].get("device_handle")
    return handle if isinstance(handle, str) and handle else None


def wants_cancel(extra: Mapping[str, Any]) -> bool:
    return bool(extra.get("cancel"))
