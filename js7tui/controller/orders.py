"""Orders on the Controller: add, cancel, and move on when an Agent reports a task's end.

An order runs the workflow version that was current when it was added, one job after the
other, each on the Agent its job names. A step is ``ready`` until the Agent's link starts it,
then ``running`` until the Agent reports the end (polled events); a non-zero return code (or
whatever the job's returnCodeMeaning calls failure) fails the order. Every change is one
transaction of the journal, so a restart resumes exactly where the journal says.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from js7tui.engine.problems import Problem
from js7tui.engine.shapes import ShapeError, Workflow, order_arguments, parse_item

_ORDER_ID = re.compile(r"^[A-Za-z0-9_#][A-Za-z0-9_.:#@+-]{0,199}$")
FINAL_STEP = {"succeeded", "failed", "killed", "cancelled"}


@lru_cache(maxsize=512)
def _parse(signed_string: str) -> Workflow:
    item = parse_item(json.loads(signed_string))
    assert isinstance(item, Workflow)
    return item


def workflow_version(conn: sqlite3.Connection, path: str, version_id: str) -> Workflow:
    """A deployed workflow version (verified when it was deployed; parsed from its exact
    signed string)."""
    row = conn.execute("SELECT signed_string FROM item_versions WHERE item_type = 'Workflow' "
                       "AND path = ? AND version_id = ?", (path, version_id)).fetchone()
    if row is None:
        raise Problem(404, "UnknownItem", f"workflow '{path}' version {version_id} is unknown")
    return _parse(row["signed_string"])


def task_id(journal_id: str, order_id: str, position: int) -> str:
    """Unique across Controller journals, so an Agent never mistakes a new order for an old."""
    return f"{journal_id[:12]}:{order_id}:{position}"


def _ready_step(conn: sqlite3.Connection, journal_id: str, order_id: str, workflow: Workflow,
                position: int) -> str:
    job = workflow.jobs[workflow.steps[position]]
    conn.execute("INSERT INTO steps (order_id, position, job_name, agent, task_id, state) "
                 "VALUES (?, ?, ?, ?, ?, 'ready')",
                 (order_id, position, job.name, job.agent, task_id(journal_id, order_id,
                                                                    position)))
    return job.agent


def add_orders(conn: sqlite3.Connection, journal_id: str, requests: Sequence[Any], now: str
               ) -> tuple[list[str], set[str]]:
    """Add fresh orders ``{id, workflowPath, arguments}``, all or none; returns the ids and
    the Agents to wake."""
    ids, wake = [], set()
    for request in requests:
        if not isinstance(request, Mapping):
            raise Problem(400, "InvalidRequest", "an order is {id, workflowPath, arguments}")
        order_id, path = request.get("id"), request.get("workflowPath")
        if not isinstance(order_id, str) or not _ORDER_ID.match(order_id):
            raise Problem(400, "InvalidRequest",
                          f"order id {order_id!r} is not valid (letters, digits, _ # . : @ + -)")
        try:
            arguments = order_arguments(request.get("arguments"))
        except ShapeError as exc:
            raise Problem(400, "InvalidRequest", f"order '{order_id}': {exc}") from None
        current = conn.execute("SELECT version_id FROM items WHERE item_type = 'Workflow' AND "
                               "path = ?", (path,)).fetchone()
        if current is None:
            raise Problem(404, "UnknownItem", f"order '{order_id}': workflow {path!r} is not "
                          "deployed")
        if conn.execute("SELECT 1 FROM orders WHERE order_id = ?", (order_id,)).fetchone():
            raise Problem(409, "DuplicateOrder", f"an order '{order_id}' exists already")
        conn.execute("INSERT INTO orders (order_id, workflow_path, version_id, arguments, state,"
                     " created, updated) VALUES (?, ?, ?, ?, 'running', ?, ?)",
                     (order_id, path, current["version_id"], json.dumps(arguments), now, now))
        workflow = workflow_version(conn, str(path), current["version_id"])
        wake.add(_ready_step(conn, journal_id, order_id, workflow, 0))
        ids.append(order_id)
    return ids, wake


def cancel_orders(conn: sqlite3.Connection, order_ids: Sequence[str], now: str
                  ) -> tuple[list[dict[str, str]], set[str]]:
    """Cancel orders: a step not started yet is dropped at once; a running job is killed by
    its Agent (the order ends when the Agent reports it)."""
    results, wake = [], set()
    for order_id in order_ids:
        order = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        if order is None:
            raise Problem(404, "UnknownOrder", f"no order '{order_id}'")
        if order["state"] != "running":
            raise Problem(409, "OrderEnded",
                          f"order '{order_id}' has ended already ({order['state']})")
        step = conn.execute("SELECT * FROM steps WHERE order_id = ? AND position = ?",
                            (order_id, order["position"])).fetchone()
        if step is None or step["state"] == "ready":
            conn.execute("UPDATE steps SET state = 'cancelled', message = 'cancelled before it "
                         "started', ended = ? WHERE order_id = ? AND position = ?",
                         (now, order_id, order["position"]))
            conn.execute("UPDATE orders SET state = 'cancelled', cancel_requested = 1, "
                         "message = 'cancelled', updated = ? WHERE order_id = ?",
                         (now, order_id))
            results.append({"orderId": order_id, "state": "cancelled"})
        else:
            conn.execute("UPDATE orders SET cancel_requested = 1, updated = ? WHERE "
                         "order_id = ?", (now, order_id))
            wake.add(step["agent"])
            results.append({"orderId": order_id, "state": "cancelling"})
    return results, wake


def step_started(conn: sqlite3.Connection, task: str, pid: int | None, started: str | None
                 ) -> None:
    conn.execute("UPDATE steps SET state = 'running', pid = COALESCE(?, pid), "
                 "started = COALESCE(?, started) WHERE task_id = ? AND state IN "
                 "('ready', 'started')", (pid, started, task))


def step_finished(conn: sqlite3.Connection, journal_id: str, task: str, state: str,
                  return_code: int | None, message: str, stdout: str, stderr: str,
                  started: str | None, ended: str | None, now: str) -> set[str]:
    """Record a step's end and move its order on; returns the Agents to wake."""
    step = conn.execute("SELECT * FROM steps WHERE task_id = ?", (task,)).fetchone()
    if step is None or step["state"] in FINAL_STEP:
        return set()  # an event seen before (or of another journal's task)
    step_state = state if state in ("succeeded", "failed", "killed") else "failed"
    conn.execute("UPDATE steps SET state = ?, return_code = ?, message = ?, stdout = ?, "
                 "stderr = ?, started = COALESCE(?, started), ended = ? WHERE task_id = ?",
                 (step_state, return_code, message, stdout, stderr, started, ended or now, task))
    order = conn.execute("SELECT * FROM orders WHERE order_id = ?",
                         (step["order_id"],)).fetchone()
    where = f"job '{step['job_name']}' on Agent '{step['agent']}'"
    if order["cancel_requested"]:
        return _end(conn, order["order_id"], "cancelled", f"cancelled ({where}: "
                    f"{message or step_state})", now)
    if step_state != "succeeded":
        return _end(conn, order["order_id"], "failed", f"{where} failed: {message}", now)
    workflow = workflow_version(conn, order["workflow_path"], order["version_id"])
    position = order["position"] + 1
    if position >= len(workflow.steps):
        return _end(conn, order["order_id"], "finished", "", now)
    conn.execute("UPDATE orders SET position = ?, updated = ? WHERE order_id = ?",
                 (position, now, order["order_id"]))
    return {_ready_step(conn, journal_id, order["order_id"], workflow, position)}


