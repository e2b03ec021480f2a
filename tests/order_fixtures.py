"""Workflows and Controller registrations for the order tests (domain and TUI)."""

from __future__ import annotations

from pathlib import Path

from js7tui.audit import AuditMeta
from js7tui.clock import FrozenClock
from js7tui.console import Console, initialize
from js7tui.home import Home
from js7tui.pki.keys import KeyType
from js7tui.security_level import SecurityLevel
from tests.conftest import ROOT_PASSWORD, cheap_hasher, login
from tests.estate import CONSOLE_PASSWORD, Estate, wait_attached, workflow

DEAD_URL = "https://127.0.0.1:9"  # nothing listens on the discard port: "unreachable"


def ticker(count: int) -> str:
    """A job printing a line on stdout and one on stderr every 0.2 s."""
    return (f"i=1; while [ $i -le {count} ]; do echo tick-$i; echo tock-$i >&2; sleep 0.2; "
            "i=$((i+1)); done")


WORKFLOWS = [
    workflow("say-hello", {"say": ("agent-1", 'echo "hello from $WHO"')},
             executable={"env": {"WHO": "$who"}}, defaultArguments={"who": "'js7tui'"}),
    workflow("sleepy", {"nap": ("agent-1", "echo napping; sleep 30")}),
    workflow("ticker", {"tick": ("agent-1", ticker(10))}),
    workflow("ticker-slow", {"tick": ("agent-1", ticker(20))}),
]


def prepare(estate: Estate) -> None:
    """Register the estate's Controller and a dead one; deploy the workflows (signed by the
    estate's signer, as an administrator's deployment would be)."""
    console, admin, meta = estate.console, estate.admin, AuditMeta()
    console.controllers.register(admin, "controller-1", estate.servers["controller-1"].url,
                                 "console", CONSOLE_PASSWORD, meta=meta)
    console.controllers.register(admin, "controller-down", DEAD_URL, "console",
                                 CONSOLE_PASSWORD, meta=meta)
    with estate.client() as client:
        client.deploy([estate.sign(f) for f in WORKFLOWS])
        for f in WORKFLOWS:
            wait_attached(client, f["path"])


def dead_controller_console(root: Path) -> Console:
    """A store-only home with its CA (so the console has a client certificate), root's
    password changed, and a Controller registered at a dead URL: the "unreachable" state."""
    console = initialize(Home(root), SecurityLevel.LOW, clock=FrozenClock(),
                         hasher=cheap_hasher(), ca_key_type=KeyType.EC_P256)
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    admin = login(console, "root", ROOT_PASSWORD)
    console.controllers.register(admin, "controller-down", DEAD_URL, "console", "hop-secret",
                                 meta=AuditMeta())
    return console
