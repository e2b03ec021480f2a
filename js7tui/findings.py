"""One finding of ``js7tui doctor``: a sentence with its severity. A ``str``, so code that
reads findings as sentences keeps working."""

from __future__ import annotations

PROBLEM = "problem"   # exit 2: something is wrong now (expired, writable by others, ...)
WARNING = "warning"   # exit 1: something to look at (expires soon, readable by others, ...)


class Finding(str):
    severity: str

    def __new__(cls, text: str, severity: str = WARNING) -> Finding:
        finding = super().__new__(cls, text)
        finding.severity = severity
        return finding


def problem(text: str) -> Finding:
    return Finding(text, PROBLEM)


def warning(text: str) -> Finding:
    return Finding(text, WARNING)


def exit_code(findings: list[Finding] | list[str]) -> int:
    """0 when all is well, 1 with warnings only, 2 with a problem."""
    if any(getattr(f, "severity", WARNING) == PROBLEM for f in findings):
        return 2
    return 1 if findings else 0
