"""The Controller's link to one Agent: the only direction connections go (Controller -> Agent).

Two loops share one HTTPS client (client certificate from the Controller's bundle) and one hop
session (the Agent's own user and password, re-login when the Agent forgot the session):

- commands: push pending item attachments and detachments, start ready steps, kill the tasks
  of cancelled orders; woken at once when there is work, else every few seconds;
- events: long-poll the Agent's task events after the journal's cursor and apply each batch in
  one transaction with the new cursor, so a restart neither loses nor repeats a result.

Unreachable Agents are retried with a growing pause; nothing is lost meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from js7tui.client import ControllerRefused, answer
from js7tui.clock import to_iso
from js7tui.controller import orders
from js7tui.engine.config import AgentRef
from js7tui.engine.shapes import SESSION_HEADER, login_body, update_items_body
from js7tui.errors import ValidationError

if TYPE_CHECKING:
    from js7tui.controller.server import ControllerServer

log = logging.getLogger("js7tui.controller.agents")
POLL_SECONDS = 20.0
IDLE_SECONDS = 5.0
MAX_BACKOFF = 10.0


class AgentProblem(ControllerRefused):
    """The Agent answered with a problem (a refusal, not a connection failure)."""


class AgentLink:
    def __init__(self, ref: AgentRef, controller: ControllerServer,
                 ssl_context: ssl.SSLContext | None) -> None:
        self.ref = ref
        self.controller = controller
        self.client = httpx.AsyncClient(
            base_url=ref.url, verify=ssl_context if ssl_context is not None else True,
            timeout=httpx.Timeout(30.0, read=POLL_SECONDS + 15.0))
        self.token: str | None = None
        self.wake = asyncio.Event()
        self.connected = False
        self.last_error = ""
        self._login_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._killed: set[str] = set()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        for loop in (self._commands, self._events):
            self._tasks.append(asyncio.create_task(self._forever(loop)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.token:
            with contextlib.suppress(httpx.HTTPError):
                await self.client.post("/api/session", json={"TYPE": "Logout",
                                                              "sessionToken": self.token},
                                       headers={SESSION_HEADER: self.token}, timeout=2)
        await self.client.aclose()

    def describe(self) -> dict[str, Any]:
        return {"name": self.ref.name, "url": self.ref.url, "connected": self.connected,
                "lastError": self.last_error}

    async def _forever(self, loop: Callable[[], Any]) -> None:
        backoff = 0.5
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except (httpx.HTTPError, AgentProblem, ValidationError, OSError) as exc:
                self.connected = False
                message = str(exc) or type(exc).__name__
                if message != self.last_error:
                    log.warning("Agent %s (%s): %s", self.ref.name, self.ref.url, message)
                self.last_error = message
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except Exception:
                log.exception("Agent %s: unexpected error", self.ref.name)
                await asyncio.sleep(MAX_BACKOFF)
            else:
                backoff = 0.5

    # -- HTTP -----------------------------------------------------------------------------
    async def _login(self, stale: str | None) -> str:
        async with self._login_lock:
            if self.token and self.token != stale:
                return self.token
            password = self.ref.password()
            response = await self.client.post("/api/session",
                                              json=login_body(self.ref.user, password))
            body = answer(response, AgentProblem)
            self.token = str(body["sessionToken"])
            self.connected, self.last_error = True, ""
            log.info("logged in to Agent %s as %r", self.ref.name, self.ref.user)
            return self.token

    async def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        token = self.token or await self._login(None)
        for attempt in (1, 2):
            response = await self.client.request(method, path, json=body,
                                                 headers={SESSION_HEADER: token}, **kwargs)
            if response.status_code == 401 and attempt == 1:
                token = await self._login(token)
                continue
            result = answer(response, AgentProblem)
            self.connected, self.last_error = True, ""
            return result
        raise AssertionError("unreachable")

    # -- commands -------------------------------------------------------------------------
    async def _commands(self) -> None:
        while True:
            self.wake.clear()
            await self.push_items()
            await self.start_steps()
            await self.kill_cancelled()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), IDLE_SECONDS)

    async def push_items(self) -> None:
        conn = self.controller.journal.conn
        pending = conn.execute(
            "SELECT a.item_type, a.path, a.version_id, v.signed_string, v.signature FROM "
            "attachments a JOIN item_versions v USING (item_type, path, version_id) WHERE "
            "a.agent = ? AND a.state = 'pending' ORDER BY a.item_type DESC, a.path",
            (self.ref.name,)).fetchall()
        detach = conn.execute("SELECT item_type, path FROM detachments WHERE agent = ?",
                              (self.ref.name,)).fetchall()
        if not pending and not detach:
            return
        signed = [{"string": r["signed_string"], "signature": json.loads(r["signature"])}
                  for r in pending]
        deletions = [(r["item_type"], r["path"]) for r in detach]
        try:
            await self.call("POST", "/api/item", update_items_body(signed, deletions))
        except AgentProblem as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            await self._refused(pending, detach, exc)
            return
        now = to_iso(self.controller.clock.now())
        with self.controller.journal.transaction() as conn:
            conn.executemany("UPDATE attachments SET state = 'attached', message = '', "
                             "updated = ? WHERE agent = ? AND item_type = ? AND path = ? AND "
                             "version_id = ? AND state = 'pending'",
                             [(now, self.ref.name, row["item_type"], row["path"],
                               row["version_id"]) for row in pending])
            for row in detach:
                conn.execute("DELETE FROM detachments WHERE agent = ? AND item_type = ? AND "
                             "path = ?", (self.ref.name, row["item_type"], row["path"]))
        log.info("Agent %s: attached %d item(s), detached %d", self.ref.name, len(pending),
                 len(detach))

    async def _refused(self, pending: list[Any], detach: list[Any], exc: AgentProblem) -> None:
        """The Agent refused the batch: find the culprit (operation index), mark it refused
        with the Agent's reason, and let the rest go again."""
        operation = exc.body.get("operation")
        index = operation - 1 if isinstance(operation, int) else None
        now = to_iso(self.controller.clock.now())
        culprits = [pending[index]] if index is not None and index < len(pending) else pending
        log.error("Agent %s refused %s: %s", self.ref.name,
                  ", ".join(f"{r['item_type']} '{r['path']}'" for r in culprits), exc)
        with self.controller.journal.transaction() as conn:
            for row in culprits:
                conn.execute("UPDATE attachments SET state = 'refused', message = ?, updated = ?"
                             " WHERE agent = ? AND item_type = ? AND path = ? AND version_id = ?",
                             (f"{exc.code}: {exc}", now, self.ref.name, row["item_type"],
                              row["path"], row["version_id"]))
            if index is None and detach:
                conn.execute("DELETE FROM detachments WHERE agent = ?", (self.ref.name,))
        self.wake.set()

    def _blocker(self, step: Any) -> tuple[str, str] | None:
        """('pending', '') while the step's items are on their way; ('refused', reason) when
        the Agent refused one; None when everything is attached."""
        conn = self.controller.journal.conn
        order = conn.execute("SELECT workflow_path, version_id FROM orders WHERE order_id = ?",
                             (step["order_id"],)).fetchone()
        workflow = orders.workflow_version(conn, order["workflow_path"], order["version_id"])
        needed = [("Workflow", workflow.path, order["version_id"])]
        for resource in workflow.jobs[step["job_name"]].job_resources:
            current = conn.execute("SELECT version_id FROM items WHERE item_type = "
                                   "'JobResource' AND path = ?", (resource,)).fetchone()
            if current is None:
                return "refused", f"job resource '{resource}' is no longer deployed"
            needed.append(("JobResource", resource, current["version_id"]))
        for item_type, path, version_id in needed:
            row = conn.execute("SELECT state, message FROM attachments WHERE agent = ? AND "
                               "item_type = ? AND path = ? AND version_id = ?",
                               (self.ref.name, item_type, path, version_id)).fetchone()
            if row is None:  # e.g. an older workflow version: attach it again
                with self.controller.journal.transaction() as tx:
                    tx.execute("INSERT INTO attachments (agent, item_type, path, version_id, "
                               "state, updated) VALUES (?, ?, ?, ?, 'pending', ?)",
                               (self.ref.name, item_type, path, version_id,
                                to_iso(self.controller.clock.now())))
                self.wake.set()
                return "pending", ""
            if row["state"] == "refused":
                return "refused", (f"the Agent refused {item_type} '{path}' ({row['message']})")
            if row["state"] == "pending":
                return "pending", ""
        return None

    async def start_steps(self) -> None:
        conn = self.controller.journal.conn
        ready = conn.execute("SELECT s.*, o.arguments, o.workflow_path, o.version_id FROM steps"
                             " s JOIN orders o USING (order_id) WHERE s.agent = ? AND "
                             "s.state = 'ready' ORDER BY s.rowid", (self.ref.name,)).fetchall()
        for step in ready:
            blocker = self._blocker(step)
            if blocker is not None:
                if blocker[0] == "refused":
                    with self.controller.journal.transaction() as tx:
                        orders.fail_step(tx, step["task_id"], blocker[1],
                                         to_iso(self.controller.clock.now()))
                continue
            request = {"TYPE": "StartTask", "taskId": step["task_id"],
                       "orderId": step["order_id"], "workflowPath": step["workflow_path"],
                       "versionId": step["version_id"], "position": step["position"],
                       "jobName": step["job_name"], "arguments": json.loads(step["arguments"])}
            try:
                task = await self.call("POST", "/api/task", request)
            except AgentProblem as exc:
                if exc.status >= 500 or exc.status == 401:
                    raise
                log.error("Agent %s refused task %s: %s", self.ref.name, step["task_id"], exc)
                with self.controller.journal.transaction() as tx:
                    orders.fail_step(tx, step["task_id"], f"{exc.code}: {exc}",
                                     to_iso(self.controller.clock.now()))
                continue
            with self.controller.journal.transaction() as tx:
                orders.step_started(tx, step["task_id"], task.get("pid"), task.get("started"))
                state = tx.execute("SELECT state FROM steps WHERE task_id = ?",
                                   (step["task_id"],)).fetchone()["state"]
            if state == "cancelled":  # cancelled while the start was on its way
                await self.call("POST", "/api/task/kill", {"taskId": step["task_id"]})

    async def kill_cancelled(self) -> None:
        rows = self.controller.journal.conn.execute(
            "SELECT s.task_id FROM steps s JOIN orders o USING (order_id) WHERE s.agent = ? "
            "AND o.cancel_requested = 1 AND s.state IN ('started', 'running')",
            (self.ref.name,)).fetchall()
        for row in rows:
            if row["task_id"] in self._killed:
                continue
            await self.call("POST", "/api/task/kill", {"taskId": row["task_id"]})
            self._killed.add(row["task_id"])

    # -- events ---------------------------------------------------------------------------
    async def _events(self) -> None:
        while True:
            conn = self.controller.journal.conn
            cursor = conn.execute("SELECT journal_id, event_id FROM agent_cursors WHERE "
                                  "agent = ?", (self.ref.name,)).fetchone()
            after = cursor["event_id"] if cursor else 0
            body = await self.call("GET", "/api/event",
                                   params={"after": after, "timeout": POLL_SECONDS})
            if cursor is not None and body["journalId"] != cursor["journal_id"]:
                self._agent_reset(body["journalId"])
                continue
            events = body.get("events", [])
            if not events and cursor is not None:
                continue
            self._apply(body["journalId"], events, after)

    def _apply(self, journal_id: str, events: list[dict[str, Any]], after: int) -> None:
        wake: set[str] = set()
        now = to_iso(self.controller.clock.now())
        last = after
        with self.controller.journal.transaction() as conn:
            for event in events:
                last = max(last, int(event["eventId"]))
                if event["TYPE"] == "TaskStarted":
                    orders.step_started(conn, event["taskId"], event.get("pid"),
                                        event.get("started"))
                elif event["TYPE"] == "TaskFinished":
                    wake |= orders.step_finished(
                        conn, self.controller.journal_id, event["taskId"], event["state"],
                        event.get("returnCode"), event.get("message", ""),
                        event.get("stdout", ""), event.get("stderr", ""), event.get("started"),
                        event.get("ended"), now)
            conn.execute("INSERT OR REPLACE INTO agent_cursors (agent, journal_id, event_id) "
                         "VALUES (?, ?, ?)", (self.ref.name, journal_id, last))
        self.controller.wake(wake)

    def _agent_reset(self, journal_id: str) -> None:
        """The Agent's journal is new (reinstalled or wiped): what it held is gone."""
        log.error("Agent %s has a new journal: attaching all items again; its unfinished "
                  "tasks are failed", self.ref.name)
        now = to_iso(self.controller.clock.now())
        with self.controller.journal.transaction() as conn:
            conn.execute("UPDATE attachments SET state = 'pending', message = '' WHERE agent = ?",
                         (self.ref.name,))
            for row in conn.execute("SELECT task_id FROM steps WHERE agent = ? AND state IN "
                                    "('started', 'running')", (self.ref.name,)).fetchall():
                orders.fail_step(conn, row["task_id"], "the Agent lost its state (new journal)",
                                 now)
            conn.execute("INSERT OR REPLACE INTO agent_cursors (agent, journal_id, event_id) "
                         "VALUES (?, ?, 0)", (self.ref.name, journal_id))
        self.wake.set()
