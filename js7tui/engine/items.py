"""Checking an ``UpdateItems`` request, the same way on the Controller and on the Agent.

Every operation is checked before anything is applied: each signed item's signature and signer
(:func:`js7tui.signing.verify_signed_item` with this server's own trust anchors), then its shape.
The first refusal answers the whole request (400, naming the operation and why), so the caller
applies all of it in one transaction or nothing.

Then, in the caller's transaction, :func:`check_versions`: a version id once accepted keeps its
content (JS7's rule: a change needs a new version id), refused with 409 ``VersionConflict``.
The Controller (against every version it holds) and the Agent (against what it holds) call the
same two functions; what each then does with the items is its own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


@dataclass(frozen=True)
class Deletion:
    item_type: str
    path: str


def verify_item(signed: SignedItem, trusted: TrustedKeys, now: datetime) -> Addition:
    verified = verify(signed, trusted, now=now)
    return Addition(verified, parse_item(verified.document))


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


def item_row(addition: Addition) -> dict[str, Any]:
    """The columns both journals keep for a signed item (the exact signed string)."""
    return {"item_type": addition.item_type, "path": addition.path,
            "version_id": addition.version_id, "signed_string": addition.verified.signed.string,
            "signature": json.dumps(dict(addition.verified.signed.signature)),
            "digest": addition.verified.digest, "signer": addition.verified.signer}


def signed_from_row(row: Mapping[str, Any]) -> SignedItem:
    return SignedItem(row["signed_string"], json.loads(row["signature"]))
