"""Small words shared by the CLI and the console, so both say the same thing the same way."""

from __future__ import annotations

# The one vocabulary for a permission decision, in the CLI ('permissions explain') and the
# console (the role editor's explanation, the account view 'w').
ALLOWED, NOT_ALLOWED = "ALLOWED", "NOT ALLOWED"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 order``, ``2 orders``, ``1,504 orders`` (``nouns`` for irregular plurals)."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def verdict(allowed: bool) -> str:
    return ALLOWED if allowed else NOT_ALLOWED
