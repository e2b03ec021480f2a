"""OpenSSH signatures (SSHSIG, ``ssh-keygen -Y sign``) and the ssh-agent protocol, for logins
that prove possession of a key without the console ever holding it.

Why SSHSIG: the format binds a *namespace* into what is signed (``"SSHSIG" || namespace ||
hash(message)``), so a signature made for a js7tui login can never be replayed as an SSH
authentication or as a signature for another tool, and an agent asked to sign it cannot be
abused as a signing oracle for SSH sessions. The same blob is made by our agent client, by a
local key file (signed here in-process) or by ``ssh-keygen -Y sign -n js7tui-login`` by hand;
the console verifies one format.

Agent client: ``SSH_AUTH_SOCK`` (forwarded by ``ssh -A``), messages 11/12 (identities) and 13/14
(sign), RFC draft-miller-ssh-agent. The key stays on the administrator's laptop (or in a
hardware token behind the agent); the console only sends the SSHSIG blob to be signed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

NAMESPACE = "js7tui-login"
MAGIC = b"SSHSIG"
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
_CURVES = {"nistp256": (ec.SECP256R1, hashes.SHA256), "nistp384": (ec.SECP384R1, hashes.SHA384),
           "nistp521": (ec.SECP521R1, hashes.SHA512)}


class SshSigError(ValueError):
    """A malformed or wrong signature, or an agent that would not sign; ``str()`` says why."""


# -- wire encoding ------------------------------------------------------------------------
def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b""
    return _string(raw)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise SshSigError("truncated SSH data")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def string(self) -> bytes:
        return self.take(self.uint32())

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)

    def done(self) -> bool:
        return self.pos == len(self.data)


def public_key_blob(key: object) -> bytes:
    """The SSH wire blob of a cryptography public key (EC P-256/384/521, Ed25519, RSA)."""
    text = key.public_bytes(serialization.Encoding.OpenSSH,  # type: ignore[attr-defined]
                            serialization.PublicFormat.OpenSSH)
    return base64.b64decode(text.split()[1])


def load_public_blob(blob: bytes) -> object:
    return serialization.load_ssh_public_key(
        _Reader(blob).string() + b" " + base64.b64encode(blob))


def signed_data(message: bytes, namespace: str = NAMESPACE, hash_alg: str = "sha512") -> bytes:
    """What the key signs for ``message`` (PROTOCOL.sshsig)."""
    return (MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_alg.encode())
            + _string(HASHES[hash_alg](message).digest()))


# -- signatures ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SshSignature:
    public_blob: bytes
    namespace: str
    hash_alg: str
    sig_type: str
    sig_blob: bytes

    def armored(self) -> str:
        raw = (MAGIC + struct.pack(">I", 1) + _string(self.public_blob)
               + _string(self.namespace.encode()) + _string(b"")
               + _string(self.hash_alg.encode())
               + _string(_string(self.sig_type.encode()) + _string(self.sig_blob)))
        body = base64.b64encode(raw).decode()
        lines = [body[i:i + 70] for i in range(0, len(body), 70)]
        return "\n".join([ARMOR_BEGIN, *lines, ARMOR_END]) + "\n"


def parse(armored: str | bytes) -> SshSignature:
    text = armored.decode() if isinstance(armored, bytes) else armored
    text = text.strip()
    if not (text.startswith(ARMOR_BEGIN) and text.endswith(ARMOR_END)):
        raise SshSigError("not an SSH signature (-----BEGIN SSH SIGNATURE-----)")
    try:
        raw = base64.b64decode("".join(text[len(ARMOR_BEGIN):-len(ARMOR_END)].split()),
                               validate=True)
    except ValueError:
        raise SshSigError("the SSH signature is not valid base64") from None
    reader = _Reader(raw)
    if reader.take(6) != MAGIC or reader.uint32() != 1:
        raise SshSigError("not an SSHSIG version 1 signature")
    public_blob = reader.string()
    namespace = reader.string().decode("utf-8", "replace")
    reader.string()  # reserved
    hash_alg = reader.string().decode("ascii", "replace")
    inner = _Reader(reader.string())
    sig_type = inner.string().decode("ascii", "replace")
    sig_blob = inner.string()
    if not reader.done():
        raise SshSigError("trailing data after the SSH signature")
    return SshSignature(public_blob, namespace, hash_alg, sig_type, sig_blob)


def verify(signature: SshSignature, message: bytes, public_key: object,
           namespace: str = NAMESPACE) -> None:
    """Refuse (SshSigError) unless ``signature`` is ``public_key``'s over ``message`` in
    ``namespace``. The key named inside the signature must be ``public_key`` itself."""
    if signature.namespace != namespace:
        raise SshSigError(f"the signature is for '{signature.namespace}', not '{namespace}'")
    if signature.hash_alg not in HASHES:
        raise SshSigError(f"hash algorithm '{signature.hash_alg}' is not accepted")
    if signature.public_blob != public_key_blob(public_key):
        raise SshSigError("the signature was made with another key than the certificate's")
    data = signed_data(message, namespace, signature.hash_alg)
    try:
        _verify_raw(public_key, signature.sig_type, signature.sig_blob, data)
    except InvalidSignature:
        raise SshSigError("the signature does not verify") from None


def _verify_raw(key: object, sig_type: str, blob: bytes, data: bytes) -> None:
    if isinstance(key, ed25519.Ed25519PublicKey):
        if sig_type != "ssh-ed25519":
            raise SshSigError(f"signature type {sig_type} for an Ed25519 key")
        key.verify(blob, data)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        curve = sig_type.removeprefix("ecdsa-sha2-")
        if curve not in _CURVES or not isinstance(key.curve, _CURVES[curve][0]):
            raise SshSigError(f"signature type {sig_type} for a {key.curve.name} key")
        reader = _Reader(blob)
        r, s = reader.mpint(), reader.mpint()
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(_CURVES[curve][1]()))
    elif isinstance(key, rsa.RSAPublicKey):
        algs = {"rsa-sha2-256": hashes.SHA256, "rsa-sha2-512": hashes.SHA512}
        if sig_type not in algs:      # ssh-rsa (SHA-1) is refused, as SSHSIG itself does
            raise SshSigError(f"signature type {sig_type} is not accepted for RSA keys")
        key.verify(blob, data, padding.PKCS1v15(), algs[sig_type]())
    else:
        raise SshSigError("unsupported key type")


def sign_with_key(private_key: object, message: bytes, namespace: str = NAMESPACE,
                  hash_alg: str = "sha512") -> SshSignature:
    """An SSHSIG made in-process with a key file's key (the key at the host's keyboard)."""
    data = signed_data(message, namespace, hash_alg)
    public = private_key.public_key()  # type: ignore[attr-defined]
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        sig_type, blob = "ssh-ed25519", private_key.sign(data)
    elif isinstance(private_key, ec.EllipticCurvePrivateKey):
        curve = {"secp256r1": "nistp256", "secp384r1": "nistp384",
                 "secp521r1": "nistp521"}[private_key.curve.name]
        der = private_key.sign(data, ec.ECDSA(_CURVES[curve][1]()))
        r, s = decode_dss_signature(der)
        sig_type, blob = f"ecdsa-sha2-{curve}", _mpint(r) + _mpint(s)
    elif isinstance(private_key, rsa.RSAPrivateKey):
        sig_type = "rsa-sha2-512"
        blob = private_key.sign(data, padding.PKCS1v15(), hashes.SHA512())
    else:
        raise SshSigError("unsupported key type")
    return SshSignature(public_key_blob(public), namespace, hash_alg, sig_type, blob)


# -- ssh-agent ------------------------------------------------------------------------------
_REQUEST_IDENTITIES, _IDENTITIES_ANSWER = 11, 12
_SIGN_REQUEST, _SIGN_RESPONSE, _FAILURE = 13, 14, 5
_RSA_SHA2_512 = 4


class Agent:
    """A client of the ssh-agent at ``SSH_AUTH_SOCK`` (or ``path``)."""

    def __init__(self, path: str | None = None, timeout: float = 30.0) -> None:
        self.path = path or os.environ.get("SSH_AUTH_SOCK") or ""
        self.timeout = timeout
        if not self.path:
            raise SshSigError("no ssh-agent: SSH_AUTH_SOCK is not set (log in with 'ssh -A', "
                              "or start one with 'eval $(ssh-agent)' and 'ssh-add KEY')")

    def _call(self, message: bytes) -> bytes:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
                sock.sendall(_string(message))
                head = _recv(sock, 4)
                return _recv(sock, int(struct.unpack(">I", head)[0]))
        except OSError as exc:
            raise SshSigError(f"the ssh-agent at {self.path} cannot be reached: {exc}") from None

    def identities(self) -> Iterator[tuple[bytes, str]]:
        answer = _Reader(self._call(bytes([_REQUEST_IDENTITIES])))
        if answer.take(1)[0] != _IDENTITIES_ANSWER:
            raise SshSigError("the ssh-agent refused to list its keys")
        for _ in range(answer.uint32()):
            blob = answer.string()
            yield blob, answer.string().decode("utf-8", "replace")

    def sign(self, public_blob: bytes, message: bytes, namespace: str = NAMESPACE,
             hash_alg: str = "sha512") -> SshSignature:
        if public_blob not in {blob for blob, _ in self.identities()}:
            raise SshSigError("the ssh-agent does not hold the certificate's key (add it on "
                              "the machine that holds it: ssh-add KEY, then ssh -A)")
        key_type = _Reader(public_blob).string()
        flags = _RSA_SHA2_512 if key_type == b"ssh-rsa" else 0
        data = signed_data(message, namespace, hash_alg)
        answer = _Reader(self._call(bytes([_SIGN_REQUEST]) + _string(public_blob)
                                    + _string(data) + struct.pack(">I", flags)))
        if answer.take(1)[0] != _SIGN_RESPONSE:
            raise SshSigError("the ssh-agent refused to sign (confirmation declined or a "
                              "touch missed?)")
        inner = _Reader(answer.string())
        sig_type = inner.string().decode("ascii", "replace")
        return SshSignature(public_blob, namespace, hash_alg, sig_type, inner.string())


def _recv(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise OSError("the agent closed the connection")
        out += chunk
    return out
