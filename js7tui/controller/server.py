"""The Controller: accepts signed deployments and orders from the console, runs orders' jobs on
its Agents (which it polls; it never accepts a connection from them).

Routes (besides ``POST /api/session`` and ``GET /api``):

- ``POST /api/item``: UpdateItems, verified and applied all or nothing, then forwarded
- ``GET /api/item``: the current items, each with each Agent's state (below)
- ``GET /api/item/state?versionId=V[&itemType=T][&path=P]`` or ``?path=P[&itemType=T]``:
  every item version the Controller holds (current or not) with that version id (a deploy's
  version id is its commit id, shared by the commit's items) or path, whether it is the
  current one, and each Agent's state; for reconciling a deploy whose answer was lost, reading
  per-Agent truth after a deploy, and settling a revoke (no version current any more)::

      {"items": [{"TYPE": "Workflow", "path": "p", "versionId": "V", "current": true,
                  "currentVersionId": "V" | null, "revision": 3 | null,
                  "deployed": "<ISO>", "digest": "...", "signer": "CN=...",
                  "agents": {"agent-1": AGENT_STATE, ...},
                  "detaching": ["agent-2", ...]}]}

  (``detaching``: the Agents still to drop a deleted item; ``items`` is empty when nothing
  matches)
- ``GET /api/item/signed?itemType=&path=[&versionId=]``: the signed item as deployed
- ``GET /api/item/revoked``: deployed items it can no longer run (signer revoked, ...)
- ``POST /api/order``: add orders ``[{id, workflowPath, arguments}]`` (or one object)
- ``GET /api/order[?state=]`` (newest first, with their steps but no output),
  ``GET /api/order/{id}``, ``GET /api/order/{id}/log``
- ``GET /api/order/{id}/output?position=P&stdout=N&stderr=M``: one step's output from byte
  offsets on, live from its Agent while the job runs (follow mode)
- ``POST /api/command``: ``{"TYPE": "CancelOrders", "orderIds": [...]}``
- ``GET /api/agent``: the Agents and their links
- ``POST /api/audit/witness``: the console's audit-chain head ``{installationId, auditId, hash,
  entries, securityLevel, schemaDigest}``, journalled (append only); a different hash for an
  id already witnessed is refused (409 ``WitnessConflict``)
- ``GET /api/audit/witness?installationId=&limit=``: the witnesses, newest first

An Agent's state of an item version, ``AGENT_STATE``, in both item answers::

    {"state": "attached" | "pending" | "refused", "message": "...", "updated": "<ISO>"}

``attached``: the Agent holds it (message empty). ``pending``: on its way, or the Agent is
not reachable; the message says which (the link's last error), or why it is being sent again.
``refused``: the Agent refused it, the message is its problem code and reason; it is sent again
when the Agent's state may have changed (see :mod:`js7tui.controller.agents`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import httpx
from aiohttp import web

from js7tui.clock import to_iso
from js7tui.controller import orders
from js7tui.controller.agents import AgentLink, AgentProblem
from js7tui.controller.journal import ControllerJournal
from js7tui.engine.app import EngineServer, json_body
from js7tui.engine.items import check_update
from js7tui.engine.problems import Problem
from js7tui.engine.shapes import output_slice
from js7tui.engine.tls import build_client_context
from js7tui.engine.unrunnable import unrunnable_items
from js7tui.engine.wire import Endpoint, controller_endpoints

log = logging.getLogger("js7tui.controller")
MAX_LIST = 1000


class ControllerServer(EngineServer):
    component = "controller"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.journal: ControllerJournal = ControllerJournal(self.journal)  # type: ignore
        self.journal_id = self.journal.journal_id
        tls = self.config.tls
        context = (build_client_context(tls.ca, tls.cert, tls.key, crl=tls.crl)
                   if tls is not None else None)
        self.links = {name: AgentLink(ref, self, context, self.config.links)
                      for name, ref in self.config.agents.items()}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/item", self.update_items), web.get("/api/item", self.items),
                web.get("/api/item/state", self.item_state),
                web.get("/api/item/signed", self.signed_item),
                web.get("/api/item/revoked", self.revoked_items),
                web.post("/api/order", self.add_orders), web.get("/api/order", self.list_orders),
                web.get("/api/order/{order_id}", self.order),
                web.get("/api/order/{order_id}/log", self.order_log),
                web.get("/api/order/{order_id}/output", self.order_output),
                web.post("/api/command", self.command), web.get("/api/agent", self.agents),
                web.post("/api/audit/witness", self.add_witness),
                web.get("/api/audit/witness", self.witnesses)]

    def wire_endpoints(self) -> dict[str, Endpoint]:
        return controller_endpoints(self.config.limits)

    def prune(self) -> dict[str, int]:
        return self.journal.prune(self.config.retention, self.clock.now())

    async def on_start(self) -> None:
        for link in self.links.values():
            link.start()

    async def on_stop(self) -> None:
        for link in self.links.values():
            await link.stop()

    def wake(self, agents: Iterable[str]) -> None:
        for agent in agents:
            link = self.links.get(agent)
            if link is not None:
                link.wake.set()

    def overview(self) -> dict[str, Any]:
        items, counts = self.journal.counts()
        return {**super().overview(), "journalId": self.journal_id, "items": items,
                "orders": counts, "agents": [link.describe() for link in self.links.values()]}

    # -- items ----------------------------------------------------------------------------
    async def update_items(self, request: web.Request) -> web.Response:
        who = self.who(request)
        additions, deletions = check_update(await json_body(request), self.trusted,
                                            self.clock.now(), who=who)
        try:
            results, wake = self.journal.apply_update(additions, deletions, self.links,
                                                      to_iso(self.clock.now()),
                                                      self.security_level)
        except Problem as problem:
            log.warning("refused UpdateItems from %s: %s", who, problem.message)
            raise
        log.info("items updated by %s: %s", who, ", ".join(
            f"{r['TYPE']} {r['path']} {r['outcome']}" for r in results[:20]) + (
            f" and {len(results) - 20} more" if len(results) > 20 else ""))
        self.wake(wake)
        return web.json_response({"TYPE": "ItemsUpdated", "items": results})

    def agent_state(self, agent: str, row: Any) -> dict[str, str]:
        """An Agent's state of an item version (the module docstring's AGENT_STATE)."""
        message = row["message"]
        if row["state"] == "pending":
            link = self.links.get(agent)
            if link is not None and not link.connected:
                reason = (f"the Agent is not reachable: {link.last_error}" if link.last_error
                          else "the Agent is not connected yet")
                message = f"{message}; {reason}" if message else reason
            elif not message:
                message = "on its way to the Agent"
        return {"state": row["state"], "message": message, "updated": row["updated"]}

    async def items(self, request: web.Request) -> web.Response:
        attached = self.journal.current_attachments()
        return web.json_response({"items": [
            {"TYPE": r["item_type"], "path": r["path"], "versionId": r["version_id"],
             "revision": r["revision"], "deployed": r["deployed"], "signer": r["signer"],
             "digest": r["digest"],
             "agents": {agent: self.agent_state(agent, row) for agent, row in
                        attached.get((r["item_type"], r["path"]), {}).items()}}
            for r in self.journal.current_items()]})

    async def item_state(self, request: web.Request) -> web.Response:
        query = request.query
        version_id, path = query.get("versionId") or None, query.get("path") or None
        if version_id is None and path is None:
            raise Problem(400, "InvalidRequest", "give versionId or path (and itemType)")
        rows = self.journal.item_versions(version_id=version_id, path=path,
                                          item_type=query.get("itemType") or None)
        keys = [(r["item_type"], r["path"], r["version_id"]) for r in rows]
        agents = self.journal.attachments_of(keys)
        answer = []
        for row, key in zip(rows, keys, strict=True):
            current = row["current_version"]
            answer.append({
                "TYPE": row["item_type"], "path": row["path"], "versionId": row["version_id"],
                "current": current == row["version_id"], "currentVersionId": current,
                "revision": row["revision"], "deployed": row["deployed"],
                "digest": row["digest"], "signer": row["signer"],
                "agents": {agent: self.agent_state(agent, a)
                           for agent, a in agents.get(key, {}).items()},
                "detaching": ([] if current is not None
                              else self.journal.detaching(row["item_type"], row["path"]))})
        return web.json_response({"items": answer})

    async def revoked_items(self, request: web.Request) -> web.Response:
        return web.json_response({"items": unrunnable_items(
            self.journal.current_signed(), self.trusted, self.clock.now())})

    async def signed_item(self, request: web.Request) -> web.Response:
        query = request.query
        row = self.journal.signed(query.get("itemType"), query.get("path"),
                                  query.get("versionId") or None)
        if row is None:
            raise Problem(404, "UnknownItem", f"{query.get('itemType')} {query.get('path')!r} "
                          "is not deployed")
        return web.json_response({"string": row["signed_string"],
                                  "signature": json.loads(row["signature"])})

    # -- the console's audit witnesses ------------------------------------------------------
    async def add_witness(self, request: web.Request) -> web.Response:
        head = await json_body(request)
        new = self.journal.add_witness(head, to_iso(self.clock.now()), self.who(request))
        return web.json_response({"TYPE": "Witnessed", "auditId": head["auditId"],
                                  "new": new})

    async def witnesses(self, request: web.Request) -> web.Response:
        query = request["query"]
        rows = self.journal.witnesses(query.get("installationId"), query["limit"])
        return web.json_response({"witnesses": [
            {"installationId": r["installation_id"], "auditId": r["audit_id"],
             "hash": r["hash"], "entries": r["entries"], "securityLevel": r["security_level"],
             "schemaDigest": r["schema_digest"], "received": r["received"]} for r in rows]})

    # -- orders ---------------------------------------------------------------------------
    async def add_orders(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        requests = body if isinstance(body, list) else [body]
        ids, wake = self.journal.add_orders(requests, to_iso(self.clock.now()))
        self.wake(wake)
        log.info("orders added by %s: %s", self.who(request), ", ".join(ids[:20]))
        return web.json_response({"TYPE": "OrdersAdded", "orderIds": ids})

    async def list_orders(self, request: web.Request) -> web.Response:
        state, limit = request["query"].get("state"), request["query"]["limit"]  # 1..1000
        rows, steps = self.journal.orders(state, limit)
        return web.json_response({"orders": [
            {**orders.describe_order(r),
             "steps": [orders.describe_step(s) for s in steps.get(r["order_id"], [])]}
            for r in rows]})

    def _order(self, request: web.Request, with_output: bool) -> dict[str, Any]:
        order_id = request.match_info["order_id"]
        row = self.journal.order(order_id)
        if row is None:
            raise Problem(404, "UnknownOrder", f"no order '{order_id}'")
        steps = self.journal.steps(order_id)
        return {**orders.describe_order(row),
                "steps": [orders.describe_step(s, with_output=with_output) for s in steps]}

    async def order(self, request: web.Request) -> web.Response:
        return web.json_response(self._order(request, False))

    async def order_log(self, request: web.Request) -> web.Response:
        return web.json_response(self._order(request, True))

    async def order_output(self, request: web.Request) -> web.Response:
        """One step's output from byte offsets on. While the job runs the Agent is asked (what
        it captured so far); once the step ended, the journal answers."""
        order_id = request.match_info["order_id"]
        row = self.journal.order(order_id)
        if row is None:
            raise Problem(404, "UnknownOrder", f"no order '{order_id}'")
        query = request["query"]  # checked: integers >= 0
        position = query.get("position", row["position"])
        offsets = {s: query.get(s, 0) for s in ("stdout", "stderr")}
        step = self.journal.step(order_id, position)
        if step is None:
            raise Problem(404, "UnknownStep", f"order '{order_id}' has no step {position} (yet)")
        answer: dict[str, Any] = {"orderId": order_id, "orderState": row["state"],
                                  "position": position, "jobName": step["job_name"],
                                  "agent": step["agent"], "state": step["state"],
                                  "live": False, "message": ""}
        link = self.links.get(step["agent"])
        if step["state"] in ("started", "running") and link is not None:
            try:
                live = await link.call("GET", "/api/task/output", params={
                    "taskId": step["task_id"], **{k: str(v) for k, v in offsets.items()}})
                answer.update({k: live[k] for k in ("stdout", "stderr", "stdoutOffset",
                                                    "stderrOffset")}, live=True)
                return web.json_response(answer)
            except (httpx.HTTPError, AgentProblem) as exc:
                answer["message"] = f"Agent '{step['agent']}' did not answer: {exc}"
        for stream, offset in offsets.items():
            answer[stream], answer[f"{stream}Offset"] = output_slice(
                (step[stream] or "").encode("utf-8"), offset)
        return web.json_response(answer)

    async def command(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if not isinstance(body, dict) or body.get("TYPE") != "CancelOrders":
            raise Problem(400, "InvalidRequest", "unknown command; known: CancelOrders")
        ids = body.get("orderIds")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise Problem(400, "InvalidRequest", "orderIds must be a list of order ids")
        results, wake = self.journal.cancel_orders(ids, to_iso(self.clock.now()))
        self.wake(wake)
        log.info("orders cancelled by %s: %s", self.who(request), ", ".join(ids[:20]))
        return web.json_response({"TYPE": "OrdersCancelled", "orders": results})

    async def agents(self, request: web.Request) -> web.Response:
        pending = self.journal.attachment_counts("pending")
        refused = self.journal.attachment_counts("refused")
        return web.json_response({"agents": [
            {**link.describe(), "pendingItems": pending.get(name, 0),
             "refusedItems": refused.get(name, 0)} for name, link in self.links.items()]})
