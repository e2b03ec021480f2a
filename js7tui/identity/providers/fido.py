"""The FIDO identity service: FIDO2/WebAuthn credentials checked by ``fido2``'s Fido2Server.

The relying party is the console; its RP id defaults to ``localhost``, the one name both ways
of reaching an authenticator share:

* at the host's keyboard, the console speaks CTAP2 to a USB key through ``fido2``'s client
  (origin ``http://localhost``);
* over SSH, the console serves a one-time page on 127.0.0.1, the administrator forwards its
  port (``ssh -L``) and opens it in the laptop's browser, which does WebAuthn with the laptop's
  key (origin ``http://localhost:PORT``: a secure context for WebAuthn; see
  :mod:`js7tui.identity.factors.fido_page`).

Checks: the single-use challenge (this service, this account, unused, not expired); the device
(registered, not removed, not waiting for approval, the account's); fido2's checks (type,
origin, challenge, RP id hash, user presence, user verification when the service requires it,
the signature with the stored public key); the signature counter must grow (a counter that
does not grow means a second copy of the key: refused), unless the authenticator keeps none
(always 0).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlparse

from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    UserVerificationRequirement,
)

from js7tui.clock import to_iso
from js7tui.identity.factors import challenges
from js7tui.identity.providers.base import (
    Authenticated,
    InteractionNeeded,
    LoginRequest,
    Outcome,
    ProviderContext,
    Rejected,
    ServiceRecord,
)
from js7tui.identity.providers.fido_settings import FIDO_SCHEMA

FIDO_PROMPT = "fido_assertion"
FIDO_REGISTRATION_PROMPT = "fido_registration"
KIND, REGISTRATION_KIND = "fido", "fido-registration"
PUBLIC = "login failed: the security key was not accepted"
def _b64(data: bytes) -> str:
    return websafe_encode(data)


def _origin_check(rp_id: str, extra: list[str]):  # type: ignore[no-untyped-def]
    def verify(origin: str) -> bool:
        if origin in extra:
            return True
        url = urlparse(origin)
        if url.hostname != rp_id:
            return False
        return url.scheme == "https" or (url.scheme == "http" and rp_id == "localhost")
    return verify


def server_for(settings: dict[str, Any]) -> Fido2Server:
    rp = PublicKeyCredentialRpEntity(id=settings["iamFidoRpId"], name=settings["iamFidoRpName"])
    server = Fido2Server(rp, verify_origin=_origin_check(settings["iamFidoRpId"],
                                                         list(settings["iamFidoOrigins"])))
    server.timeout = int(settings["iamFidoTimeout"]) * 1000
    return server


def devices(conn: Any, service: ServiceRecord, account: str | None = None) -> list[Any]:
    sql = "SELECT * FROM fido_devices WHERE service_id = ? AND removed IS NULL"
    args: list[Any] = [service.id]
    if account:
        sql += " AND account_name = ?"
        args.append(account)
    return conn.execute(sql + " ORDER BY id", args).fetchall()


def user_handle(service: ServiceRecord, account: str) -> bytes:
    """A stable, opaque WebAuthn user id (no account name on the authenticator's side)."""
    return hashlib.sha256(f"js7tui:{service.id}:{account}".encode()).digest()


class FidoProvider:
    def login_methods(self, service: ServiceRecord, context: ProviderContext) -> tuple[str, ...]:
        return ("fido",)

    # -- login ---------------------------------------------------------------------------
    def challenge(self, service: ServiceRecord, account: str, context: ProviderContext,
                  pending_id: str | None = None) -> dict[str, Any]:
        settings = context.settings(service, FIDO_SCHEMA)
        server = server_for(settings)
        known = [AttestedCredentialData(websafe_decode(row["credential_data"]))
                 for row in devices(context.conn, service, account)] if account else None
        options, state = server.authenticate_begin(
            known, user_verification=UserVerificationRequirement(
                settings["iamFidoUserVerification"].lower()))
        issued = challenges.issue(context.conn, context.clock, service_id=service.id,
                                  account=account, kind=KIND, payload={"state": state},
                                  lifetime=int(settings["iamFidoTimeout"]),
                                  pending_id=pending_id)
        return {"type": FIDO_PROMPT, "service": service.name, "account": account,
                "challenge": issued.id, "options": dict(options)["publicKey"],
                "expires_at": issued.expires, "devices": len(known or [])}

    def authenticate(self, service: ServiceRecord, request: LoginRequest,
                     context: ProviderContext) -> Outcome:
        evidence = request.second_factor or request.extra.get("fido")
        if not evidence:
            return InteractionNeeded(self.challenge(service, request.account, context),
                                     "touch the security key")
        try:
            return self._check(service, request, dict(evidence), context)
        except challenges.ChallengeRefused as exc:
            return Rejected(str(exc), public=PUBLIC)
        except (ValueError, KeyError, TypeError) as exc:
            return Rejected(f"assertion refused: {exc}", public=PUBLIC)

    def _check(self, service: ServiceRecord, request: LoginRequest, evidence: dict[str, Any],
               context: ProviderContext) -> Outcome:
        conn = context.conn
        taken = challenges.take(conn, context.clock, str(evidence.get("challenge")),
                                service_id=service.id, kind=KIND,
                                account=request.account or None)
        if taken.pending_id != request.extra.get("pending_id"):
            raise challenges.ChallengeRefused("challenge belongs to another login")
        response = AuthenticationResponse.from_dict(evidence["response"])
        credential_id = _b64(response.raw_id)
        row = conn.execute("SELECT * FROM fido_devices WHERE service_id = ? AND "
                           "credential_id = ?", (service.id, credential_id)).fetchone()
        if row is None:
            pending = conn.execute("SELECT state FROM fido_registrations WHERE service_id = ? "
                                   "AND credential_id = ? AND state != 'approved'",
                                   (service.id, credential_id)).fetchone()
            if pending is not None:
                return Rejected(f"the device's registration is {pending['state']}: not "
                                "approved by an administrator", public=PUBLIC)
            return Rejected("unknown device", public=PUBLIC)
        if row["removed"]:
            return Rejected(f"the device '{row['name']}' was removed on {row['removed']}",
                            public=PUBLIC)
        account = request.account or taken.account or row["account_name"]
        if row["account_name"] != account:
            return Rejected(f"the device belongs to '{row['account_name']}', not '{account}'",
                            public=PUBLIC)
        settings = context.settings(service, FIDO_SCHEMA)
        stored = AttestedCredentialData(websafe_decode(row["credential_data"]))
        server_for(settings).authenticate_complete(taken.payload["state"], [stored], response)
        counter = response.response.authenticator_data.counter
        if counter or row["sign_count"]:
            moved = conn.execute(
                "UPDATE fido_devices SET sign_count = ?, last_used = ? WHERE id = ? AND "
                "sign_count < ?", (counter, to_iso(context.clock.now()), row["id"],
                                   counter)).rowcount
            if moved != 1:
                return Rejected(
                    f"the signature counter of '{row['name']}' did not grow (stored "
                    f"{row['sign_count']}, presented {counter}): a cloned authenticator",
                    public=PUBLIC)
        else:
            conn.execute("UPDATE fido_devices SET last_used = ? WHERE id = ?",
                         (to_iso(context.clock.now()), row["id"]))
        return Authenticated(row["account_name"], message=(
            f"FIDO device '{row['name']}' accepted (counter {counter})"))

    # -- registration ----------------------------------------------------------------------
    def registration_challenge(self, service: ServiceRecord, account: str,
                               context: ProviderContext) -> dict[str, Any]:
        settings = context.settings(service, FIDO_SCHEMA)
        existing = [AttestedCredentialData(websafe_decode(row["credential_data"]))
                    for row in devices(context.conn, service, account)]
        user = PublicKeyCredentialUserEntity(id=user_handle(service, account), name=account,
                                             display_name=account)
        options, state = server_for(settings).register_begin(
            user, existing, user_verification=UserVerificationRequirement(
                settings["iamFidoUserVerification"].lower()))
        issued = challenges.issue(context.conn, context.clock, service_id=service.id,
                                  account=account, kind=REGISTRATION_KIND,
                                  payload={"state": state},
                                  lifetime=max(60, int(settings["iamFidoTimeout"])))
        return {"type": FIDO_REGISTRATION_PROMPT, "service": service.name,
                "account": account, "challenge": issued.id,
                "options": dict(options)["publicKey"], "expires_at": issued.expires}

    def registration_result(self, service: ServiceRecord, account: str,
                            evidence: dict[str, Any], context: ProviderContext
                            ) -> tuple[str, str, int]:
        """(credential id, credential data, counter) of a checked registration response;
        ValueError or ChallengeRefused saying why not."""
        taken = challenges.take(context.conn, context.clock, str(evidence.get("challenge")),
                                service_id=service.id, kind=REGISTRATION_KIND, account=account)
        settings = context.settings(service, FIDO_SCHEMA)
        auth_data = server_for(settings).register_complete(
            taken.payload["state"], RegistrationResponse.from_dict(evidence["response"]))
        credential = auth_data.credential_data
        if credential is None:
            raise ValueError("the response holds no credential")
        return (_b64(credential.credential_id), _b64(bytes(credential)), auth_data.counter)
