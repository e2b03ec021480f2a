"""Checking an ``UpdateItems`` request, the same way on the Controller and on the Agent.

Every operation is checked before anything is applied: each signed item's signature and signer
(:func:`js7tui.signing.verify_signed_item` with this server's own trust anchors), then its shape.
The first refusal answers the whole request (400, naming the operation and why), so the caller
applies all of it in one transaction or nothing.

Then, in the caller's transaction, :func:`check_versions`: a version id once accepted keeps its
content (JS7's rule: a change needs a new version id), refused with 409 ``VersionConflict``.
The Controller (against every version it holds) and the Agent (against what it holds) call the
same two functions; what each then does with the items is its own.

And :func:`check_order` (anti-rollback, issue 16): a new version of a path must carry a
``versionCreated`` later than the newest one accepted for that path (``item_order``, kept when
the item is deleted), else 409 ``VersionNotNewer``; at HIGH a version without it is refused
(``VersionOrderMissing``), at LOW and MEDIUM it is taken only for a path that never had an
ordered version (items signed outside js7tui, e.g. by JOC).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from js7tui.clock import to_iso
from js7tui.engine.problems import Problem
from js7tui.engine.shapes import ITEM_TYPES, Item, ShapeError, check_name, parse_item
from js7tui.signing import SignatureRefused, SignedItem, TrustedKeys, VerifiedItem
from js7tui.signing import verify_signed_item as verify

log = logging.getLogger("js7tui.engine.items")


@dataclass(frozen=True)
class Addition:
    verified: VerifiedItem
    item: Item

    @property
    def item_type(self) -> str:
        return self.item.TYPE

    @property
    def path(self) -> str:
        return self.item.path

    @property
    def version_id(self) -> str:
        return self.item.version_id or self.verified.digest[:16]

    @property
    def created(self) -> str | None:
        """``versionCreated`` normalised (ISO-8601 UTC, microseconds), None without it."""
        return version_created(self.verified.document)


def version_created(document: Mapping[str, Any]) -> str | None:
    value = document.get("versionCreated")
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ShapeError("versionCreated must be an ISO-8601 timestamp with a time zone")
    return to_iso(moment)


@dataclass(frozen=True)
class Deletion:
    item_type: str
    path: str


def verify_item(signed: SignedItem, trusted: TrustedKeys, now: datetime) -> Addition:
    verified = verify(signed, trusted, now=now)
    addition = Addition(verified, parse_item(verified.document))
    _ = addition.created  # a malformed versionCreated is refused with the item
    return addition


def check_update(body: object, trusted: TrustedKeys, now: datetime, *,
                 who: str) -> tuple[list[Addition], list[Deletion]]:
    """The verified additions and the deletions of an UpdateItems request, or a Problem."""
    if not isinstance(body, Mapping) or body.get("TYPE") != "UpdateItems":
        raise Problem(400, "InvalidRequest", "expected {\"TYPE\": \"UpdateItems\", "
                      "\"operations\": [...]}")
    operations = body.get("operations")
    if not isinstance(operations, list) or not operations:
        raise Problem(400, "InvalidRequest", "UpdateItems has no operations")
    trusted.refresh()
    additions: list[Addition] = []
    deletions: list[Deletion] = []
    seen: set[tuple[str, str]] = set()
    for index, operation in enumerate(operations, start=1):
        try:
            kind = operation.get("TYPE") if isinstance(operation, Mapping) else None
            if kind == "AddOrChangeSigned":
                addition = verify_item(SignedItem.from_wire(operation.get("signedString")),
                                       trusted, now)
                key = (addition.item_type, addition.path)
                additions.append(addition)
            elif kind == "DeleteItem":
                item_type = operation.get("itemType")
                if item_type not in ITEM_TYPES:
                    raise ShapeError(f"itemType must be one of {', '.join(ITEM_TYPES)}")
                key = (item_type, check_name(item_type, operation.get("path")))
                deletions.append(Deletion(*key))
            else:
                raise ShapeError(f"unknown operation {kind!r}: AddOrChangeSigned or DeleteItem")
            if key in seen:
                raise ShapeError(f"{key[0]} '{key[1]}' appears twice in this request")
            seen.add(key)
        except SignatureRefused as exc:
            log.warning("refused UpdateItems from %s: operation %d: %s", who, index, exc)
            raise Problem(400, exc.code, f"operation {index}: {exc}", operation=index) from None
        except ShapeError as exc:
            log.warning("refused UpdateItems from %s: operation %d: %s", who, index, exc)
            raise Problem(400, exc.code, f"operation {index}: {exc}", operation=index) from None
    return additions, deletions


def check_versions(additions: Sequence[Addition],
                   known_digest: Callable[[Addition], str | None], *, held_as: str,
                   advice: str = "") -> list[bool]:
    """The version rule: for each addition whether it is new (``known_digest`` gives the
    digest held for its type, path and version id, or None); the same version id with another
    content is refused, naming it as ``held_as`` (e.g. "was deployed before")."""
    fresh = []
    for addition in additions:
        digest = known_digest(addition)
        if digest is not None and digest != addition.verified.digest:
            raise Problem(409, "VersionConflict",
                          f"{addition.item_type} '{addition.path}' version "
                          f"{addition.version_id} {held_as} with other content{advice}")
        fresh.append(digest is None)
    return fresh


def check_order(additions: Sequence[Addition], fresh: Sequence[bool],
                newest: Callable[[Addition], str | None], level: str) -> list[Addition]:
    """The anti-rollback rule for the new versions (``fresh``) of a request: ``newest`` gives
    the newest ``versionCreated`` accepted for an addition's type and path (or None). Returns
    the additions whose order is to be recorded."""
    ordered = []
    for addition, new in zip(additions, fresh, strict=True):
        if not new:
            continue
        created, held = addition.created, newest(addition)
        what = f"{addition.item_type} '{addition.path}' version {addition.version_id}"
        if created is None:
            if level == "HIGH":
                raise Problem(409, "VersionOrderMissing",
                              f"{what} carries no versionCreated: at security level HIGH every "
                              "signed item must say, inside its signature, when it was made")
            if held is not None:
                raise Problem(409, "VersionNotNewer",
                              f"{what} carries no versionCreated, and a version created "
                              f"{held} was accepted for this path: it may be an older one")
            continue
        if held is not None and created <= held:
            raise Problem(409, "VersionNotNewer",
                          f"{what} was created {created}, not after {held}, the newest version "
                          "accepted for this path: an older version is never taken again; "
                          "export and sign it anew to deploy that content")
        ordered.append(addition)
    return ordered


def record_order(conn: Any, ordered: Sequence[Addition]) -> None:
    """Raise each path's newest ``versionCreated`` (the journal's ``item_order``)."""
    for addition in ordered:
        conn.execute(
            "INSERT INTO item_order (item_type, path, newest, version_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (item_type, path) DO UPDATE SET newest = excluded.newest, "
            "version_id = excluded.version_id WHERE excluded.newest > item_order.newest",
            (addition.item_type, addition.path, addition.created, addition.version_id))


def newest_order(conn: Any, addition: Addition) -> str | None:
    row = conn.execute("SELECT newest FROM item_order WHERE item_type = ? AND path = ?",
                       (addition.item_type, addition.path)).fetchone()
    return row[0] if row else None


def item_row(addition: Addition) -> dict[str, Any]:
    """The columns both journals keep for a signed item (the exact signed string)."""
    return {"item_type": addition.item_type, "path": addition.path,
            "version_id": addition.version_id, "signed_string": addition.verified.signed.string,
            "signature": json.dumps(dict(addition.verified.signed.signature)),
            "digest": addition.verified.digest, "signer": addition.verified.signer}


def signed_from_row(row: Mapping[str, Any]) -> SignedItem:
    return SignedItem(row["signed_string"], json.loads(row["signature"]))
