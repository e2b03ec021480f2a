"""A software FIDO2 authenticator for the tests, after /work/shared/recipes/fido.

``SoftCtapDevice`` sits behind ``fido2``'s device interface (``CtapDevice``: CTAPHID CBOR
commands getInfo, makeCredential, getAssertion), so ``fido2``'s own Fido2Client drives it as it
would a USB key. ``SoftWebAuthn`` answers at the WebAuthn JSON level, as a browser does (the
forwarded page's POST). ES256 keys, 'none' attestation, UP always, UV as configured; counters
per credential, so a ``clone()`` (same keys, its own counter copy) shows a cloned key.
"""

from __future__ import annotations

import copy
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.cose import ES256
from fido2.ctap import CtapDevice, CtapError
from fido2.hid import CAPABILITY, CTAPHID
from fido2.utils import sha256, websafe_decode, websafe_encode

AAGUID = bytes.fromhex("6a7374756953656c6654657374303031")


class _Keys:
    def __init__(self, uv: bool = True) -> None:
        self.uv = uv
        self.creds: dict[bytes, list] = {}   # id -> [key, rp_id, user_id, counter]

    def flags(self, at: bool = False, uv: bool = True) -> int:
        return 0x01 | (0x04 if self.uv and uv else 0) | (0x40 if at else 0)

    def create(self, rp_id: str, user_id: bytes) -> tuple[bytes, bytes]:
        key, cid = ec.generate_private_key(ec.SECP256R1()), os.urandom(32)
        self.creds[cid] = [key, rp_id, user_id, 0]
        cose = cbor.encode(ES256.from_cryptography_key(key.public_key()))
        auth_data = (sha256(rp_id.encode()) + bytes([self.flags(at=True)]) + struct.pack(">I", 0)
                     + AAGUID + struct.pack(">H", len(cid)) + cid + cose)
        return cid, auth_data

    def sign(self, cid: bytes, rp_id: str, client_hash: bytes, uv: bool = True
             ) -> tuple[bytes, bytes]:
        entry = self.creds[cid]
        entry[3] += 1
        auth_data = sha256(rp_id.encode()) + bytes([self.flags(uv=uv)]) + struct.pack(">I",
                                                                                    entry[3])
        return auth_data, entry[0].sign(auth_data + client_hash, ec.ECDSA(hashes.SHA256()))

    def find(self, rp_id: str, allowed: list[bytes]) -> bytes | None:
        return next((c for c, e in self.creds.items()
                     if e[1] == rp_id and (not allowed or c in allowed)), None)


class SoftCtapDevice(CtapDevice):
    def __init__(self, uv: bool = True) -> None:
        self.keys = _Keys(uv)
        self.touches = 0

    @property
    def capabilities(self) -> int:
        return CAPABILITY.CBOR

    def clone(self) -> SoftCtapDevice:
        twin = SoftCtapDevice(self.keys.uv)
        twin.keys.creds = {c: [e[0], e[1], e[2], e[3]] for c, e in self.keys.creds.items()}
        return twin

    @classmethod
    def list_devices(cls):  # type: ignore[no-untyped-def]
        return iter(())

    def call(self, cmd, data=b"", event=None, on_keepalive=None):  # type: ignore[no-untyped-def]
        if cmd != CTAPHID.CBOR:
            raise CtapError(CtapError.ERR.INVALID_COMMAND)
        command, args = data[0], (cbor.decode(data[1:]) if len(data) > 1 else {})
        try:
            answer = {0x04: self._info, 0x01: self._make, 0x02: self._get}[command](args)
        except CtapError as exc:
            return bytes([exc.code])
        except KeyError:
            return bytes([CtapError.ERR.INVALID_COMMAND])
        return b"\x00" + cbor.encode(answer)

    def _info(self, args: dict) -> dict:
        options = {"rk": True, "up": True, "plat": False}
        if self.keys.uv:
            options["uv"] = True   # built-in user verification (a PIN pad, a fingerprint)
        return {1: ["FIDO_2_0"], 3: AAGUID, 4: options, 6: [2, 1]}

    def _make(self, args: dict) -> dict:
        if {"type": "public-key", "alg": -7} not in args[4]:
            raise CtapError(CtapError.ERR.UNSUPPORTED_ALGORITHM)
        rp_id = args[2]["id"]
        for excluded in args.get(5, []):
            if excluded["id"] in self.keys.creds:
                raise CtapError(CtapError.ERR.CREDENTIAL_EXCLUDED)
        self.touches += 1
        _, auth_data = self.keys.create(rp_id, args[3]["id"])
        return {1: "none", 2: auth_data, 3: {}}

    def _get(self, args: dict) -> dict:
        rp_id, client_hash = args[1], args[2]
        allowed = [c["id"] for c in args.get(3, [])]
        cid = self.keys.find(rp_id, allowed)
        if cid is None:
            raise CtapError(CtapError.ERR.NO_CREDENTIALS)
        options = args.get(5, {})
        if options.get("up", True):
            self.touches += 1
        auth_data, signature = self.keys.sign(cid, rp_id, client_hash, uv=options.get("uv", False)
                                              or self.keys.uv)
        if not options.get("up", True):
            auth_data = auth_data[:32] + bytes([auth_data[32] & ~0x01]) + auth_data[33:]
        answer = {1: {"type": "public-key", "id": cid}, 2: auth_data, 3: signature}
        if not allowed:
            answer[4] = {"id": self.keys.creds[cid][2]}
        return answer


class SoftWebAuthn:
    """What a browser with a security key answers to ``navigator.credentials``."""

    def __init__(self, uv: bool = True) -> None:
        self.keys = _Keys(uv)

    def clone(self) -> SoftWebAuthn:
        twin = SoftWebAuthn(self.keys.uv)
        twin.keys.creds = copy.copy({c: list(e) for c, e in self.keys.creds.items()})
        return twin

    def create(self, options: dict, origin: str) -> dict:
        cd = json.dumps({"type": "webauthn.create", "challenge": options["challenge"],
                         "origin": origin}).encode()
        cid, auth_data = self.keys.create(options["rp"]["id"],
                                          websafe_decode(options["user"]["id"]))
        ao = cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": websafe_encode(cid), "rawId": websafe_encode(cid), "type": "public-key",
                "response": {"clientDataJSON": websafe_encode(cd),
                             "attestationObject": websafe_encode(ao)}}

    def get(self, options: dict, origin: str) -> dict:
        allowed = [websafe_decode(c["id"]) for c in options.get("allowCredentials", [])]
        cid = self.keys.find(options["rpId"], allowed)
        assert cid is not None, "no credential for this RP"
        cd = json.dumps({"type": "webauthn.get", "challenge": options["challenge"],
                         "origin": origin}).encode()
        auth_data, sig = self.keys.sign(cid, options["rpId"], sha256(cd))
        return {"id": websafe_encode(cid), "rawId": websafe_encode(cid), "type": "public-key",
                "response": {"clientDataJSON": websafe_encode(cd),
                             "authenticatorData": websafe_encode(auth_data),
                             "signature": websafe_encode(sig),
                             "userHandle": websafe_encode(self.keys.creds[cid][2])}}
