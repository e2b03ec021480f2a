"""Reading and changing the global settings, with permission checks and audit."""

from __future__ import annotations

from typing import Any

from js7tui.approval.local import approvable, describe_setting, setting_fingerprint
from js7tui.audit import AuditMeta, Category
from js7tui.errors import ValidationError
from js7tui.identity import settings as identity_settings
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.sessions import Session
from js7tui.operations import Operations
from js7tui.permissions.names import SETTINGS_MANAGE, SETTINGS_VIEW
from js7tui.store import Store


class SettingsService:
    def __init__(self, store: Store, ops: Operations, hasher: PasswordHasher) -> None:
        self.store = store
        self.ops = ops
        self.hasher = hasher

    def show(self, session: Session) -> dict[str, str]:
        """Every setting, formatted for display (secrets are never shown)."""
        self.ops.authorize(session, [SETTINGS_VIEW], request="./settings",
                           category=Category.SETTINGS)
        values = identity_settings.read_all(self.store.conn)
        return {key: spec.show(values[key]) for key, spec in identity_settings.SPECS.items()}

    @approvable('settings', 'settings', describe=describe_setting, fingerprint=setting_fingerprint)
    def set(self, session: Session, key: str, value: Any, *,
            meta: AuditMeta = AuditMeta()) -> str:
        spec = identity_settings.spec_for(key)
        parsed = spec.parse(value)
        if spec.secret and not str(parsed):
            raise ValidationError(f"{key} must not be empty")
        with self.ops.mutate(session, request="./settings/store", category=Category.SETTINGS,
                             permissions=[SETTINGS_MANAGE], meta=meta) as op:
            minimum = identity_settings.read(op.conn, "minimum_password_length")
            # the entry says what the setting was and what it became (secrets as ***)
            old = None if spec.secret else identity_settings.read(op.conn, key)
            if key == "initial_password":
                if len(parsed) < minimum:
                    raise ValidationError(
                        f"the initial password must have at least {minimum} characters "
                        "(minimum_password_length applies to it too)")
                identity_settings.write_initial_password_hash(
                    op.conn, self.hasher.hash(parsed), len(parsed))
            else:
                initial = identity_settings.initial_password_length(op.conn)
                if key == "minimum_password_length" and initial is not None and (
                        initial < parsed):
                    raise ValidationError(
                        f"the initial password has {initial} characters, fewer than {parsed}: "
                        "set a longer initial_password first")
                identity_settings.write(op.conn, key, parsed)
            op.record(path=key, parameters={"setting": key,
                                            "old": "***" if spec.secret else old,
                                            "value": "***" if spec.secret else parsed})
        return spec.show(parsed)
