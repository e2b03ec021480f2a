"""Workflows and Controller registrations for the order tests (domain and TUI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from js7tui.audit import AuditMeta
from js7tui.client.controller import Order, Output, Step
from js7tui.clock import FrozenClock
from js7tui.console import Console, initialize
from js7tui.engine.shapes import output_slice
from js7tui.home import Home
from js7tui.pki.keys import KeyType
from js7tui.security_level import SecurityLevel
from tests.conftest import ROOT_PASSWORD, cheap_hasher, login
from tests.estate import Estate, wait_attached, workflow

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
    estate.register(dead="controller-down", dead_url=DEAD_URL)
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


# -- fixed data for the screens (snapshots): what console.orders would answer ----------------
def at(minute: int, second: int = 0) -> str:
    return f"2026-01-15T08:{minute:02d}:{second:02d}.000000+00:00"


def step(position: int, job: str, agent: str, state: str, rc: int | None = None, *,
         message: str = "", stdout: str = "", stderr: str = "") -> Step:
    return Step(position, job, agent, state, rc, message, at(position), None, None,
                stdout, stderr)


ORDERS = [
    Order("daily-report-7f3a", "daily-report", "v3", "running", "", at(10), {}, (
        step(0, "extract", "agent-1", "succeeded", 0,
             stdout="connecting to warehouse\nextracted 1204 rows\n",
             stderr="warning: 3 rows without customer id\n"),
        step(1, "load", "agent-2", "running",
             stdout="loading batch 1/4\nloading batch 2/4\n")), 1, at(10, 5)),
    Order("hello-0001", "hello", "v1", "running", "", at(9), {},
          (step(0, "say", "agent-1", "ready"),), 0, at(9)),
    Order("cleanup-42", "cleanup", "v2", "failed",
          "job 'purge' on Agent 'agent-1' failed: return code 2", at(7), {},
          (step(0, "purge", "agent-1", "failed", 2, message="return code 2",
                stderr="rm: cannot remove '/data/tmp/lock': Permission denied\n"),),
          0, at(7, 2)),
    Order("sleepy-9c1d", "sleepy", "v1", "cancelled", "cancelled", at(5), {},
          (step(0, "nap", "agent-1", "killed", -15, stdout="napping\n"),), 0, at(6)),
    Order("backup-nightly-1", "backup", "v5", "finished", "", at(1), {},
          (step(0, "dump", "agent-1", "succeeded", 0, stdout="dumped 3 databases\n"),
           step(1, "ship", "agent-2", "succeeded", 0, stdout="shipped 2.1 GB\n")),
          1, at(4, 30)),
]


class FixedOrders:
    """``console.orders`` answered from fixed data (what the screen calls, nothing more)."""

    def controllers_for(self, session: Any) -> list[str]:
        return ["controller-1", "controller-2"]

    def list(self, session: Any, controller: str) -> list[Order]:
        return ORDERS

    def show(self, session: Any, controller: str, order_id: str) -> Order:
        return next(o for o in ORDERS if o.id == order_id)

    def workflows(self, session: Any, controller: str) -> list[str]:
        return ["backup", "cleanup", "daily-report", "hello", "sleepy"]

    def output(self, session: Any, controller: str, order_id: str, position: int, *,
               stdout: int = 0, stderr: int = 0) -> Output:
        order = self.show(session, controller, order_id)
        s = order.steps[position]
        out, out_at = output_slice(s.stdout.encode(), stdout)
        err, err_at = output_slice(s.stderr.encode(), stderr)
        return Output(order.id, order.state, position, s.job_name, s.agent, s.state, out, err,
                      out_at, err_at)
