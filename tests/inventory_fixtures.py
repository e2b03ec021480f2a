"""Inventory objects and accounts for the inventory, export and archive tests."""

from __future__ import annotations

import json
from typing import Any

from js7tui.audit import AuditMeta
from js7tui.console import Console
from js7tui.identity.sessions import Session
from js7tui.permissions.names import INVENTORY_MANAGE, INVENTORY_VIEW
from tests.conftest import make_account


def workflow(job: str = "hello", script: str = "#!/bin/sh\necho hello\n",
             **job_fields: Any) -> dict[str, Any]:
    return {
        "TYPE": "Workflow",
        "instructions": [{"TYPE": "Execute.Named", "jobName": job}],
        "jobs": {job: {"agentPath": "agent-1",
                       "executable": {"TYPE": "ShellScriptExecutable", "script": script,
                                      "env": {"GREETING": "$greeting"},
                                      "returnCodeMeaning": {"success": [0]}},
                       "defaultArguments": {"greeting": "'hello'"},
                       "jobResourcePaths": ["mail"],
                       "timeout": 60, **job_fields}},
    }


def jobresource() -> dict[str, Any]:
    return {"TYPE": "JobResource", "variables": {"host": "'smtp.example.test'"},
            "env": {"MAIL_HOST": "$host"}}


def text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2)


def folder_account(console: Console, admin: Session, name: str, folders: list[str],
                   permissions: tuple[str, ...] = (INVENTORY_VIEW, INVENTORY_MANAGE),
                   recursive: bool = True) -> Session:
    """An account whose only role grants ``permissions``, restricted to ``folders``."""
    role = f"{name}-role"
    console.roles.create(admin, role, meta=AuditMeta())
    for permission in permissions:
        console.roles.set_permission(admin, role, permission, meta=AuditMeta())
    for folder in folders:
        console.roles.add_folder(admin, role, folder, recursive=recursive, meta=AuditMeta())
    return make_account(console, admin, name, [role])
