"""Account changes that a provider makes too (VAULT-JOC-ACTIVE), kept in step with the store.

An account operation runs in one store transaction; the provider's change (a userpass user
created, its password set, deleted) is made inside it, as the last step before the commit. So a
provider that refuses leaves the store unchanged. The rare other way round, the provider done
but the store's commit failed, is handled here: a user the provider created is deleted again;
a password set or a user deleted cannot be taken back, so the error says what Vault already did
and that repeating the operation brings both in step (both steps are idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from js7tui.errors import Js7Error, ProviderRefused, StoreError
from js7tui.identity.providers.base import (
    AccountSync,
    ProviderContext,
    ProviderRegistry,
    ServiceRecord,
)

log = logging.getLogger("js7tui.accounts")


@dataclass(frozen=True)
class _Step:
    text: str                                 # "created the user 'alice' in 'VAULT-A'"
    undo: Callable[[], None] | None = None


class ProviderAccounts:
    """The provider side of one account operation: what it did, and how to undo it."""

    def __init__(self, registry: ProviderRegistry | None,
                 context: Callable[[], ProviderContext]) -> None:
        self.registry = registry
        self.context = context
        self.done: list[_Step] = []

    def sync_of(self, record: ServiceRecord) -> AccountSync | None:
        provider = self.registry.get(record.type) if self.registry else None
        return provider if isinstance(provider, AccountSync) else None

    def _call(self, record: ServiceRecord, doing: str, call: Callable[[AccountSync], None],
              done: str, undo: Callable[[AccountSync], None] | None = None) -> None:
        sync = self.sync_of(record)
        if sync is None:
            return
        try:
            call(sync)
        except Js7Error:
            raise
        except Exception as exc:  # a provider bug must refuse the change, not crash the form
            raise ProviderRefused(f"could not {doing} in '{record.name}': "
                                  f"{type(exc).__name__}: {exc}") from None
        self.done.append(_Step(f"{done} in '{record.name}'",
                               (lambda: undo(sync)) if undo else None))

    def create(self, record: ServiceRecord, account: str, password: str) -> None:
        self._call(record, f"create the user '{account}'",
                   lambda s: s.create_account(record, account, password, self.context()),
                   f"created the user '{account}'",
                   undo=lambda s: s.delete_account(record, account, self.context()))

    def set_password(self, record: ServiceRecord, account: str, password: str) -> None:
        self._call(record, f"set the password of '{account}'",
                   lambda s: s.set_password(record, account, password, self.context()),
                   f"set the password of '{account}'")

    def delete(self, record: ServiceRecord, account: str) -> None:
        self._call(record, f"delete the user '{account}'",
                   lambda s: s.delete_account(record, account, self.context()),
                   f"deleted the user '{account}'")

    def rename(self, record: ServiceRecord, account: str, new_name: str) -> None:
        self._call(record, f"rename the user '{account}'",
                   lambda s: s.rename_account(record, account, new_name, self.context()),
                   f"renamed the user '{account}' to '{new_name}'")

    def after_failure(self, error: BaseException) -> None:
        """The operation failed after the provider changed something: undo what can be undone;
        raise an error naming what cannot (the original error is its cause)."""
        if not self.done:
            return
        left: list[str] = []
        for step in reversed(self.done):
            if step.undo is None:
                left.append(step.text)
                continue
            try:
                step.undo()
                log.warning("store change failed (%s); undone in the provider: %s", error,
                            step.text)
            except Exception as exc:
                left.append(f"{step.text} (undoing it failed: {exc})")
        self.done.clear()
        if not left:
            return
        log.warning("store change failed (%s) after the provider %s", error, "; ".join(left))
        message = (f"{error}; the console's store was left unchanged, but the provider already "
                   f"{'; '.join(left)}: repeat the operation to bring both in step")
        if isinstance(error, ProviderRefused):
            raise ProviderRefused(message) from error
        raise StoreError(message) from error


@contextmanager
def provider_changes(registry: ProviderRegistry | None,
                     context: Callable[[], ProviderContext]) -> Iterator[ProviderAccounts]:
    """``with provider_changes(...) as provider, ops.mutate(...) as op:`` — the provider's
    steps are reconciled when the store's transaction (or anything in it) fails."""
    changes = ProviderAccounts(registry, context)
    try:
        yield changes
    except BaseException as exc:
        changes.after_failure(exc)
        raise
