"""Every request's wire shape, checked before a handler sees it: body size, JSON depth, types,
ranges and lengths of every field, unknown fields and query parameters refused by name.

A shape is a small declarative value (:class:`Obj`, :class:`Str`, :class:`Int`, ...) whose
``check(value, where)`` returns the value or raises a :class:`~js7tui.engine.problems.Problem`
(400 ``InvalidRequest`` naming the field, e.g. ``[3].workflowPath``). An :class:`Endpoint`
joins a route's body shape, body size limit, query and path parameters. The engine's middleware
(:mod:`js7tui.engine.app`, which does the I/O; nothing here does) reads the body with that cap
(413 beyond it, before any parsing); here the nesting depth is counted without recursing (so
1,000 levels are a 400, not a RecursionError), the JSON parsed and checked; the handler gets
``request["body"]`` and ``request["query"]``. The shapes of all routes of the Controller and
the Agent are built here from the server's ``[limits]``
(:class:`~js7tui.engine.config.WireLimits`).

Semantic checks (signatures, item shapes, whether an order exists) stay where they were; this
module only guarantees that they get values of the types they expect.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Protocol

from js7tui.engine.config import WireLimits
from js7tui.engine.problems import Problem

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CONTROL_ANY = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: 8x faster
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")  # item paths (engine/shapes.py)
ORDER_ID = re.compile(r"^[A-Za-z0-9_#][A-Za-z0-9_.:#@+-]{0,199}$")  # controller/orders.py
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
TASK_ID = re.compile(r"^[A-Za-z0-9_#][A-Za-z0-9_.:#@+-]{0,399}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEXISH = re.compile(r"^[0-9A-Za-z-]{1,64}$")
_LEVEL = re.compile(r"^(LOW|MEDIUM|HIGH)$")
_DECIMAL = re.compile(r"^[0-9]{1,18}$")
_SECONDS = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,6})?$")


def refuse(where: str, message: str, status: int = 400, code: str = "InvalidRequest"
           ) -> Problem:
    return Problem(status, code, f"{where}: {message}" if where else message, field=where)


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value),
                                                                      type(value).__name__)


class Shape(Protocol):
    def check(self, value: Any, where: str) -> Any: ...


# -- shapes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Str:
    max_length: int
    min_length: int = 0
    pattern: re.Pattern[str] | None = None
    multiline: bool = False  # tab, CR and LF allowed (other control characters never)
    hint: str = ""

    def check(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise refuse(where, f"must be a string, not {_kind(value)}")
        if not self.min_length <= len(value) <= self.max_length:
            raise refuse(where, f"must be {self.min_length} to {self.max_length} characters, "
                         f"not {len(value)}")
        if (_CONTROL if self.multiline else _CONTROL_ANY).search(value):
            raise refuse(where, "holds a control character or a lone surrogate")
        if self.pattern is not None and not self.pattern.match(value):
            raise refuse(where, f"is not valid{f' ({self.hint})' if self.hint else ''}")
        return value


@dataclass(frozen=True)
class Int:
    low: int
    high: int

    def check(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise refuse(where, f"must be an integer, not {_kind(value)}")
        if not self.low <= value <= self.high:
            raise refuse(where, f"must be from {self.low} to {self.high}")
        return value


@dataclass(frozen=True)
class Const:
    value: str

    def check(self, value: Any, where: str) -> str:
        if value != self.value:
            raise refuse(where, f"must be {self.value!r}")
        return self.value


@dataclass(frozen=True)
class Scalar:
    """A string (up to ``max_length``), a finite number or a boolean: an order argument."""

    max_length: int

    def check(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            return Str(self.max_length, multiline=True).check(value, where)
        if isinstance(value, bool | int):
            if not isinstance(value, bool) and abs(value) >= 10 ** 18:
                raise refuse(where, "is too large a number")
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise refuse(where, "must be a finite number")
            return value
        raise refuse(where, f"must be a string, number or boolean, not {_kind(value)}")


@dataclass(frozen=True)
class ListOf:
    item: Shape
    max_items: int
    min_items: int = 0

    def check(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise refuse(where, f"must be an array, not {_kind(value)}")
        if not self.min_items <= len(value) <= self.max_items:
            raise refuse(where, f"must have {self.min_items} to {self.max_items} entries, "
                         f"not {len(value)}")
        return [self.item.check(v, f"{where}[{i}]") for i, v in enumerate(value)]


@dataclass(frozen=True)
class MapOf:
    """An object with free keys (each checked by ``key``) and values of one shape."""

    key: Str
    value: Shape
    max_items: int

    def check(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise refuse(where, f"must be an object, not {_kind(value)}")
        if len(value) > self.max_items:
            raise refuse(where, f"must have at most {self.max_items} entries, not {len(value)}")
        out = {}
        for key, item in value.items():
            self.key.check(key, f"{where} key {key[:40]!r}")
            out[key] = self.value.check(item, f"{where}.{key}")
        return out


@dataclass(frozen=True)
class Obj:
    """An object with known fields only (another one is refused by name)."""

    fields: Mapping[str, Shape]
    optional: frozenset[str] = frozenset()

    def check(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise refuse(where, f"must be an object, not {_kind(value)}")
        for key in value:
            if key not in self.fields:
                raise refuse(_join(where, key[:60]), "unknown field; known: "
                             + ", ".join(self.fields), code="UnknownField")
        out = {}
        for key, shape in self.fields.items():
            if key not in value:
                if key in self.optional:
                    continue
                raise refuse(_join(where, key), "is missing")
            out[key] = shape.check(value[key], _join(where, key))
        return out


@dataclass(frozen=True)
class Tagged:
    """An object whose ``TYPE`` picks its shape (each variant an :class:`Obj` with ``TYPE``)."""

    variants: Mapping[str, Obj]

    def check(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise refuse(where, f"must be an object, not {_kind(value)}")
        kind = value.get("TYPE")
        if not isinstance(kind, str) or kind not in self.variants:
            raise refuse(_join(where, "TYPE"), "must be one of " + ", ".join(self.variants))
        return self.variants[kind].check(value, where)


@dataclass(frozen=True)
class OneOrMany:
    """One object, or an array of them (``POST /api/order``); always answers the array."""

    many: ListOf

    def check(self, value: Any, where: str) -> list[Any]:
        if isinstance(value, list):
            return self.many.check(value, where)
        return [self.many.item.check(value, where)]


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


# -- query strings --------------------------------------------------------------------------
@dataclass(frozen=True)
class QInt:
    low: int
    high: int
    default: int | None = None

    def parse(self, text: str, where: str) -> int:
        if not _DECIMAL.match(text) or not self.low <= int(text) <= self.high:
            raise refuse(where, f"must be an integer from {self.low} to {self.high}")
        return int(text)


@dataclass(frozen=True)
class QSeconds:
    high: float
    default: float | None = None

    def parse(self, text: str, where: str) -> float:
        if not _SECONDS.match(text) or float(text) > self.high:
            raise refuse(where, f"must be a number of seconds from 0 to {self.high:g}")
        return float(text)


@dataclass(frozen=True)
class QStr:
    shape: Str
    default: str | None = None

    def parse(self, text: str, where: str) -> str:
        return self.shape.check(text, where)


QueryShape = Mapping[str, QInt | QSeconds | QStr]


def check_query(query: Mapping[str, str], shape: QueryShape) -> dict[str, Any]:
    """Parameters by name: unknown ones and repeated ones refused, defaults filled in."""
    out: dict[str, Any] = {}
    for name in query:
        if name not in shape:
            known = ", ".join(shape) or "none"
            raise refuse(f"query parameter {name[:60]!r}", f"unknown; known: {known}",
                         code="UnknownField")
        values = query.getall(name) if hasattr(query, "getall") else [query[name]]
        if len(values) > 1:
            raise refuse(f"query parameter {name!r}", "is given more than once")
    for name, parameter in shape.items():
        if name in query:
            out[name] = parameter.parse(query[name], f"query parameter {name!r}")
        elif parameter.default is not None:
            out[name] = parameter.default
    return out


# -- bodies ---------------------------------------------------------------------------------
def check_depth(data: bytes, limit: int) -> None:
    """Refuse JSON nested deeper than ``limit`` (arrays and objects) at C speed, never
    recursing: the strings are cut out, only brackets are left, and each round removes the
    innermost pairs; if some are left after ``limit`` rounds (or a round removes none: not JSON),
    the running depth is summed up exactly."""
    brackets = _STRINGS.sub(b"", data).translate(None, _NOT_BRACKETS)
    residue = brackets
    for _ in range(limit):
        if not residue:
            return
        shorter = residue.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(residue):
            break
        residue = shorter
    if not residue:
        return
    if max(accumulate(array("b", brackets.translate(_STEPS)))) > limit:
        raise refuse("", f"the JSON is nested deeper than {limit} levels", code="InvalidJson")


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(data: bytes, depth: int) -> Any:
    if not data.strip():
        raise refuse("", "the request body is empty; it must be JSON", code="InvalidJson")
    check_depth(data, depth)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_constant)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or "invalid"
        raise refuse("", f"the request body is not JSON ({reason[:200]})",
                     code="InvalidJson") from None


@dataclass(frozen=True)
class Endpoint:
    """A route's wire shape: its body (None: the body must be empty), query and path
    parameters (``{order_id}``: any path parameter not named is at most 400 plain
    characters)."""

    body: Shape | None = None
    max_body: int = 0
    query: QueryShape = field(default_factory=dict)
    path: Mapping[str, Str] = field(default_factory=dict)


_PATH_PARAMETER = Str(400, 1)


def check_path(parameters: Mapping[str, str], endpoint: Endpoint) -> None:
    for name, value in parameters.items():
        endpoint.path.get(name, _PATH_PARAMETER).check(value, f"path parameter {name!r}")


# -- the routes' shapes ---------------------------------------------------------------------
NO_QUERY: QueryShape = {}


def session_endpoint(limits: WireLimits) -> Endpoint:
    login = Obj({"TYPE": Const("Login"), "userAndPassword": Obj({
        "userId": Str(200, 1), "password": Str(1024, multiline=True)})})
    logout = Obj({"TYPE": Const("Logout"), "sessionToken": Str(200)})
    return Endpoint(Tagged({"Login": login, "Logout": logout}), limits.login_body)


def _update_items(limits: WireLimits) -> Endpoint:
    signed = Obj({"string": Str(limits.item_body, multiline=True),
                  "signature": MapOf(Str(100, 1), Str(256 * 1024, multiline=True), 32)})
    operation = Tagged({
        "AddOrChangeSigned": Obj({"TYPE": Const("AddOrChangeSigned"), "signedString": signed}),
        "DeleteItem": Obj({"TYPE": Const("DeleteItem"), "itemType": Str(20, 1),
                           "path": Str(200, 1)})})
    return Endpoint(Obj({"TYPE": Const("UpdateItems"),
                         "operations": ListOf(operation, 100_000, 1)}), limits.item_body)


def _arguments(limits: WireLimits) -> MapOf:
    return MapOf(Str(100, 1, VARIABLE, hint="a letter or _, then letters, digits and _"),
                 Scalar(limits.argument_length), limits.arguments)


def _order_id(max_length: int = 200) -> Str:
    return Str(max_length, 1, ORDER_ID, hint="letters, digits, _ # . : @ + -")


def _item_path() -> Str:
    return Str(200, 1, NAME, hint="letters, digits, '.', '_' and '-'")


def controller_endpoints(limits: WireLimits) -> dict[str, Endpoint]:
    """By ``METHOD /canonical/path`` (aiohttp's resource canonical form)."""
    order = Obj({"id": _order_id(), "workflowPath": _item_path(),
                 "arguments": _arguments(limits)}, optional=frozenset({"arguments"}))
    cancel = Obj({"TYPE": Const("CancelOrders"),
                  "orderIds": ListOf(_order_id(), limits.orders_per_request)})
    offset = QInt(0, 2 ** 53)
    order_path = {"order_id": _order_id()}
    return {
        "POST /api/item": _update_items(limits),
        "GET /api/item": Endpoint(),
        "GET /api/item/signed": Endpoint(query={
            "itemType": QStr(Str(20, 1)), "path": QStr(_item_path()),
            "versionId": QStr(Str(200))}),
        # main's per-Agent truth and revocation routes (issue 15/16), ready for the merge
        "GET /api/item/state": Endpoint(query={
            "versionId": QStr(Str(200)), "itemType": QStr(Str(20, 1)),
            "path": QStr(_item_path())}),
        "GET /api/item/revoked": Endpoint(),
        "POST /api/order": Endpoint(OneOrMany(ListOf(order, limits.orders_per_request, 1)),
                                    limits.request_body),
        "GET /api/order": Endpoint(query={
            "state": QStr(Str(20, 1)), "limit": QInt(1, 1000, 1000)}),
        "GET /api/order/{order_id}": Endpoint(path=order_path),
        "GET /api/order/{order_id}/log": Endpoint(path=order_path),
        "GET /api/order/{order_id}/output": Endpoint(path=order_path, query={
            "position": QInt(0, 100_000), "stdout": offset, "stderr": offset}),
        "POST /api/command": Endpoint(Tagged({"CancelOrders": cancel}), limits.request_body),
        "GET /api/agent": Endpoint(),
        # the console's audit-chain heads (issue 16): journalled as witnesses
        "POST /api/audit/witness": Endpoint(Obj({
            "installationId": Str(64, 1, _HEXISH), "auditId": Int(0, 2 ** 53),
            "hash": Str(64, 64, _HEX64), "entries": Int(0, 2 ** 53),
            "securityLevel": Str(6, 3, _LEVEL), "schemaDigest": Str(64, 64, _HEX64)}),
            limits.request_body),
        "GET /api/audit/witness": Endpoint(query={
            "installationId": QStr(Str(64, 1, _HEXISH)), "limit": QInt(1, 100_000, 1000)}),
    }


def agent_endpoints(limits: WireLimits) -> dict[str, Endpoint]:
    task_id = Str(400, 1, TASK_ID, hint="letters, digits, _ # . : @ + -")
    start = Obj({"TYPE": Const("StartTask"), "taskId": task_id, "orderId": _order_id(),
                 "workflowPath": _item_path(), "versionId": Str(200, 1),
                 "position": Int(0, 100_000), "jobName": Str(200, 1),
                 "arguments": _arguments(limits)}, optional=frozenset({"arguments"}))
    offset = QInt(0, 2 ** 53)
    return {
        "POST /api/item": _update_items(limits),
        "GET /api/item": Endpoint(),
        "POST /api/task": Endpoint(start, limits.request_body),
        "POST /api/task/kill": Endpoint(Obj({"taskId": task_id}), limits.request_body),
        "GET /api/task/output": Endpoint(query={
            "taskId": QStr(task_id), "stdout": offset, "stderr": offset}),
        "GET /api/event": Endpoint(query={"after": QInt(0, 2 ** 63 - 1, 0),
                                          "timeout": QSeconds(60.0, 0.0)}),
    }
