"""The inventory section on a large inventory: how long opening folders and showing an object
take, in the app (headless ``run_test``, 120x40, logged in as root) and beside it the raw service
calls.

The inventory: ``--folders`` folders under /big, each with ``--objects`` workflows (written
through the inventory service, so every object is schema-checked and audited). Measured:
    1. key ``3`` until the tree's first level is shown;
    2. opening /big (right arrow) until its folders are listed;
    3. opening one folder with its objects;
    4. moving to an object until its detail (state, JSON) is shown;
    5. the service calls alone: ``inventory.folders('/big')``, ``inventory.list(folder)`` and
       ``deployments.status(object)``, best of 5.
No targets are asserted; the figures are printed.

Run: ``python benchmarks/inventory_tui.py [--folders N] [--objects M]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from js7tui.audit import AuditMeta
from js7tui.clock import FrozenClock
from js7tui.config import PasswordConfig
from js7tui.console import initialize
from js7tui.home import Home
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import LoginRequest
from js7tui.inventory import ObjectType
from js7tui.security_level import SecurityLevel
from js7tui.tui.app import make_app

PASSWORD = "root-password-1234"


def workflow(i: int) -> str:
    return json.dumps({"TYPE": "Workflow",
                       "instructions": [{"TYPE": "Execute.Named", "jobName": "job"}],
                       "jobs": {"job": {"agentPath": "agent-1", "executable": {
                           "TYPE": "ShellScriptExecutable",
                           "script": f"#!/bin/sh\necho {i}\n"}}}})


def best(fn, runs: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


async def until(pilot, condition, *keys: str, limit: float = 30.0) -> float:  # type: ignore[no-untyped-def]
    """Press ``keys``, then wait for ``condition``: ms from the first key to the condition."""
    start = time.perf_counter()
    if keys:
        await pilot.press(*keys)
    while not condition():
        await pilot.pause(0.001)
        if time.perf_counter() - start > limit:
            raise TimeoutError
    return (time.perf_counter() - start) * 1000


async def measure(console, folders: int, objects: int) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Static

    from js7tui.tui.screens.inventory import InventoryScreen
    app = make_app(console, env={"HOME": tempfile.mkdtemp()})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press(*"root")
        await pilot.press("enter")
        app.focused.value = PASSWORD  # type: ignore[union-attr]
        await pilot.press("enter")
        await until(pilot, lambda: app.current_mode != "login")
        opened = await until(pilot, lambda: isinstance(app.screen, InventoryScreen)
                             and len(app.screen.tree.root.children) > 0, "3")
        tree = app.screen.tree
        await pilot.press("down")
        big = tree.root.children[0]
        level = await until(pilot, lambda: len(big.children) == folders, "right")
        await pilot.press("down")
        first = big.children[0]
        folder = await until(pilot, lambda: len(first.children) == objects, "right")
        meta = app.screen.query_one("#inv-meta", Static)
        shown = await until(pilot, lambda: "state:" in str(meta.render()), "down")
        line = tree.cursor_line
        # the harness's own cost: a key that only moves the cursor, no worker
        baseline = await until(pilot, lambda: tree.cursor_line == line + 1, "down")
    print(f"key 3 to the tree's first level:   {opened:8.1f} ms")
    print(f"open /big ({folders} folders):        {level:8.1f} ms")
    print(f"open a folder ({objects} objects):     {folder:8.1f} ms")
    print(f"an object's detail shown:           {shown:8.1f} ms")
    print(f"baseline, a cursor move (no worker):{baseline:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=50)
    parser.add_argument("--objects", type=int, default=100)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp()) / "home"
    console = initialize(Home(home), SecurityLevel.LOW, clock=FrozenClock(),
                         hasher=PasswordHasher(PasswordConfig(argon2_time_cost=1,
                                                              argon2_memory_kib=8,
                                                              argon2_parallelism=1)))
    console.accounts.change_password(account="root", old="root", new=PASSWORD)
    root = console.login.login(LoginRequest("root", PASSWORD, "bench")).session
    assert root is not None
    start = time.perf_counter()
    meta = AuditMeta()
    for f in range(args.folders):
        for o in range(args.objects):
            console.inventory.create(root, ObjectType.WORKFLOW,
                                     f"/big/f{f:03}/w{f:03}_{o:04}", workflow(o), meta=meta)
    total = args.folders * args.objects
    print(f"inventory: {total} workflows in {args.folders} folders "
          f"(created in {time.perf_counter() - start:.1f} s)")
    inventory, deployments = console.inventory, console.deployments
    calls = {
        "folders('/big')": lambda: inventory.folders(root, "/big"),
        "list(one folder)": lambda: inventory.list(root, "/big/f000", recursive=False),
        "status(one object)": lambda: deployments.status(root, "/big/f000/w000_0000"),
    }
    for name, call in calls.items():
        print(f"service: {name:27}{best(call):8.1f} ms")
    asyncio.run(measure(console, args.folders, args.objects))


if __name__ == "__main__":
    main()
