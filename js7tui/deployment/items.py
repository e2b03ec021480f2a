"""The one serialisation of an inventory object into the item a Controller receives.

Deploying and exporting for signing both go through :func:`item_bytes`: the console serialises
an object once, and what is signed (here or outside) is exactly those bytes, which are then sent
as the signed item's ``string`` without ever being serialised again (reference 4.3). The item
is the stored JSON with ``TYPE`` first, ``path`` set to the object's name and ``versionId`` set
to the deployment's commit id (JOC sets it on workflows; js7tui sets it on job resources too,
so that an old signed job resource cannot be replayed under a new commit) and
``versionCreated`` (issue 16, anti-rollback): when the console made this version (deploy, or
export for signing), ISO-8601 UTC with microseconds. It is inside the signed bytes; the
Controller and the Agent refuse a version whose ``versionCreated`` is not later than the newest
they accepted for that path (``VersionNotNewer``), so deploying an old content on purpose means
exporting and signing it again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from js7tui.clock import to_iso
from js7tui.inventory import InventoryObject

VERSION_CREATED = "versionCreated"
#: What the console sets on every item it serialises; never part of an object's content.
ITEM_FIELDS = ("TYPE", "path", "versionId", VERSION_CREATED)


def next_created(conn: Any, now: datetime) -> str:
    """``versionCreated`` for a new version: now, but always after every version this console
    recorded (a clock set back, or a frozen one, never makes a new version look older)."""
    newest = conn.execute("SELECT max(version_created) FROM deployment_objects").fetchone()[0]
    moment = now.astimezone(UTC)
    if newest:
        moment = max(moment, datetime.fromisoformat(newest) + timedelta(microseconds=1))
    return to_iso(moment)


def content_of(document: dict[str, Any]) -> dict[str, Any]:
    """An item's inventory content: the item without the fields the console sets."""
    return {k: v for k, v in document.items() if k not in ITEM_FIELDS}


def item_document(obj: InventoryObject, version_id: str, created: str = "") -> dict[str, Any]:
    head: dict[str, Any] = {"TYPE": obj.object_type.wire_type, "path": obj.name,
                            "versionId": version_id}
    if created:
        head[VERSION_CREATED] = created
    return {**head, **content_of(obj.content)}


def item_bytes(obj: InventoryObject, version_id: str, created: str = "") -> bytes:
    """UTF-8 JSON, indented so that whoever signs it outside can read what they sign.
    ``created`` (``versionCreated``) is empty only for versions made before it existed."""
    text = json.dumps(item_document(obj, version_id, created), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def entry_name(obj: InventoryObject) -> str:
    """``folder/name.workflow.json``: the item's path without the leading '/' plus the type's
    extension (reference 4.4)."""
    return obj.path.relative + obj.object_type.extension
