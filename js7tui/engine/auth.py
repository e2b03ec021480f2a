"""Who may talk to an engine: client DN -> user, the user's password, per-hop sessions.

Each hop authenticates twice: the TLS handshake proves the client certificate, its subject DN
must be listed (``allowed_clients``) and names the user(s) it may log in as; then a login with
that user's password (argon2 or ``sha512:<hex>`` in the config) yields a session token for this
server only. Tokens live in this process's memory (as in JS7), are bound to the DN they were
created under, end after the idle timeout, and are worthless anywhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography import x509

from js7tui.engine.config import AllowedClient
from js7tui.identity.passwords import PasswordHasher

LOGIN_FAILED = "Login: unknown user or invalid password"


def hash_sha512(password: str) -> str:
    """The ``sha512:<hex>`` form of JS7's private.conf."""
    return "sha512:" + hashlib.sha512(password.encode("utf-8")).hexdigest()


def verify_password(stored: str, password: str, hasher: PasswordHasher | None = None) -> bool:
    if stored.startswith("sha512:"):
        return hmac.compare_digest(stored, hash_sha512(password))
    return (hasher or PasswordHasher()).verify(stored, password)


class ClientMap:
    """Allowed client DNs and the users each may log in as (compared as parsed names, so
    spacing in the configuration does not matter)."""

    def __init__(self, clients: Iterable[AllowedClient]) -> None:
        self._users: dict[x509.Name, set[str]] = {}
        for client in clients:
            self._users.setdefault(client.dn, set()).add(client.user)

    def users(self, dn: x509.Name) -> set[str]:
        return self._users.get(dn, set())


@dataclass
class HopSession:
    number: int
    user: str
    dn: str
    created: float
    last_used: float


class HopSessions:
    """In-memory sessions of one server; token ``"<n>,<secret>"``, stored as a SHA-256 hash."""

    def __init__(self, idle_timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_timeout = idle_timeout
        self._clock = clock
        self._numbers = itertools.count(1)
        self._sessions: dict[str, HopSession] = {}

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def create(self, user: str, dn: str) -> str:
        now = self._clock()
        number = next(self._numbers)
        token = f"{number},{secrets.token_urlsafe(24)}"
        self._sessions[self._key(token)] = HopSession(number, user, dn, now, now)
        self._expire(now)
        return token

    def _expire(self, now: float) -> None:
        if self.idle_timeout <= 0:
            return
        for key in [k for k, s in self._sessions.items()
                    if now - s.last_used > self.idle_timeout]:
            del self._sessions[key]

    def resume(self, token: str, dn: str) -> HopSession | None:
        """The live session of ``token`` opened under ``dn``, touched; None otherwise."""
        key = self._key(token)
        session = self._sessions.get(key)
        now = self._clock()
        if session is None:
            return None
        if self.idle_timeout > 0 and now - session.last_used > self.idle_timeout:
            del self._sessions[key]
            return None
        if session.dn != dn:
            return None
        session.last_used = now
        return session

    def end(self, token: str) -> bool:
        return self._sessions.pop(self._key(token), None) is not None

    def __len__(self) -> int:
        return len(self._sessions)
