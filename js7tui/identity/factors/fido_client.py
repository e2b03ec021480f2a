"""The client side of a FIDO login or registration at the host's keyboard: CTAP2 to the
security key through ``fido2``'s Fido2Client (USB HID, or any ``CtapDevice``). The answer is the
WebAuthn JSON the provider checks; over SSH, :mod:`js7tui.identity.factors.fido_page` gets the
same JSON from the laptop's browser instead."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlparse

from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap import CtapDevice

from js7tui.errors import ValidationError

DEFAULT_ORIGIN = "http://localhost"


def _same_host(rp_id: str, origin: str) -> bool:
    return urlparse(origin).hostname == rp_id


class _Say(UserInteraction):
    def __init__(self, say: Any) -> None:
        self.say = say

    def prompt_up(self) -> None:
        if self.say:
            self.say("touch the security key")

    def request_pin(self, permissions: Any, rp_id: Any) -> str | None:
        return None

    def request_uv(self, permissions: Any, rp_id: Any) -> bool:
        return True


def local_device() -> CtapDevice:
    """The first FIDO security key on this machine's USB."""
    try:
        from fido2.hid import CtapHidDevice
        found = next(iter(CtapHidDevice.list_devices()), None)
    except Exception as exc:  # no hidraw, no permission
        raise ValidationError(f"no security key can be reached here: {exc}") from None
    if found is None:
        raise ValidationError("no security key is plugged in here (over SSH: use the forwarded "
                              "page, --fido-page)")
    return found


def _client(device: CtapDevice, origin: str, say: Any) -> Fido2Client:
    return Fido2Client(device, DefaultClientDataCollector(origin, verify=_same_host),
                       user_interaction=_Say(say))


def assertion(prompt: dict[str, Any], device: CtapDevice | None = None, *,
              origin: str = DEFAULT_ORIGIN, say: Any = None,
              cancel: threading.Event | None = None) -> dict[str, Any]:
    client = _client(device or local_device(), origin, say)
    selection = client.get_assertion(prompt["options"], event=cancel)
    response = selection.get_response(0)
    return {"challenge": prompt["challenge"], "response": dict(response)}


def registration(prompt: dict[str, Any], device: CtapDevice | None = None, *,
                 origin: str = DEFAULT_ORIGIN, say: Any = None) -> dict[str, Any]:
    client = _client(device or local_device(), origin, say)
    response = client.make_credential(prompt["options"])
    return {"challenge": prompt["challenge"], "response": dict(response)}
