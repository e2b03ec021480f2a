"""Encrypted values for one Agent's encipherment certificate (issue 21); ``cryptography`` only.

Our format (authenticated, the default)::

    js7tui-enc:v1:<scheme>:<fingerprint>:<b64url wrapped key>:<b64url nonce>:<b64url ciphertext>

* a fresh 256-bit content key per value; the value is AES-256-GCM under it (the tag is the
  ciphertext's last 16 bytes);
* ``scheme`` ``rsa-oaep-256``: the content key wrapped with RSA-OAEP (MGF1 and hash SHA-256);
  ``ecdh-hkdf-256``: an ephemeral key on the recipient's curve, ECDH, HKDF-SHA256 to a key
  encryption key, the content key wrapped with AES key wrap (RFC 3394); the wrapped field is
  the ephemeral public point (X9.62 uncompressed) followed by the wrapped key;
* ``fingerprint``: SHA-256 of the recipient certificate's DER, hex; the Agent picks its key
  by it;
* the associated data is ``js7tui-enc:v1|<scheme>|<fingerprint>|<binding>``: the binding names
  the variable the value is for (see :func:`binding`), so a value moved to another variable,
  another object or another certificate does not decrypt. The binding is not written into
  the value: the Agent derives it from where the value sits.

JS7's format (read only, unauthenticated: reference 8.1)::

    enc:<b64 RSA PKCS#1 v1.5 wrapped AES key> <b64 IV> <b64 AES-CBC/PKCS#5 ciphertext>

Nothing authenticates it: a changed ciphertext decrypts to other bytes or fails the padding.
The console warns wherever it shows one; :func:`encrypt_js7` exists for tests and migration.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from js7tui.errors import ValidationError

PREFIX = "js7tui-enc:v1:"
JS7_PREFIX = "enc:"
RSA_OAEP = "rsa-oaep-256"
ECDH_HKDF = "ecdh-hkdf-256"
SCHEMES = (RSA_OAEP, ECDH_HKDF)
MAX_VALUE_BYTES = 64 * 1024
_B64URL = r"[A-Za-z0-9_-]+"
_OURS = re.compile(rf"^js7tui-enc:v1:({RSA_OAEP}|{ECDH_HKDF}):([0-9a-f]{{64}}):({_B64URL}):"
                   rf"({_B64URL}):({_B64URL})$")
_B64 = r"[A-Za-z0-9+/]+={0,2}"
_JS7 = re.compile(rf"^enc:({_B64}) ({_B64}) ({_B64})$")
_BINDING_PART = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_HKDF_INFO = b"js7tui-enc:v1 key encryption key"


class DecryptionRefused(ValidationError):
    """A value that cannot be decrypted here; the message names the reason, never the value."""


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def kind_of(text: object) -> str | None:
    """``"js7tui"`` for our format, ``"js7"`` for JS7's ``enc:``, else None (a plain value)."""
    if not isinstance(text, str):
        return None
    if text.startswith(PREFIX):
        return "js7tui"
    if _JS7.match(text):
        return "js7"
    return None


def looks_encrypted(text: object) -> bool:
    """Also true for a damaged value of ours (so it is refused rather than used as clear)."""
    return isinstance(text, str) and (text.startswith(PREFIX) or _JS7.match(text) is not None)


# -- bindings ---------------------------------------------------------------------------
def binding(kind: str, *parts: str) -> str:
    """The variable a value is for, as the Agent names it:

    * ``jobresource:<path>:<variable>`` (a job resource's variable),
    * ``jobresource:<path>:env:<NAME>`` (a job resource's environment variable),
    * ``workflow:<path>:<job>:env:<NAME>`` (a job's environment variable),
    * ``workflow:<path>:<job>:arg:<name>`` (a job's default argument),
    * ``order:<workflow>:<name>`` (an order argument).
    """
    shapes = {"jobresource": (2, 3), "workflow": (4,), "order": (2,)}
    if kind not in shapes or len(parts) not in shapes[kind] or not all(
            _BINDING_PART.match(p) for p in parts):
        raise ValidationError(f"'{':'.join((kind, *parts))}' names no variable; write "
                              "jobresource:PATH:VARIABLE, jobresource:PATH:env:NAME, "
                              "workflow:PATH:JOB:env:NAME, workflow:PATH:JOB:arg:NAME or "
                              "order:WORKFLOW:NAME")
    if kind == "jobresource" and len(parts) == 3 and parts[1] != "env":
        raise ValidationError("a job resource binding is jobresource:PATH:VARIABLE or "
                              "jobresource:PATH:env:NAME")
    if kind == "workflow" and parts[2] not in ("env", "arg"):
        raise ValidationError("a workflow binding is workflow:PATH:JOB:env:NAME or "
                              "workflow:PATH:JOB:arg:NAME")
    return ":".join((kind, *parts))


def parse_binding(text: str) -> str:
    kind, *parts = text.strip().split(":")
    return binding(kind, *parts)


def _aad(scheme: str, fp: str, bound_to: str) -> bytes:
    return f"js7tui-enc:v1|{scheme}|{fp}|{bound_to}".encode()


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(shared: bytes, ephemeral: bytes, fp: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral,
                info=_HKDF_INFO + b"|" + fp.encode()).derive(shared)


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


