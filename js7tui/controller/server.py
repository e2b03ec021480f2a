"""The Controller: accepts signed deployments and orders from the console, runs orders' jobs on
its Agents (which it polls; it never accepts a connection from them).

Routes (besides ``POST /api/session`` and ``GET /api``):

- ``POST /api/item``: UpdateItems, verified and applied all or nothing, then forwarded
- ``GET /api/item``: deployed items with each Agent's attachment state
- ``GET /api/item/signed?itemType=&path=[&versionId=]``: the signed item as deployed
- ``POST /api/order``: add orders ``[{id, workflowPath, arguments}]`` (or one object)
- ``GET /api/order[?state=]`` (newest first, with their steps but no output),
  ``GET /api/order/{id}``, ``GET /api/order/{id}/log``
- ``GET /api/order/{id}/output?position=P&stdout=N&stderr=M``: one step's output from byte
  offsets on, live from its Agent while the job runs (follow mode)
- ``POST /api/command``: ``{"TYPE": "CancelOrders", "orderIds": [...]}``
- ``GET /api/agent``: the Agents and their links
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import httpx
from aiohttp import web

from js7tui.clock import to_iso
from js7tui.controller import orders, retention
from js7tui.controller.agents import AgentLink, AgentProblem
from js7tui.controller.deploy import apply_update
from js7tui.engine.app import EngineServer, json_body
from js7tui.engine.items import check_update
from js7tui.engine.journal import journal_id
from js7tui.engine.problems import Problem
from js7tui.engine.shapes import output_slice
from js7tui.engine.tls import build_client_context
from js7tui.engine.wire import Endpoint, controller_endpoints

log = logging.getLogger("js7tui.controller")
MAX_LIST = 1000


class ControllerServer(EngineServer):
    component = "controller"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.journal_id = journal_id(self.journal)
        tls = self.config.tls
        context = (build_client_context(tls.ca, tls.cert, tls.key, crl=tls.crl)
                   if tls is not None else None)
        self.links = {name: AgentLink(ref, self, context)
                      for name, ref in self.config.agents.items()}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/item", self.update_items), web.get("/api/item", self.items),
                web.get("/api/item/signed", self.signed_item),
                web.post("/api/order", self.add_orders), web.get("/api/order", self.list_orders),
                web.get("/api/order/{order_id}", self.order),
                web.get("/api/order/{order_id}/log", self.order_log),
                web.get("/api/order/{order_id}/output", self.order_output),
                web.post("/api/command", self.command), web.get("/api/agent", self.agents)]

    def wire_endpoints(self) -> dict[str, Endpoint]:
        return controller_endpoints(self.config.limits)

    def prune(self) -> dict[str, int]:
        with self.journal.transaction() as conn:
            return retention.prune(conn, self.config.retention, self.clock.now())

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
        conn = self.journal.conn
        counts = dict(conn.execute("SELECT state, COUNT(*) FROM orders GROUP BY state"))
        return {**super().overview(), "journalId": self.journal_id,
                "items": conn.execute("SELECT COUNT(*) FROM items").fetchone()[0],
                "orders": counts, "agents": [link.describe() for link in self.links.values()]}

    def _who(self, request: web.Request) -> str:
        return f"{request['user']} ({request['dn'] or 'plain HTTP'})"

    # -- items ----------------------------------------------------------------------------
    async def update_items(self, request: web.Request) -> web.Response:
        who = self._who(request)
        additions, deletions = check_update(await json_body(request), self.trusted,
                                            self.clock.now(), who=who)
        try:
            with self.journal.transaction() as conn:
                results, wake = apply_update(conn, additions, deletions, self.links,
                                             to_iso(self.clock.now()))
        except Problem as problem:
            log.warning("refused UpdateItems from %s: %s", who, problem.message)
            raise
        log.info("items updated by %s: %s", who, ", ".join(
            f"{r['TYPE']} {r['path']} {r['outcome']}" for r in results[:20]) + (
            f" and {len(results) - 20} more" if len(results) > 20 else ""))
        self.wake(wake)
        return web.json_response({"TYPE": "ItemsUpdated", "items": results})

    async def items(self, request: web.Request) -> web.Response:
        conn = self.journal.conn
        attached: dict[tuple[str, str], dict[str, str]] = {}
        for row in conn.execute("SELECT a.agent, a.item_type, a.path, a.state, a.message FROM "
                                "attachments a JOIN items i USING (item_type, path, version_id)"):
            attached.setdefault((row["item_type"], row["path"]), {})[row["agent"]] = (
                row["state"] if row["state"] != "refused" else f"refused: {row['message']}")
        rows = conn.execute("SELECT i.*, v.signer, v.digest FROM items i JOIN item_versions v "
                            "USING (item_type, path, version_id) ORDER BY item_type DESC, path"
                            ).fetchall()
        return web.json_response({"items": [
            {"TYPE": r["item_type"], "path": r["path"], "versionId": r["version_id"],
             "revision": r["revision"], "deployed": r["deployed"], "signer": r["signer"],
             "digest": r["digest"], "agents": attached.get((r["item_type"], r["path"]), {})}
            for r in rows]})

    async def signed_item(self, request: web.Request) -> web.Response:
        query = request.query
        version = query.get("versionId") or None
        if version is None:
            current = self.journal.conn.execute(
                "SELECT version_id FROM items WHERE item_type = ? AND path = ?",
                (query.get("itemType"), query.get("path"))).fetchone()
            version = current["version_id"] if current else None
        row = self.journal.conn.execute(
            "SELECT signed_string, signature FROM item_versions WHERE item_type = ? AND "
            "path = ? AND version_id = ?",
            (query.get("itemType"), query.get("path"), version)).fetchone()
        if row is None:
            raise Problem(404, "UnknownItem", f"{query.get('itemType')} {query.get('path')!r} "
                          "is not deployed")
        return web.json_response({"string": row["signed_string"],
                                  "signature": json.loads(row["signature"])})

    # -- orders ---------------------------------------------------------------------------
    async def add_orders(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        requests = body if isinstance(body, list) else [body]
        with self.journal.transaction() as conn:
            ids, wake = orders.add_orders(conn, self.journal_id, requests,
                                          to_iso(self.clock.now()))
        self.wake(wake)
        log.info("orders added by %s: %s", self._who(request), ", ".join(ids[:20]))
        return web.json_response({"TYPE": "OrdersAdded", "orderIds": ids})

    async def list_orders(self, request: web.Request) -> web.Response:
        state, limit = request["query"].get("state"), request["query"]["limit"]  # 1..1000
        query = "SELECT * FROM orders" + (" WHERE state = ?" if state else "")
        conn = self.journal.conn
        rows = conn.execute(query + " ORDER BY created DESC, order_id LIMIT ?",
                            (*([state] if state else []), limit)).fetchall()
        steps: dict[str, list[dict[str, Any]]] = {}
        for step in conn.execute("SELECT * FROM steps WHERE order_id IN (SELECT value FROM "
                                 "json_each(?)) ORDER BY order_id, position",
                                 (json.dumps([r["order_id"] for r in rows]),)):
            steps.setdefault(step["order_id"], []).append(orders.describe_step(step))
        return web.json_response({"orders": [
            {**orders.describe_order(r), "steps": steps.get(r["order_id"], [])} for r in rows]})

    def _order(self, request: web.Request, with_output: bool) -> dict[str, Any]:
        order_id = request.match_info["order_id"]
        row = self.journal.conn.execute("SELECT * FROM orders WHERE order_id = ?",
                                        (order_id,)).fetchone()
        if row is None:
            raise Problem(404, "UnknownOrder", f"no order '{order_id}'")
        steps = self.journal.conn.execute("SELECT * FROM steps WHERE order_id = ? ORDER BY "
                                          "position", (order_id,)).fetchall()
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
        conn = self.journal.conn
        row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
        if row is None:
            raise Problem(404, "UnknownOrder", f"no order '{order_id}'")
        query = request["query"]  # checked: integers >= 0
        position = query.get("position", row["position"])
        offsets = {s: query.get(s, 0) for s in ("stdout", "stderr")}
        step = conn.execute("SELECT * FROM steps WHERE order_id = ? AND position = ?",
                            (order_id, position)).fetchone()
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
        with self.journal.transaction() as conn:
            results, wake = orders.cancel_orders(conn, ids, to_iso(self.clock.now()))
        self.wake(wake)
        log.info("orders cancelled by %s: %s", self._who(request), ", ".join(ids[:20]))
        return web.json_response({"TYPE": "OrdersCancelled", "orders": results})

    async def agents(self, request: web.Request) -> web.Response:
        conn = self.journal.conn
        pending = dict(conn.execute("SELECT agent, COUNT(*) FROM attachments WHERE state = "
                                    "'pending' GROUP BY agent"))
        refused = dict(conn.execute("SELECT agent, COUNT(*) FROM attachments WHERE state = "
                                    "'refused' GROUP BY agent"))
        return web.json_response({"agents": [
            {**link.describe(), "pendingItems": pending.get(name, 0),
             "refusedItems": refused.get(name, 0)} for name, link in self.links.items()]})
