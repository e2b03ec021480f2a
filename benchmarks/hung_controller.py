"""A second administrator's command latency while a deploy waits on a hung Controller, beside
the same commands with nothing running (issue 15).

What it measures
    The estate's real Controller (``js7tui controller serve``) is frozen with SIGSTOP. One
    administrator deploys a workflow to it in a thread (``[controllers] timeout_seconds`` 20 s:
    the deploy waits that long for the TLS handshake). Meanwhile a second administrator runs
    ``account list``, ``whoami`` and ``audit list --limit 20`` through the real CLI entry point
    (in this process, its own store connection, as a second terminal would), each ``--runs``
    times, alternating. The same commands are timed with nothing running, half of the runs
    before the deploy and half after it ended, so that drift of the machine meanwhile (other
    processes, caches) falls on both sides.

Target: every command's median while the deploy waits within 1.2x of its idle median.

Run: ``python benchmarks/hung_controller.py [--runs N]``
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from js7tui.audit import AuditMeta
from js7tui.inventory import ObjectType
from tests.conftest import ROOT_PASSWORD
from tests.estate import Estate, wait_for
from tests.test_cli import Cli

TARGET = 1.2
COMMANDS = (("account", "list"), ("whoami",), ("audit", "list", "--limit", "20"))


def timings(cli: Cli, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {" ".join(c): [] for c in COMMANDS}
    for _ in range(runs):
        for command in COMMANDS:
            start = time.perf_counter()
            code, _, err = cli(*command)
            out[" ".join(command)].append((time.perf_counter() - start) * 1000)
            assert code == 0, err
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="js7tui-hung-") as root:
        estate = Estate(Path(root))
        try:
            estate.start_all()
            estate.register()
            console, admin, meta = estate.console, estate.admin, AuditMeta()
            console.signing_keys.generate(admin, meta=meta)
            console.inventory.create_folder(admin, "/hung", meta=meta)
            console.inventory.create(admin, ObjectType.WORKFLOW, "/hung/w", (
                '{"TYPE": "Workflow", "instructions": [{"TYPE": "Execute.Named", "jobName": '
                '"j"}], "jobs": {"j": {"agentPath": "agent-1", "executable": {"TYPE": '
                '"ShellScriptExecutable", "script": "#!/bin/sh\\ntrue\\n"}}}}'), meta=meta)
            cli = Cli(Path(root) / "second")
            cli.env["JS7TUI_HOME"] = str(Path(root) / "home")
            assert cli("login", "--account", "root", "--password-stdin",
                       stdin=ROOT_PASSWORD + "\n")[0] == 0
            timings(cli, 3)  # warm caches
            idle = timings(cli, args.runs // 2)
            console.controllers.timeout = 20.0
            pid = estate.servers["controller-1"].process.pid
            os.kill(pid, signal.SIGSTOP)
            result: list[object] = []
            worker = threading.Thread(target=lambda: result.append(
                console.deployments.deploy(admin, ["/hung"], ["controller-1"], meta=meta)))
            worker.start()
            wait_for(lambda: console.store.conn.execute(
                "SELECT 1 FROM remote_targets WHERE state = 'SENDING'").fetchone(),
                "the deploy under way")
            started = time.perf_counter()
            busy = timings(cli, args.runs)
            spent = time.perf_counter() - started
            still_waiting = worker.is_alive()
            os.kill(pid, signal.SIGCONT)
            worker.join(60)
            for name, values in timings(cli, args.runs - args.runs // 2).items():
                idle[name] += values
            print(f"second administrator's commands, {args.runs} runs each, median ms "
                  f"(deploy to a SIGSTOPped Controller under way: {still_waiting}, for the "
                  f"{spent:.1f} s the busy runs took)")
            print(f"  {'command':<26} {'idle':>8} {'busy':>8} {'ratio':>7}")
            worst = 0.0
            for name in idle:
                a, b = statistics.median(idle[name]), statistics.median(busy[name])
                worst = max(worst, b / a)
                print(f"  {name:<26} {a:8.1f} {b:8.1f} {b / a:6.2f}x   (busy max "
                      f"{max(busy[name]):.0f} ms)")
            print(f"  worst ratio {worst:.2f}x (target <= {TARGET}x: "
                  f"{'met' if worst <= TARGET else 'MISSED'})")
            outcome = result[0].targets[0] if result else None  # type: ignore[attr-defined]
            print(f"  the deploy ended: {outcome.word if outcome else '?'}"
                  f" ({outcome.message[:80] if outcome else ''})")
        finally:
            estate.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
