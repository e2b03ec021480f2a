"""Errors that carry a message meant for an administrator.

Every refusal in the domain layer raises a subclass of :class:`Js7Error`; the CLI and the TUI
show ``str(error)`` as is, so messages are full sentences that say what was refused and why.
"""

from __future__ import annotations


class Js7Error(Exception):
    """Base of all refusals that an administrator should read (never a programming error)."""

    exit_code = 1


class ValidationError(Js7Error):
    """The input is malformed or breaks a rule (name, length, unknown permission...)."""

    exit_code = 2


class NotFound(Js7Error):
    """The named object does not exist."""

    exit_code = 3


class Conflict(Js7Error):
    """The operation would clash with existing state (duplicate name, last administrator...)."""

    exit_code = 4


class ProviderRefused(Conflict):
    """An external identity provider refused, or could not be reached for, an account change
    that the console makes there too (VAULT-JOC-ACTIVE); the store was left unchanged."""


class PermissionDenied(Js7Error):
    """The acting session lacks a permission; always audited as a security event."""

    exit_code = 5

    def __init__(self, message: str, *, permission: str = "", controller: str = "") -> None:
        super().__init__(message)
        self.permission = permission
        self.controller = controller


class AuthenticationError(Js7Error):
    """Login or session failure: wrong credentials, blocked account, expired session..."""

    exit_code = 6


class SessionRequired(AuthenticationError):
    """No valid session: the caller has to log in first. ``ended_session_id`` names a stored
    session found to be over, which the caller deletes in a transaction of its own."""

    def __init__(self, message: str, *, ended_session_id: int | None = None) -> None:
        super().__init__(message)
        self.ended_session_id = ended_session_id


class PasswordChangeRequired(AuthenticationError):
    """The account must change its password before it may do anything else."""


class StoreError(Js7Error):
    """The home or its database cannot be used (missing, newer schema, locked...)."""

    exit_code = 7
