"""Secrets the console must keep to talk to others (LDAP bind passwords, OIDC client secrets,
Vault tokens, Controller hop passwords), sealed with a key kept outside the store.

Why a separate key file: a copy of ``js7tui.db`` (a backup, a file sent for support) must not
reveal the secrets it holds; someone needs both the database and ``keys/secrets.key``. The
sealing itself is Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``; nothing here is
hand-made crypto. Sealed values carry a prefix so a plain value is never mistaken for one.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from js7tui.errors import StoreError
from js7tui.home import write_private_file

PREFIX = "sealed:v1:"


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class SecretBox:
    """Seal and open secrets; the key is created (0600) on first use when a path is given, or
    lives only in memory for a store without a home (tests, previews)."""

    def __init__(self, key_path: Path | None = None) -> None:
        self._key_path = key_path
        self._fernet: Fernet | None = None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(self._load_or_create_key())
        return self._fernet

    def _load_or_create_key(self) -> bytes:
        if self._key_path is None:
            return Fernet.generate_key()
        if self._key_path.exists():
            return self._key_path.read_bytes().strip()
        key = Fernet.generate_key()
        write_private_file(self._key_path, key + b"\n")
        return key

    def seal(self, plaintext: str) -> str:
        token = self._cipher().encrypt(plaintext.encode("utf-8"))
        return PREFIX + token.decode("ascii")

    def open(self, sealed: str) -> str:
        if not is_sealed(sealed):
            raise StoreError("a stored secret is not sealed; set it again")
        try:
            return self._cipher().decrypt(sealed[len(PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            where = f" ({self._key_path})" if self._key_path else ""
            raise StoreError(
                "a stored secret cannot be opened with this home's key" + where + ": the key "
                "file was replaced or the database comes from another home; set the secret "
                "again") from None

    def derived_key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` derived (HKDF-SHA256) from this home's key file: what
        the store cannot forge without that file (approvals' proofs, issue 22)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        # A store without a home (tests, previews): a key of this box, in memory only.
        secret = (self._load_or_create_key() if self._key_path is not None
                  else self._memory_secret())
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=f"js7tui:{purpose}".encode()).derive(secret)

    def _memory_secret(self) -> bytes:
        if not hasattr(self, "_memory"):
            self._memory = Fernet.generate_key()
        return self._memory
