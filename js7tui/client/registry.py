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
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography import x509

from js7tui.audit import AuditMeta, Category
from js7tui.clock import Clock, to_iso
from js7tui.errors import Conflict, NotFound, ValidationError
from js7tui.identity.records import check_controller_id, check_name
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import (
    AGENTS_VIEW,
    CONTROLLER_VIEW,
    CONTROLLERS_MANAGE,
    CONTROLLERS_VIEW,
)
from js7tui.pki.material import client_material, ssl_client_context
from js7tui.secrets import SecretBox
from js7tui.store import Store

if TYPE_CHECKING:
    from js7tui.client.controller import ControllerClient
    from js7tui.client.diagnose import Diagnosis, Target

# A dashboard probe must not hold up the screen: a dead Controller costs at most this.
PROBE_TIMEOUT = 3.0

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


def read_ca_file(path: str) -> str:
    """The Controller's CA (trust anchor) from a PEM file the administrator names; a clear
    error when it is missing, unreadable or not PEM certificates. Empty path: none."""
    path = path.strip()
    if not path:
        return ""
    from pathlib import Path
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValidationError(f"the CA file '{path}' does not exist (give the path of the "
                              "Controller's CA certificate, PEM)")
    try:
        text = file.read_text("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"the CA file '{path}' cannot be read as PEM text: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        return check_ca(text)
    except ValidationError:
        raise ValidationError(f"the CA file '{path}' holds no PEM certificate "
                              "(-----BEGIN CERTIFICATE-----)") from None


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


@dataclass(frozen=True)
class ControllerStatus:
    """What the dashboard shows of one Controller: a diagnosis plus what its health said.
    ``agents`` is None when the session may not see this Controller's Agents."""

    controller_id: str
    url: str
    diagnosis: Diagnosis
    agents: list[dict[str, Any]] | None

    @property
    def reachable(self) -> bool:
        return self.diagnosis.ok

    @property
    def reason(self) -> str:
        failed = self.diagnosis.failed
        return "" if failed is None else f"{failed.name}: {failed.text}"

    @property
    def items(self) -> int | None:
        health = self.diagnosis.health
        return None if health is None else int(health.get("items", 0))


def _record(row: object) -> ControllerRecord:
    return ControllerRecord(row["id"], row["url"], row["hop_user"], row["ca_pem"],  # type: ignore[index]
                            row["client_name"], row["created"], row["updated"])  # type: ignore[index]


class ControllerService:
    def __init__(self, store: Store, ops: Operations, clock: Clock, secrets: SecretBox, *,
                 timeout: float = 30.0) -> None:
        self.store = store
        self.ops = ops
        self.clock = clock
        self.secrets = secrets
        self.timeout = timeout

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

    def is_registered(self, controller_id: str) -> bool:
        """Whether a Controller with this id is registered (for a warning when a role names
        one that is not; no permission needed: the id is what the caller typed)."""
        return self.store.conn.execute("SELECT 1 FROM controllers WHERE id = ?",
                                       (controller_id,)).fetchone() is not None

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

    def client(self, controller_id: str, *, ssl_context: ssl.SSLContext | None = None,
               timeout: float | None = None) -> ControllerClient:
        """A client for a registered Controller, for a caller that has already checked the
        acting session's permission on it (``connect``, deployment); no session check here.
        ``timeout`` (seconds, default ``[controllers] timeout_seconds``) bounds each request."""
        record = self._get(controller_id)
        if ssl_context is None:
            ssl_context = pki_context(self.store.conn, record)
        row = self.store.conn.execute("SELECT hop_password FROM controllers WHERE id = ?",
                                      (controller_id,)).fetchone()
        from js7tui.client.controller import ControllerClient  # httpx only when used
        return ControllerClient(record.url, record.hop_user, self.secrets.open(row[0]),
                                ssl_context=ssl_context,
                                timeout=timeout if timeout is not None else self.timeout)

    def connect(self, session: Session, controller_id: str, *,
                ssl_context: ssl.SSLContext | None = None) -> ControllerClient:
        """A client for this Controller (it logs in on first use), presenting the console's
        client certificate; ``ssl_context`` overrides that certificate and the CA."""
        self.ops.authorize(session, [CONTROLLER_VIEW], request="./controller/connect",
                           category=CAT, controller=controller_id)
        return self.client(controller_id, ssl_context=ssl_context)

    # -- diagnosis, Agents, dashboard status ----------------------------------------------
    def _authorize_view(self, session: Session, controller_id: str, request: str) -> Session:
        """``controllers:view`` (all Controllers) or ``controller:view`` on this one."""
        wanted = CONTROLLERS_VIEW if session.can(CONTROLLERS_VIEW) else CONTROLLER_VIEW
        return self.ops.authorize(session, [wanted], request=request, category=CAT,
                                  controller=controller_id)

    def target(self, controller_id: str) -> Target:
        """What a diagnosis needs from the store: URL, hop credentials, the console's client
        certificate and the CA the Controller's certificate must chain to."""
        from js7tui.client.diagnose import Target
        record = self._get(controller_id)
        row = self.store.conn.execute("SELECT hop_password FROM controllers WHERE id = ?",
                                      (controller_id,)).fetchone()
        material = None
        problem = ""
        try:
            material = client_material(self.store.conn, record.client_name)
        except NotFound as exc:
            problem = str(exc)
        if material is not None and record.ca_pem:
            material = replace(material, ca_pem=record.ca_pem.encode("ascii"), crl_pem=b"")
        return Target(record.id, record.url, record.hop_user, self.secrets.open(row[0]),
                      record.client_name, material, problem, own_ca=bool(record.ca_pem))

    def prepare_diagnose(self, session: Session, controller_id: str, *,
                         timeout: float | None = None) -> Callable[[], Diagnosis]:
        """Authorize and read the store now; the returned call does the network part (no
        store transaction is open while the Controller answers)."""
        from js7tui.client.diagnose import DEFAULT_TIMEOUT, diagnose
        self._authorize_view(session, controller_id, "./controller/diagnose")
        target = self.target(controller_id)
        now = self.clock.now()
        return lambda: diagnose(target, now=now, timeout=timeout or DEFAULT_TIMEOUT)

    def diagnose(self, session: Session, controller_id: str, *,
                 timeout: float | None = None) -> Diagnosis:
        """The connection to this Controller step by step (``client.diagnose``)."""
        return self.prepare_diagnose(session, controller_id, timeout=timeout)()

    def prepare_status(self, session: Session, controller_id: str, *,
                       timeout: float = PROBE_TIMEOUT) -> Callable[[], ControllerStatus]:
        """The dashboard's probe of one Controller (reachability, TLS, Agents, items)."""
        fresh = self._authorize_view(session, controller_id, "./controller/status")
        run = self.prepare_diagnose(fresh, controller_id, timeout=timeout)
        url = self._get(controller_id).url
        may_see_agents = fresh.can(AGENTS_VIEW, controller_id)

        def status() -> ControllerStatus:
            diagnosis = run()
            agents = None
            if may_see_agents:
                agents = list((diagnosis.health or {}).get("agents") or [])
            return ControllerStatus(controller_id, url, diagnosis, agents)
        return status

    def status(self, session: Session, controller_id: str, *,
               timeout: float = PROBE_TIMEOUT) -> ControllerStatus:
        return self.prepare_status(session, controller_id, timeout=timeout)()

    def prepare_agents(self, session: Session, controller_id: str
                       ) -> Callable[[], list[dict[str, Any]]]:
        """Authorize (``agents:view`` on this Controller) now, ask the Controller later."""
        self.ops.authorize(session, [AGENTS_VIEW], request="./controller/agents",
                           category=CAT, controller=controller_id)
        client = self.client(controller_id)

        def agents() -> list[dict[str, Any]]:
            with client:
                return client.agents()
        return agents

    def agents(self, session: Session, controller_id: str) -> list[dict[str, Any]]:
        """The Controller's Agents and the state of its link to each."""
        return self.prepare_agents(session, controller_id)()
