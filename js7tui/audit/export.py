"""Writing audit entries to CSV or JSON lines, page by page, to a private file.

The writer takes pages as they come (a million entries never sit in memory) and each record
carries the hash and previous hash, so an exported file can be checked against the chain.

CSV files are opened in spreadsheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``
(or a tab or carriage return) as a formula: an account name or comment such as
``=HYPERLINK(...)`` would act on the reader's machine. In CSV such a cell is written with a
leading ``'`` (OWASP's advice); JSON lines keep every value exactly, for checking the chain.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from js7tui.audit.log import AuditEntry
from js7tui.errors import ValidationError

FORMATS = ("csv", "jsonl")
COLUMNS = ["id", "created", "account", "request", "category", "outcome", "controllerId",
           "objectType", "path", "folder", "comment", "ticketLink", "timeSpent", "parameters",
           "commitId", "prevHash", "hash"]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def record(entry: AuditEntry) -> dict[str, object]:
    return {**entry.content(), "prevHash": entry.prev_hash, "hash": entry.hash}


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def format_for(path: Path, chosen: str = "") -> str:
    """``csv`` or ``jsonl``: as chosen, else from the file name (``.csv``; anything else
    JSON lines)."""
    fmt = (chosen or ("csv" if path.suffix.lower() == ".csv" else "jsonl")).lower()
    if fmt in ("json", "ndjson"):
        fmt = "jsonl"
    if fmt not in FORMATS:
        raise ValidationError(f"export format '{chosen}': use csv or jsonl")
    return fmt


def open_private(path: Path) -> IO[str]:
    """A new file readable by its owner only; an existing file is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValidationError(f"{path} already exists; choose another file name") from None
    except OSError as exc:
        raise ValidationError(f"cannot create {path}: {exc.strerror}") from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


class ExportWriter:
    """Writes pages of entries in one format; ``written`` counts them."""

    def __init__(self, out: IO[str], fmt: str) -> None:
        self.out = out
        self.fmt = fmt
        self.written = 0
        self._csv: csv.DictWriter[str] | None = None
        if fmt == "csv":
            self._csv = csv.DictWriter(out, fieldnames=COLUMNS)
            self._csv.writeheader()

    def write(self, entries: Iterable[AuditEntry]) -> None:
        for entry in entries:
            if self._csv is not None:
                self._csv.writerow({k: spreadsheet_safe(v) for k, v in record(entry).items()})
            else:
                self.out.write(json.dumps(record(entry), ensure_ascii=False) + "\n")
            self.written += 1
