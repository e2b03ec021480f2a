"""Which deployed items an engine can no longer run: their signature checked again now, with the
current trust anchors and CRLs (a signer revoked after acceptance, an expired chain, a signer
no longer trusted). Used by the Controller's ``GET /api/item/revoked``; the Agent refuses such
an item's job at its start with the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from js7tui.engine.items import signed_from_row
from js7tui.signing import SignatureRefused, TrustedKeys, verify_signed_item
from js7tui.signing.revocation import REVOKED_CODE


def unrunnable_items(rows: Iterable[Mapping[str, Any]], trusted: TrustedKeys, now: datetime
                     ) -> list[dict[str, Any]]:
    """``[{TYPE, path, versionId, signer, revoked, code, reason}]`` of the current versions
    (``rows``: item_type, path, version_id, signed_string, signature, signer) that fail
    verification now (empty when all is well)."""
    trusted.refresh()
    found = []
    for row in rows:
        try:
            verify_signed_item(signed_from_row(row), trusted, now=now)
        except SignatureRefused as exc:
            found.append({"TYPE": row["item_type"], "path": row["path"],
                          "versionId": row["version_id"], "signer": row["signer"],
                          "revoked": exc.code == REVOKED_CODE, "code": exc.code,
                          "reason": str(exc)})
    return found
