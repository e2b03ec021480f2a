"""Deployments under four eyes (issue 22 point 2): a deploy, revoke or import-deploy of a
requestor is frozen as the exact signed items (their digests, the commit id, the signer) with
a readable diff against what each Controller holds now, and recorded as an approval request
instead of being sent. Executing the approved request checks the world first (the objects not
edited since, the Controllers holding what they held, the requestor still allowed) and then
sends the frozen items through :meth:`DeploymentService._send`, the same road (intent, outcome,
reconciliation) a direct deploy takes.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from js7tui import security_level
from js7tui.approval import rules
from js7tui.audit import AuditMeta
from js7tui.client.errors import ControllerError, ControllerRefused
from js7tui.deployment.items import item_bytes
from js7tui.deployment.policy import Action, enforce
from js7tui.errors import Js7Error, NotFound
from js7tui.inventory import ObjectType
from js7tui.signing import SignedItem

if TYPE_CHECKING:
    from js7tui.approval.service import ApprovalRequest
    from js7tui.deployment.service import DeploymentService, Prepared
    from js7tui.identity.sessions import Session

KIND = {"DEPLOY": "deploy", "REVOKE": "revoke", "IMPORT_DEPLOY": "import-deploy"}
ACTION = {"DEPLOY": Action.DEPLOY, "REVOKE": Action.REVOKE,
          "IMPORT_DEPLOY": Action.IMPORT_DEPLOY}
MAX_DIFF_LINES = 400


class WorldChanged(Js7Error):
    """What the request was made against is not so any more: the execution is refused."""

    exit_code = 4


def _held(service: DeploymentService, controller_id: str,
          prepared: Sequence[Any]) -> tuple[dict[str, str | None], dict[str, str]]:
    """What ``controller_id`` holds of these objects now: version per ``type:name`` (None:
    not deployed) and the signed text of each held version (for the diff)."""
    wanted = {(p["wire"], p["name"]) for p in prepared}
    versions: dict[str, str | None] = {f"{t}:{n}": None for t, n in sorted(wanted)}
    texts: dict[str, str] = {}
    with service.controllers.client(controller_id) as client:
        for item in client.items():
            key = f"{item.item_type}:{item.path}"
            if (item.item_type, item.path) in wanted:
                versions[key] = item.version_id
                try:
                    texts[key] = client.signed_item(item.item_type, item.path,
                                                    item.version_id).string
                except ControllerRefused:
                    texts[key] = ""
    return versions, texts


def _pretty(text: str) -> list[str]:
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True).splitlines()
    except ValueError:
        return text.splitlines()


def _frozen_items(prepared: Sequence[Prepared]) -> list[dict[str, Any]]:
    return [{"type": p.object_type.value, "wire": p.object_type.wire_type, "path": p.path,
             "name": p.name, "version": p.version_id, "digest": p.digest,
             "created": p.created,
             "item": p.item.to_wire() if p.item is not None else None} for p in prepared]


def divert(service: DeploymentService, session: Session, *, request: str, operation: str,
           commit: str, signer: str, not_after: str | None, prepared: Sequence[Prepared],
           controllers: Sequence[str], meta: AuditMeta) -> NoReturn:
    """Record the signed, frozen deployment as an approval request (never sent now)."""
    items = _frozen_items(prepared)
    held: dict[str, dict[str, str | None] | None] = {}
    verb = {"DEPLOY": "deploy", "REVOKE": "revoke", "IMPORT_DEPLOY": "import-deploy"}[operation]
    lines = [f"{verb} {len(items)} object(s) to {', '.join(controllers)} (commit {commit}"
             + (f", signed by {signer})" if signer else ")")]
    for item in items:
        digest = f"  sha256 {item['digest']}" if item["digest"] else ""
        lines.append(f"  {item['type']} {item['path']} version {item['version'] or '-'}"
                     f"{digest}")
    for controller_id in controllers:
        try:
            versions, texts = _held(service, controller_id, items)
        except (ControllerError, NotFound) as exc:
            held[controller_id] = None
            lines.append(f"Controller {controller_id}: could not be asked what it holds "
                         f"({exc}); the execution asks again and refuses if it cannot tell")
            continue
        held[controller_id] = versions
        for item in items:
            key = f"{item['wire']}:{item['name']}"
            now = versions.get(key)
            where = f"Controller {controller_id}, {item['type']} {item['path']}"
            if item["item"] is None:
                lines.append(f"{where}: removed (it holds version {now})" if now
                             else f"{where}: not deployed there; nothing to remove")
                continue
            before = _pretty(texts.get(key, "")) if now else []
            after = _pretty(item["item"]["string"])
            label = f"held now: version {now}" if now else "held now: nothing"
            diff = list(difflib.unified_diff(before, after, label,
                                             f"after: version {item['version']}",
                                             lineterm="", n=3))
            lines.append(f"{where}:" + ("" if diff else " unchanged"))
            lines.extend(diff[:MAX_DIFF_LINES])
            if len(diff) > MAX_DIFF_LINES:
                lines.append(f"  ... {len(diff) - MAX_DIFF_LINES} more diff line(s)")
    payload = {"request": request, "operation": operation, "commit": commit,
               "signer": signer, "signerNotAfter": not_after,
               "controllers": list(controllers), "items": items, "held": held}
    rules.divert(service.ops, session, KIND[operation], operation=operation,
                 title=lines[0], payload=payload, view={"lines": lines}, meta=meta,
                 path=items[0]["path"] if len(items) == 1 else "",
                 controller_id=",".join(controllers))


def execute(service: DeploymentService, session: Session, request: ApprovalRequest,
            meta: AuditMeta) -> str:
    """Send the frozen deployment, once the world is as it was when it was requested."""
    from js7tui.deployment.service import CAT, Prepared
    payload = request.payload
    operation = str(payload["operation"])
    controllers = [str(c) for c in payload["controllers"]]
    level = security_level.read(service.store.conn)
    fresh = enforce(service.ops, session, ACTION[operation], level, controllers,
                    request=str(payload["request"]), category=CAT)
    items = list(payload["items"])
    commit = str(payload["commit"])
    if operation == "DEPLOY":
        for item in items:
            try:
                obj = service.inventory.get(fresh, item["path"], ObjectType(item["type"]))
            except NotFound:
                raise WorldChanged(f"{item['type']} {item['path']} was deleted or moved after "
                                   "the request was made") from None
            if hashlib.sha256(item_bytes(obj, commit, str(item.get("created") or ""))
                              ).hexdigest() != item["digest"]:
                raise WorldChanged(f"{item['type']} {item['path']} was edited after the "
                                   "request was made: the approved version is not the one "
                                   "in the inventory now; make a new request")
    service._reconcile_first(fresh, controllers)
    for controller_id in controllers:
        before = (payload.get("held") or {}).get(controller_id)
        try:
            now, _ = _held(service, controller_id, items)
        except (ControllerError, NotFound) as exc:
            raise WorldChanged(f"Controller {controller_id} cannot be asked what it holds "
                               f"({exc}), so the request cannot be checked against it; "
                               "nothing was sent") from None
        if before is None:
            raise WorldChanged(f"Controller {controller_id} could not be asked when the "
                               "request was made, so the approver did not see what it "
                               "changes there; make a new request")
        changed = [f"{k.split(':', 1)[0]} '{k.split(':', 1)[1]}' version "
                   f"{now.get(k) or '(none)'} (was {before.get(k) or '(none)'})"
                   for k in sorted(set(now) | set(before)) if now.get(k) != before.get(k)]
        if changed:
            raise WorldChanged(f"Controller {controller_id} holds another version now than "
                               f"when the request was made: {'; '.join(changed)}; make a "
                               "new request")
    prepared = [Prepared(ObjectType(i["type"]), i["path"], i["name"], i["version"],
                         SignedItem.from_wire(i["item"]) if i["item"] is not None else None,
                         i["digest"], str(i.get("created") or "")) for i in items]
    result = service._send(fresh, str(payload["request"]), operation, commit,
                           str(payload.get("signer") or ""), payload.get("signerNotAfter"),
                           prepared, controllers, meta)
    return f"commit {result.commit_id}: " + "; ".join(
        f"{t.controller_id}: {t.summary}" for t in result.targets)
