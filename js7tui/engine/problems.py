"""A refusal an engine answers with: HTTP status, JS7-style problem code, readable message."""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"TYPE": "Problem", "code": self.code, "message": self.message, **self.extra}
