"""The dashboard's summary: what an administrator checks first after logging in.

``Overview(console).summary(session)`` reads the store only (fast, one worker in the TUI):
the security level, the registered Controllers, certificates that expire within 30 days,
failed logins and refused deployments of the last 24 hours, the latest audit entries, and
what of the deployments needs attention (unknown outcomes, Agents that have not taken or
refused an accepted commit, deployed items whose signer expires soon).
Probing each Controller is a separate call per Controller
(``console.controllers.status``) that the screen runs in parallel, so one dead
Controller delays nothing else.

Each part is read only when the session may see it; a part it may not see is ``None``
("not permitted" on screen) and is skipped without asking the service, so looking at the
dashboard never writes a refusal into the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from js7tui.audit import Category
from js7tui.audit.log import AuditEntry, Outcome
from js7tui.audit.query import AuditFilter
from js7tui.client.registry import ControllerRecord
from js7tui.identity.chain import LOGIN_REQUEST
from js7tui.identity.sessions import Session
from js7tui.permissions.names import (
    AUDITLOG_VIEW,
    CERTIFICATES_VIEW,
    CONTROLLERS_VIEW,
    INVENTORY_VIEW,
)
from js7tui.pki.records import CertRecord, Status

if TYPE_CHECKING:
    from js7tui.console import Console
    from js7tui.deployment.service import Attention

EXPIRY_DAYS = 30
RECENT = timedelta(hours=24)
SHOWN = 5          # entries listed per audit part (the counts are complete)
LATEST = 8


@dataclass(frozen=True)
class Expiring:
    record: CertRecord
    days_left: int

    @property
    def words(self) -> str:
        if self.days_left < 0:
            return f"expired {-self.days_left} days ago"
        return f"{self.days_left} days left"


@dataclass(frozen=True)
class Events:
    """Audit entries of one kind in the last 24 hours: the count and the newest few."""

    count: int
    newest: tuple[AuditEntry, ...]


@dataclass(frozen=True)
class Summary:
    account: str
    security_level: str
    now: datetime
    controllers: tuple[ControllerRecord, ...] | None
    expiring: tuple[Expiring, ...] | None
    failed_logins: Events | None
    refused_deployments: Events | None
    latest: tuple[AuditEntry, ...] | None
    deployments: Attention | None = None


class Overview:
    def __init__(self, console: Console) -> None:
        self.console = console

    def summary(self, session: Session) -> Summary:
        console = self.console
        now = console.clock.now()
        controllers = expiring = failed = refused = latest = None
        if session.can(CONTROLLERS_VIEW):
            controllers = tuple(console.controllers.list(session))
        if session.can(CERTIFICATES_VIEW):
            expiring = self.expiring(session, now)
        if session.can(AUDITLOG_VIEW):
            since = now - RECENT
            failed = self.events(session, AuditFilter(
                categories=(Category.IDENTITY.value,), request=LOGIN_REQUEST,
                outcome=Outcome.REFUSED.value, date_from=since))
            refused = self.events(session, AuditFilter(
                categories=(Category.DEPLOYMENT.value,), outcome=Outcome.REFUSED.value,
                date_from=since))
            latest = tuple(console.audit.page(session, AuditFilter(), limit=LATEST))
        deployments = (console.deployments.attention(session)
                       if session.can(INVENTORY_VIEW) else None)
        return Summary(session.account, console.security_level.value, now, controllers,
                       expiring, failed, refused, latest, deployments)

    def expiring(self, session: Session, now: datetime) -> tuple[Expiring, ...]:
        """Valid certificates ending within 30 days (or ended), soonest first; one that was
        renewed already is left out."""
        records = self.console.certificates.list(session)
        renewed = {r.replaces_id for r in records if r.replaces_id is not None}
        limit = now + timedelta(days=EXPIRY_DAYS)
        found = [Expiring(r, (r.not_after - now).days if r.not_after >= now
                          else -((now - r.not_after).days + 1))
                 for r in records
                 if r.status is Status.VALID and r.not_after is not None
                 and r.not_after <= limit and r.id not in renewed]
        return tuple(sorted(found, key=lambda e: e.record.not_after or now))

    def events(self, session: Session, filter: AuditFilter) -> Events:
        audit = self.console.audit
        return Events(audit.count(session, filter),
                      tuple(audit.page(session, filter, limit=SHOWN)))
