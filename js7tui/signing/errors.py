"""The one refusal of signed items, with the JS7 problem code beside the readable reason."""

from __future__ import annotations

from js7tui.errors import Js7Error


class SignatureRefused(Js7Error):
    """A signed item that must not be applied. ``code`` is the JS7 problem code
    (``TamperedWithSignedMessage``, ``MessageSignedByUnknown``, ...); the message says why in
    words an administrator can act on."""

    exit_code = 2

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
