"""Approvals that prove themselves (issue 22 point 3).

A decision's *statement* names the request, its digest, the decision and comment, the approver,
the approver's session (id and token hash) and the decision's audit entry. Its proof is an
HMAC-SHA256 over the statement with a key derived from the home's key file (outside the store:
someone who can edit ``js7tui.db`` cannot compute it), and, where the approver has a signing
certificate with its key in the console, a signature with it. A row edited or added by hand,
or a request whose frozen operation was edited after approval, fails :func:`verify`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from js7tui.approval.rules import canonical
from js7tui.clock import from_iso
from js7tui.errors import Js7Error

if TYPE_CHECKING:
    import sqlite3

    from js7tui.secrets import SecretBox

PURPOSE = "approval-proof:v1"


class ApprovalUnproven(Js7Error):
    """A decision whose proof does not hold: it is not acted on (exit 5, a security event)."""

    exit_code = 5


def statement(*, request_id: int, digest: str, decision: str, approver: str, comment: str,
              session_id: int, session_token_hash: str, decided: str,
              audit_id: int) -> dict[str, Any]:
    return {"request": request_id, "digest": digest, "decision": decision,
            "approver": approver, "comment": comment, "session": session_id,
            "sessionTokenHash": session_token_hash, "decided": decided, "audit": audit_id}


def statement_of(row: Mapping[str, Any]) -> dict[str, Any]:
    return statement(request_id=row["request_id"], digest=row["digest"],
                     decision=row["decision"], approver=row["approver"],
                     comment=row["comment"], session_id=row["session_id"],
                     session_token_hash=row["session_token_hash"], decided=row["decided"],
                     audit_id=row["audit_id"])


def mac(secrets: SecretBox, text: Mapping[str, Any]) -> str:
    return hmac.new(secrets.derived_key(PURPOSE), canonical(text), hashlib.sha256).hexdigest()


def sign(conn: sqlite3.Connection, secrets: SecretBox, approver: str,
         text: Mapping[str, Any]) -> str:
    """The statement signed with the approver's own signing key, or '' without one."""
    from js7tui.deployment.keys import read_identity
    from js7tui.signing import sign_bytes
    identity = read_identity(conn, secrets, approver, with_key=True)
    if identity is None or identity.key is None:
        return ""
    signature = sign_bytes(canonical(text), identity.key, certificate=identity.cert,
                           chain=identity.intermediates)
    return json.dumps(signature, sort_keys=True)


def verify(conn: sqlite3.Connection, secrets: SecretBox, decision: Mapping[str, Any],
           request: Mapping[str, Any], recomputed_digest: str) -> None:
    """Raise :class:`ApprovalUnproven` unless ``decision`` is a genuine approval of exactly
    this ``request`` by someone other than its requestor."""
    def refuse(why: str) -> ApprovalUnproven:
        return ApprovalUnproven(f"the approval of request {request['id']} does not prove "
                                f"itself: {why}; nothing was executed")

    if recomputed_digest != request["digest"]:
        raise refuse("the request was changed in the store after it was made (its digest "
                     "no longer matches what it holds)")
    if decision["request_id"] != request["id"] or decision["digest"] != request["digest"]:
        raise refuse("it was given for a different request or a different version of it")
    if decision["decision"] != "APPROVED":
        raise refuse(f"the decision is {decision['decision']}")
    if decision["approver"] == request["requestor"]:
        raise refuse("it names the requestor as approver (nobody approves their own request)")
    if decision["approver"] != request["approver"]:
        raise refuse("it names another approver than the request")
    text = statement_of(decision)
    if not hmac.compare_digest(mac(secrets, text), str(decision["proof"])):
        raise refuse("its proof does not match (the row was written or edited outside the "
                     "console)")
    entry = conn.execute("SELECT account, parameters FROM audit_log WHERE id = ?",
                         (decision["audit_id"],)).fetchone()
    if entry is None or entry[0] != decision["approver"] or \
            request["digest"] not in (entry[1] or ""):
        raise refuse("its audit entry is missing or says otherwise")
    if decision["signature"]:
        _verify_signature(conn, secrets, decision, text, refuse)


def _verify_signature(conn: sqlite3.Connection, secrets: SecretBox,
                      decision: Mapping[str, Any], text: Mapping[str, Any],
                      refuse: Any) -> None:
    from js7tui.deployment.keys import read_identity
    from js7tui.pki.crl import held_crls
    from js7tui.signing import SignatureRefused, SignedItem, verify_signed_item
    identity = read_identity(conn, secrets, decision["approver"])
    if identity is None:
        raise refuse("it is signed, but the approver has no signing certificate any more")
    try:
        signature = json.loads(decision["signature"])
        item = SignedItem(canonical(text).decode("utf-8"), signature)
        verified = verify_signed_item(item, identity.trusted(held_crls(conn)),
                                      now=from_iso(decision["decided"]))
    except (ValueError, SignatureRefused) as exc:
        raise refuse(f"its signature does not verify ({exc})") from None
    signer = signature.get("signerCertificate", "")
    if identity.signer_pem().split("-----END CERTIFICATE-----")[0] not in signer:
        raise refuse("it is signed by another certificate than the approver's")
    del verified
