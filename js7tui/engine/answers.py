"""Reading an engine's answer: the JSON body, or its problem (HTTP status, JS7-style code,
message) as an exception. The console's client reads a Controller's answers with it, the
Controller's link reads its Agents' answers with it; neither side imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class Response(Protocol):
    """What is needed of an HTTP response (httpx's sync and async responses both are)."""

    status_code: int

    def json(self) -> Any: ...


class EngineRefused(Exception):
    """An engine answered with a problem (a refusal, not a connection failure)."""

    def __init__(self, status: int, code: str, message: str,
                 body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = dict(body or {})


Refused = Callable[[int, str, str, Mapping[str, Any]], Exception]


def read_answer(response: Response, refused: Refused = EngineRefused) -> Any:
    """The JSON body of an engine's answer; for a status of 400 or more, ``refused(status,
    code, message, body)`` is raised with the problem's code and message."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400:
        body = body if isinstance(body, dict) else {}
        raise refused(response.status_code, str(body.get("code", "")),
                      str(body.get("message") or f"HTTP {response.status_code}"), body)
    return body
