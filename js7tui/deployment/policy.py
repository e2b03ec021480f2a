"""Who may deploy what, and how: the one answer for a session at a security level (issue 15
point 5; reference 4.1 and 9.4).

- deploy (the console signs): LOW and MEDIUM; at HIGH the console never signs.
- import-deploy (signed outside): HIGH only, as JS7 refuses it at LOW and MEDIUM; a
  development instance exports for signing and a HIGH instance imports the signed archive.
- revoke (no signature): every level.
- export for signing: every level (it is how objects travel to a HIGH instance).
- a signing key made or imported into the store: LOW and MEDIUM; at HIGH only a certificate is
  registered.

Each needs ``inventory:deploy`` and, on every target Controller, ``controller:deployment:deploy``
(export needs ``inventory:view`` only). Services ask :func:`decide` before they read or sign
anything; the console's ``check_action`` asks the same function with no Controller chosen yet
(then some Controller must grant the deploy permission).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from js7tui.errors import PermissionDenied
from js7tui.identity.sessions import Session
from js7tui.permissions.names import CONTROLLER_DEPLOY, INVENTORY_DEPLOY, INVENTORY_VIEW
from js7tui.security_level import SecurityLevel

if TYPE_CHECKING:
    from js7tui.audit import Category
    from js7tui.operations import Operations


class Action(StrEnum):
    DEPLOY = "deploy"
    REVOKE = "revoke"
    IMPORT_DEPLOY = "import-deploy"
    EXPORT_FOR_SIGNING = "export for signing"
    KEY_IN_STORE = "keep a signing key in the console"


LEVELS: dict[Action, tuple[SecurityLevel, ...]] = {
    Action.DEPLOY: (SecurityLevel.LOW, SecurityLevel.MEDIUM),
    Action.REVOKE: tuple(SecurityLevel),
    Action.IMPORT_DEPLOY: (SecurityLevel.HIGH,),
    Action.EXPORT_FOR_SIGNING: tuple(SecurityLevel),
    Action.KEY_IN_STORE: (SecurityLevel.LOW, SecurityLevel.MEDIUM),
}

LEVEL_REASONS: dict[Action, str] = {
    Action.DEPLOY: ("refused at security level HIGH: the console never signs; export the "
                    "objects for signing (js7tui inventory export --for-signing), sign them "
                    "outside and deploy with 'js7tui import-deploy'"),
    Action.IMPORT_DEPLOY: ("refused at security level {level}: import-deploy is the HIGH way "
                           "(objects signed outside); at {level} use 'js7tui deploy', which "
                           "signs with the level's key"),
    Action.KEY_IN_STORE: ("refused at security level HIGH: no private key may enter the "
                          "console; register your signing certificate (js7tui signing-key "
                          "register), whose key stays outside"),
}


@dataclass(frozen=True)
class Decision:
    """``allowed``, or why not: the level forbids it (``level_refused``, a security event)
    or a permission is missing (``permission``, on ``controller`` when it is per Controller)."""

    action: Action
    allowed: bool
    reason: str = ""
    level_refused: bool = False
    permission: str = ""
    controller: str = ""


def _permissions(action: Action) -> tuple[str, ...]:
    if action is Action.EXPORT_FOR_SIGNING:
        return (INVENTORY_VIEW,)
    if action is Action.KEY_IN_STORE:
        return ()
    return (INVENTORY_DEPLOY,)


def decide(action: Action, level: SecurityLevel, session: Session | None,
           controllers: Sequence[str] | None = None) -> Decision:
    """May ``session`` do ``action`` at ``level`` on ``controllers``? ``None`` for the
    Controllers means not chosen yet: some registered Controller must grant deploying."""
    if level not in LEVELS[action]:
        return Decision(action, False, LEVEL_REASONS[action].format(level=level.value),
                        level_refused=True)
    if session is None:
        return Decision(action, False, "log in first")
    for permission in _permissions(action):
        if not session.can(permission):
            return Decision(action, False, f"permission denied: {permission} is not granted "
                            "to you", permission=permission)
    if action in (Action.EXPORT_FOR_SIGNING, Action.KEY_IN_STORE):
        return Decision(action, True)
    if controllers is None:
        known = session.permissions.controllers()
        if not session.can(CONTROLLER_DEPLOY) and not any(
                session.can(CONTROLLER_DEPLOY, c) for c in known):
            return Decision(action, False, f"permission denied: {CONTROLLER_DEPLOY} (deploy "
                            "to a Controller) is granted to you on no Controller",
                            permission=CONTROLLER_DEPLOY)
        return Decision(action, True)
    for controller_id in controllers:
        if not session.can(CONTROLLER_DEPLOY, controller_id):
            return Decision(action, False, f"permission denied: {CONTROLLER_DEPLOY} (deploy to "
                            f"a Controller) is not granted to you on Controller "
                            f"'{controller_id}'", permission=CONTROLLER_DEPLOY,
                            controller=controller_id)
    return Decision(action, True)


def enforce(ops: Operations, session: Session, action: Action, level: SecurityLevel,
            controllers: Sequence[str] | None, *, request: str, category: Category) -> Session:
    """Refresh the session, then :func:`decide`; a refusal is audited (a security event) and
    raised before anything is read or signed. Returns the fresh session."""
    from js7tui.deployment.keys import HighLevelRefused
    fresh = ops.authorize(session, request=request, category=category)
    decision = decide(action, level, fresh, controllers)
    if decision.allowed:
        return fresh
    ops.refuse(session.account, request, category, decision.reason,
               controller_id=decision.controller)
    if decision.level_refused:
        raise HighLevelRefused(decision.reason)
    raise PermissionDenied(decision.reason, permission=decision.permission,
                           controller=decision.controller)