def fail_step(conn: sqlite3.Connection, task: str, message: str, now: str) -> None:
    """A step that could not start (the Agent refused it): the order fails with the reason."""
    step = conn.execute("SELECT * FROM steps WHERE task_id = ?", (task,)).fetchone()
    if step is None or step["state"] in FINAL_STEP:
        return
    conn.execute("UPDATE steps SET state = 'failed', message = ?, ended = ? WHERE task_id = ?",
                 (message, now, task))
    _end(conn, step["order_id"], "failed",
         f"job '{step['job_name']}' on Agent '{step['agent']}' could not start: {message}", now)


def _end(conn: sqlite3.Connection, order_id: str, state: str, message: str, now: str
         ) -> set[str]:
    conn.execute("UPDATE orders SET state = ?, message = ?, updated = ? WHERE order_id = ?",
                 (state, message, now, order_id))
    return set()


def describe_order(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["order_id"], "workflowPath": row["workflow_path"],
            "versionId": row["version_id"], "arguments": json.loads(row["arguments"]),
            "state": row["state"], "position": row["position"],
            "cancelRequested": bool(row["cancel_requested"]), "message": row["message"],
            "created": row["created"], "updated": row["updated"]}


def describe_step(row: Mapping[str, Any], *, with_output: bool = False) -> dict[str, Any]:
    step = {"position": row["position"], "jobName": row["job_name"], "agent": row["agent"],
            "taskId": row["task_id"], "state": row["state"], "pid": row["pid"],
            "returnCode": row["return_code"], "message": row["message"],
            "started": row["started"], "ended": row["ended"]}
    if with_output:
        step.update(stdout=row["stdout"], stderr=row["stderr"])
    return step
