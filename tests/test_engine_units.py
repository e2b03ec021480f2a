"""The engine's parts without a network: strict configuration, hop passwords and sessions,
item shapes and expressions."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from js7tui.engine.auth import HopSessions, hash_sha512, verify_password
from js7tui.engine.config import load_component_config, read_secret_file
from js7tui.engine.shapes import ShapeError, Workflow, parse_expression, parse_item
from js7tui.errors import ValidationError
from tests.conftest import cheap_hasher
from tests.pki_fixture import TestPki

HASH = hash_sha512("pw")


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki()


def component_dir(tmp_path: Path, pki: TestPki, component: str = "agent",
                  config: str = "") -> Path:
    directory = tmp_path / component
    pki.write_bundle(directory, component, f"{component}-1", pki.issue("x", "server"),
                     [("CN=controller-1, O=js7tui Test", "controller")])
    (directory / "config.toml").write_text(
        f'[server]\nlisten = "127.0.0.1:4444"\n\n[users.controller]\npassword_hash = "{HASH}"\n'
        + config)
    return directory


def test_bundle_and_config_merge(tmp_path: Path, pki: TestPki) -> None:
    directory = component_dir(tmp_path, pki, config=(
        '\n[[allowed_clients]]\ndn = "CN=backup-controller,O=js7tui Test"\nuser = "controller"\n'
        '\n[jobs]\nkill_grace = "3s"\n'))
    config = load_component_config(directory, "agent")
    assert config.name == "agent-1" and (config.host, config.port) == ("127.0.0.1", 4444)
    assert [c.text for c in config.allowed_clients] == [
        "CN=controller-1,O=js7tui Test", "CN=backup-controller,O=js7tui Test"]
    assert config.jobs is not None and config.jobs.kill_grace == 3.0
    assert config.tls is not None and config.tls.crl == directory / "tls" / "crl.pem"
    assert config.session_timeout == 3600 and config.journal_sync == "FULL"
    assert config.limits.login_body == 16384 and config.limits.json_depth == 64
    assert config.retention.item_versions == 10
    assert config.retention.finished_tasks == 7 * 86400


def test_limits_and_retention_are_configurable(tmp_path: Path, pki: TestPki) -> None:
    directory = component_dir(tmp_path, pki, config=(
        '\n[limits]\nitem_body = 65536\narguments = 3\n'
        '\n[retention]\ninterval = "10m"\nitem_versions = -1\nfinished_tasks = "0s"\n'))
    config = load_component_config(directory, "agent")
    assert (config.limits.item_body, config.limits.arguments) == (65536, 3)
    assert config.limits.login_body == 16384
    assert (config.retention.interval, config.retention.item_versions,
            config.retention.finished_tasks) == (600, -1, 0)


@pytest.mark.parametrize(("config", "words"), [
    ("\n[server2]\nx = 1\n", "unknown key 'server2' in config.toml"),
    ("\n[jobs]\nnice = 5\n", "unknown key 'nice' in [jobs]"),
    ("\n[agents.a]\nurl = 'https://x'\n", "unknown key 'agents'"),  # an Agent has no Agents
    ("\n[users.bob]\npassword_hash = 'plain:bob'\n", "argon2 hash"),
    ("\n[[allowed_clients]]\ndn = 'CN=z'\nuser = 'nobody'\n", "has no [users.nobody] entry"),
    ("\n[[allowed_clients]]\ndn = 'not a dn'\nuser = 'controller'\n", "RFC 4514"),
    ("\n[limits]\nlogin_body = 10\n", "[limits] login_body must be from 1024"),
    ("\n[limits]\njson_depth = 'deep'\n", "[limits] json_depth must be a int"),
    ("\n[limits]\nevil = 1\n", "unknown key 'evil' in [limits]"),
    ("\n[retention]\nfinished_orders = '-1d'\n", "[retention] finished_orders"),
    ("\n[retention]\ninterval = '0s'\n", "interval must be 1s or more"),
    ("\n[retention]\nitem_versions = -2\n", "item_versions must be -1"),
])
def test_config_is_strict_and_names_the_file(tmp_path: Path, pki: TestPki, config: str,
                                             words: str) -> None:
    directory = component_dir(tmp_path, pki, config=config)
    with pytest.raises(ValidationError) as refused:
        load_component_config(directory, "agent")
    assert str(directory / "config.toml") in str(refused.value)
    assert words in str(refused.value)


def test_controller_links_pace(tmp_path: Path, pki: TestPki) -> None:
    """``[links]``: how often a Controller reads its Agents' overviews and retries refusals."""
    default = load_component_config(component_dir(tmp_path / "a", pki, "controller"),
                                    "controller")
    assert (default.links.overview_interval, default.links.refused_retry) == (10.0, 60.0)
    paced = load_component_config(component_dir(tmp_path / "b", pki, "controller", config=(
        '\n[links]\noverview_interval = "2s"\nrefused_retry = "5m"\n')), "controller")
    assert (paced.links.overview_interval, paced.links.refused_retry) == (2.0, 300.0)
    for config, words in (('\n[links]\nrefused_retry = "0s"\n', "at least 1s"),
                          ('\n[links]\nretry = "1s"\n', "unknown key 'retry' in [links]")):
        with pytest.raises(ValidationError, match=re.escape(words)):
            load_component_config(component_dir(tmp_path / "c", pki, "controller",
                                                config=config), "controller")
    with pytest.raises(ValidationError, match="unknown key 'links'"):  # an Agent has none
        load_component_config(component_dir(tmp_path / "d", pki, config="\n[links]\n"),
                              "agent")


