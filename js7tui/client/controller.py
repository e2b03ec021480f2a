"""The console's typed client for a Controller (httpx, blocking: the CLI calls it directly, the
TUI from a thread worker).

One hop: the console's client certificate (the TLS context it is given) plus its own login on
this Controller; the session token goes in ``x-js7-session`` and is renewed once when the
Controller says it ended (idle timeout, Controller restart). Refusals arrive as
:class:`ControllerRefused` with the Controller's problem code and message; a Controller that
cannot be reached (or refuses the certificate) raises :class:`ControllerUnreachable`.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from js7tui.client.errors import (
    ControllerAnswerLost,
    ControllerError,
    ControllerRefused,
    ControllerUnreachable,
)
from js7tui.engine.answers import read_answer
from js7tui.engine.shapes import SESSION_HEADER, login_body, logout_body, update_items_body
from js7tui.signing import SignedItem

__all__ = ["ControllerAnswerLost", "ControllerError", "ControllerRefused",
           "ControllerUnreachable"]

# Failures before the request left this host: nothing reached the Controller.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
             httpx.UnsupportedProtocol, httpx.InvalidURL)


def answer(response: httpx.Response, refused: type[ControllerRefused] = ControllerRefused
           ) -> Any:
    """The JSON body of an engine's answer, or ``refused`` with its problem code and message
    (:func:`js7tui.engine.answers.read_answer`, which the Controller's link to its Agents uses
    too)."""
    return read_answer(response, refused)


@dataclass(frozen=True)
class Step:
    position: int
    job_name: str
    agent: str
    state: str
    return_code: int | None
    message: str
    started: str | None
    ended: str | None
    pid: int | None = None
    stdout: str = ""
    stderr: str = ""

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> Step:
        return cls(raw["position"], raw["jobName"], raw["agent"], raw["state"],
                   raw.get("returnCode"), raw.get("message", ""), raw.get("started"),
                   raw.get("ended"), raw.get("pid"), raw.get("stdout", ""),
                   raw.get("stderr", ""))


@dataclass(frozen=True)
class Order:
    id: str
    workflow_path: str
    version_id: str
    state: str
    message: str
    created: str
    arguments: dict[str, str] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    position: int = 0
    updated: str = ""
    cancel_requested: bool = False

    FINAL = ("finished", "failed", "cancelled")

    @property
    def ended(self) -> bool:
        return self.state in self.FINAL

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> Order:
        return cls(raw["id"], raw["workflowPath"], raw["versionId"], raw["state"],
                   raw.get("message", ""), raw["created"], dict(raw.get("arguments", {})),
                   tuple(Step.from_wire(s) for s in raw.get("steps", [])),
                   int(raw.get("position", 0)), raw.get("updated", ""),
                   bool(raw.get("cancelRequested", False)))


@dataclass(frozen=True)
class Output:
    """A piece of one step's output from the offsets asked for; ask again from
    ``stdout_offset``/``stderr_offset`` for what came since (``live``: read from the Agent
    while the job runs)."""

    order_id: str
    order_state: str
    position: int
    job_name: str
    agent: str
    state: str
    stdout: str
    stderr: str
    stdout_offset: int
    stderr_offset: int
    live: bool = False
    message: str = ""

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> Output:
        return cls(raw["orderId"], raw["orderState"], raw["position"], raw["jobName"],
                   raw["agent"], raw["state"], raw.get("stdout", ""), raw.get("stderr", ""),
                   raw.get("stdoutOffset", 0), raw.get("stderrOffset", 0),
                   bool(raw.get("live")), raw.get("message", ""))


@dataclass(frozen=True)
class AgentState:
    """One Agent's state of one item version, as its Controller reports it: ``attached``,
    ``pending`` (on its way, or the Agent is not reachable: ``message`` says which) or
    ``refused`` (``message``: the Agent's problem code and reason)."""

    state: str
    message: str = ""
    updated: str = ""

    STATES = ("attached", "pending", "refused")

    @property
    def attached(self) -> bool:
        return self.state == "attached"

    def __str__(self) -> str:
        return f"{self.state}: {self.message}" if self.message else self.state

    @classmethod
    def from_wire(cls, raw: Any) -> AgentState:
        if isinstance(raw, str):  # a Controller before the structured answer: "refused: why"
            state, _, message = raw.partition(": ")
            return cls(state, message)
        return cls(str(raw.get("state", "")), str(raw.get("message") or ""),
                   str(raw.get("updated") or ""))


def _agents(raw: Mapping[str, Any] | None) -> dict[str, AgentState]:
    return {name: AgentState.from_wire(state) for name, state in (raw or {}).items()}


@dataclass(frozen=True)
class DeployedItem:
    item_type: str
    path: str
    version_id: str
    revision: int
    deployed: str
    signer: str
    agents: dict[str, AgentState]

    @property
    def attached(self) -> bool:
        """Every Agent that runs the item holds it (False while none is known)."""
        return bool(self.agents) and all(a.attached for a in self.agents.values())

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> DeployedItem:
        return cls(raw["TYPE"], raw["path"], raw["versionId"], raw["revision"], raw["deployed"],
                   raw.get("signer", ""), _agents(raw.get("agents")))


@dataclass(frozen=True)
class ItemState:
    """What a Controller holds of one item version (``GET /api/item/state``): whether it is
    the current version of its path (``current_version_id``: the one that is, None when the
    path is not deployed any more), and each Agent's state of it."""

    item_type: str
    path: str
    version_id: str
    current: bool
    agents: dict[str, AgentState]
    current_version_id: str | None = None
    revision: int | None = None
    deployed: str = ""
    digest: str = ""
    signer: str = ""
    detaching: tuple[str, ...] = ()

    @property
    def attached(self) -> bool:
        return bool(self.agents) and all(a.attached for a in self.agents.values())

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> ItemState:
        return cls(raw["TYPE"], raw["path"], raw["versionId"], bool(raw["current"]),
                   _agents(raw.get("agents")), raw.get("currentVersionId"),
                   raw.get("revision"), raw.get("deployed", ""), raw.get("digest", ""),
                   raw.get("signer", ""), tuple(raw.get("detaching", ())))


class ControllerClient:
    """A session with one Controller. ``close()`` logs out."""

    def __init__(self, url: str, user: str, password: str, *,
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.user = user
        self._password = password
        self._token: str | None = None
        self._http = httpx.Client(base_url=self.url,
                                  verify=ssl_context if ssl_context is not None else True,
                                  timeout=timeout)

    def __enter__(self) -> ControllerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange. A failure before the request left (no connection, TLS refused)
        is :class:`ControllerUnreachable`; one after it may have arrived (no answer in time,
        the connection dropped) is :class:`ControllerAnswerLost`, so a change sent with it is
        known to be UNKNOWN rather than failed."""
        try:
            return self._http.request(method, path, **kwargs)
        except _NOT_SENT as exc:
            raise ControllerUnreachable(
                f"cannot reach the Controller at {self.url}: {exc or type(exc).__name__} "
                "(is it running, and do both sides trust each other's certificates?)") from None
        except httpx.HTTPError as exc:
            raise ControllerAnswerLost(
                f"no answer from the Controller at {self.url} ({exc or type(exc).__name__}): "
                "the request was sent, so it may have been applied") from None

    def login(self) -> str:
        """Log in on this hop. A lost answer here is only unreachable: the login carries no
        change, so nothing can have been applied."""
        try:
            body = answer(self._send("POST", "/api/session",
                                     json=login_body(self.user, self._password)))
        except ControllerAnswerLost as exc:
            raise ControllerUnreachable(
                f"the Controller at {self.url} did not answer the login: {exc}") from None
        self._token = str(body["sessionToken"])
        return self._token

    def logout(self) -> None:
        if self._token:
            token, self._token = self._token, None
            with contextlib.suppress(ControllerError):
                answer(self._send("POST", "/api/session", json=logout_body(token),
                                      headers={SESSION_HEADER: token}))

    def close(self) -> None:
        self.logout()
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request with the session token; logs in first, and again once if the
        Controller forgot the session."""
        for attempt in (1, 2):
            token = self._token or self.login()
            response = self._send(method, path, headers={SESSION_HEADER: token}, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self._token = None
                continue
            return answer(response)
        raise AssertionError("unreachable")

    # -- the Controller's API -------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The Controller's overview: id, journal, item and order counts, Agent links."""
        return dict(self.call("GET", "/api"))

    def deploy(self, add: Sequence[SignedItem] = (),
               delete: Sequence[tuple[str, str]] = ()) -> list[dict[str, Any]]:
        """Add/change signed items and delete (type, path) items, all or nothing."""
        body = update_items_body([s.to_wire() for s in add], delete)
        return list(self.call("POST", "/api/item", json=body)["items"])

    def items(self) -> list[DeployedItem]:
        return [DeployedItem.from_wire(i) for i in self.call("GET", "/api/item")["items"]]

    def item_states(self, *, version_id: str | None = None, item_type: str | None = None,
                    path: str | None = None) -> list[ItemState]:
        """Every item version the Controller holds (current or not) with this version id (a
        deploy's commit id) and/or path, each with each Agent's state: the truth to reconcile
        a deploy or a revoke with."""
        if version_id is None and path is None:
            raise ValueError("item_states needs a version_id or a path")
        params = {k: v for k, v in (("versionId", version_id), ("itemType", item_type),
                                    ("path", path)) if v is not None}
        return [ItemState.from_wire(i) for i in self.call("GET", "/api/item/state",
                                                          params=params)["items"]]

    def revoked_items(self) -> list[dict[str, Any]]:
        """Deployed items the Controller can no longer run, with the code and reason."""
        return list(self.call("GET", "/api/item/revoked")["items"])

    def signed_item(self, item_type: str, path: str, version_id: str | None = None
                    ) -> SignedItem:
        params = {"itemType": item_type, "path": path, **(
            {"versionId": version_id} if version_id else {})}
        return SignedItem.from_wire(self.call("GET", "/api/item/signed", params=params))

    def add_order(self, order_id: str, workflow_path: str,
                  arguments: Mapping[str, Any] | None = None) -> str:
        return str(self.add_orders([{"id": order_id, "workflowPath": workflow_path,
                                     "arguments": dict(arguments or {})}])[0])

    def add_orders(self, fresh: Sequence[Mapping[str, Any]]) -> list[str]:
        return list(self.call("POST", "/api/order", json=list(fresh))["orderIds"])

    def cancel_orders(self, order_ids: Sequence[str]) -> list[dict[str, str]]:
        body = {"TYPE": "CancelOrders", "orderIds": list(order_ids)}
        return list(self.call("POST", "/api/command", json=body)["orders"])

    def orders(self, state: str | None = None) -> list[Order]:
        params = {"state": state} if state else {}
        return [Order.from_wire(o) for o in self.call("GET", "/api/order",
                                                      params=params)["orders"]]

    def order(self, order_id: str) -> Order:
        return Order.from_wire(self.call("GET", f"/api/order/{quote(order_id, safe='')}"))

    def order_log(self, order_id: str) -> Order:
        """The order with each step's captured stdout and stderr."""
        return Order.from_wire(self.call("GET",
                                         f"/api/order/{quote(order_id, safe='')}/log"))

    def order_output(self, order_id: str, position: int | None = None, *, stdout: int = 0,
                     stderr: int = 0) -> Output:
        """Step ``position``'s output (default: the current step) from byte offsets on."""
        params = {"stdout": stdout, "stderr": stderr,
                  **({"position": position} if position is not None else {})}
        return Output.from_wire(self.call(
            "GET", f"/api/order/{quote(order_id, safe='')}/output", params=params))

    def agents(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/agent")["agents"])
