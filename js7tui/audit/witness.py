"""The audit log anchored outside the store (issue 16): witnesses and checkpoints.

The console sends its audit chain's head (last id, its hash, the number of entries, the
installation's security level and the digest of the store's schema, triggers included) to every
registered Controller after each change commits: :meth:`AuditWitness.notify` only wakes a
background thread (an operation never waits for the network, and no store transaction is held
across it); ``js7tui audit witness`` sends it now, e.g. from a timer. The Controllers journal
the heads, append only (``POST /api/audit/witness``), in the zone without user access.

``audit verify`` then checks the chain against the witnesses (each witnessed id must still carry
its witnessed hash; a rewrite of the table with recomputed hashes no longer matches) and against
a checkpoint file for air-gapped custody: the head, signed with the console's certificate key
(:func:`write_checkpoint`, :func:`read_checkpoint`).
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from js7tui.audit.log import GENESIS_HASH
from js7tui.errors import ValidationError

log = logging.getLogger("js7tui.audit.witness")
CHECKPOINT_FORMAT = "js7tui-audit-checkpoint/1"
FLUSH_AT_EXIT = 2.0  # seconds a process waits at exit for a head still being sent


def schema_digest(conn: sqlite3.Connection) -> str:
    """SHA-256 over the store's schema version and every table, index and trigger definition:
    a trigger dropped (or added) by hand changes it."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                        "ORDER BY type, name").fetchall()
    text = json.dumps([version, *[list(r) for r in rows]], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_head(conn: sqlite3.Connection) -> dict[str, Any]:
    """What a witness journals: the head of the audit chain and what the store claims."""
    head = conn.execute("SELECT last_id, hash, entries FROM audit_head WHERE id = 1").fetchone()
    installation = conn.execute("SELECT installation_id, security_level FROM installation "
                                "WHERE id = 1").fetchone()
    last_id, digest, entries = (head[0], head[1], head[2]) if head else (0, GENESIS_HASH, 0)
    return {"installationId": str(installation[0]), "auditId": int(last_id), "hash": digest,
            "entries": int(entries), "securityLevel": str(installation[1]),
            "schemaDigest": schema_digest(conn)}


@dataclass(frozen=True)
class Witness:
    controller_id: str
    audit_id: int
    hash: str
    entries: int
    security_level: str
    schema_digest: str
    received: str = ""


class AuditWitness:
    """Sends the head to the Controllers in a background thread, coalescing changes."""

    def __init__(self, conn: Callable[[], sqlite3.Connection],
                 controllers: Callable[[], list[str]],
                 client: Callable[[str], Any], *, timeout: float = 3.0) -> None:
        self._conn = conn
        self._controllers = controllers
        self._client = client
        self.timeout = timeout
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False

    def notify(self) -> None:
        """After a change committed: send the head soon (never waits)."""
        with self._lock:
            if self._stopping:
                return
            self._idle.clear()
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-witness",
                                                daemon=True)
                self._thread.start()
                atexit.register(self.flush, FLUSH_AT_EXIT)

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the heads notified so far to be sent (or given up)."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """End the sending thread, waiting up to ``timeout`` for a send under way: it reads
        the store, so the console stops it before it closes the store."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._idle.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                self.publish()
            except Exception as exc:  # a witness that cannot be reached is retried next time
                log.warning("audit witness: %s", exc)
            if not self._wake.is_set():
                self._idle.set()

    def publish(self) -> dict[str, str]:
        """Send the head to every registered Controller now: {controller: outcome}."""
        head = chain_head(self._conn())
        outcome = {}
        for controller_id in self._controllers():
            try:
                with self._client(controller_id) as client:
                    client.call("POST", "/api/audit/witness", json=head)
                outcome[controller_id] = f"witnessed entry {head['auditId']}"
            except Exception as exc:
                outcome[controller_id] = f"not reached: {exc}"
                log.info("audit witness: Controller %s: %s", controller_id, exc)
        return outcome

    def fetch(self, installation_id: str) -> tuple[list[Witness], list[str]]:
        """Every Controller's witnesses of this installation, and the Controllers that did not
        answer (said, never taken for agreement)."""
        found: list[Witness] = []
        missing: list[str] = []
        for controller_id in self._controllers():
            try:
                with self._client(controller_id) as client:
                    answer = client.call("GET", "/api/audit/witness", params={
                        "installationId": installation_id, "limit": "100000"})
            except Exception as exc:
                missing.append(f"{controller_id} ({exc})")
                continue
            for w in answer.get("witnesses", []):
                found.append(Witness(controller_id, int(w["auditId"]), str(w["hash"]),
                                     int(w["entries"]), str(w["securityLevel"]),
                                     str(w["schemaDigest"]), str(w.get("received", ""))))
        return found, missing


# -- checkpoint files for air-gapped custody ------------------------------------------------
def _payload(head: dict[str, Any], created: str) -> bytes:
    body = {"format": CHECKPOINT_FORMAT, **head, "created": created}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_checkpoint(path: Path, conn: sqlite3.Connection, created: str, key: Any,
                     chain: list[x509.Certificate]) -> dict[str, Any]:
    """The head, signed with the console's certificate key (``chain``: that certificate and
    its issuers); written 0600. Returns what was written."""
    from js7tui.home import write_private_file
    from js7tui.pki.pem import certs_pem
    from js7tui.signing.algorithms import Algorithm, sign_raw
    head = chain_head(conn)
    data = _payload(head, created)
    algorithm = Algorithm.default_for(key)
    document = {"format": CHECKPOINT_FORMAT, **head, "created": created,
                "algorithm": algorithm.value,
                "signature": base64.b64encode(sign_raw(algorithm, key, data)).decode("ascii"),
                "certificates": certs_pem(chain).decode("ascii")}
    write_private_file(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
    return document


def read_checkpoint(path: Path, issuers: list[x509.Certificate]) -> Witness:
    """A checkpoint whose signature holds and whose signer was issued by one of ``issuers``
    (the store's CA certificates; whoever keeps the file may also compare the certificate's
    fingerprint with the one they noted)."""
    from js7tui.signing.algorithms import Algorithm, verify_raw
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        head = {k: document[k] for k in ("installationId", "auditId", "hash", "entries",
                                         "securityLevel", "schemaDigest")}
        certs = x509.load_pem_x509_certificates(document["certificates"].encode("ascii"))
        signature = base64.b64decode(document["signature"], validate=True)
        algorithm = Algorithm.parse(document["algorithm"])
        created = str(document["created"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"{path} is not an audit checkpoint ({exc})") from None
    if not verify_raw(algorithm, certs[0].public_key(), signature, _payload(head, created)):
        raise ValidationError(f"{path}: the checkpoint's signature does not hold: it was "
                              "altered")
    if not any(_issued_by(certs[0], issuer) for issuer in issuers):
        raise ValidationError(f"{path}: the checkpoint was signed by "
                              f"'{certs[0].subject.rfc4514_string()}', not a certificate of "
                              "this installation's CA")
    return Witness(f"checkpoint {path.name}", int(head["auditId"]), str(head["hash"]),
                   int(head["entries"]), str(head["securityLevel"]), str(head["schemaDigest"]),
                   created)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):
        return False
    return True
