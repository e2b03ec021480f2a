"""A home with a large, valid audit log, for the TUI benchmark and for trying the viewer by hand.

The entries are written in bulk (one transaction, ``executemany``) instead of through
``audit.append`` one by one, but each carries exactly the hash ``audit.append`` would give it, and
``audit_head`` is set to match, so ``js7tui audit verify`` passes on the result.

Run: ``python benchmarks/audit_data.py HOME [--entries N]`` (root's password is then
``root-password-1234``; log in with that).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from js7tui import audit
from js7tui.audit.log import AuditEntry
from js7tui.clock import FrozenClock, to_iso
from js7tui.config import PasswordConfig
from js7tui.console import Console, initialize
from js7tui.home import Home
from js7tui.identity.passwords import PasswordHasher
from js7tui.security_level import SecurityLevel

ROOT_PASSWORD = "root-password-1234"
ACCOUNTS = ["root", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan",
            "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor",
            "walter"]
CATEGORIES = [c.value for c in audit.Category if c is not audit.Category.UNKNOWN]
WEIGHTS = [30, 20, 10, 8, 15, 2, 3, 6, 4, 2]
FOLDERS = ["", "/", "/prod", "/prod/billing", "/prod/billing/eod", "/prod/hr", "/test",
           "/test/billing", "/dev", "/dev/sandbox"]
REQUESTS = {"INVENTORY": "./inventory/store", "CONTROLLER": "./orders/add",
            "DAILYPLAN": "./daily_plan/orders/generate", "OTHERS": "./utilities/other",
            "DEPLOYMENT": "./inventory/deployment/deploy", "DOCUMENTATIONS": "./documentations",
            "CERTIFICATES": "./ca/issue", "IDENTITY": "./iam/account/store",
            "SETTINGS": "./configuration/save", "MONITORING": "./monitoring/notification"}
START = datetime(2025, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=30)


def bench_hasher() -> PasswordHasher:
    return PasswordHasher(PasswordConfig(argon2_time_cost=1, argon2_memory_kib=8,
                                         argon2_parallelism=1))


def _entries(first_id: int, prev_hash: str, count: int, seed: int):
    rnd = random.Random(seed)
    for offset in range(count):
        entry_id = first_id + offset
        category = rnd.choices(CATEGORIES, WEIGHTS)[0]
        folder = rnd.choice(FOLDERS) if category in ("INVENTORY", "DEPLOYMENT",
                                                     "CONTROLLER", "DAILYPLAN") else ""
        name = f"job{entry_id % 997}"
        entry = AuditEntry(
            id=entry_id, created=to_iso(START + STEP * entry_id),
            account=rnd.choice(ACCOUNTS), request=REQUESTS[category], category=category,
            outcome="REFUSED" if rnd.random() < 0.01 else "OK",
            controller_id="controller" + str(rnd.randint(1, 3)) if folder else "",
            object_type="WORKFLOW" if folder else "",
            path=f"{folder.rstrip('/')}/{name}" if folder else "",
            folder=folder,
            comment=f"change #{entry_id} for ticket {entry_id % 500}" if rnd.random() < 0.2
            else "",
            ticket_link=f"https://tickets.example/{entry_id % 500}" if rnd.random() < 0.1
            else "",
            time_spent=rnd.randint(1, 90) if rnd.random() < 0.1 else None,
            parameters=json.dumps({"name": name, "version": entry_id % 13}, sort_keys=True),
            prev_hash=prev_hash,
        )
        digest = entry.compute_hash()
        yield (entry.id, entry.created, entry.account, entry.request, entry.category,
               entry.outcome, entry.controller_id, entry.object_type, entry.path, entry.folder,
               entry.comment, entry.ticket_link, entry.time_spent, entry.parameters,
               entry.commit_id, entry.prev_hash, digest)
        prev_hash = digest


def build_home(root: Path, entries: int, *, seed: int = 7) -> Console:
    """A LOW home whose root has changed its password, with ``entries`` more audit entries
    (created 30 s apart from 2025-01-01)."""
    clock = FrozenClock(START - STEP)  # init and the password change come first
    console = initialize(Home(root), SecurityLevel.LOW, clock=clock, hasher=bench_hasher())
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    with console.store.transaction() as conn:
        last_id, head_hash, count = conn.execute(
            "SELECT last_id, hash, entries FROM audit_head WHERE id = 1").fetchone()
        rows = list(_entries(last_id + 1, head_hash, entries, seed)) if entries else []
        conn.executemany(
            "INSERT INTO audit_log (id, created, account, request, category, outcome,"
            " controller_id, object_type, path, folder, comment, ticket_link, time_spent,"
            " parameters, commit_id, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows)
        if rows:
            conn.execute("UPDATE audit_head SET last_id = ?, hash = ?, entries = ? WHERE id = 1",
                         (rows[-1][0], rows[-1][-1], count + len(rows)))
    return console


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    console = build_home(args.home, args.entries)
    print(f"{args.home}: {args.entries} audit entries; root's password is {ROOT_PASSWORD}")
    console.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
