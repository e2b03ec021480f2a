"""The JOC identity service: accounts and argon2id password hashes in the console's store."""

from __future__ import annotations

from js7tui.identity.providers.base import (
    Authenticated,
    LoginRequest,
    Outcome,
    ProviderContext,
    Rejected,
    ServiceRecord,
)


class JocProvider:
    def authenticate(
        self, service: ServiceRecord, request: LoginRequest, context: ProviderContext
    ) -> Outcome:
        row = context.conn.execute(
            "SELECT password_hash FROM accounts WHERE identity_service_id = ? AND name = ?",
            (service.id, request.account),
        ).fetchone()
        stored = row["password_hash"] if row else None
        # verify() spends the same argon2 work when the account is unknown.
        if not context.hasher.verify(stored, request.password or ""):
            return Rejected("unknown account" if row is None else "wrong password")
        return Authenticated(request.account)
