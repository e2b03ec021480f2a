"""The Agent: accepts signed items from its Controller (verifying them again with its own
trust anchors), runs their jobs, and answers its Controller's polls for task events. It never
connects anywhere itself.

Routes (besides ``POST /api/session`` and ``GET /api``):

- ``POST /api/item``: UpdateItems (AddOrChangeSigned, DeleteItem), all or nothing
- ``GET /api/item``: the attached items
- ``POST /api/task``: StartTask ``{taskId, orderId, workflowPath, versionId, position, jobName,
  arguments}``, idempotent per ``taskId``
- ``POST /api/task/kill``: ``{taskId}``
- ``GET /api/task/output?taskId=&stdout=N&stderr=M``: a task's output from byte offsets on
  (live while it runs)
- ``GET /api/event?after=N&timeout=S``: events after N, waiting up to S seconds for one

``GET /api`` (the overview) carries ``trustedKeys: {"fingerprint": hex, "certificates": n}``,
the signature trust in force; the directory ``trusted-x509-keys/`` is re-read when it changes
(checked on each UpdateItems and each overview, by its files' mtimes and sizes), and the
Controller's link, which polls the overview, re-sends what this Agent refused when the
fingerprint changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from js7tui.agent import retention
from js7tui.agent.executor import Executor
from js7tui.clock import to_iso
from js7tui.encipherment.keyring import DIRECTORY as KEYRING_DIRECTORY
from js7tui.encipherment.keyring import Keyring
from js7tui.engine.app import EngineServer, json_body
from js7tui.engine.items import (
    check_order,
    check_update,
    check_versions,
    item_row,
    newest_order,
    record_order,
)
from js7tui.engine.journal import journal_id
from js7tui.engine.problems import Problem
from js7tui.engine.wire import Endpoint, agent_endpoints

log = logging.getLogger("js7tui.agent")
MAX_EVENTS = 1000
MAX_POLL = 60.0


class AgentServer(EngineServer):
    component = "agent"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.config.jobs is not None
        self.journal_id = journal_id(self.journal)
        self._event = asyncio.Event()
        self._stopping = False
        self.acknowledged = 0  # the Controller applied every event up to this one
        self.executor = Executor(self.journal, self.config.jobs, self.trusted, self.clock,
                                 self.config.name, self.config.state_dir, self._notify,
                                 Keyring(self.config.directory / KEYRING_DIRECTORY))

    def _notify(self) -> None:
        self._event.set()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/item", self.update_items), web.get("/api/item", self.items),
                web.post("/api/task", self.start_task), web.post("/api/task/kill", self.kill),
                web.get("/api/task/output", self.task_output),
                web.get("/api/event", self.events)]

    def wire_endpoints(self) -> dict[str, Endpoint]:
        return agent_endpoints(self.config.limits)

    def prune(self) -> dict[str, int]:
        with self.journal.transaction() as conn:
            return retention.prune(conn, self.config.retention, self.clock.now(),
                                   self.acknowledged, self.config.state_dir)

    async def on_start(self) -> None:
        self.executor.recover()

    async def on_stop(self) -> None:
        self._stopping = True
        self._event.set()  # answer waiting polls now
        await self.executor.stop()

    def overview(self) -> dict[str, Any]:
        running = len(self.executor.running)
        return {**super().overview(), "journalId": self.journal_id, "runningTasks": running}

    # -- items ----------------------------------------------------------------------------
    async def update_items(self, request: web.Request) -> web.Response:
        who = self.who(request)
        additions, deletions = check_update(await json_body(request), self.trusted,
                                            self.clock.now(), who=who)
        results = []
        now = to_iso(self.clock.now())
        with self.journal.transaction() as conn:
            fresh = check_versions(additions, lambda a: self._held_digest(conn, a),
                                   held_as="is attached")
            record_order(conn, check_order(additions, fresh, lambda a: newest_order(conn, a),
                                           self.security_level))
            for addition, new in zip(additions, fresh, strict=True):
                row = item_row(addition)
                if row["item_type"] == "JobResource":  # job resources: the latest only
                    conn.execute("DELETE FROM items WHERE item_type = 'JobResource' AND path = ?"
                                 " AND version_id <> ?", (row["path"], row["version_id"]))
                if new:
                    conn.execute(
                        "INSERT INTO items (item_type, path, version_id, signed_string, "
                        "signature, digest, signer, attached) VALUES (:item_type, :path, "
                        ":version_id, :signed_string, :signature, :digest, :signer, :attached)",
                        {**row, "attached": now})
                results.append({"TYPE": row["item_type"], "path": row["path"],
                                "versionId": row["version_id"],
                                "outcome": "attached" if new else "unchanged"})
            for deletion in deletions:
                count = conn.execute("DELETE FROM items WHERE item_type = ? AND path = ?",
                                     (deletion.item_type, deletion.path)).rowcount
                results.append({"TYPE": deletion.item_type, "path": deletion.path,
                                "outcome": "deleted" if count else "absent"})
        log.info("items updated by %s: %d attached/checked, %d deleted", who, len(additions),
                 len(deletions))
        return web.json_response({"TYPE": "ItemsUpdated", "items": results})

    @staticmethod
    def _held_digest(conn: Any, addition: Any) -> str | None:
        row = conn.execute("SELECT digest FROM items WHERE item_type = ? AND path = ? AND "
                           "version_id = ?", (addition.item_type, addition.path,
                                              addition.version_id)).fetchone()
        return row["digest"] if row else None

    async def items(self, request: web.Request) -> web.Response:
        rows = self.journal.conn.execute(
            "SELECT item_type, path, version_id, digest, signer, attached FROM items "
            "ORDER BY item_type, path, attached").fetchall()
        return web.json_response({"items": [
            {"TYPE": r["item_type"], "path": r["path"], "versionId": r["version_id"],
             "digest": r["digest"], "signer": r["signer"], "attached": r["attached"]}
            for r in rows]})

    # -- tasks ----------------------------------------------------------------------------
    async def start_task(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, dict) or body.get("TYPE") != "StartTask":
            raise Problem(400, "InvalidRequest", "expected {\"TYPE\": \"StartTask\", ...}")
        return web.json_response(await self.executor.start(body))

    async def kill(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        task_id = body.get("taskId") if isinstance(body, dict) else None
        if not isinstance(task_id, str):
            raise Problem(400, "InvalidRequest", "taskId is missing")
        return web.json_response(self.executor.kill(task_id))

    async def task_output(self, request: web.Request) -> web.Response:
        query = request["query"]  # checked: byte offsets >= 0
        return web.json_response(self.executor.output(query.get("taskId", ""),
                                                      query.get("stdout", 0),
                                                      query.get("stderr", 0)))

    def _events_after(self, after: int) -> list[dict[str, Any]]:
        rows = self.journal.conn.execute(
            "SELECT e.event_id, e.type, t.* FROM events e JOIN tasks t USING (task_id) "
            "WHERE e.event_id > ? ORDER BY e.event_id LIMIT ?", (after, MAX_EVENTS)).fetchall()
        events = []
        for row in rows:
            event = {"eventId": row["event_id"], "TYPE": row["type"], "taskId": row["task_id"],
                     "orderId": row["order_id"], "pid": row["pid"], "started": row["started"]}
            if row["type"] == "TaskFinished":
                event.update(state=row["state"], returnCode=row["return_code"],
                             message=row["message"], stdout=row["stdout"],
                             stderr=row["stderr"], ended=row["ended"])
            events.append(event)
        return events

    async def events(self, request: web.Request) -> web.Response:
        after, timeout = request["query"]["after"], request["query"]["timeout"]  # checked
        self.acknowledged = max(self.acknowledged, after)
        events = self._events_after(after)
        if not events and timeout > 0 and not self._stopping:
            self._event.clear()
            events = self._events_after(after)
            if not events:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._event.wait(), timeout)
                events = self._events_after(after)
        return web.json_response({"journalId": self.journal_id, "events": events})
