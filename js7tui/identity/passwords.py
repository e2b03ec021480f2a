"""Account passwords: argon2id hashes (argon2-cffi) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from js7tui.config import PasswordConfig
from js7tui.errors import ValidationError


class PasswordHasher:
    """argon2id with the home's cost settings; verification also accepts older parameters."""

    def __init__(self, config: PasswordConfig | None = None) -> None:
        config = config or PasswordConfig()
        self._argon2 = _Argon2(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_kib,
            parallelism=config.argon2_parallelism,
        )

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        if not stored_hash:
            # Spend the same work on accounts without a password, so timing tells nothing.
            self._argon2.hash(password)
            return False
        try:
            return self._argon2.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._argon2.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


def check_new_password(password: str, *, minimum_length: int, repeated: str | None = None) -> None:
    """Refuse a new password that breaks the policy, in words the person can act on."""
    if repeated is not None and repeated != password:
        raise ValidationError("the new password and its repetition differ")
    if not password:
        raise ValidationError("the new password is empty")
    if len(password) < minimum_length:
        raise ValidationError(
            f"the new password is too short: {len(password)} characters, at least "
            f"{minimum_length} required"
        )
    if password != password.strip():
        raise ValidationError("the new password must not start or end with white space")
