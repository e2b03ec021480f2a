"""What a Controller call can end in, apart from the client so that code handling these errors
(deployment, the console) does not import httpx."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from js7tui.errors import Js7Error


class ControllerError(Js7Error):
    exit_code = 9


class ControllerUnreachable(ControllerError):
    """No answer: the Controller is down, the address is wrong, or TLS failed (its certificate
    is not trusted, or it refused ours)."""


class ControllerAnswerLost(ControllerUnreachable):
    """The request went out but no answer came back (timeout, connection dropped): the
    Controller may or may not have applied it. A change that ends so is UNKNOWN until
    reconciliation asks the Controller what it holds."""


class ControllerRefused(ControllerError):
    """The Controller answered with a problem."""

    def __init__(self, status: int, code: str, message: str,
                 body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = dict(body or {})
