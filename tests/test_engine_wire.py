"""Every endpoint of the Controller and the Agent checks its input against its wire shape
(js7tui/engine/wire.py) and answers 4xx with a JSON problem, never a 500.

The unit tests check the shapes; the end-to-end tests reproduce, against real server
processes, each input that once got a 500 ("Server got itself in trouble") or was accepted
although it should not have been; the property-based test throws random JSON bodies and
query strings at every route of a running Controller and Agent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from js7tui.client import ControllerClient
from js7tui.controller.server import ControllerServer
from js7tui.engine.auth import hash_sha512
from js7tui.engine.config import WireLimits, load_component_config
from js7tui.engine.journal import open_journal
from js7tui.engine.problems import Problem
from js7tui.engine.shapes import SESSION_HEADER, login_body
from js7tui.engine.wire import (
    Obj,
    QInt,
    Str,
    agent_endpoints,
    check_depth,
    check_query,
    controller_endpoints,
    parse_json,
)
from tests.estate import CONSOLE_PASSWORD, Estate, running_estate, wait_attached, workflow

# -- the shapes, without a server -----------------------------------------------------------


def test_unknown_fields_are_refused_by_name() -> None:
    shape = Obj({"id": Str(10)})
    with pytest.raises(Problem) as refused:
        shape.check({"id": "a", "evil": 1}, "orders[2]")
    assert refused.value.status == 400 and refused.value.code == "UnknownField"
    assert "orders[2].evil" in refused.value.message


def test_depth_is_counted_without_recursion_and_strings_do_not_count() -> None:
    check_depth(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": [[1]]}', 3)
    check_depth(b'["\\"[[[[[[[[["]', 2)  # an escaped quote does not end the string
    check_depth(b"[" * 64 + b"]" * 64, 64)
    check_depth(b"[{]}" * 1000, 64)  # not JSON: json.loads says so
    for deep in (b"[" * 65 + b"]" * 65, b"[" * 100_000, b"[]" * 100_000 + b"{" * 65):
        with pytest.raises(Problem, match="deeper than 64"):
            check_depth(deep, 64)
    with pytest.raises(Problem, match="deeper than 64"):
        parse_json(b'{"a":' * 1000 + b"1" + b"}" * 1000, 64)


@pytest.mark.parametrize("data", [b"", b"  ", b"NaN", b"[Infinity]", b"\xff\xfe",
                                  b"1" * 5000, b'{"a": 1'])
def test_what_is_not_json_is_a_400(data: bytes) -> None:
    with pytest.raises(Problem) as refused:
        parse_json(data, 64)
    assert refused.value.status == 400 and refused.value.code == "InvalidJson"


@pytest.mark.parametrize("query", [{"limit": "abc"}, {"limit": "-1"}, {"limit": "0"},
                                   {"limit": "1001"}, {"limit": "1e3"}, {"evil": "1"}])
def test_query_parameters_have_ranges(query: dict[str, str]) -> None:
    with pytest.raises(Problem) as refused:
        check_query(query, {"limit": QInt(1, 1000, 1000)})
    assert refused.value.status == 400
    assert check_query({}, {"limit": QInt(1, 1000, 1000)}) == {"limit": 1000}


def test_strings_refuse_control_characters_and_lone_surrogates() -> None:
    for bad in ("a\x00b", "a\ud800", "x" * 11):
        with pytest.raises(Problem):
            Str(10).check(bad, "userId")


def test_order_shape_limits_arguments() -> None:
    limits = WireLimits(arguments=2, argument_length=5)
    shape = controller_endpoints(limits)["POST /api/order"].body
    assert shape is not None
    assert shape.check({"id": "a", "workflowPath": "w"}, "") == [{"id": "a",
                                                                  "workflowPath": "w"}]
    for arguments in ({"a": "123456"}, {"a": 1, "b": 2, "c": 3}, {"a": [1]}, {"a": None},
                      {"1a": "x"}, {"a": 1e400}):
        with pytest.raises(Problem):
            shape.check({"id": "a", "workflowPath": "w", "arguments": arguments}, "")


# -- in process: the middleware -----------------------------------------------------------
def _insecure_controller(tmp_path: Path) -> ControllerServer:
    (tmp_path / "trusted-x509-keys").mkdir(parents=True)
    (tmp_path / "config.toml").write_text(
        '[server]\nname = "c"\ninvalid_login_delay = "0s"\n\n'
        f'[users.console]\npassword_hash = "{hash_sha512(CONSOLE_PASSWORD)}"\n\n'
        '[limits]\nlogin_body = 2048\nrequest_body = 4096\n')
    config = load_component_config(tmp_path, "controller", insecure_http=True)
    return ControllerServer(config, open_journal(config.state_dir, "js7tui.controller"),
                            insecure_http=True)


def test_an_unexpected_exception_is_a_logged_500_problem(tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    server = _insecure_controller(tmp_path)

    async def broken(request: web.Request) -> web.Response:
        raise KeyError("bug")

    server.agents = broken  # type: ignore[method-assign]

    async def scenario() -> None:
        async with TestClient(TestServer(server.app())) as client:
            token = (await (await client.post("/api/session", json=login_body(
                "console", CONSOLE_PASSWORD))).json())["sessionToken"]
            response = await client.get("/api/agent", headers={SESSION_HEADER: token})
            assert response.status == 500
            assert (await response.json())["code"] == "InternalError"
            big = await client.post("/api/session", data=b"[" * 3000)
            assert big.status == 413 and (await big.json())["code"] == "RequestTooLarge"

            async def chunks() -> Any:  # no Content-Length: refused once 2 KiB arrived
                for _ in range(100):
                    yield b" " * 1000

            chunked = await client.post("/api/session", data=chunks())
            assert chunked.status == 413
            order = await client.post("/api/order", data=json.dumps(
                {"id": "a", "workflowPath": "w", "arguments": {"a": "x" * 5000}}),
                headers={SESSION_HEADER: token})
            assert order.status == 413
            missing = await client.get("/api/nothing", headers={SESSION_HEADER: token})
            assert missing.status == 404 and (await missing.json())["code"] == "NotFound"

    engine_log = logging.getLogger("js7tui.engine")  # "js7tui" may not propagate (demo)
    engine_log.addHandler(caplog.handler)
    try:
        asyncio.run(scenario())
    finally:
        engine_log.removeHandler(caplog.handler)
        server.journal.close()
    assert "internal error answering GET /api/agent" in caplog.text
    assert "KeyError: 'bug'" in caplog.text  # with its traceback


def test_every_route_has_a_wire_shape(tmp_path: Path) -> None:
    """``app()`` refuses to build with a route whose wire shape is missing."""
    from js7tui.agent.server import AgentServer

    controller = _insecure_controller(tmp_path / "controller")
    agent_dir = tmp_path / "agent"
    (agent_dir / "trusted-x509-keys").mkdir(parents=True)
    (agent_dir / "config.toml").write_text(
        f'[server]\nname = "a"\n\n[users.controller]\npassword_hash = "{hash_sha512("x")}"\n')
    config = load_component_config(agent_dir, "agent", insecure_http=True)
    agent = AgentServer(config, open_journal(config.state_dir, "js7tui.agent"),
                        insecure_http=True)
    try:
        for server in (controller, agent):
            routes = {f"{r.method} {r.resource.canonical}" for r in server.app().router.routes()
                      if r.resource is not None and r.method != "HEAD"}
            assert routes <= set(server.endpoints)
            del server.endpoints["GET /api"]
            with pytest.raises(AssertionError, match="GET /api has no wire shape"):
                server.app()
    finally:
        controller.journal.close()
        agent.journal.close()


# -- real servers --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("wire")) as estate:
        with estate.client() as ctl:
            ctl.deploy([estate.sign(workflow("w", {"j": ("agent-1", "echo hi")}))])
            wait_attached(ctl, "w")
        yield estate


class Raw:
    """Raw requests with a valid session: the bodies a typed client would never send."""

    def __init__(self, client: ControllerClient) -> None:
        self.client = client
        self.token = client.login()

    def send(self, method: str, path: str, body: Any = None, *, content: bytes | None = None,
             params: Any = None) -> httpx.Response:
        if body is not None:
            content = json.dumps(body).encode()
        return self.client._http.request(method, path, content=content, params=params,
                                         headers={SESSION_HEADER: self.token,
                                                  "content-type": "application/json"})


@pytest.fixture(scope="module")
def controller(estate: Estate) -> Iterator[Raw]:
    client = estate.client()
    yield Raw(client)
    client.close()


@pytest.fixture(scope="module")
def agent(estate: Estate) -> Iterator[Raw]:
    client = estate.as_controller("agent-1")
    yield Raw(client)
    client.close()


def _problem(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["TYPE"] == "Problem"
    return dict(body)


@pytest.mark.slow
@pytest.mark.parametrize("credentials", [["console", "x"], "console", 1, None,
                                         {"userId": ["console"], "password": "x"},
                                         {"userId": "console", "password": "\ud800"}])
def test_login_with_a_malformed_user_and_password_is_a_400(controller: Raw,
                                                           credentials: Any) -> None:
    body = {"TYPE": "Login", "userAndPassword": credentials}
    problem = _problem(controller.send("POST", "/api/session", body))
    assert "userAndPassword" in problem["message"]


@pytest.mark.slow
@pytest.mark.parametrize("path", [["w"], {"path": "w"}, 1, None])
def test_an_order_with_a_malformed_workflow_path_is_a_400(controller: Raw, path: Any) -> None:
    problem = _problem(controller.send("POST", "/api/order", [{"id": "o", "workflowPath": path}]))
    assert "[0].workflowPath" in problem["message"]


@pytest.mark.slow
@pytest.mark.parametrize("limit", ["abc", "-1", "0", "1001", "1e3", ""])
def test_order_list_limit_is_1_to_1000(controller: Raw, limit: str) -> None:
    _problem(controller.send("GET", "/api/order", params={"limit": limit}))
    assert controller.send("GET", "/api/order", params={"limit": "1"}).status_code == 200


@pytest.mark.slow
def test_json_nested_1000_levels_is_a_400(controller: Raw, agent: Raw) -> None:
    deep = b'{"a":' * 1000 + b"1" + b"}" * 1000
    for raw, path in ((controller, "/api/session"), (controller, "/api/order"),
                      (agent, "/api/task")):
        assert _problem(raw.send("POST", path, content=deep))["code"] == "InvalidJson"
    assert _problem(controller.send("POST", "/api/order", content=b"[" * 1000))[
        "code"] == "InvalidJson"


@pytest.mark.slow
@pytest.mark.parametrize("after", ["1e30", "-1", "abc", str(2 ** 64)])
def test_agent_event_after_must_be_a_non_negative_integer(agent: Raw, after: str) -> None:
    _problem(agent.send("GET", "/api/event", params={"after": after}))


@pytest.mark.slow
def test_unknown_fields_are_refused(controller: Raw, agent: Raw) -> None:
    problem = _problem(controller.send("POST", "/api/order",
                                       {"id": "evil-1", "workflowPath": "w", "evil": 1}))
    assert problem["code"] == "UnknownField" and "evil" in problem["message"]
    assert _problem(controller.send("GET", "/api/order/evil-1"), 404)["code"] == "UnknownOrder"
    problem = _problem(agent.send("POST", "/api/task/kill", {"taskId": "t", "evil": 1}))
    assert "evil" in problem["message"]
    assert "evil" in _problem(controller.send("GET", "/api/agent", params={"evil": "1"}))[
        "message"]


@pytest.mark.slow
def test_large_arguments_and_bodies_are_refused(controller: Raw) -> None:
    huge = {"id": "huge-1", "workflowPath": "w", "arguments": {"a": "x" * 20_000_000}}
    assert _problem(controller.send("POST", "/api/order", huge), 413)["code"] == \
        "RequestTooLarge"
    long = {"id": "long-1", "workflowPath": "w", "arguments": {"a": "x" * 9000}}
    assert "arguments.a" in _problem(controller.send("POST", "/api/order", long))["message"]
    login = _problem(controller.send("POST", "/api/session", content=b" " * 50_000_000), 413)
    assert "16384" in login["message"]
    assert controller.send("GET", "/api").status_code == 200


# -- random input at every route ------------------------------------------------------------
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                  max_size=4),
    max_leaves=12)

_VALID = {
    "POST /api/session": {"TYPE": "Login",
                          "userAndPassword": {"userId": "console", "password": "wrong"}},
    "POST /api/item": {"TYPE": "UpdateItems", "operations": [
        {"TYPE": "DeleteItem", "itemType": "Workflow", "path": "nothing"}]},
    "POST /api/order": [{"id": "fuzz", "workflowPath": "nothing", "arguments": {"a": "1"}}],
    "POST /api/command": {"TYPE": "CancelOrders", "orderIds": ["nothing"]},
    "POST /api/task": {"TYPE": "StartTask", "taskId": "fuzz:1", "orderId": "fuzz",
                       "workflowPath": "nothing", "versionId": "v", "position": 0,
                       "jobName": "j", "arguments": {}},
    "POST /api/task/kill": {"taskId": "nothing"},
}


@st.composite
def _near(draw: st.DrawFn, template: Any) -> Any:
    """A valid body with one value replaced by random JSON, or one field added."""
    if isinstance(template, list):
        return [draw(_near(template[0]))] if template else template
    if not isinstance(template, dict) or draw(st.booleans()):
        return draw(_JSON)
    body = dict(template)
    keys = st.sampled_from(sorted(body)) | st.text(max_size=8) if body else st.text(max_size=8)
    key = draw(keys)
    body[key] = draw(_near(body[key])) if key in body else draw(_JSON)
    return body


_QUERY = st.dictionaries(
    st.sampled_from(["limit", "after", "timeout", "state", "stdout", "stderr", "position",
                     "taskId", "itemType", "path", "versionId"]) | st.text(max_size=6),
    st.sampled_from(["-1", "0", "1e30", "1.5", "abc", "", "18446744073709551616"])
    | st.text(max_size=20), max_size=3)


def _routes(endpoints: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key.split()[0], key.split()[1].replace("{order_id}", "fuzz"))
            for key in endpoints]


EXAMPLES = int(os.environ.get("JS7TUI_FUZZ_EXAMPLES", "60"))  # per route; more to hunt
_CASES = ([("controller", *route) for route in
           [("POST", "/api/session"), ("GET", "/api"),
            *_routes(controller_endpoints(WireLimits()))]]
          + [("agent", *route) for route in _routes(agent_endpoints(WireLimits()))])


@pytest.mark.slow
@pytest.mark.parametrize(("server", "method", "path"), _CASES)
def test_random_input_never_gets_a_500(controller: Raw, agent: Raw, server: str, method: str,
                                       path: str) -> None:
    raw = controller if server == "controller" else agent
    template = _VALID.get(f"{method} {path}")

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(body=_near(template) if template is not None else st.none(), query=_QUERY,
           text=st.binary(max_size=40))
    def throw(body: Any, query: dict[str, str], text: bytes) -> None:
        if method == "GET":
            response = raw.send(method, path, params=query)
        elif body is None and text:
            response = raw.send(method, path, content=text, params=query)
        else:
            response = raw.send(method, path, body if body is not None else {}, params=query)
        assert response.status_code < 500, (body, query, response.text)
        if response.status_code >= 400:
            assert response.json()["TYPE"] == "Problem"

    throw()
    assert raw.send("GET", "/api").status_code == 200  # still up


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", "/log", "/output"])
def test_random_order_ids_in_the_path_never_get_a_500(controller: Raw, suffix: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(order_id=st.text(min_size=1, max_size=300).filter(lambda i: i not in (".", "..")))
    def throw(order_id: str) -> None:  # (dot segments are the URL's, never an order id)
        path = f"/api/order/{quote(order_id.encode('utf-8', 'surrogatepass'), safe='')}"
        response = controller.send("GET", path + suffix)
        assert response.status_code in (400, 404), (order_id, response.text)
        assert response.json()["TYPE"] == "Problem"

    throw()
    for method in ("PUT", "DELETE"):
        assert _problem(controller.send(method, "/api/order"), 405)["code"] == \
            "MethodNotAllowed"
