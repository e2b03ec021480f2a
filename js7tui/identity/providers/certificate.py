"""The CERTIFICATE identity service: a user certificate, and proof of its key.

JS7 takes the certificate from a client-certificate TLS handshake. A terminal has none, so the
console issues a fresh single-use challenge and the key signs it as an OpenSSH signature
(SSHSIG, namespace ``js7tui-login``): from a key file at the host's keyboard, or through the
ssh-agent forwarded by ``ssh -A`` from the laptop that holds the key (see
:mod:`js7tui.identity.factors.sshsig` and the README's chapter "Second factors").

Checks, in order: the challenge (this service, this account, unused, not expired; marked used
before anything else is checked), the chain to the trust anchor at the login's time, revocation,
key usage, the CN (the account: single factor, an empty account takes it; second factor, it must
equal the first factor's account), the signature with the certificate's key over the challenge,
and the binding of the account to that key.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from js7tui.clock import to_iso
from js7tui.identity.factors import certificate as certs
from js7tui.identity.factors import challenges, sshsig
from js7tui.identity.providers.base import (
    Authenticated,
    InteractionNeeded,
    LoginRequest,
    Outcome,
    ProviderContext,
    Rejected,
    ServiceRecord,
)
from js7tui.identity.service_settings import Kind, SettingSpec, SettingsSchema

CERTIFICATE_PROMPT = "certificate_challenge"
KIND = "certificate"
PUBLIC = "login failed: the certificate was not accepted"
FIRST_USE, REQUIRED, NO_BINDING = "FIRST-USE", "REQUIRED", "NONE"

CERTIFICATE_SCHEMA = SettingsSchema((
    SettingSpec("iamCertificateTrustAnchor", Kind.TEXT,
                "'built-in' (this home's CA) or the PEM of an organisation's CA certificates "
                "(roots and intermediates)", default=certs.BUILT_IN,
                example="built-in"),
    SettingSpec("iamCertificateCrls", Kind.TEXT,
                "PEM of the organisation CA's current CRLs (one per CA level); the built-in "
                "CA's are the store's"),
    SettingSpec("iamCertificateBinding", Kind.CHOICE,
                "FIRST-USE: the first accepted certificate's key is bound to the account; "
                "REQUIRED: only a key an administrator bound; NONE: any valid certificate",
                default=FIRST_USE, choices=(FIRST_USE, REQUIRED, NO_BINDING)),
    SettingSpec("iamCertificateChallengeTimeout", Kind.DURATION,
                "how long a login challenge may be answered", default=120, example="2m"),
))


def challenge_text(service: str, account: str, challenge_id: str, nonce: str,
                   expires: str) -> str:
    """What the key signs: the service, the account and the single-use challenge."""
    return (f"js7tui login challenge\nservice: {service}\naccount: {account}\n"
            f"challenge: {challenge_id}\nnonce: {nonce}\nexpires: {expires}\n")


def binding(conn: Any, service: ServiceRecord, account: str) -> Any:
    return conn.execute("SELECT * FROM certificate_bindings WHERE service_id = ? AND "
                        "account_name = ?", (service.id, account)).fetchone()


def bind(conn: Any, service: ServiceRecord, account: str, cert: x509.Certificate, now: Any,
         by: str, *, replace: bool = False) -> None:
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    conn.execute(
        f"{verb} INTO certificate_bindings (service_id, account_name, spki_sha256, cert_pem,"
        " subject, issuer, serial, not_after, bound, bound_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (service.id, account, certs.spki_sha256(cert),
         cert.public_bytes(Encoding.PEM).decode("ascii"), cert.subject.rfc4514_string(),
         cert.issuer.rfc4514_string(), format(cert.serial_number, "x"),
         to_iso(cert.not_valid_after_utc), to_iso(now), by))


class CertificateProvider:
    def login_methods(self, service: ServiceRecord, context: ProviderContext) -> tuple[str, ...]:
        return ("certificate",)

    def challenge(self, service: ServiceRecord, account: str, context: ProviderContext,
                  pending_id: str | None = None) -> dict[str, Any]:
        """A fresh challenge for ``account`` ('' when the certificate will name it)."""
        settings = context.settings(service, CERTIFICATE_SCHEMA)
        cid = secrets.token_urlsafe(16)
        nonce = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        lifetime = int(settings["iamCertificateChallengeTimeout"])
        expires = to_iso(context.clock.now() + timedelta(seconds=lifetime))
        text = challenge_text(service.name, account, cid, nonce, expires)
        issued = challenges.issue(context.conn, context.clock, service_id=service.id,
                                  account=account, kind=KIND, payload={"text": text},
                                  lifetime=lifetime, pending_id=pending_id, challenge_id=cid)
        bound = binding(context.conn, service, account) if account else None
        return {"type": CERTIFICATE_PROMPT, "service": service.name, "account": account,
                "challenge": issued.id, "text": text, "namespace": sshsig.NAMESPACE,
                "expires_at": issued.expires,
                "bound_certificate": bound["cert_pem"] if bound else None}

    def authenticate(self, service: ServiceRecord, request: LoginRequest,
                     context: ProviderContext) -> Outcome:
        evidence = request.second_factor or request.extra.get("certificate")
        if not evidence:
            prompt = self.challenge(service, request.account, context)
            return InteractionNeeded(prompt, "sign the challenge with the certificate's key")
        try:
            return self._check(service, request, dict(evidence), context)
        except (challenges.ChallengeRefused, certs.CertificateRefused,
                sshsig.SshSigError) as exc:
            return Rejected(str(exc), public=PUBLIC)
        except ValueError as exc:   # a malformed certificate or signature
            return Rejected(f"malformed evidence: {exc}", public=PUBLIC)

    def _check(self, service: ServiceRecord, request: LoginRequest, evidence: dict[str, Any],
               context: ProviderContext) -> Outcome:
        taken = challenges.take(context.conn, context.clock, str(evidence.get("challenge")),
                                service_id=service.id, kind=KIND,
                                account=request.account or None)
        if taken.pending_id != request.extra.get("pending_id"):
            raise challenges.ChallengeRefused("challenge belongs to another login")
        settings = context.settings(service, CERTIFICATE_SCHEMA)
        presented = certs.load_certificates(str(evidence.get("certificate") or ""))
        if not presented:
            raise certs.CertificateRefused("no certificate was presented")
        leaf, rest = presented[0], presented[1:]
        now = context.clock.now()
        trust = certs.anchor(context.conn, settings["iamCertificateTrustAnchor"],
                             settings["iamCertificateCrls"])
        verified = certs.verify(leaf, rest, trust, now)
        account = request.account or taken.account
        if account and verified.cn != account:
            raise certs.CertificateRefused(
                f"the certificate's CN '{verified.cn}' is not the account '{account}'")
        signature = sshsig.parse(str(evidence.get("signature") or ""))
        sshsig.verify(signature, taken.payload["text"].encode("utf-8"), leaf.public_key())
        mode = settings["iamCertificateBinding"]
        bound = binding(context.conn, service, verified.cn)
        if bound is not None and mode != NO_BINDING:
            if bound["spki_sha256"] != verified.spki_sha256:
                raise certs.CertificateRefused(
                    f"the certificate's key is not the one bound to '{verified.cn}' (bound "
                    f"{bound['bound']} by {bound['bound_by']}: serial {bound['serial']}); an "
                    "administrator can reset the binding")
        elif mode == REQUIRED:
            raise certs.CertificateRefused(f"no certificate is bound to '{verified.cn}' and "
                                           "the service accepts only bound certificates")
        elif mode == FIRST_USE:
            bind(context.conn, service, verified.cn, leaf, now, "first use")
            again = binding(context.conn, service, verified.cn)
            if again is None or again["spki_sha256"] != verified.spki_sha256:
                raise certs.CertificateRefused("another certificate was bound meanwhile")
        return Authenticated(verified.cn, message=(
            f"certificate '{leaf.subject.rfc4514_string()}' serial "
            f"{format(leaf.serial_number, 'x')} accepted"))
