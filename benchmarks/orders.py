"""What the Orders section costs per refresh, and how late follow mode sees a printed line.

What it measures
    1. One refresh of the order list (``console.orders.list``: the permission check in the
       store plus ``GET /api/order`` with every order's steps) with N orders on the Controller
       (default 1,000, the Controller's list limit); median and p95 of 30 refreshes. The
       screen does this once a second while shown.
    2. One follow read (``console.orders.output`` from the current offsets) of a running job,
       which the Controller forwards to the Agent: median and p95 of 50 reads.
    3. Follow latency: a job prints a line with its wall-clock time every 0.1 s; the reader
       asks from its offsets in a loop (as follow mode does every 0.5 s, here as fast as it
       can) and notes when each line arrives: median and max of (arrival - printed). The
       screen adds its 0.5 s poll interval on top of this.

Real parts only: ``js7tui controller serve`` / ``js7tui agent serve`` subprocesses over HTTPS
with client certificates (``tests/estate.py``), the console's real ``OrderService``.

Run: ``python benchmarks/orders.py [--orders N]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from js7tui.audit import AuditMeta
from tests.estate import CONSOLE_PASSWORD, running_estate, wait_attached, wait_for, workflow

PRINTER = "for i in $(seq 1 40); do echo \"$(date +%s.%N)\"; sleep 0.1; done"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_estate(Path(tmp)) as estate:
        console, admin = estate.console, estate.admin
        console.controllers.register(admin, "c1", estate.servers["controller-1"].url,
                                     "console", CONSOLE_PASSWORD, meta=AuditMeta())
        with estate.client() as client:
            client.deploy([estate.sign(workflow("noop", {"j": ("agent-1", "true")})),
                           estate.sign(workflow("printer", {"p": ("agent-1", PRINTER)}))])
            wait_attached(client, "noop")
            wait_attached(client, "printer")
            for start in range(0, args.orders, 200):
                client.add_orders([{"id": f"bulk-{i:05d}", "workflowPath": "noop",
                                    "arguments": {}}
                                   for i in range(start, min(start + 200, args.orders))])
            wait_for(lambda: not client.orders("running"), "the bulk orders ending", 300)

        times = []
        for _ in range(30):
            began = time.perf_counter()
            listed = console.orders.list(admin, "c1")
            times.append((time.perf_counter() - began) * 1000)
        print(f"list refresh with {len(listed)} orders: median {statistics.median(times):.1f} "
              f"ms, p95 {percentile(times, 0.95):.1f} ms")

        console.orders.add(admin, "c1", "printer", order_id="printer-1")
        wait_for(lambda: console.orders.output(admin, "c1", "printer-1", 0).live, "live")
        reads, delays = [], []
        offsets = (0, 0)
        pending = ""
        while True:
            began = time.perf_counter()
            piece = console.orders.output(admin, "c1", "printer-1", 0, stdout=offsets[0],
                                          stderr=offsets[1])
            now = time.time()
            if piece.live:
                reads.append((time.perf_counter() - began) * 1000)
            offsets = (piece.stdout_offset, piece.stderr_offset)
            *lines, pending = (pending + piece.stdout).split("\n")
            delays += [(now - float(line)) * 1000 for line in lines if line]
            if not piece.live and not piece.stdout:
                break
        print(f"follow read (live from the Agent): median {statistics.median(reads):.1f} ms, "
              f"p95 {percentile(reads, 0.95):.1f} ms over {len(reads)} reads")
        print(f"follow latency, printed -> read: median {statistics.median(delays):.1f} ms, "
              f"max {max(delays):.1f} ms over {len(delays)} lines (the screen polls every "
              "0.5 s on top)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