def _point_size(curve: ec.EllipticCurve) -> int:
    return 1 + 2 * ((curve.key_size + 7) // 8)


def _oaep() -> asym_padding.OAEP:
    return asym_padding.OAEP(mgf=asym_padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                             label=None)


# -- ours -------------------------------------------------------------------------------
def encrypt(plaintext: str, cert: x509.Certificate, bound_to: str) -> str:
    data = plaintext.encode("utf-8")
    if len(data) > MAX_VALUE_BYTES:
        raise ValidationError(f"a value to encrypt holds at most {MAX_VALUE_BYTES} bytes")
    fp = fingerprint(cert)
    public = cert.public_key()
    content_key = AESGCM.generate_key(256)
    if isinstance(public, rsa.RSAPublicKey):
        scheme, wrapped = RSA_OAEP, public.encrypt(content_key, _oaep())
    elif isinstance(public, ec.EllipticCurvePublicKey):
        ephemeral = ec.generate_private_key(public.curve)
        point = _point(ephemeral.public_key())
        kek = _hkdf(ephemeral.exchange(ec.ECDH(), public), point, fp)
        scheme, wrapped = ECDH_HKDF, point + aes_key_wrap(kek, content_key)
    else:
        raise ValidationError("an encipherment certificate holds an RSA or EC key")
    nonce = os.urandom(12)
    sealed = AESGCM(content_key).encrypt(nonce, data, _aad(scheme, fp, bound_to))
    return f"{PREFIX}{scheme}:{fp}:{_b64e(wrapped)}:{_b64e(nonce)}:{_b64e(sealed)}"


@dataclass(frozen=True)
class Envelope:
    scheme: str
    fingerprint: str
    wrapped: bytes
    nonce: bytes
    sealed: bytes


def parse(text: str) -> Envelope:
    match = _OURS.match(text)
    if match is None:
        raise DecryptionRefused("the value is damaged: it is not in the format "
                                "js7tui-enc:v1:SCHEME:FINGERPRINT:KEY:NONCE:CIPHERTEXT")
    try:
        wrapped, nonce, sealed = (_b64d(match.group(i)) for i in (3, 4, 5))
    except (binascii.Error, ValueError):
        raise DecryptionRefused("the value is damaged (bad base64)") from None
    if len(nonce) != 12 or len(sealed) < 16:
        raise DecryptionRefused("the value is damaged (nonce or tag)")
    return Envelope(match.group(1), match.group(2), wrapped, nonce, sealed)


def decrypt(envelope: Envelope, key: object, bound_to: str) -> str:
    """The clear text, or DecryptionRefused (tampered, moved, wrong key), never both."""
    refused = DecryptionRefused("the value does not decrypt: it was changed, or it is not for "
                                "this variable or this certificate")
    try:
        if envelope.scheme == RSA_OAEP:
            if not isinstance(key, rsa.RSAPrivateKey):
                raise refused
            content_key = key.decrypt(envelope.wrapped, _oaep())
        else:
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise refused
            size = _point_size(key.curve)
            point, wrapped = envelope.wrapped[:size], envelope.wrapped[size:]
            ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(key.curve, point)
            kek = _hkdf(key.exchange(ec.ECDH(), ephemeral), point, envelope.fingerprint)
            content_key = aes_key_unwrap(kek, wrapped)
        if len(content_key) != 32:
            raise refused
        data = AESGCM(content_key).decrypt(
            envelope.nonce, envelope.sealed,
            _aad(envelope.scheme, envelope.fingerprint, bound_to))
        return data.decode("utf-8")
    except (InvalidTag, InvalidUnwrap, ValueError, UnicodeDecodeError):
        raise refused from None


# -- JS7's enc: (read; unauthenticated) --------------------------------------------------
JS7_WARNING = ("JS7's enc: format is not authenticated (AES-CBC without a MAC, RSA PKCS#1 "
               "v1.5): a changed value is not reliably detected, and it is not bound to its "
               "variable; encrypt it again in the js7tui-enc:v1 format")


def encrypt_js7(plaintext: str, cert: x509.Certificate) -> str:
    """JS7's ``EncryptImpl`` for an RSA certificate: AES-128-CBC, the key in PKCS#1 v1.5."""
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValidationError("JS7's enc: format is written here for RSA certificates only "
                              "(JS7's ECIES is not supported)")
    key, iv = os.urandom(16), os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    body = encryptor.update(data) + encryptor.finalize()
    wrapped = public.encrypt(key, asym_padding.PKCS1v15())
    return "enc:" + " ".join(base64.b64encode(p).decode("ascii") for p in (wrapped, iv, body))


def decrypt_js7(text: str, keys: list[object]) -> str:
    """Try each RSA key held (JS7's values name no certificate)."""
    match = _JS7.match(text.strip())
    if match is None:
        raise DecryptionRefused("the value is not in JS7's enc: format")
    try:
        wrapped, iv, body = (base64.b64decode(match.group(i), validate=True) for i in (1, 2, 3))
    except (binascii.Error, ValueError):
        raise DecryptionRefused("the enc: value is damaged (bad base64)") from None
    if len(iv) != 16 or not body or len(body) % 16:
        raise DecryptionRefused("the enc: value is damaged (IV or ciphertext length)")
    rsa_keys = [k for k in keys if isinstance(k, rsa.RSAPrivateKey)]
    if not rsa_keys:
        raise DecryptionRefused("the enc: value needs an RSA encipherment key and this Agent "
                                "holds none (JS7's ECIES values are not supported)")
    for key in rsa_keys:
        try:
            content_key = key.decrypt(wrapped, asym_padding.PKCS1v15())
            if len(content_key) not in (16, 24, 32):
                continue
            decryptor = Cipher(algorithms.AES(content_key), modes.CBC(iv)).decryptor()
            unpadder = padding.PKCS7(128).unpadder()
            data = unpadder.update(decryptor.update(body) + decryptor.finalize())
            return (data + unpadder.finalize()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
    raise DecryptionRefused("the enc: value does not decrypt with any encipherment key this "
                            "Agent holds")
