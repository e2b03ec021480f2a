"""The audit log as a reader sees it: filtered pages (folder permissions applied) and verify."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from js7tui.audit.log import AuditEntry, AuditMeta, Category
from js7tui.audit.query import AuditFilter, AuditKey, count, entry, newest_key, page
from js7tui.audit.verify import ChainReport, verify_chain
from js7tui.errors import NotFound
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import AUDITLOG_VIEW
from js7tui.store import Store

if TYPE_CHECKING:
    from js7tui.audit.witness import AuditWitness, Witness


class CountCancelled(Exception):
    """A pending count was cancelled before it finished."""


class PendingCount:
    """An authorized count of audit entries, to run on a read connection of its own."""

    def __init__(self, store: Store, filter: AuditFilter, older_than: AuditKey | None,
                 newer_than: AuditKey | None) -> None:
        self.store = store
        self.filter = filter
        self.older_than = older_than
        self.newer_than = newer_than
        self._conn: sqlite3.Connection | None = None
        self._cancelled = False

    def run(self) -> int:
        conn = self._conn = self.store.reader()
        try:
            if self._cancelled:
                raise CountCancelled("the count was cancelled")
            return count(conn, self.filter, older_than=self.older_than,
                         newer_than=self.newer_than)
        except sqlite3.OperationalError:
            if self._cancelled:
                raise CountCancelled("the count was cancelled") from None
            raise
        finally:
            self._conn = None
            if conn is not self.store.conn:
                conn.close()

    def cancel(self) -> None:
        """Stop the count (from any thread); ``run`` then raises CountCancelled."""
        self._cancelled = True
        conn = self._conn
        if conn is not None and conn is not self.store.conn:
            conn.interrupt()


class AuditService:
    def __init__(self, store: Store, ops: Operations, witness: AuditWitness | None = None
                 ) -> None:
        self.store = store
        self.ops = ops
        self.witness = witness

    def _restricted(self, session: Session, filter: AuditFilter) -> AuditFilter:
        perms = session.permissions
        if not perms.folder_restricted:
            return filter
        allowed = tuple((f.folder, f.recursive) for f in perms.folders)
        return replace(filter, permitted_folders=allowed)

    def list(self, session: Session, filter: AuditFilter | None = None, *, limit: int = 100,
             before_id: int | None = None) -> list[AuditEntry]:
        fresh = self.ops.authorize(session, [AUDITLOG_VIEW], request="./audit_log",
                                   category=Category.OTHERS)
        return page(self.store.conn, self._restricted(fresh, filter or AuditFilter()),
                    limit=limit, before_id=before_id)

    def page(self, session: Session, filter: AuditFilter, *, limit: int = 100,
             older_than: AuditKey | None = None, newer_than: AuditKey | None = None,
             offset: int = 0, nearest_newer: bool = False) -> list[AuditEntry]:
        """A keyset page for a viewer (see ``query.page``); folder permissions applied."""
        fresh = self.ops.authorize(session, [AUDITLOG_VIEW], request="./audit_log",
                                   category=Category.OTHERS)
        return page(self.store.conn, self._restricted(fresh, filter), limit=limit,
                    older_than=older_than, newer_than=newer_than, offset=offset,
                    nearest_newer=nearest_newer)

    def count(self, session: Session, filter: AuditFilter, *,
              older_than: AuditKey | None = None, newer_than: AuditKey | None = None) -> int:
        """How many entries the reader may see in the window (a viewer's total or a row's
        position)."""
        return self.prepare_count(session, filter, older_than=older_than,
                                  newer_than=newer_than).run()

    def prepare_count(self, session: Session, filter: AuditFilter, *,
                      older_than: AuditKey | None = None,
                      newer_than: AuditKey | None = None) -> PendingCount:
        """Authorize now; the count itself runs later, on a connection of its own.

        A count with a text filter walks every entry (about a second per million), so a
        client that serialises its calls on the store's connection (the TUI) runs it outside
        that, and cancels it when the filter changes: pages and changes go on meanwhile.
        """
        fresh = self.ops.authorize(session, [AUDITLOG_VIEW], request="./audit_log",
                                   category=Category.OTHERS)
        return PendingCount(self.store, self._restricted(fresh, filter), older_than,
                            newer_than)

    def record_export(self, session: Session, *, filter_text: str, fmt: str, entries: int,
                      path: str, meta: AuditMeta = AuditMeta()) -> AuditEntry:
        """An export of the audit log leaves a trace in it: who took which entries, how many,
        in which format, to which file (the log's content leaving the store is an event)."""
        with self.ops.mutate(session, request="./audit_log/export", category=Category.OTHERS,
                             permissions=[AUDITLOG_VIEW], meta=meta) as op:
            return op.record(path=path, parameters={
                "filter": filter_text, "format": fmt, "entries": entries, "file": path})

    def newest_key(self, session: Session) -> AuditKey | None:
        """Where the log ends now: a viewer's snapshot."""
        self.ops.authorize(session, [AUDITLOG_VIEW], request="./audit_log",
                           category=Category.OTHERS)
        return newest_key(self.store.conn)

    def detail(self, session: Session, entry_id: int) -> AuditEntry:
        fresh = self.ops.authorize(session, [AUDITLOG_VIEW], request="./audit_log/detail",
                                   category=Category.OTHERS)
        found = entry(self.store.conn, entry_id)
        if found is None or (found.folder and not fresh.permissions.folder_permitted(
                found.folder)):
            raise NotFound(f"no audit entry {entry_id}")
        return found

    def verify(self, session: Session,
               progress: Callable[[int], None] | None = None, *,
               checkpoints: Sequence[Path] = (), witnesses: bool = True) -> ChainReport:
        return self.prepare_verify(session, checkpoints=checkpoints,
                                   witnesses=witnesses)(progress)

    def publish_head(self, session: Session) -> dict[str, str]:
        """Send the chain's head to every registered Controller now: {controller: outcome}."""
        self.ops.authorize(session, [AUDITLOG_VIEW], request="./audit_log/witness",
                           category=Category.OTHERS)
        if self.witness is None:
            return {}
        return self.witness.publish()

    def checkpoint(self, session: Session, output: Path) -> dict[str, object]:
        """Write the chain's head signed with the console's certificate key (0600)."""
        from js7tui.audit.witness import write_checkpoint
        from js7tui.clock import SystemClock, to_iso
        from js7tui.pki import authority
        from js7tui.pki.keys import load_private_pem
        from js7tui.pki.material import client_material
        from js7tui.pki.pem import load_certs
        self.ops.authorize(session, [AUDITLOG_VIEW], request="./audit_log/checkpoint",
                           category=Category.OTHERS)
        conn = self.store.conn
        material = client_material(conn)
        chain = load_certs(material.cert_chain_pem, "the console certificate")
        ca = authority.chain(conn)
        return write_checkpoint(output, conn, to_iso(SystemClock().now()),
                                load_private_pem(material.key_pem), [*chain[:1], ca.intermediate,
                                                                     ca.root])

    def gather_witnesses(self, checkpoints: Sequence[Path] = (), *, ask: bool = True
                         ) -> tuple[list[Witness], list[str]]:
        """The Controllers' witnesses of this installation (asked over the network, no store
        transaction held) and the checkpoint files' heads (signatures checked)."""
        from js7tui.audit.witness import read_checkpoint
        from js7tui.pki import authority
        found: list[Witness] = []
        missing: list[str] = []
        if ask and self.witness is not None:
            installation = self.store.conn.execute(
                "SELECT installation_id FROM installation WHERE id = 1").fetchone()[0]
            found, missing = self.witness.fetch(str(installation))
        if checkpoints:
            ca = authority.chain(self.store.conn)
            for path in checkpoints:
                found.append(read_checkpoint(path, [ca.root, ca.intermediate]))
        return found, missing

    def prepare_verify(self, session: Session, *, checkpoints: Sequence[Path] = (),
                       witnesses: bool = True) -> Callable[..., ChainReport]:
        """Authorize now; the returned step walks the chain in one read transaction on a
        connection of its own (a consistent snapshot, and the store's connection stays free
        for the minute a million entries take)."""
        self.ops.authorize(session, [AUDITLOG_VIEW], request="./audit_log/verify",
                           category=Category.OTHERS)

        def run(progress: Callable[[int], None] | None = None) -> ChainReport:
            found, missing = self.gather_witnesses(checkpoints, ask=witnesses)
            conn = self.store.reader()
            if conn is self.store.conn:
                return verify_chain(conn, progress=progress, witnesses=found,
                                    unreachable=missing)
            try:
                conn.execute("BEGIN")
                return verify_chain(conn, progress=progress, witnesses=found,
                                    unreachable=missing)
            finally:
                conn.execute("ROLLBACK")
                conn.close()
        return run