def test_bundle_must_fit_the_component(tmp_path: Path, pki: TestPki) -> None:
    directory = component_dir(tmp_path, pki, "agent")
    with pytest.raises(ValidationError, match="is for a 'agent', not a controller"):
        load_component_config(directory, "controller")
    bundle = directory / "bundle.toml"
    bundle.write_text(bundle.read_text() + "\nextra = 1\n")
    with pytest.raises(ValidationError, match=r"bundle\.toml: unknown key 'extra'"):
        load_component_config(directory, "agent")
    bundle.unlink()
    with pytest.raises(ValidationError, match=r"bundle\.toml is missing"):
        load_component_config(directory, "agent")


def test_password_files_must_be_private(tmp_path: Path) -> None:
    path = tmp_path / "agent.password"
    path.write_text("s3cret\nignored\n")
    os.chmod(path, 0o644)
    with pytest.raises(ValidationError, match=r"readable by others \(mode 0644\).*chmod 600"):
        read_secret_file(path)
    os.chmod(path, 0o600)
    assert read_secret_file(path) == "s3cret"


def test_password_hashes() -> None:
    assert verify_password(HASH, "pw") and not verify_password(HASH, "PW")
    argon = cheap_hasher().hash("pw")
    assert verify_password(argon, "pw", cheap_hasher())
    assert not verify_password(argon, "other", cheap_hasher())


def test_hop_sessions_idle_timeout_logout_and_dn_binding() -> None:
    now = [0.0]
    sessions = HopSessions(60, clock=lambda: now[0])
    token = sessions.create("controller", "CN=controller-1")
    number, secret = token.split(",", 1)
    assert number.isdigit() and len(secret) >= 32
    assert sessions.resume(token, "CN=controller-1").user == "controller"
    assert sessions.resume(token, "CN=someone-else") is None  # bound to its certificate
    now[0] = 59
    assert sessions.resume(token, "CN=controller-1") is not None  # use keeps it alive
    now[0] = 59 + 61
    assert sessions.resume(token, "CN=controller-1") is None  # idle too long
    other = sessions.create("controller", "CN=controller-1")
    assert sessions.end(other) and sessions.resume(other, "CN=controller-1") is None
    assert sessions.resume("1,forged", "CN=controller-1") is None


@pytest.mark.parametrize(("text", "scope", "value"), [
    ("'plain $text'", {}, "plain $text"),
    ("$name", {"name": "x"}, "x"),
    ("${name}", {"name": "x"}, "x"),
    ('"hello $name, ${n2}!\\n"', {"name": "a", "n2": "b"}, "hello a, b!\n"),
    ('"cost: \\$5"', {}, "cost: $5"),
    ("42", {}, "42"), (7, {}, "7"), (True, {}, "true"),
])
def test_expressions(text: object, scope: dict[str, str], value: str) -> None:
    assert parse_expression(text).evaluate(scope) == value


@pytest.mark.parametrize("text", ["bare text", "$name trailing", '"x $"', "${}", "$a + 1"])
def test_bad_expressions_are_refused_at_deployment(text: str) -> None:
    with pytest.raises(ShapeError):
        parse_expression(text)


def test_unknown_variable_names_it() -> None:
    with pytest.raises(ShapeError, match="No such named value: missing"):
        parse_expression("$missing").evaluate({})


def test_workflow_shape() -> None:
    doc = {"TYPE": "Workflow", "path": "w", "instructions": [
        {"TYPE": "Execute.Named", "jobName": "a"}, {"TYPE": "Execute.Named", "jobName": "a"}],
        "jobs": {"a": {"agentPath": "agent-1", "timeout": 5,
                       "executable": {"TYPE": "ShellScriptExecutable", "script": "exit 2",
                                      "returnCodeMeaning": {"success": [0, 2]}}}}}
    workflow = parse_item(doc)
    assert isinstance(workflow, Workflow)
    assert workflow.steps == ("a", "a") and workflow.agents == {"agent-1"}
    assert workflow.jobs["a"].succeeded(2) and not workflow.jobs["a"].succeeded(1)
    for change, words in (
            ({"TYPE": "Lock"}, "cannot be deployed signed"),
            ({"path": "../etc"}, "not valid"),
            ({"instructions": [{"TYPE": "Fork"}]}, "not supported by this engine"),
            ({"instructions": [{"TYPE": "Execute.Named", "jobName": "zz"}]}, "unknown job"),
            ({"jobs": {"a": {"agentPath": "x", "executable": {"TYPE": "Java"}}}},
             "ShellScriptExecutable")):
        with pytest.raises(ShapeError, match=words):
            parse_item({**doc, **change})


def test_job_output_is_written_as_produced_and_truncated_with_a_mark(tmp_path: Path) -> None:
    from js7tui.agent.executor import Capture, truncation_mark

    capture = Capture(tmp_path / "t.stdout", limit=10)
    capture.add(b"12345")
    assert (tmp_path / "t.stdout").read_bytes() == b"12345"  # on disk before the end
    capture.add(b"6789abc")
    capture.add(b"more")
    capture.close()
    expected = b"123456789a" + truncation_mark(10)
    assert bytes(capture.data) == expected == (tmp_path / "t.stdout").read_bytes()
    assert oct((tmp_path / "t.stdout").stat().st_mode & 0o777) == "0o600"
