"""The store against what the witnesses and the engines hold (issue 16, item 5).

Anyone who can write ``js7tui.db`` can drop the trigger that keeps the security level from
going down, or change the schema; the store alone cannot tell. The Controllers can: each
journals the audit heads the console sent (with the level and the schema digest of the store
at that time, js7tui.audit.witness) and runs at the level its bundle gave it, which it never
lowers (``GET /api`` reports it). :func:`check` asks every registered Controller for both,
with a short timeout and never inside a store transaction, and compares them with the store
now. Each difference is a finding with a sentence saying what differs and what it means; a
Controller that does not answer is said too, never taken as agreement. ``js7tui status``
prints them and ``js7tui doctor`` counts them with its other findings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

from js7tui.audit.witness import Witness, chain_head
from js7tui.findings import Finding, problem, warning
from js7tui.security_level import SecurityLevel

TIMEOUT = 2.0  # seconds per request to a Controller


def _rank(level: str) -> int | None:
    try:
        return SecurityLevel.parse(level).rank
    except Exception:
        return None


def compare(controller_id: str, head: dict[str, Any], engine_level: str | None,
            witnesses: Sequence[Witness]) -> list[Finding]:
    """The findings for one Controller that answered: its level and its witnesses against
    the store's head now (``chain_head``)."""
    found: list[Finding] = []
    level = str(head["securityLevel"])
    name = f"Controller '{controller_id}'"
    store_rank = _rank(level)
    if engine_level is None:
        found.append(warning(f"{name} did not report its security level: the store's level "
                             f"{level} was not compared with it"))
    elif engine_level != level:
        engine_rank = _rank(engine_level)
        if store_rank is not None and engine_rank is not None and store_rank < engine_rank:
            found.append(problem(
                f"the store's security level is {level} but {name} runs at {engine_level}: "
                "the store was lowered outside js7tui (js7tui only ever raises a level); the "
                f"Controller still refuses what {engine_level} forbids"))
        else:
            found.append(warning(
                f"the store's security level is {level} but {name} runs at {engine_level}: "
                "its bundle is older than the raise; make and install a new one (js7tui cert "
                f"bundle controller {controller_id})"))
    if not witnesses:
        found.append(warning(
            f"{name} holds no witness of this installation's audit log yet: the store's "
            "schema and level were not compared with one (js7tui audit witness sends one)"))
        return found
    ordered = sorted(witnesses, key=lambda w: (w.audit_id, w.received))
    latest = ordered[-1]
    at = f"at audit entry {latest.audit_id}"
    witnessed_rank = _rank(latest.security_level)
    if (store_rank is not None and witnessed_rank is not None
            and store_rank < witnessed_rank):
        found.append(problem(
            f"the store's security level is {level} but {name} witnessed "
            f"{latest.security_level} {at}: the store was lowered outside js7tui"))
    for before, after in pairwise(ordered):
        a, b = _rank(before.security_level), _rank(after.security_level)
        if a is not None and b is not None and b < a:
            found.append(problem(
                f"{name} witnessed the security level go down from {before.security_level} "
                f"to {after.security_level} at audit entry {after.audit_id}: js7tui never "
                "lowers a level, so the store was lowered outside js7tui then"))
            break
    if latest.schema_digest != head["schemaDigest"]:
        found.append(problem(
            f"the store's schema (its tables, indexes and triggers) differs from the one "
            f"{name} witnessed {at}: it was changed outside js7tui (a trigger dropped or "
            "added by SQL), unless this js7tui was upgraded since and no change was sent "
            "yet (js7tui audit witness sends the head now)"))
    if latest.audit_id > int(head["auditId"]):
        found.append(problem(
            f"{name} witnessed audit entry {latest.audit_id} but the store's audit log ends "
            f"at {head['auditId']}: entries were removed from the store (js7tui audit "
            "verify)"))
    return found


def _witnesses(controller_id: str, answer: dict[str, Any]) -> list[Witness]:
    return [Witness(controller_id, int(w["auditId"]), str(w["hash"]), int(w["entries"]),
                    str(w["securityLevel"]), str(w["schemaDigest"]), str(w.get("received", "")))
            for w in answer.get("witnesses", [])]


def check(conn: sqlite3.Connection, controllers: Sequence[str],
          client: Callable[[str], Any]) -> list[Finding]:
    """Ask each Controller (``client(id)``: a client with a short timeout) for its level and
    witnesses; the store is read before, outside any transaction the caller holds."""
    if not controllers:
        return []
    if conn.in_transaction:
        raise RuntimeError("the store is compared with its Controllers outside a transaction")
    head = chain_head(conn)
    found: list[Finding] = []
    for controller_id in controllers:
        try:
            with client(controller_id) as ctl:
                overview = ctl.call("GET", "/api")
                answer = ctl.call("GET", "/api/audit/witness", params={
                    "installationId": head["installationId"], "limit": "100000"})
        except Exception as exc:
            found.append(warning(
                f"Controller '{controller_id}' did not answer ({exc}): the store's security "
                "level and schema were not compared with it, which is not agreement"))
            continue
        level = overview.get("securityLevel") if isinstance(overview, dict) else None
        found += compare(controller_id, head, str(level) if level else None,
                         _witnesses(controller_id, answer))
    return found


def check_console(console: Any, timeout: float = TIMEOUT) -> tuple[list[Finding], int]:
    """:func:`check` for an opened console: (findings, how many Controllers are registered)."""
    conn = console.store.conn
    controllers = [r[0] for r in conn.execute("SELECT id FROM controllers ORDER BY id")]
    return (check(conn, controllers,
                  lambda cid: console.controllers.client(cid, timeout=timeout)),
            len(controllers))
