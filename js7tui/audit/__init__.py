"""The tamper-evident audit log: append within an operation, verify the chain, read pages."""

from js7tui.audit.log import (
    GENESIS_HASH,
    AuditEntry,
    AuditMeta,
    Category,
    Outcome,
    append,
    redact,
)
from js7tui.audit.query import AuditFilter, AuditKey, count, entry, page
from js7tui.audit.verify import ChainReport, verify_chain

__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "AuditFilter",
    "AuditKey",
    "AuditMeta",
    "Category",
    "ChainReport",
    "Outcome",
    "append",
    "count",
    "entry",
    "page",
    "redact",
    "verify_chain",
]
