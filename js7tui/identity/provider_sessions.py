"""Sessions backed by an external provider's token (OIDC, Vault): refresh while in use,
revoke at the end.

Why here and not in each provider: the rules are the same for every token-backed type —
refresh a little before the token ends, end the console session when the provider says no,
keep going while the provider is merely unreachable until the token runs out, revoke at
logout — and the network calls must happen outside store transactions.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from js7tui import audit
from js7tui.audit import Category
from js7tui.audit import Outcome as AuditOutcome
from js7tui.clock import Clock
from js7tui.errors import NotFound, SessionRequired
from js7tui.identity import records, sessions
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import (
    Authenticated,
    ProviderContext,
    ProviderRegistry,
    Rejected,
)
from js7tui.identity.sessions import Session
from js7tui.secrets import SecretBox
from js7tui.store import Store

REFRESH_MARGIN = timedelta(seconds=60)
REFRESH_REQUEST = "./authentication/session/refresh"
log = logging.getLogger("js7tui.sessions")


class ProviderSessions:
    def __init__(self, store: Store, clock: Clock, hasher: PasswordHasher,
                 registry: ProviderRegistry, secrets: SecretBox) -> None:
        self.store = store
        self.clock = clock
        self.registry = registry
        self.secrets = secrets
        self.hasher = hasher

    def _context(self) -> ProviderContext:
        return ProviderContext(self.store.conn, self.hasher, self.clock, self.secrets)

    def due(self, session: Session) -> bool:
        return (session.valid_until is not None
                and session.valid_until - self.clock.now() <= REFRESH_MARGIN)

    def refresh(self, session: Session) -> None:
        """Ask each provider of the session for a fresh token. A rejection ends the session
        (SessionRequired with the provider's reason); an unreachable provider is logged and
        the old token stays until it runs out."""
        updates: dict[str, dict[str, Any]] = {}
        for name, entry in sessions.provider_states(self.store.conn, session.id).items():
            try:
                record = records.service(self.store.conn, name)
            except NotFound:
                continue
            provider = self.registry.get(record.type)
            if provider is None or not hasattr(provider, "refresh"):
                continue
            state = json.loads(self.secrets.open(entry["sealed"]))
            try:
                outcome = provider.refresh(record, state, self._context())  # type: ignore[attr-defined]
            except Exception as exc:  # a provider bug must not break every command
                log.warning("refresh of %s for session %s failed: %s", name, session.id, exc)
                continue
            if isinstance(outcome, Authenticated):
                updates[name] = sessions.provider_state_entry(
                    self.secrets.seal(json.dumps(outcome.state or state)), outcome.valid_until)
            elif isinstance(outcome, Rejected):
                # A provider ending a live session (token revoked...) is a security event.
                log.warning("the identity service %s ended the session %s of %r: %s", name,
                            session.id, session.account, outcome.reason)
                with self.store.transaction() as conn:
                    sessions.delete(conn, session.id)
                    audit.append(conn, created=self.clock.now(), account=session.account,
                                 request=REFRESH_REQUEST, category=Category.IDENTITY,
                                 outcome=AuditOutcome.REFUSED, path=name,
                                 parameters={"identityServiceName": name,
                                             "refused": outcome.reason})
                raise SessionRequired(f"the identity service '{name}' ended the session "
                                      f"({outcome.reason}); log in again")
            else:
                log.warning("could not refresh %s for session %s: %s", name, session.id,
                            getattr(outcome, "reason", outcome))
        if updates:
            with self.store.transaction() as conn:
                sessions.set_provider_states(conn, session.id, updates)

    def states(self, session_ids: list[int]) -> list[tuple[str, dict[str, Any]]]:
        """(service, sealed entry) of sessions about to end; read before they are deleted."""
        return [(name, entry) for session_id in session_ids
                for name, entry in sessions.provider_states(self.store.conn, session_id).items()]

    def end(self, states: list[tuple[str, dict[str, Any]]]) -> None:
        """Revoke the tokens of ended sessions; failures are logged, never raised."""
        for name, entry in states:
            try:
                record = records.service(self.store.conn, name)
                provider = self.registry.get(record.type)
                if provider is not None and hasattr(provider, "end"):
                    state = json.loads(self.secrets.open(entry["sealed"]))
                    provider.end(record, state, self._context())  # type: ignore[attr-defined]
            except Exception as exc:
                log.warning("could not revoke the %s token of an ended session: %s", name, exc)
