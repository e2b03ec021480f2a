"""The client side of a certificate login: answer a challenge prompt with the certificate and a
signature by its key, made from a key file (at the host's keyboard) or by the ssh-agent (over
SSH: the forwarded agent of the laptop that holds the key). Used by ``js7tui login``, the login
form's second-factor panel and the benchmark; the checks are all on the provider's side."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization

from js7tui.errors import ValidationError
from js7tui.identity.factors import sshsig
from js7tui.identity.factors.certificate import load_certificates


def certificate_evidence(prompt: dict[str, Any], *, certificate: bytes | None = None,
                         key: bytes | None = None, key_password: bytes | None = None,
                         agent: sshsig.Agent | None = None) -> dict[str, Any]:
    """Evidence for a ``certificate_challenge`` prompt. ``certificate`` is the PEM (leaf first,
    intermediates may follow); without it, the certificate bound to the account. With ``key``
    (PEM or OpenSSH private key) the signature is made here; otherwise by ``agent`` (default:
    the agent at SSH_AUTH_SOCK)."""
    pem = certificate or (prompt.get("bound_certificate") or "").encode("ascii")
    if not pem:
        raise ValidationError("no certificate: give the certificate file (none is bound to "
                              "the account yet)")
    try:
        chain = load_certificates(pem)
    except ValueError as exc:
        raise ValidationError(f"the certificate file is not PEM or DER: {exc}") from None
    if not chain:
        raise ValidationError("the certificate file holds no certificate")
    leaf = chain[0]
    text = str(prompt["text"]).encode("utf-8")
    namespace = str(prompt.get("namespace") or sshsig.NAMESPACE)
    if key is not None:
        private = _load_key(key, key_password)
        if sshsig.public_key_blob(private.public_key()) != sshsig.public_key_blob(
                leaf.public_key()):
            raise ValidationError("the key file does not belong to the certificate")
        signature = sshsig.sign_with_key(private, text, namespace)
    else:
        agent = agent or sshsig.Agent()
        signature = agent.sign(sshsig.public_key_blob(leaf.public_key()), text, namespace)
    return {"challenge": prompt["challenge"], "certificate": pem.decode("ascii"),
            "signature": signature.armored()}


def _load_key(data: bytes, password: bytes | None) -> Any:
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            return serialization.load_ssh_private_key(data, password)
        return serialization.load_pem_private_key(data, password)
    except TypeError:
        raise ValidationError("the key file is encrypted: give its password") from None
    except ValueError as exc:
        raise ValidationError(f"the key file cannot be read: {exc}") from None
