"""The device-flow panel of the login screen: where to go, the code to enter, a QR code of the
link, when the code expires, what the provider said last, and how to cancel.

It only shows a device-flow prompt (``type == "device_code"``, see
``js7tui.identity.oidc.device``); the login screen polls and feeds it. The QR code is the text
the CLI prints (``js7tui.qr``), drawn for the theme's background so it reads dark on light.
The device handle in the prompt is never shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from js7tui.qr import qr_text


def expiry_text(value: object) -> str:
    """``HH:MM:SS UTC`` of an ISO time (UTC: the console's host and the person's phone may be
    in different zones; UTC is what both can compare)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.astimezone(UTC).strftime("%H:%M:%S UTC")


class DeviceFlowPanel(Vertical):
    DEFAULT_CSS = """
    DeviceFlowPanel {
        width: auto;
        height: auto;
        border: round $warning;
        padding: 0 1;
    }
    DeviceFlowPanel .device-row {
        width: auto;
        height: auto;
    }
    DeviceFlowPanel .device-text {
        width: 38;
        height: auto;
        padding-right: 2;
    }
    DeviceFlowPanel #device-qr {
        width: auto;
        height: auto;
    }
    DeviceFlowPanel #device-code {
        text-style: bold;
        color: $warning;
    }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(classes="device-row"):
            with Vertical(classes="device-text"):
                yield Label("Log in at the identity provider", classes="dialog-title")
                yield Static("", id="device-open")
                yield Static("", id="device-code")
                yield Static("", id="device-expires", classes="dim")
                yield Static("", id="device-status")
                yield Static("[b]esc[/b] cancel", classes="dialog-keys")
            yield Static("", id="device-qr")

    def show(self, interaction: dict[str, Any], message: str, *,
             dark_background: bool = True) -> None:
        uri = str(interaction.get("verification_uri") or "")
        complete = interaction.get("verification_uri_complete")
        service = interaction.get("service") or "the identity provider"
        self.query_one("#device-open", Static).update(
            f"Open [b]{escape(uri)}[/b]\n"
            + (f"(or scan the code) and log in to {escape(str(service))};\nthen enter"
               if complete else f"and log in to {escape(str(service))};\nthen enter"))
        self.query_one("#device-code", Static).update(escape(str(interaction.get("user_code"))))
        self.query_one("#device-expires", Static).update(
            f"the code expires at {expiry_text(interaction.get('expires_at'))}")
        self.update_status(message)
        self.query_one("#device-qr", Static).update(
            qr_text(str(complete or uri), dark_background=dark_background))

    def update_status(self, message: str) -> None:
        self.query_one("#device-status", Static).update(escape(message))
