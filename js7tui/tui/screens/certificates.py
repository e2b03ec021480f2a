"""Section: Certificates (issue 7; being built)."""

from __future__ import annotations

from js7tui.tui.screens.placeholder import PlaceholderScreen


class CertificatesScreen(PlaceholderScreen):
    SECTION = "certificates"
    TEXT = "Certificates: this section is being built; the CLI has every action meanwhile."
