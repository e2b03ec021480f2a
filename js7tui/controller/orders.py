"""Orders on the Controller: what an order and a step are, and how they are described.

An order runs the workflow version that was current when it was added, one job after the
other, each on the Agent its job names. A step is ``ready`` until the Agent's link starts it,
then ``running`` until the Agent reports the end (polled events); a non-zero return code (or
whatever the job's returnCodeMeaning calls failure) fails the order. Every change is one
transaction of the journal (:class:`js7tui.controller.journal.ControllerJournal`: add, cancel,
a task's start and end), so a restart resumes exactly where the journal says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from js7tui.engine.problems import Problem
from js7tui.engine.shapes import Workflow, parse_item

_ORDER_ID = re.compile(r"^[A-Za-z0-9_#][A-Za-z0-9_.:#@+-]{0,199}$")
FINAL_STEP = {"succeeded", "failed", "killed", "cancelled"}


@lru_cache(maxsize=512)
def parse_workflow(signed_string: str) -> Workflow:
    """A deployed workflow from its exact signed string (verified when it was deployed)."""
    item = parse_item(json.loads(signed_string))
    assert isinstance(item, Workflow)
    return item


def check_order_id(order_id: object) -> None:
    if not isinstance(order_id, str) or not _ORDER_ID.match(order_id):
        raise Problem(400, "InvalidRequest",
                      f"order id {order_id!r} is not valid (letters, digits, _ # . : @ + -)")


def task_id(journal_id: str, order_id: str, position: int) -> str:
    """Unique across Controller journals, so an Agent never mistakes a new order for an old."""
    return f"{journal_id[:12]}:{order_id}:{position}"


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
