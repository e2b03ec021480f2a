"""``audit verify`` with witnesses against the bare floor, on a home of ``audit_data.py``.

The floor: one process reads the same rows (``SELECT *`` in id order) and computes one SHA-256
per row. ``verify_chain`` then checks the chain, the ids and 1,000 witnesses (heads as a
Controller would have journalled them, read from the log beforehand), with one process and with
two. Target (issue 16): within 2x of the floor.

Run: ``python benchmarks/audit_data.py HOME --entries 1000000`` then
``python benchmarks/audit_verify.py HOME``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import time
from pathlib import Path

from js7tui.audit.verify import verify_chain
from js7tui.audit.witness import Witness


def floor(conn: sqlite3.Connection) -> int:
    count = 0
    for row in conn.execute("SELECT * FROM audit_log ORDER BY id"):
        hashlib.sha256("\x1f".join(map(str, row)).encode("utf-8")).digest()
        count += 1
    return count


def main(argv: list[str]) -> int:
    path = Path(argv[0]) / "js7tui.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    total = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    step = max(1, total // 1000)
    witnesses = [Witness("controller-1", i, h, i, "LOW", "0" * 64) for i, h in conn.execute(
        "SELECT id, hash FROM audit_log WHERE id % ? = 0", (step,))]
    started = time.perf_counter()
    rows = floor(conn)
    bare = time.perf_counter() - started
    print(f"floor (read {rows} rows + SHA-256, one process): {bare:.2f} s")
    for workers in (1, 2):
        started = time.perf_counter()
        report = verify_chain(conn, witnesses=witnesses, workers=workers)
        took = time.perf_counter() - started
        print(f"verify_chain, {len(witnesses)} witnesses, {workers} process(es): {took:.2f} s "
              f"= {took / bare:.2f}x the floor; {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
