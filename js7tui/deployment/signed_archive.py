"""What a signed archive holds, sorted out entry by entry (reference 4.4), before any trust.

Each ``<path>.workflow.json`` / ``<path>.jobresource.json`` needs its signature beside it as
``<entry>.sig`` (X.509 signature, base64 or raw bytes, e.g. from ``openssl dgst -sign``); an
optional ``<entry>.pem`` carries the signer's certificate (and chain). ``meta_inf`` holds the
export's ``versionId``. Everything else is refused by name: unknown entries, PGP ``.asc``
signatures, signatures or certificates without their object, and objects without a signature.
The data files are *not* parsed here: that happens only after their signature has verified.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from js7tui.deployment.archive import ArchiveEntry, ArchiveRefused
from js7tui.errors import ValidationError
from js7tui.inventory import ObjectPath, ObjectType
from js7tui.inventory.joc import simple_item

META_INF = "meta_inf"
SIGNATURE_SUFFIX = ".sig"
CERTIFICATE_SUFFIX = ".pem"
MAX_SIGNATURE_BYTES = 16 * 1024
MAX_META_BYTES = 64 * 1024
_KNOWN = ("a workflow (<path>.workflow.json), a job resource (<path>.jobresource.json), their "
          "signature (.sig) or signer certificate (.pem), or meta_inf")


@dataclass(frozen=True)
class ArchivedObject:
    """One object of the archive with its signature; ``data`` are the exact signed bytes."""

    entry: str
    object_type: ObjectType
    path: ObjectPath
    data: bytes
    signature: bytes | None
    certificate_pem: bytes | None


@dataclass(frozen=True)
class SignedArchive:
    label: str
    objects: tuple[ArchivedObject, ...]
    meta: dict[str, Any]

    @property
    def version_id(self) -> str | None:
        value = self.meta.get("versionId")
        return value if isinstance(value, str) and value else None


def _object_entry(name: str) -> tuple[ObjectType, str] | None:
    for kind in ObjectType:
        if name.endswith(kind.extension) and len(name) > len(kind.extension):
            return kind, name[: -len(kind.extension)]
    return None


def decode_signature(data: bytes) -> bytes:
    """Base64 text (line breaks allowed, as ``openssl base64`` writes it) or raw bytes."""
    compact = b"".join(data.split())
    if compact:
        try:
            return base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            pass
    return data


def _meta(label: str, entry: ArchiveEntry) -> dict[str, Any]:
    if len(entry.data) > MAX_META_BYTES:
        raise ArchiveRefused(label, entry.name, f"meta_inf is larger than {MAX_META_BYTES} "
                                                "bytes")
    try:
        meta = json.loads(entry.data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ArchiveRefused(label, entry.name, "meta_inf is not JSON") from None
    if not isinstance(meta, dict):
        raise ArchiveRefused(label, entry.name, "meta_inf must be a JSON object")
    version = meta.get("versionId")
    if version is not None and (not isinstance(version, str) or not version.strip()):
        raise ArchiveRefused(label, entry.name, "meta_inf's versionId must be a non-empty text")
    return meta


def classify(label: str, entries: Sequence[ArchiveEntry], *,
             require_signatures: bool = True) -> SignedArchive:
    """Sort the entries into signed objects, or refuse the archive naming the first entry
    that does not belong."""
    data: dict[str, tuple[ObjectType, ObjectPath, bytes]] = {}
    signatures: dict[str, tuple[str, bytes]] = {}
    certificates: dict[str, tuple[str, bytes]] = {}
    named: dict[tuple[ObjectType, str], str] = {}
    meta: dict[str, Any] = {}
    for entry in entries:
        name = entry.name
        if name == META_INF:
            meta = _meta(label, entry)
            continue
        if name.endswith(".asc"):
            raise ArchiveRefused(label, name, "PGP signatures are not supported: sign with an "
                                              "X.509 key (openssl) and name the file .sig")
        for suffix, bucket in ((SIGNATURE_SUFFIX, signatures),
                               (CERTIFICATE_SUFFIX, certificates)):
            if name.endswith(suffix) and _object_entry(name[: -len(suffix)]):
                bucket[name[: -len(suffix)]] = (name, entry.data)
                break
        else:
            found = _object_entry(name)
            simple = simple_item(name[:-len(SIGNATURE_SUFFIX)] if name.endswith(
                SIGNATURE_SUFFIX) else name)
            if found is None and simple is not None:
                raise ArchiveRefused(label, name, f"it is {simple}: js7tui deploys workflows "
                                                  "and job resources only; take it out of the "
                                                  "archive (JOC deploys it itself)")
            if found is None:
                raise ArchiveRefused(label, name, f"unknown entry: it is not {_KNOWN}")
            kind, relative = found
            try:
                path = ObjectPath.parse("/" + relative)
            except ValidationError as exc:
                raise ArchiveRefused(label, name, f"not a valid object path ({exc})") from None
            twin = named.get((kind, path.name))  # one lookup: linear in the entries
            if twin is not None:
                raise ArchiveRefused(label, name, f"a second {kind.label} named '{path.name}' "
                                                  f"(also '{twin}'); a Controller knows items "
                                                  "by name")
            data[name] = (kind, path, entry.data)
            named[(kind, path.name)] = name
    for bucket, what in ((signatures, "signature"), (certificates, "certificate")):
        for target, (name, _) in sorted(bucket.items()):
            if target not in data:
                raise ArchiveRefused(label, name, f"a {what} for '{target}', which is not in "
                                                  "the archive")
    objects = []
    for name, (kind, path, content) in sorted(data.items()):
        signature = None
        if name in signatures:
            sig_name, raw = signatures[name]
            if not raw.strip() or len(raw) > MAX_SIGNATURE_BYTES:
                raise ArchiveRefused(label, sig_name, "the signature file is empty or larger "
                                                      f"than {MAX_SIGNATURE_BYTES} bytes")
            signature = decode_signature(raw)
        elif require_signatures:
            raise ArchiveRefused(label, name, f"unsigned: there is no '{name}.sig' beside it")
        pem = certificates.get(name, (None, None))[1]
        objects.append(ArchivedObject(name, kind, path, content, signature, pem))
    if not objects:
        raise ArchiveRefused(label, "", "it holds no workflow or job resource")
    return SignedArchive(label, tuple(objects), meta)
