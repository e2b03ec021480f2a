"""The Controller's journal: every SQL statement the Controller runs, in one class.

:class:`ControllerJournal` owns the journal's :class:`~js7tui.store.Store` (one SQLite file,
WAL, fsynced per transaction). Handlers and the Agent links call its named methods; each method
that changes something is one transaction, so a crash never leaves half a change, and each
method that reads answers from the committed state.

What it keeps (schema in ``migrations/0001_journal.sql``):

- items: every deployed version of a signed item (``item_versions``, kept while an order may
  still run it) and the current one per path (``items``, with its revision);
- attachments: what each Agent should hold, ``pending`` until it accepted, ``refused`` with its
  reason; detachments: what it should drop;
- orders and their steps;
- cursors: how far each Agent's events were read, and from which Agent journal.

The rules of a deployment (see :mod:`js7tui.controller.deploy`) and of an order's progress (see
:mod:`js7tui.controller.orders`) are applied here because they read and write in the same
transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from js7tui.clock import from_iso
from js7tui.controller import retention
from js7tui.controller.deploy import workflow_agents
from js7tui.controller.orders import (
    FINAL_STEP,
    check_order_id,
    parse_workflow,
    task_id,
)
from js7tui.engine.items import (
    Addition,
    Deletion,
    check_order,
    check_versions,
    item_row,
    newest_order,
    record_order,
)
from js7tui.engine.journal import journal_id as read_journal_id
from js7tui.engine.problems import Problem
from js7tui.engine.shapes import (
    ShapeError,
    Workflow,
    order_arguments,
    order_variables,
    prepare_arguments,
)
from js7tui.store import Store

if TYPE_CHECKING:
    from js7tui.engine.config import Retention

Row = sqlite3.Row


class ControllerJournal:
    """The Controller's journal. ``close()`` closes the connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.journal_id = read_journal_id(store)

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.store.conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.store.transaction() as conn:
            yield conn

    def close(self) -> None:
        self.store.close()

    # -- overview -------------------------------------------------------------------------
    def counts(self) -> tuple[int, dict[str, int]]:
        """(number of current items, {order state: count})."""
        items = self._conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        orders = dict(self._conn.execute("SELECT state, COUNT(*) FROM orders GROUP BY state"))
        return items, orders

    def prune(self, policy: Retention, now: datetime) -> dict[str, int]:
        """One retention run (``[retention]``) in one transaction; what went, by kind."""
        with self._tx() as conn:
            return retention.prune(conn, policy, now)

    def current_signed(self) -> list[sqlite3.Row]:
        """The current version of every item with its signed string and signature (what
        ``GET /api/item/revoked`` verifies again)."""
        return self._conn.execute(
            "SELECT i.item_type, i.path, i.version_id, v.signed_string, v.signature, v.signer "
            "FROM items i JOIN item_versions v USING (item_type, path, version_id) "
            "ORDER BY i.item_type DESC, i.path").fetchall()

    def attachment_counts(self, state: str) -> dict[str, int]:
        """{agent: number of its attachments in ``state``}."""
        return dict(self._conn.execute("SELECT agent, COUNT(*) FROM attachments WHERE state = ?"
                                       " GROUP BY agent", (state,)))

    # -- the console's audit witnesses ------------------------------------------------------
    def add_witness(self, head: Mapping[str, Any], now: str, who: str) -> bool:
        """Journal one audit-chain head; False when that id was witnessed already (the same
        hash: nothing to do; another hash is kept as it came first and the caller says so)."""
        with self._tx() as conn:
            row = conn.execute("SELECT hash FROM audit_witness WHERE installation_id = ? AND "
                               "audit_id = ?", (head["installationId"],
                                                head["auditId"])).fetchone()
            if row is not None:
                if row["hash"] != head["hash"]:
                    raise Problem(409, "WitnessConflict",
                                  f"audit entry {head['auditId']} was witnessed with the hash "
                                  f"{row['hash']}, not {head['hash']}: the console's audit log "
                                  "was rewritten")
                return False
            conn.execute(
                "INSERT INTO audit_witness (installation_id, audit_id, hash, entries, "
                "security_level, schema_digest, received, received_from) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?)",
                (head["installationId"], head["auditId"], head["hash"], head["entries"],
                 head["securityLevel"], head["schemaDigest"], now, who))
            return True

    def witnesses(self, installation_id: str | None, limit: int) -> list[Row]:
        """Newest first."""
        where, args = ("WHERE installation_id = ?", [installation_id]) if installation_id \
            else ("", [])
        return self._conn.execute(
            "SELECT * FROM audit_witness " + where + " ORDER BY audit_id DESC LIMIT ?",
            [*args, limit]).fetchall()

    # -- items: reading -------------------------------------------------------------------
    def current_items(self) -> list[Row]:
        """The current version of each item with its signer and digest."""
        return self._conn.execute(
            "SELECT i.*, v.signer, v.digest FROM items i JOIN item_versions v "
            "USING (item_type, path, version_id) ORDER BY item_type DESC, path").fetchall()

    def current_attachments(self) -> dict[tuple[str, str], dict[str, Row]]:
        """{(type, path): {agent: attachment row}} of the current item versions."""
        attached: dict[tuple[str, str], dict[str, Row]] = {}
        for row in self._conn.execute(
                "SELECT a.agent, a.item_type, a.path, a.state, a.message, a.updated FROM "
                "attachments a JOIN items i USING (item_type, path, version_id) "
                "ORDER BY a.agent"):
            attached.setdefault((row["item_type"], row["path"]), {})[row["agent"]] = row
        return attached

    def item_versions(self, *, version_id: str | None = None, item_type: str | None = None,
                      path: str | None = None) -> list[Row]:
        """Every version held (current or not) matching the filters, newest first, with the
        current version id and revision of its path (NULL when the path is not deployed)."""
        where, args = [], []
        for column, value in (("v.version_id", version_id), ("v.item_type", item_type),
                              ("v.path", path)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        return self._conn.execute(
            "SELECT v.item_type, v.path, v.version_id, v.digest, v.signer, v.deployed, "
            "i.version_id AS current_version, i.revision FROM item_versions v LEFT JOIN items i "
            "ON i.item_type = v.item_type AND i.path = v.path"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY v.item_type DESC, v.path, v.deployed DESC, v.version_id",
            args).fetchall()

    def attachments_of(self, versions: Iterable[tuple[str, str, str]]
                       ) -> dict[tuple[str, str, str], dict[str, Row]]:
        """{(type, path, version): {agent: attachment row}} for these item versions."""
        wanted = json.dumps([list(v) for v in versions])
        found: dict[tuple[str, str, str], dict[str, Row]] = {}
        # The wanted keys are unpacked once (a materialised CTE), then each is looked up by
        # the attachments_item index: not json_extract for every pair of rows.
        for row in self._conn.execute(
                "WITH w(t, p, v) AS MATERIALIZED (SELECT json_extract(value, '$[0]'), "
                "json_extract(value, '$[1]'), json_extract(value, '$[2]') FROM json_each(?)) "
                "SELECT a.* FROM w CROSS JOIN attachments a ON a.item_type = w.t AND "
                "a.path = w.p AND a.version_id = w.v ORDER BY a.agent", (wanted,)):
            key = (row["item_type"], row["path"], row["version_id"])
            found.setdefault(key, {})[row["agent"]] = row
        return found

    def detaching(self, item_type: str, path: str) -> list[str]:
        """The Agents still to drop an item that was deleted."""
        return [r["agent"] for r in self._conn.execute(
            "SELECT agent FROM detachments WHERE item_type = ? AND path = ? ORDER BY agent",
            (item_type, path))]

    def current_version(self, item_type: str, path: str) -> str | None:
        row = self._conn.execute("SELECT version_id FROM items WHERE item_type = ? AND "
                                 "path = ?", (item_type, path)).fetchone()
        return row["version_id"] if row else None

    def signed(self, item_type: str | None, path: str | None, version_id: str | None
               ) -> Row | None:
        """The signed string and signature of a version (the current one by default)."""
        if version_id is None and item_type is not None and path is not None:
            version_id = self.current_version(item_type, path)
        return self._conn.execute(
            "SELECT signed_string, signature FROM item_versions WHERE item_type = ? AND "
            "path = ? AND version_id = ?", (item_type, path, version_id)).fetchone()

    def workflow(self, path: str, version_id: str) -> Workflow:
        """A deployed workflow version (verified when it was deployed; parsed from its exact
        signed string)."""
        return self._workflow(self._conn, path, version_id)

    @staticmethod
    def _workflow(conn: sqlite3.Connection, path: str, version_id: str) -> Workflow:
        row = conn.execute("SELECT signed_string FROM item_versions WHERE item_type = "
                           "'Workflow' AND path = ? AND version_id = ?",
                           (path, version_id)).fetchone()
        if row is None:
            raise Problem(404, "UnknownItem",
                          f"workflow '{path}' version {version_id} is unknown")
        return parse_workflow(row["signed_string"])

    # -- items: deploying -----------------------------------------------------------------
    @staticmethod
    def _current(conn: sqlite3.Connection, item_type: str, path: str) -> Any:
        return conn.execute("SELECT * FROM items WHERE item_type = ? AND path = ?",
                            (item_type, path)).fetchone()

    @staticmethod
    def _current_workflow_agents(conn: sqlite3.Connection) -> dict[str, dict[str, list[str]]]:
        """{workflow path: {agent: job resources}} of the current workflow versions."""
        rows = conn.execute(
            "SELECT i.path, v.agents FROM items i JOIN item_versions v USING "
            "(item_type, path, version_id) WHERE i.item_type = 'Workflow'").fetchall()
        return {row["path"]: json.loads(row["agents"]) for row in rows}

    def _check(self, conn: sqlite3.Connection, additions: Sequence[Addition],
               deletions: Sequence[Deletion], agents: Iterable[str]) -> None:
        known = set(agents)
        deleted = {(d.item_type, d.path) for d in deletions}
        new_resources = {a.path for a in additions if a.item_type == "JobResource"}
        workflows = self._current_workflow_agents(conn)
        for addition in additions:
            if isinstance(addition.item, Workflow):
                workflows[addition.path] = workflow_agents(addition.item)
                unknown = addition.item.agents - known
                if unknown:
                    raise Problem(400, "UnknownAgent",
                                  f"workflow '{addition.path}' names the Agent(s) "
                                  f"{', '.join(sorted(unknown))}, unknown to this Controller "
                                  f"(known: {', '.join(sorted(known)) or 'none'})")
                for resource in sorted(addition.item.job_resources):
                    present = self._current(conn, "JobResource", resource) is not None and (
                        ("JobResource", resource) not in deleted)
                    if resource not in new_resources and not present:
                        raise Problem(400, "UnknownJobResource",
                                      f"workflow '{addition.path}' uses the job resource "
                                      f"'{resource}', which is not deployed; deploy it with the "
                                      "workflow")
        for deletion in deletions:
            if self._current(conn, deletion.item_type, deletion.path) is None:
                raise Problem(404, "UnknownItem",
                              f"{deletion.item_type} '{deletion.path}' is not deployed")
            if deletion.item_type == "Workflow":
                workflows.pop(deletion.path, None)
                busy = conn.execute("SELECT COUNT(*) FROM orders WHERE workflow_path = ? AND "
                                    "state = 'running'", (deletion.path,)).fetchone()[0]
                if busy:
                    raise Problem(409, "ItemInUse",
                                  f"workflow '{deletion.path}' has {busy} order(s) not "
                                  "finished; cancel them or let them finish first")
        for deletion in deletions:
            if deletion.item_type == "JobResource" and deletion.path not in new_resources:
                users = sorted(path for path, needs in workflows.items()
                               if any(deletion.path in r for r in needs.values()))
                if users:
                    raise Problem(409, "ItemInUse",
                                  f"job resource '{deletion.path}' is used by the workflow(s) "
                                  f"{', '.join(users)}; change or delete them in the same "
                                  "request")

    @staticmethod
    def _attach(conn: sqlite3.Connection, agent: str, item_type: str, path: str,
                version_id: str, now: str, detaching: set[tuple[str, str, str]]) -> None:
        if item_type == "JobResource":  # an Agent keeps the latest version of a job resource
            conn.execute("DELETE FROM attachments WHERE agent = ? AND item_type = 'JobResource'"
                         " AND path = ? AND version_id <> ?", (agent, path, version_id))
        if (agent, item_type, path) in detaching:
            conn.execute("DELETE FROM detachments WHERE agent = ? AND item_type = ? AND "
                         "path = ?", (agent, item_type, path))
        conn.execute("INSERT OR IGNORE INTO attachments (agent, item_type, path, version_id, "
                     "state, updated) VALUES (?, ?, ?, ?, 'pending', ?)",
                     (agent, item_type, path, version_id, now))

    def apply_update(self, additions: Sequence[Addition], deletions: Sequence[Deletion],
                     agents: Iterable[str], now: str, level: str = "LOW"
                     ) -> tuple[list[dict[str, Any]], set[str]]:
        """A verified UpdateItems request, all or nothing (one transaction): per-item
        outcomes and the Agents to wake. See :mod:`js7tui.controller.deploy` for the rules;
        ``level``: the security level in force (the anti-rollback rule depends on it)."""
        with self._tx() as conn:
            return self._apply_update(conn, additions, deletions, agents, now, level)

    def _known_digest(self, conn: sqlite3.Connection, addition: Addition) -> str | None:
        row = conn.execute("SELECT digest FROM item_versions WHERE item_type = ? AND path = ? "
                           "AND version_id = ?", (addition.item_type, addition.path,
                                                  addition.version_id)).fetchone()
        return row["digest"] if row else None

    def _apply_update(self, conn: sqlite3.Connection, additions: Sequence[Addition],
                      deletions: Sequence[Deletion], agents: Iterable[str], now: str,
                      level: str = "LOW") -> tuple[list[dict[str, Any]], set[str]]:
        self._check(conn, additions, deletions, agents)
        check_versions(additions, lambda a: self._known_digest(conn, a),
                       held_as="was deployed before", advice="; give the change a new versionId")
        # Anti-rollback: every addition that would change a path's current version (a new
        # one, or one held from before: re-sending an old version makes it current again).
        changing = [(current := self._current(conn, a.item_type, a.path)) is None
                    or current["version_id"] != a.version_id for a in additions]
        record_order(conn, check_order(additions, changing, lambda a: newest_order(conn, a),
                                       level))
        results: list[dict[str, Any]] = []
        wake: set[str] = set()
        detaching = {(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT agent, item_type, path FROM detachments")}
        # Job resources first: a workflow of the same request attaches their new versions.
        for addition in sorted(additions, key=lambda a: a.item_type != "JobResource"):
            row = item_row(addition)
            needs = (workflow_agents(addition.item) if isinstance(addition.item, Workflow)
                     else {})
            conn.execute(
                "INSERT OR IGNORE INTO item_versions (item_type, path, version_id, "
                "signed_string, signature, digest, signer, agents, deployed) VALUES "
                "(:item_type, :path, :version_id, :signed_string, :signature, :digest, "
                ":signer, :agents, :now)", {**row, "agents": json.dumps(needs), "now": now})
            current = self._current(conn, row["item_type"], row["path"])
            if current is not None and current["version_id"] == row["version_id"]:
                outcome, revision = "unchanged", current["revision"]
            else:
                outcome = "changed" if current is not None else "added"
                revision = (current["revision"] + 1) if current is not None else 1
                conn.execute("INSERT OR REPLACE INTO items (item_type, path, version_id, "
                             "revision, deployed) VALUES (?, ?, ?, ?, ?)",
                             (row["item_type"], row["path"], row["version_id"], revision, now))
                if isinstance(addition.item, Workflow):
                    for agent in needs:
                        self._attach(conn, agent, "Workflow", row["path"], row["version_id"],
                                     now, detaching)
                        wake.add(agent)
                else:
                    for needs_of in self._current_workflow_agents(conn).values():
                        for agent, resources in needs_of.items():
                            if row["path"] in resources:
                                self._attach(conn, agent, "JobResource", row["path"],
                                             row["version_id"], now, detaching)
                                wake.add(agent)
            if isinstance(addition.item, Workflow) and outcome != "unchanged":
                for agent, resources in needs.items():
                    for resource in resources:
                        version = self._current(conn, "JobResource", resource)["version_id"]
                        self._attach(conn, agent, "JobResource", resource, version, now,
                                     detaching)
            results.append({"TYPE": row["item_type"], "path": row["path"],
                            "versionId": row["version_id"], "revision": revision,
                            "outcome": outcome})
        for deletion in deletions:
            holders = [r["agent"] for r in conn.execute(
                "SELECT DISTINCT agent FROM attachments WHERE item_type = ? AND path = ?",
                (deletion.item_type, deletion.path))]
            conn.execute("DELETE FROM attachments WHERE item_type = ? AND path = ?",
                         (deletion.item_type, deletion.path))
            for agent in holders:
                conn.execute("INSERT OR IGNORE INTO detachments (agent, item_type, path) "
                             "VALUES (?, ?, ?)", (agent, deletion.item_type, deletion.path))
                wake.add(agent)
            conn.execute("DELETE FROM items WHERE item_type = ? AND path = ?",
                         (deletion.item_type, deletion.path))
            results.append({"TYPE": deletion.item_type, "path": deletion.path,
                            "outcome": "deleted"})
        return results, wake

    # -- attachments: the Agent links ---------------------------------------------------------
    def to_push(self, agent: str, retry_before: str | None = None) -> tuple[list[Row], list[Row]]:
        """What to send to ``agent``: its pending attachments (with the signed items), plus its
        refused ones last changed before ``retry_before`` (a retry), and its detachments."""
        retry = " OR (a.state = 'refused' AND a.updated < ?)" if retry_before else ""
        pending = self._conn.execute(
            "SELECT a.item_type, a.path, a.version_id, a.state, v.signed_string, v.signature "
            "FROM attachments a JOIN item_versions v USING (item_type, path, version_id) "
            f"WHERE a.agent = ? AND (a.state = 'pending'{retry}) "
            "ORDER BY a.item_type DESC, a.path",
            (agent, *([retry_before] if retry_before else []))).fetchall()
        detach = self._conn.execute("SELECT item_type, path FROM detachments WHERE agent = ?",
                                    (agent,)).fetchall()
        return pending, detach

    def attached(self, agent: str, pending: Sequence[Row], detach: Sequence[Row], now: str
                 ) -> None:
        """The Agent accepted ``pending`` (pending or retried refused ones) and dropped
        ``detach``."""
        with self._tx() as conn:
            conn.executemany("UPDATE attachments SET state = 'attached', message = '', "
                             "updated = ? WHERE agent = ? AND item_type = ? AND path = ? AND "
                             "version_id = ? AND state IN ('pending', 'refused')",
                             [(now, agent, row["item_type"], row["path"], row["version_id"])
                              for row in pending])
            for row in detach:
                conn.execute("DELETE FROM detachments WHERE agent = ? AND item_type = ? AND "
                             "path = ?", (agent, row["item_type"], row["path"]))

    def refused(self, agent: str, culprits: Sequence[Row], message: str, now: str, *,
                drop_detachments: bool) -> None:
        """The Agent refused ``culprits`` with ``message``."""
        with self._tx() as conn:
            for row in culprits:
                conn.execute("UPDATE attachments SET state = 'refused', message = ?, updated = ?"
                             " WHERE agent = ? AND item_type = ? AND path = ? AND "
                             "version_id = ?", (message, now, agent, row["item_type"],
                                                row["path"], row["version_id"]))
            if drop_detachments:
                conn.execute("DELETE FROM detachments WHERE agent = ?", (agent,))

    def retry_refused(self, agent: str, reason: str, now: str) -> int:
        """``agent``'s refused attachments are pending again (its state may have changed);
        returns how many."""
        with self._tx() as conn:
            return conn.execute(
                "UPDATE attachments SET state = 'pending', message = ?, updated = ? WHERE "
                "agent = ? AND state = 'refused'", (reason, now, agent)).rowcount

    def attachment(self, agent: str, item_type: str, path: str, version_id: str) -> Row | None:
        return self._conn.execute("SELECT state, message FROM attachments WHERE agent = ? AND "
                                  "item_type = ? AND path = ? AND version_id = ?",
                                  (agent, item_type, path, version_id)).fetchone()

    def attach_again(self, agent: str, item_type: str, path: str, version_id: str, now: str
                     ) -> None:
        """An item version an order needs on ``agent`` that it no longer holds (e.g. an older
        workflow version)."""
        with self._tx() as conn:
            conn.execute("INSERT OR IGNORE INTO attachments (agent, item_type, path, "
                         "version_id, state, updated) VALUES (?, ?, ?, ?, 'pending', ?)",
                         (agent, item_type, path, version_id, now))

    # -- orders -----------------------------------------------------------------------------
    @staticmethod
    def _ready_step(conn: sqlite3.Connection, journal_id: str, order_id: str,
                    workflow: Workflow, position: int) -> str:
        job = workflow.jobs[workflow.steps[position]]
        conn.execute("INSERT INTO steps (order_id, position, job_name, agent, task_id, state) "
                     "VALUES (?, ?, ?, ?, ?, 'ready')",
                     (order_id, position, job.name, job.agent,
                      task_id(journal_id, order_id, position)))
        return job.agent

    def add_orders(self, requests: Sequence[Any], now: str) -> tuple[list[str], set[str]]:
        """Add fresh orders ``{id, workflowPath, arguments}``, all or none; returns the ids
        and the Agents to wake."""
        with self._tx() as conn:
            ids, wake = [], set()
            for request in requests:
                if not isinstance(request, Mapping):
                    raise Problem(400, "InvalidRequest",
                                  "an order is {id, workflowPath, arguments}")
                order_id, path = request.get("id"), request.get("workflowPath")
                check_order_id(order_id)
                try:
                    order_arguments(request.get("arguments"))
                except ShapeError as exc:
                    raise Problem(400, "InvalidRequest", f"order '{order_id}': {exc}") from None
                current = conn.execute("SELECT version_id FROM items WHERE item_type = "
                                       "'Workflow' AND path = ?", (path,)).fetchone()
                if current is None:
                    raise Problem(404, "UnknownItem", f"order '{order_id}': workflow {path!r} "
                                  "is not deployed")
                workflow = self._workflow(conn, str(path), current["version_id"])
                try:  # the workflow's orderPreparation: required, typed, defaults, final
                    arguments = prepare_arguments(
                        workflow, request.get("arguments"),
                        order_variables(str(order_id), workflow, current["version_id"], None,
                                        from_iso(now)))
                except ShapeError as exc:
                    raise Problem(400, "InvalidArguments", f"order '{order_id}': {exc}"
                                  ) from None
                if conn.execute("SELECT 1 FROM orders WHERE order_id = ?",
                                (order_id,)).fetchone():
                    raise Problem(409, "DuplicateOrder", f"an order '{order_id}' exists already")
                conn.execute("INSERT INTO orders (order_id, workflow_path, version_id, "
                             "arguments, state, created, updated) VALUES (?, ?, ?, ?, "
                             "'running', ?, ?)", (order_id, path, current["version_id"],
                                                  json.dumps(arguments), now, now))
                wake.add(self._ready_step(conn, self.journal_id, str(order_id), workflow, 0))
                ids.append(str(order_id))
            return ids, wake

    def cancel_orders(self, order_ids: Sequence[str], now: str
                      ) -> tuple[list[dict[str, str]], set[str]]:
        """Cancel orders: a step not started yet is dropped at once; a running job is killed
        by its Agent (the order ends when the Agent reports it)."""
        with self._tx() as conn:
            results, wake = [], set()
            for order_id in order_ids:
                order = conn.execute("SELECT * FROM orders WHERE order_id = ?",
                                     (order_id,)).fetchone()
                if order is None:
                    raise Problem(404, "UnknownOrder", f"no order '{order_id}'")
                if order["state"] != "running":
                    raise Problem(409, "OrderEnded",
                                  f"order '{order_id}' has ended already ({order['state']})")
                step = conn.execute("SELECT * FROM steps WHERE order_id = ? AND position = ?",
                                    (order_id, order["position"])).fetchone()
                if step is None or step["state"] == "ready":
                    conn.execute("UPDATE steps SET state = 'cancelled', message = 'cancelled "
                                 "before it started', ended = ? WHERE order_id = ? AND "
                                 "position = ?", (now, order_id, order["position"]))
                    conn.execute("UPDATE orders SET state = 'cancelled', cancel_requested = 1,"
                                 " message = 'cancelled', updated = ? WHERE order_id = ?",
                                 (now, order_id))
                    results.append({"orderId": order_id, "state": "cancelled"})
                else:
                    conn.execute("UPDATE orders SET cancel_requested = 1, updated = ? WHERE "
                                 "order_id = ?", (now, order_id))
                    wake.add(step["agent"])
                    results.append({"orderId": order_id, "state": "cancelling"})
            return results, wake

    def orders(self, state: str | None, limit: int) -> tuple[list[Row], dict[str, list[Row]]]:
        """The newest orders (of ``state``) and {order id: its steps}."""
        query = "SELECT * FROM orders" + (" WHERE state = ?" if state else "")
        rows = self._conn.execute(query + " ORDER BY created DESC, order_id LIMIT ?",
                                  (*([state] if state else []), limit)).fetchall()
        steps: dict[str, list[Row]] = {}
        for step in self._conn.execute(
                "SELECT * FROM steps WHERE order_id IN (SELECT value FROM json_each(?)) "
                "ORDER BY order_id, position", (json.dumps([r["order_id"] for r in rows]),)):
            steps.setdefault(step["order_id"], []).append(step)
        return rows, steps

    def order(self, order_id: str) -> Row | None:
        return self._conn.execute("SELECT * FROM orders WHERE order_id = ?",
                                  (order_id,)).fetchone()

    def order_of_step(self, order_id: str) -> Row:
        return self._conn.execute("SELECT workflow_path, version_id FROM orders WHERE "
                                  "order_id = ?", (order_id,)).fetchone()

    # -- steps ------------------------------------------------------------------------------
    def steps(self, order_id: str) -> list[Row]:
        return self._conn.execute("SELECT * FROM steps WHERE order_id = ? ORDER BY position",
                                  (order_id,)).fetchall()

    def step(self, order_id: str, position: int) -> Row | None:
        return self._conn.execute("SELECT * FROM steps WHERE order_id = ? AND position = ?",
                                  (order_id, position)).fetchone()

    def ready_steps(self, agent: str) -> list[Row]:
        """``agent``'s steps waiting to start, with their order's workflow and arguments."""
        return self._conn.execute(
            "SELECT s.*, o.arguments, o.workflow_path, o.version_id FROM steps s JOIN orders o "
            "USING (order_id) WHERE s.agent = ? AND s.state = 'ready' ORDER BY s.rowid",
            (agent,)).fetchall()

    def busy(self, agent: str, workflow_path: str, job_name: str) -> int:
        """How many steps of this job run on ``agent`` now (its parallelism counts them)."""
        return int(self._conn.execute(
            "SELECT COUNT(*) FROM steps s JOIN orders o USING (order_id) WHERE s.agent = ? AND "
            "o.workflow_path = ? AND s.job_name = ? AND s.state IN ('started', 'running')",
            (agent, workflow_path, job_name)).fetchone()[0])

    def tasks_to_kill(self, agent: str) -> list[str]:
        """Task ids of ``agent``'s running steps whose orders are to be cancelled."""
        return [r["task_id"] for r in self._conn.execute(
            "SELECT s.task_id FROM steps s JOIN orders o USING (order_id) WHERE s.agent = ? "
            "AND o.cancel_requested = 1 AND s.state IN ('started', 'running')", (agent,))]

    def step_started(self, task: str, pid: int | None, started: str | None) -> str:
        """The Agent started the task; returns the step's state now (``cancelled`` when the
        order was cancelled while the start was on its way)."""
        with self._tx() as conn:
            self._step_started(conn, task, pid, started)
            return str(conn.execute("SELECT state FROM steps WHERE task_id = ?",
                                    (task,)).fetchone()["state"])

    @staticmethod
    def _step_started(conn: sqlite3.Connection, task: str, pid: int | None,
                      started: str | None) -> None:
        conn.execute("UPDATE steps SET state = 'running', pid = COALESCE(?, pid), "
                     "started = COALESCE(?, started) WHERE task_id = ? AND state IN "
                     "('ready', 'started')", (pid, started, task))

    def _step_finished(self, conn: sqlite3.Connection, task: str, state: str,
                       return_code: int | None, message: str, stdout: str, stderr: str,
                       started: str | None, ended: str | None, now: str) -> set[str]:
        """Record a step's end and move its order on; returns the Agents to wake."""
        step = conn.execute("SELECT * FROM steps WHERE task_id = ?", (task,)).fetchone()
        if step is None or step["state"] in FINAL_STEP:
            return set()  # an event seen before (or of another journal's task)
        step_state = state if state in ("succeeded", "failed", "killed") else "failed"
        conn.execute("UPDATE steps SET state = ?, return_code = ?, message = ?, stdout = ?, "
                     "stderr = ?, started = COALESCE(?, started), ended = ? WHERE task_id = ?",
                     (step_state, return_code, message, stdout, stderr, started, ended or now,
                      task))
        order = conn.execute("SELECT * FROM orders WHERE order_id = ?",
                             (step["order_id"],)).fetchone()
        where = f"job '{step['job_name']}' on Agent '{step['agent']}'"
        if order["cancel_requested"]:
            return self._end(conn, order["order_id"], "cancelled", f"cancelled ({where}: "
                             f"{message or step_state})", now) | {step["agent"]}
        if step_state != "succeeded":
            return self._end(conn, order["order_id"], "failed", f"{where} failed: {message}",
                             now) | {step["agent"]}
        workflow = self._workflow(conn, order["workflow_path"], order["version_id"])
        position = order["position"] + 1
        if position >= len(workflow.steps):
            self._end(conn, order["order_id"], "finished", "", now)
            return {step["agent"]}  # a step of the same job may wait for its parallelism
        conn.execute("UPDATE orders SET position = ?, updated = ? WHERE order_id = ?",
                     (position, now, order["order_id"]))
        return {step["agent"], self._ready_step(conn, self.journal_id, order["order_id"],
                                                workflow, position)}

    def fail_step(self, task: str, message: str, now: str) -> None:
        """A step that could not start (the Agent refused it): the order fails with the
        reason."""
        with self._tx() as conn:
            self._fail_step(conn, task, message, now)

    def _fail_step(self, conn: sqlite3.Connection, task: str, message: str, now: str) -> None:
        step = conn.execute("SELECT * FROM steps WHERE task_id = ?", (task,)).fetchone()
        if step is None or step["state"] in FINAL_STEP:
            return
        conn.execute("UPDATE steps SET state = 'failed', message = ?, ended = ? WHERE "
                     "task_id = ?", (message, now, task))
        self._end(conn, step["order_id"], "failed",
                  f"job '{step['job_name']}' on Agent '{step['agent']}' could not start: "
                  f"{message}", now)

    @staticmethod
    def _end(conn: sqlite3.Connection, order_id: str, state: str, message: str, now: str
             ) -> set[str]:
        conn.execute("UPDATE orders SET state = ?, message = ?, updated = ? WHERE order_id = ?",
                     (state, message, now, order_id))
        return set()

    # -- cursors: the Agents' events ---------------------------------------------------------
    def cursor(self, agent: str) -> Row | None:
        """(journal_id, event_id) of the last event read from ``agent``, or None."""
        return self._conn.execute("SELECT journal_id, event_id FROM agent_cursors WHERE "
                                  "agent = ?", (agent,)).fetchone()

    def apply_events(self, agent: str, agent_journal: str, events: Sequence[Mapping[str, Any]],
                     after: int, now: str) -> set[str]:
        """A batch of ``agent``'s task events and the new cursor, in one transaction;
        returns the Agents to wake."""
        wake: set[str] = set()
        last = after
        with self._tx() as conn:
            for event in events:
                last = max(last, int(event["eventId"]))
                if event["TYPE"] == "TaskStarted":
                    self._step_started(conn, event["taskId"], event.get("pid"),
                                       event.get("started"))
                elif event["TYPE"] == "TaskFinished":
                    wake |= self._step_finished(
                        conn, event["taskId"], event["state"], event.get("returnCode"),
                        event.get("message", ""), event.get("stdout", ""),
                        event.get("stderr", ""), event.get("started"), event.get("ended"), now)
            conn.execute("INSERT OR REPLACE INTO agent_cursors (agent, journal_id, event_id) "
                         "VALUES (?, ?, ?)", (agent, agent_journal, last))
        return wake

    def agent_reset(self, agent: str, agent_journal: str, now: str) -> None:
        """``agent``'s journal is new: everything is to be attached again, its unfinished
        tasks fail, its events are read from the start."""
        with self._tx() as conn:
            conn.execute("UPDATE attachments SET state = 'pending', message = '' WHERE "
                         "agent = ?", (agent,))
            for row in conn.execute("SELECT task_id FROM steps WHERE agent = ? AND state IN "
                                    "('started', 'running')", (agent,)).fetchall():
                self._fail_step(conn, row["task_id"],
                                "the Agent lost its state (new journal)", now)
            conn.execute("INSERT OR REPLACE INTO agent_cursors (agent, journal_id, event_id) "
                         "VALUES (?, ?, 0)", (agent, agent_journal))
