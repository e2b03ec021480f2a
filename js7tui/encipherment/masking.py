"""Masking decrypted values in a job's output as it arrives (before it is written anywhere).

A value may be split across two reads of the pipe, so the end of each piece that could be the
start of a value is held back until the next piece (or the end) says whether it is one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"********"


class Masker:
    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted({s.encode("utf-8") for s in secrets if s}, key=len, reverse=True)
        self._values = values
        self._pattern = re.compile(b"|".join(re.escape(v) for v in values)) if values else None
        self._pending = b""

    def __bool__(self) -> bool:
        return self._pattern is not None

    def _held(self, data: bytes) -> int:
        """The length of the longest end of ``data`` that begins some value (not all of it)."""
        best = 0
        for value in self._values:
            for size in range(min(len(value) - 1, len(data)), best, -1):
                if data.endswith(value[:size]):
                    best = size
                    break
        return best

    def feed(self, chunk: bytes) -> bytes:
        if self._pattern is None:
            return chunk
        data = self._pattern.sub(MASK, self._pending + chunk)
        keep = self._held(data)
        self._pending = data[len(data) - keep:] if keep else b""
        return data[:len(data) - keep]

    def flush(self) -> bytes:
        rest, self._pending = self._pending, b""
        return rest
