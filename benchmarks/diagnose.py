"""How long the connection test and the dashboard's pieces take, on loopback.

What it measures (median of N runs each)
    1. ``ControllerService.diagnose`` of a running Controller: every step (URL, DNS, TCP, TLS
       handshake with the console's certificate, server certificate chain, DN, mutual TLS,
       login, health), i.e. three TLS connections and a hop login.
    2. The same for a Controller that is down (TCP refused) and for one that accepts TCP but
       never answers TLS (the probe timeout, 3 s by default, is what it costs).
    3. ``Overview.summary``: the dashboard's store read (Controllers, expiring certificates,
       failed logins and refused deployments of 24 h, latest entries).

Real parts only: the Controller and Agent are ``js7tui controller|agent serve`` subprocesses
over HTTPS with client certificates (tests/estate.py).

Run: ``python benchmarks/diagnose.py [--runs N]``
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from js7tui.audit import AuditMeta
from js7tui.client.registry import PROBE_TIMEOUT
from js7tui.demo import free_port
from js7tui.overview import Overview
from tests.conftest import ROOT_PASSWORD, login
from tests.estate import CONSOLE_PASSWORD, running_estate


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_estate(Path(tmp)) as estate, \
            socket.socket() as silent:
        console, meta = estate.console, AuditMeta()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        register = console.controllers.register
        register(estate.admin, "up", estate.servers["controller-1"].url, "console",
                 CONSOLE_PASSWORD, meta=meta)
        register(estate.admin, "down", f"https://127.0.0.1:{free_port()}", "console",
                 CONSOLE_PASSWORD, meta=meta)
        register(estate.admin, "silent", f"https://127.0.0.1:{silent.getsockname()[1]}",
                 "console", CONSOLE_PASSWORD, meta=meta)
        admin = login(console, "root", ROOT_PASSWORD)
        services = console.controllers
        assert services.diagnose(admin, "up").ok
        print(f"diagnose, running Controller (9 steps): "
              f"{median_ms(lambda: services.diagnose(admin, 'up'), args.runs):.1f} ms")
        print(f"diagnose, Controller down (stops at TCP): "
              f"{median_ms(lambda: services.diagnose(admin, 'down'), args.runs):.1f} ms")
        silent_ms = median_ms(lambda: services.status(admin, "silent"), 3)
        print(f"dashboard probe, accepts TCP but never TLS: {silent_ms:.0f} ms "
              f"(timeout {PROBE_TIMEOUT:g} s)")
        overview = Overview(console)
        print(f"dashboard summary (store read): "
              f"{median_ms(lambda: overview.summary(admin), args.runs):.1f} ms")


if __name__ == "__main__":
    main()
