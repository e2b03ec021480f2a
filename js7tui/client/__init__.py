"""The console's client side of the Controller: ``controller`` (the httpx client and its
errors) and ``registry`` (registered Controllers in the store).

Names are loaded on first use so that opening the console does not import httpx before a
Controller is contacted.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"ControllerError", "ControllerUnreachable", "ControllerAnswerLost",
            "ControllerRefused", "answer", "Step", "Order", "Output", "DeployedItem",
            "AgentState", "ItemState", "ControllerClient"}


_ERRORS = {"ControllerError", "ControllerUnreachable", "ControllerAnswerLost",
           "ControllerRefused"}


def __getattr__(name: str) -> Any:
    if name in _ERRORS:
        return getattr(importlib.import_module("js7tui.client.errors"), name)
    if name in _EXPORTS:
        return getattr(importlib.import_module("js7tui.client.controller"), name)
    raise AttributeError(f"module 'js7tui.client' has no attribute {name!r}")
