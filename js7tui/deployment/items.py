"""The one serialisation of an inventory object into the item a Controller receives.

Deploying and exporting for signing both go through :func:`item_bytes`: the console serialises
an object once, and what is signed (here or outside) is exactly those bytes, which are then sent
as the signed item's ``string`` without ever being serialised again (reference 4.3). The item
is the stored JSON with ``TYPE`` first, ``path`` set to the object's name and ``versionId`` set
to the deployment's commit id (JOC sets it on workflows; js7tui sets it on job resources too,
so that an old signed job resource cannot be replayed under a new commit).
"""

from __future__ import annotations

import json
from typing import Any

from js7tui.inventory import InventoryObject


def item_document(obj: InventoryObject, version_id: str) -> dict[str, Any]:
    rest = {k: v for k, v in obj.content.items() if k not in ("TYPE", "path", "versionId")}
    return {"TYPE": obj.object_type.wire_type, "path": obj.name, "versionId": version_id,
            **rest}


def item_bytes(obj: InventoryObject, version_id: str) -> bytes:
    """UTF-8 JSON, indented so that whoever signs it outside can read what they sign."""
    text = json.dumps(item_document(obj, version_id), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def entry_name(obj: InventoryObject) -> str:
    """``folder/name.workflow.json``: the item's path without the leading '/' plus the type's
    extension (reference 4.4)."""
    return obj.path.relative + obj.object_type.extension
