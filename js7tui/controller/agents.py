"""The Controller's link to one Agent: the only direction connections go (Controller -> Agent).

Two loops share one HTTPS client (client certificate from the Controller's bundle) and one hop
session (the Agent's own user and password, re-login when the Agent forgot the session):

- commands: push pending item attachments and detachments, start ready steps, kill the tasks
  of cancelled orders; woken at once when there is work, else every few seconds;
- events: long-poll the Agent's task events after the journal's cursor and apply each batch in
  one transaction with the new cursor, so a restart neither loses nor repeats a result.

Unreachable Agents are retried with a growing pause; nothing is lost meanwhile. What an Agent
refused (e.g. it lacks the signer's certificate) is sent again whenever the Agent's state may
have changed: at each login (after a disconnection, a restart of either side, a lost session),
when its journal is new, when the fingerprint of its trusted keys (its overview, read every
``[links] overview_interval``) changes, and in any case after ``[links] refused_retry``, so
nothing stays refused silently. Every SQL statement is :class:`ControllerJournal`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from js7tui.clock import to_iso
from js7tui.engine.answers import EngineRefused, read_answer
from js7tui.engine.config import AgentRef, LinksConfig
from js7tui.engine.shapes import SESSION_HEADER, login_body, update_items_body
from js7tui.errors import ValidationError

if TYPE_CHECKING:
    from js7tui.controller.server import ControllerServer

log = logging.getLogger("js7tui.controller.agents")
POLL_SECONDS = 20.0
IDLE_SECONDS = 5.0
MAX_BACKOFF = 10.0


class AgentProblem(EngineRefused):
    """The Agent answered with a problem (a refusal, not a connection failure)."""


class AgentLink:
    def __init__(self, ref: AgentRef, controller: ControllerServer,
                 ssl_context: ssl.SSLContext | None, links: LinksConfig | None = None
                 ) -> None:
        self.ref = ref
        self.controller = controller
        self.journal = controller.journal
        self.pace = links or LinksConfig()
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
        self.trust_fingerprint: str | None = None
        self._overview_read = 0.0
        self.idle = min(IDLE_SECONDS, self.pace.overview_interval)

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
                "lastError": self.last_error, "trustedKeys": self.trust_fingerprint}

    def _now(self) -> str:
        return to_iso(self.controller.clock.now())

    def retry_refused(self, why: str) -> None:
        """The Agent's state may have changed: what it refused is pending again."""
        count = self.journal.retry_refused(self.ref.name, f"sending again: {why}", self._now())
        if count:
            log.info("Agent %s: sending %d refused item(s) again: %s", self.ref.name, count, why)
            self.wake.set()

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
            body = read_answer(response, AgentProblem)
            self.token = str(body["sessionToken"])
            self.connected, self.last_error = True, ""
            log.info("logged in to Agent %s as %r", self.ref.name, self.ref.user)
            self.retry_refused("the link logged in again")
            return self.token

    async def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        token = self.token or await self._login(None)
        for attempt in (1, 2):
            response = await self.client.request(method, path, json=body,
                                                 headers={SESSION_HEADER: token}, **kwargs)
            if response.status_code == 401 and attempt == 1:
                token = await self._login(token)
                continue
            result = read_answer(response, AgentProblem)
            self.connected, self.last_error = True, ""
            return result
        raise AssertionError("unreachable")

    # -- commands -------------------------------------------------------------------------
    async def _commands(self) -> None:
        while True:
            self.wake.clear()
            await self.read_overview()
            await self.push_items()
            await self.start_steps()
            await self.kill_cancelled()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.idle)

    async def read_overview(self) -> None:
        """Every ``overview_interval``: the Agent's trusted keys; when their fingerprint
        changed, what the Agent refused is sent again."""
        if time.monotonic() - self._overview_read < self.pace.overview_interval:
            return
        overview = await self.call("GET", "/api")
        self._overview_read = time.monotonic()
        trusted = overview.get("trustedKeys") if isinstance(overview, dict) else None
        fingerprint = trusted.get("fingerprint") if isinstance(trusted, dict) else None
        if not isinstance(fingerprint, str):
            return
        previous, self.trust_fingerprint = self.trust_fingerprint, fingerprint
        if previous is not None and previous != fingerprint:
            log.info("Agent %s: its trusted signature keys changed (%d certificate(s))",
                     self.ref.name, trusted.get("certificates", 0))
            self.retry_refused("the Agent's trusted keys changed")

    async def push_items(self) -> None:
        retry_before = to_iso(self.controller.clock.now()
                              - timedelta(seconds=self.pace.refused_retry))
        pending, detach = self.journal.to_push(self.ref.name, retry_before)
        if not pending and not detach:
            return
        retried = [r for r in pending if r["state"] == "refused"]
        if retried:
            log.info("Agent %s: sending again %d item(s) it refused %d s ago or longer: %s",
                     self.ref.name, len(retried), self.pace.refused_retry,
                     ", ".join(f"{r['item_type']} '{r['path']}'" for r in retried[:10]))
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
        self.journal.attached(self.ref.name, pending, detach, self._now())
        log.info("Agent %s: attached %d item(s), detached %d", self.ref.name, len(pending),
                 len(detach))

    async def _refused(self, pending: list[Any], detach: list[Any], exc: AgentProblem) -> None:
        """The Agent refused the batch: find the culprit (operation index), mark it refused
        with the Agent's reason, and let the rest go again."""
        operation = exc.body.get("operation")
        index = operation - 1 if isinstance(operation, int) else None
        culprits = [pending[index]] if index is not None and index < len(pending) else pending
        log.error("Agent %s refused %s: %s", self.ref.name,
                  ", ".join(f"{r['item_type']} '{r['path']}'" for r in culprits), exc)
        self.journal.refused(self.ref.name, culprits, f"{exc.code}: {exc}", self._now(),
                             drop_detachments=index is None and bool(detach))
        # Read the Agent's trusted keys now, as they are at this refusal: the fix is the
        # next change of their fingerprint, even if the keys were different before it.
        self.trust_fingerprint, self._overview_read = None, 0.0
        self.wake.set()

    def _blocker(self, step: Any) -> tuple[str, str] | None:
        """('pending', '') while the step's items are on their way; ('refused', reason) when
        the Agent refused one; None when everything is attached."""
        journal = self.journal
        order = journal.order_of_step(step["order_id"])
        workflow = journal.workflow(order["workflow_path"], order["version_id"])
        needed = [("Workflow", workflow.path, order["version_id"])]
        for resource in workflow.jobs[step["job_name"]].job_resources:
            current = journal.current_version("JobResource", resource)
            if current is None:
                return "refused", f"job resource '{resource}' is no longer deployed"
            needed.append(("JobResource", resource, current))
        for item_type, path, version_id in needed:
            row = journal.attachment(self.ref.name, item_type, path, version_id)
            if row is None:  # e.g. an older workflow version: attach it again
                journal.attach_again(self.ref.name, item_type, path, version_id, self._now())
                self.wake.set()
                return "pending", ""
            if row["state"] == "refused":
                return "refused", (f"the Agent refused {item_type} '{path}' ({row['message']})")
            if row["state"] == "pending":
                return "pending", ""
        return None

    async def start_steps(self) -> None:
        for step in self.journal.ready_steps(self.ref.name):
            blocker = self._blocker(step)
            if blocker is not None:
                if blocker[0] == "refused":
                    self.journal.fail_step(step["task_id"], blocker[1], self._now())
                continue
            workflow = self.journal.workflow(step["workflow_path"], step["version_id"])
            job = workflow.jobs[step["job_name"]]
            if self.journal.busy(self.ref.name, step["workflow_path"],
                                 step["job_name"]) >= job.parallelism:
                continue  # the job's parallelism: it starts when one of its tasks ends
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
                self.journal.fail_step(step["task_id"], f"{exc.code}: {exc}", self._now())
                continue
            state = self.journal.step_started(step["task_id"], task.get("pid"),
                                              task.get("started"))
            if state == "cancelled":  # cancelled while the start was on its way
                await self.call("POST", "/api/task/kill", {"taskId": step["task_id"]})

    async def kill_cancelled(self) -> None:
        for task in self.journal.tasks_to_kill(self.ref.name):
            if task in self._killed:
                continue
            await self.call("POST", "/api/task/kill", {"taskId": task})
            self._killed.add(task)

    # -- events ---------------------------------------------------------------------------
    async def _events(self) -> None:
        while True:
            cursor = self.journal.cursor(self.ref.name)
            after = cursor["event_id"] if cursor else 0
            body = await self.call("GET", "/api/event",
                                   params={"after": after, "timeout": POLL_SECONDS})
            if cursor is not None and body["journalId"] != cursor["journal_id"]:
                self._agent_reset(body["journalId"])
                continue
            events = body.get("events", [])
            if not events and cursor is not None:
                continue
            wake = self.journal.apply_events(self.ref.name, body["journalId"], events, after,
                                             self._now())
            self.controller.wake(wake)

    def _agent_reset(self, journal_id: str) -> None:
        """The Agent's journal is new (reinstalled or wiped): what it held is gone."""
        log.error("Agent %s has a new journal: attaching all items again; its unfinished "
                  "tasks are failed", self.ref.name)
        self.journal.agent_reset(self.ref.name, journal_id, self._now())
        self.wake.set()
