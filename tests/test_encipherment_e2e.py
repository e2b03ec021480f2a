"""Encrypted values against a real Controller and two Agents (issue 21): a value encrypted for
agent-1 reaches agent-1's job in clear and is in clear in no file of the estate (console home,
Controller and Agent directories, their journals, state, logs) nor in the HTTP answers; the
same value on agent-2 fails the order before the job starts; a changed or moved value is
refused; JS7's enc: built with the openssl CLI decrypts."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from js7tui.client import ControllerClient
from js7tui.pki.keys import KeyType
from tests.estate import Estate, wait_attached, wait_order, workflow
from tests.test_encipherment import openssl_js7_value

pytestmark = pytest.mark.slow
SECRET = "Zq9-" + secrets.token_hex(12)
SCRIPT = ('printf %s "$DB_PASSWORD" | sha256sum; printf %s "$TOKEN" | sha256sum; '
          'printf %s "$DIRECT" | sha256sum; echo "pw=$DB_PASSWORD token=$TOKEN"; '
          'echo "again:$DIRECT" >&2')


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    """agent-1 holds 'enc-a1' (EC P-256) and 'enc-js7' (RSA); agent-2 holds 'enc-a2'; the
    keys travel in the Agents' bundles."""
    estate = Estate(tmp_path_factory.mktemp("enc-estate"), agents=["agent-1", "agent-2"])
    service = estate.console.encipherment
    service.issue(estate.admin, "enc-a1", agents=["agent-1"])
    service.issue(estate.admin, "enc-js7", agents=["agent-1"], key_type=KeyType.RSA_3072)
    service.issue(estate.admin, "enc-a2", agents=["agent-2"])
    try:
        estate.start_all()
        yield estate
    finally:
        estate.stop_all()


@pytest.fixture
def ctl(estate: Estate) -> Iterator[ControllerClient]:
    with estate.client() as client:
        yield client


def encrypt(estate: Estate, recipient: str, variable: str, value: str = SECRET) -> str:
    return estate.console.encipherment.encrypt(estate.admin, recipient, value, variable).value


def creds(path: str, value: str, variable: str = "password") -> dict[str, object]:
    return {"TYPE": "JobResource", "path": path, "versionId": "r1",
            "variables": {variable: f"'{value}'"}, "env": {"DB_PASSWORD": f"${variable}"}}


def deploy_run(estate: Estate, ctl: ControllerClient, name: str, agent: str, resource: dict,
               arguments: dict[str, str] | None = None, direct: str = "'none'"):  # type: ignore[no-untyped-def]
    flow = workflow(name, {"use": (agent, SCRIPT)}, jobResourcePaths=[str(resource["path"])],
                    executable={"env": {"TOKEN": "$token", "DIRECT": direct}},
                    defaultArguments={"token": "'none'"})
    ctl.deploy([estate.sign(resource), estate.sign(flow)])
    wait_attached(ctl, name)
    ctl.add_order(f"{name}-1", name, arguments or {})
    return wait_order(ctl, f"{name}-1")


def files_holding(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_the_secret_reaches_the_job_in_clear_and_is_in_clear_nowhere_else(
        estate: Estate, ctl: ControllerClient) -> None:
    resource = creds("creds", encrypt(estate, "enc-a1", "jobresource:creds:password"))
    token = encrypt(estate, "enc-a1", "order:wf-secret:token")
    direct = encrypt(estate, "enc-a1", "workflow:wf-secret:use:env:DIRECT")
    order = deploy_run(estate, ctl, "wf-secret", "agent-1", resource, {"token": token},
                       f"'{direct}'")
    assert order.state == "finished", order
    step = order.steps[0]
    assert step.stdout.count(digest(SECRET)) == 3          # all three arrived in clear
    assert "pw=******** token=********" in step.stdout      # printed: masked
    assert step.stderr == "again:********\n"
    needle = SECRET.encode()
    assert files_holding(estate.root, needle) == []          # home, Controller, Agents, logs
    bodies = [json.dumps(dataclasses.asdict(ctl.order_log(order.id))),
              json.dumps([dataclasses.asdict(i) for i in ctl.items()])]
    with estate.as_controller("agent-1") as agent:  # what the Controller reads there
        bodies.append(json.dumps(agent.call("GET", "/api/item")))
    assert not any(SECRET in body for body in bodies)


def test_a_value_for_agent_1_fails_the_order_on_agent_2_before_the_job_starts(
        estate: Estate, ctl: ControllerClient) -> None:
    resource = creds("creds-b", encrypt(estate, "enc-a1", "jobresource:creds-b:password"))
    order = deploy_run(estate, ctl, "wf-b", "agent-2", resource)
    assert order.state == "failed"
    step = order.steps[0]
    assert step.started is None and step.pid is None and step.stdout == ""
    assert "DecryptionFailed" in step.message and "jobresource:creds-b:password" in step.message
    assert "does not hold" in step.message and SECRET not in step.message
    assert "agent-2" in step.message


def test_a_changed_or_moved_value_is_refused(estate: Estate, ctl: ControllerClient) -> None:
    value = encrypt(estate, "enc-a1", "jobresource:creds-t:password")
    index = len(value) - 10
    changed = value[:index] + ("A" if value[index] != "A" else "B") + value[index + 1:]
    order = deploy_run(estate, ctl, "wf-t", "agent-1", creds("creds-t", changed))
    assert order.state == "failed" and "does not decrypt" in order.steps[0].message
    # the intact value, moved to another variable of another resource
    order = deploy_run(estate, ctl, "wf-m", "agent-1", creds("creds-m", value, "secret"))
    assert order.state == "failed" and "jobresource:creds-m:secret" in order.steps[0].message
    assert "does not decrypt" in order.steps[0].message
    # an order argument encrypted for another workflow
    token = encrypt(estate, "enc-a1", "order:elsewhere:token")
    order = deploy_run(estate, ctl, "wf-o", "agent-1",
                       creds("creds-o", encrypt(estate, "enc-a1",
                                                "jobresource:creds-o:password")),
                       {"token": token})
    assert order.state == "failed" and "order:wf-o:token" in order.steps[0].message


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_js7_enc_value_built_with_openssl_decrypts_on_our_agent(
        estate: Estate, ctl: ControllerClient, tmp_path: Path) -> None:
    view = next(v for v in estate.console.encipherment.list(estate.admin)
                if v.cert.alias == "enc-js7")
    cert = x509.load_pem_x509_certificate(view.cert.cert_pem.encode())
    (tmp_path / "cert.pem").write_text(view.cert.cert_pem)
    (tmp_path / "secret.txt").write_text(SECRET)
    value = openssl_js7_value(tmp_path, tmp_path / "cert.pem", tmp_path / "secret.txt")
    (tmp_path / "secret.txt").unlink()
    assert cert.public_key().key_size == 3072
    order = deploy_run(estate, ctl, "wf-js7", "agent-1", creds("creds-js7", value))
    assert order.state == "finished", order
    assert digest(SECRET) in order.steps[0].stdout and "pw=********" in order.steps[0].stdout
    assert "unauthenticated" in estate.log("agent-1")
    assert SECRET not in estate.log("agent-1")
