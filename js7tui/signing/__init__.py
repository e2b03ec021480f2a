"""Signed items: signing exact bytes (console) and THE one verification (console import,
Controller, Agent). See :mod:`js7tui.signing.items`."""

from js7tui.signing.algorithms import Algorithm
from js7tui.signing.errors import SignatureRefused
from js7tui.signing.items import (
    SignedItem,
    VerifiedItem,
    sign_bytes,
    sign_item,
    verify_signed_item,
)
from js7tui.signing.revocation import CrlSet
from js7tui.signing.trust import TrustedKeys

__all__ = [
    "Algorithm",
    "CrlSet",
    "SignatureRefused",
    "SignedItem",
    "TrustedKeys",
    "VerifiedItem",
    "sign_bytes",
    "sign_item",
    "verify_signed_item",
]
