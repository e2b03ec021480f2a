"""The Controllers a console knows: register, list, remove, and connect with the typed client.

A registration holds what the console's hop needs: the Controller's URL, the hop user and its
password (sealed with the home's secret box, never stored or audited in clear), the CA that
must have issued the Controller's HTTPS certificate, and which of the console's client
certificates to present. Changes go through ``Operations.mutate`` with the
``administration:controllers:manage`` permission and are audited as CONTROLLER; connecting
needs ``controller:view`` on that Controller.
"""

from __future__ import annotations

import sqlite3
import ssl
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography import x509

from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock, to_iso
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.identity.records import check_controller_id, check_name
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import CONTROLLER_VIEW, CONTROLLERS_MANAGE, CONTROLLERS_VIEW
from js7tui.pki.material import client_material, ssl_client_context
from js7tui.secrets import SecretBox
from js7tui.store import Store

if TYPE_CHECKING:
    from js7tui.client.controller import ControllerClient

CAT = Category.CONTROLLER
REGISTER = "./controller/register"


@dataclass(frozen=True)
class ControllerRecord:
    id: str
    url: str
    hop_user: str
    ca_pem: str
    client_name: str
    created: str
    updated: str


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError(f"'{url}' is not an https:// URL; a Controller is reached over "
                              "HTTPS with the console's client certificate")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValidationError(f"'{url}': give the Controller's base URL only "
                              "(https://host:port)")
    return f"https://{parts.netloc}"


def check_ca(ca_pem: str) -> str:
    if not ca_pem:
        return ""
    try:
        certs = x509.load_pem_x509_certificates(ca_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        certs = []
    if not certs:
        raise ValidationError("the Controller's CA must be PEM certificates")
    return ca_pem


def insert_controller(conn: sqlite3.Connection, secrets: SecretBox, now: str,
                      controller_id: str, url: str, hop_user: str, password: str, *,
                      ca_pem: str = "", client_name: str = "console"
                      ) -> tuple[ControllerRecord, dict[str, object]]:
    """Register in the caller's audited transaction; returns the record and the audit
    parameters (never the password)."""
    if not controller_id:
        raise ValidationError("the Controller id is empty")
    check_controller_id(controller_id)
    url = check_url(url)
    check_name("hop user", hop_user)
    check_name("client certificate", client_name)
    if not password:
        raise ValidationError("the hop password is empty")
    ca_pem = check_ca(ca_pem)
    if conn.execute("SELECT 1 FROM controllers WHERE id = ?", (controller_id,)).fetchone():
        raise Conflict(f"a Controller '{controller_id}' is registered already; remove it first "
                       "to register it again")
    conn.execute(
        "INSERT INTO controllers (id, url, hop_user, hop_password, ca_pem, client_name, created,"
        " updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (controller_id, url, hop_user, secrets.seal(password), ca_pem, client_name, now, now))
    record = _record(conn.execute("SELECT * FROM controllers WHERE id = ?",
                                  (controller_id,)).fetchone())
    return record, {"controllerId": controller_id, "url": url, "hopUser": hop_user,
                    "clientCertificate": client_name, "ownCa": bool(ca_pem)}


def pki_context(conn: sqlite3.Connection, record: ControllerRecord) -> ssl.SSLContext:
    """The console's own client certificate (``client_name``) from its CA in the store; the
    Controller's server certificate must come from that CA (or the registration's own CA)."""
    material = client_material(conn, record.client_name)
    if record.ca_pem:
        material = replace(material, ca_pem=record.ca_pem.encode("ascii"), crl_pem=b"")
    return ssl_client_context(material)


def _record(row: object) -> ControllerRecord:
    return ControllerRecord(row["id"], row["url"], row["hop_user"], row["ca_pem"],  # type: ignore[index]
                            row["client_name"], row["created"], row["updated"])  # type: ignore[index]


class ControllerService:
    def __init__(self, store: Store, ops: Operations, clock: Clock, secrets: SecretBox) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock
        self.secrets = secrets

    def _get(self, controller_id: str) -> ControllerRecord:
        row = self.store.conn.execute("SELECT * FROM controllers WHERE id = ?",
                                      (controller_id,)).fetchone()
        if row is None:
            raise NotFound(f"no Controller '{controller_id}' is registered (js7tui controller "
                           "list shows them)")
        return _record(row)

    def register(self, session: Session, controller_id: str, url: str, hop_user: str,
                 password: str, *, ca_pem: str = "", client_name: str = "console",
                 meta: AuditMeta = AuditMeta()) -> ControllerRecord:
        check_controller_id(controller_id or "")
        with self.ops.mutate(session, request=REGISTER, category=CAT,
                             permissions=[CONTROLLERS_MANAGE], controller=controller_id,
                             meta=meta) as op:
            record, parameters = insert_controller(
                op.conn, self.secrets, to_iso(self.clock.now()), controller_id, url, hop_user,
                password, ca_pem=ca_pem, client_name=client_name)
            op.record(controller_id=controller_id, path=controller_id, parameters=parameters)
            return record

    def list(self, session: Session) -> list[ControllerRecord]:
        self.ops.authorize(session, [CONTROLLERS_VIEW], request="./controllers",
                           category=CAT)
        rows = self.store.conn.execute("SELECT * FROM controllers ORDER BY id").fetchall()
        return [_record(row) for row in rows]

    def show(self, session: Session, controller_id: str) -> ControllerRecord:
        self.ops.authorize(session, [CONTROLLERS_VIEW], request="./controller",
                           category=CAT, controller=controller_id)
        return self._get(controller_id)

    def remove(self, session: Session, controller_id: str, *,
               meta: AuditMeta = AuditMeta()) -> None:
        with self.ops.mutate(session, request="./controller/unregister", category=CAT,
                             permissions=[CONTROLLERS_MANAGE], controller=controller_id,
                             meta=meta) as op:
            if not op.conn.execute("DELETE FROM controllers WHERE id = ?",
                                   (controller_id,)).rowcount:
                raise NotFound(f"no Controller '{controller_id}' is registered")
            op.record(controller_id=controller_id, path=controller_id,
                      parameters={"controllerId": controller_id})

    def client(self, controller_id: str, *,
               ssl_context: ssl.SSLContext | None = None) -> ControllerClient:
        """A client for a registered Controller, for a caller that has already checked the
        acting session's permission on it (``connect``, deployment); no session check here."""
        record = self._get(controller_id)
        if ssl_context is None:
            ssl_context = pki_context(self.store.conn, record)
        row = self.store.conn.execute("SELECT hop_password FROM controllers WHERE id = ?",
                                      (controller_id,)).fetchone()
        from js7tui.client.controller import ControllerClient  # httpx only when used
        return ControllerClient(record.url, record.hop_user, self.secrets.open(row[0]),
                                ssl_context=ssl_context)

    def connect(self, session: Session, controller_id: str, *,
                ssl_context: ssl.SSLContext | None = None) -> ControllerClient:
        """A client for this Controller (it logs in on first use), presenting the console's
        client certificate; ``ssl_context`` overrides that certificate and the CA."""
        self.ops.authorize(session, [CONTROLLER_VIEW], request="./controller/connect",
                           category=CAT, controller=controller_id)
        return self.client(controller_id, ssl_context=ssl_context)
