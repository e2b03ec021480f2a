"""A real estate for end-to-end tests: one Controller and N Agents as subprocesses
(``python -m js7tui controller|agent serve --config DIR``) over HTTPS with client certificates
on loopback, set up the way an administrator would with the console's own CA (``js7tui.pki``):
bundles imported into the servers' directories, a config.toml and a 0600 password file each,
the console's client certificate from its store.

Servers listen on port 0; each writes ``STATE/server.json`` with its pid and URL once it
listens, which is what starting waits for (never a fixed sleep).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from js7tui.client import ControllerClient, Order
from js7tui.clock import FrozenClock
from js7tui.console import Console, initialize
from js7tui.demo import Child, spawn_child, start_child, stop_child, wait_ready
from js7tui.engine.auth import hash_sha512
from js7tui.engine.tls import build_client_context
from js7tui.home import Home, write_private_file
from js7tui.identity.sessions import Session
from js7tui.pki.bundle_import import import_bundle
from js7tui.pki.issuing import Issued, IssueRequest
from js7tui.pki.keys import KeyType, private_pem
from js7tui.pki.material import ClientMaterial, client_material, ssl_client_context
from js7tui.pki.pem import certs_pem
from js7tui.pki.profiles import Purpose
from js7tui.security_level import SecurityLevel
from js7tui.signing import SignedItem, sign_item
from tests.conftest import ROOT_PASSWORD, cheap_hasher, login

CONSOLE_PASSWORD = "console-hop-password"
CONTROLLER_PASSWORD = "controller-hop-password"
STORE_PASSWORD = "bundle-store-password"


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20.0,
             interval: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy (tests never sleep blindly)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def new_console(home: Path, clock: FrozenClock | None = None) -> tuple[Console, Session]:
    """A LOW home with its CA (EC P-256), root logged in after the forced change."""
    console = initialize(Home(home), SecurityLevel.LOW, clock=clock, hasher=cheap_hasher(),
                         ca_key_type=KeyType.EC_P256)
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    return console, login(console, "root", ROOT_PASSWORD)


def material(issued: Issued) -> ClientMaterial:
    """TLS client material of one certificate (e.g. one that is revoked or expired, which
    ``client_material`` rightly never picks)."""
    assert issued.key is not None
    return ClientMaterial(certs_pem(issued.chain[:2]), private_pem(issued.key),
                          certs_pem(issued.chain[-1:] + issued.chain[1:2]))


@dataclass
class Estate:
    root: Path
    agents: list[str] = field(default_factory=lambda: ["agent-1"])
    journal_sync: str = "full"
    signer_key_type: KeyType = KeyType.EC_P256
    controller_toml: str = ""  # more of the Controller's config.toml, e.g. a [links] table
    servers: dict[str, Child] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Ten days back first, for the certificates that must be expired by now.
        self.clock = FrozenClock(datetime.now(UTC) - timedelta(days=10))
        self.console, self.admin = new_console(self.root / "home", self.clock)
        self.expired_console = self.issue(Purpose.CONSOLE, "console-old", days=1)
        self.expired_signer = self.issue(Purpose.SIGNING, "old-deployer", days=1)
        self.clock.current = datetime.now(UTC)
        self.admin = login(self.console, "root", ROOT_PASSWORD)  # the old session timed out
        self.signer = self.issue(Purpose.SIGNING, "deployer", key_type=self.signer_key_type)

    def issue(self, purpose: Purpose, name: str, **options: Any) -> Issued:
        return self.console.certificates.issue(
            self.admin, IssueRequest(purpose, name, **options), hold_key=True)

    # -- configuration ----------------------------------------------------------------------
    def dir(self, name: str) -> Path:
        return self.root / name

    def _bundle(self, component: str, name: str, **options: Any) -> Path:
        directory = self.dir(name)
        archive = self.root / f"{name}.bundle.zip"
        self.console.certificates.bundle(
            self.admin, component, name, password=STORE_PASSWORD,
            write=lambda data: write_private_file(archive, data), **options)
        import_bundle(archive, directory, component=component,
                      password=STORE_PASSWORD.encode())
        return directory

    def configure_agent(self, name: str) -> Path:
        directory = self._bundle("agent", name, controller="controller-1")
        (directory / "config.toml").write_text(
            f'[server]\nlisten = "127.0.0.1:0"\ninvalid_login_delay = "0s"\n'
            f'journal_sync = "{self.journal_sync}"\n\n'
            f'[users.controller]\npassword_hash = "{hash_sha512(CONTROLLER_PASSWORD)}"\n\n'
            '[jobs]\nkill_grace = "2s"\n')
        return directory

    # -- processes --------------------------------------------------------------------------
    def start(self, component: str, name: str, *options: str) -> Child:
        self.servers[name] = start_child(component, self.dir(name), options=options)
        return self.servers[name]

    def start_all(self) -> Estate:
        """The Controller's certificate first (an Agent's bundle names it), Agents started
        first (the Controller's configuration names their URLs)."""
        controller_dir = self.configure_controller_certificate()
        for name in self.agents:
            self.configure_agent(name)
            self.servers[name] = spawn_child("agent", self.dir(name))
        for name in self.agents:
            wait_ready(self.servers[name])
        self.write_controller_config(controller_dir)
        self.start("controller", "controller-1")
        return self

    def configure_controller_certificate(self) -> Path:
        return self._bundle("controller", "controller-1")

    def write_controller_config(self, directory: Path) -> None:
        agents = ""
        for name in self.agents:
            write_private_file(directory / f"{name}.password",
                               CONTROLLER_PASSWORD.encode() + b"\n")
            agents += (f'\n[agents.{name}]\nurl = "{self.servers[name].url}"\n'
                       f'user = "controller"\npassword_file = "{name}.password"\n')
        (directory / "config.toml").write_text(
            f'[server]\nlisten = "127.0.0.1:0"\ninvalid_login_delay = "0s"\n'
            f'journal_sync = "{self.journal_sync}"\n\n'
            f'[users.console]\npassword_hash = "{hash_sha512(CONSOLE_PASSWORD)}"\n'
            + agents + (f"\n{self.controller_toml}\n" if self.controller_toml else ""))

    def pin_port(self, name: str) -> None:
        """Listen on the port it has now after a restart (its URL is in others' configs)."""
        config = self.dir(name) / "config.toml"
        port = self.servers[name].url.rsplit(":", 1)[1]
        config.write_text(config.read_text().replace('listen = "127.0.0.1:0"',
                                                     f'listen = "127.0.0.1:{port}"'))

    def log(self, name: str) -> str:
        path = self.dir(name) / "logs" / "server.log"
        return path.read_text() if path.exists() else ""

    def stop(self, name: str, sig: int = signal.SIGTERM) -> int:
        return stop_child(self.servers[name], sig)

    def stop_all(self) -> None:
        """The Controller first, so it does not log its Agents going away."""
        for name in reversed(list(self.servers)):
            self.stop(name)
        self.console.close()

    # -- console side -----------------------------------------------------------------------
    def register(self, dead: str = "", dead_url: str = "https://127.0.0.1:9") -> None:
        """Register controller-1 in the console (and, if named, a Controller nobody answers
        for, at ``dead_url``), as an administrator would with ``js7tui controller register``."""
        from js7tui.audit import AuditMeta
        self.console.controllers.register(self.admin, "controller-1",
                                          self.servers["controller-1"].url, "console",
                                          CONSOLE_PASSWORD, meta=AuditMeta())
        if dead:
            self.console.controllers.register(self.admin, dead, dead_url, "console",
                                              CONSOLE_PASSWORD, meta=AuditMeta())

    def client(self, *, tls: ClientMaterial | None = None, password: str = CONSOLE_PASSWORD,
               user: str = "console", timeout: float = 15) -> ControllerClient:
        context = ssl_client_context(tls or client_material(self.console.store.conn))
        return ControllerClient(self.servers["controller-1"].url, user, password,
                                ssl_context=context, timeout=timeout)

    def as_controller(self, agent: str) -> ControllerClient:
        """Straight to an Agent with the Controller's certificate and hop credentials."""
        tls = self.dir("controller-1") / "tls"
        context = build_client_context(tls / "ca.pem", tls / "https-cert.pem",
                                       tls / "https-key.pem")
        return ControllerClient(self.servers[agent].url, "controller", CONTROLLER_PASSWORD,
                                ssl_context=context, timeout=15)

    def crl_files(self) -> dict[str, str]:
        """{path in an engine's config directory: the current CRL PEM to install there}."""
        crl = self.console.certificates.export_crl(self.admin)
        signing = self.console.certificates.export_signing_crls(self.admin)
        return {"tls/crl.pem": crl.crl_pem,
                "trusted-x509-crls/js7tui-signing-ca.crl.pem": signing}

    def sign(self, document: dict[str, Any], signer: Issued | None = None) -> SignedItem:
        signer = signer or self.signer
        assert signer.key is not None
        return sign_item(json.dumps(document), signer.key, certificate=signer.cert,
                         chain=signer.chain[1:2])


def workflow(path: str, jobs: dict[str, tuple[str, str]], *, version: str = "v1",
             **job_options: Any) -> dict[str, Any]:
    """A workflow running ``jobs`` {name: (agent, script)} in order."""
    return {
        "TYPE": "Workflow", "path": path, "versionId": version,
        "instructions": [{"TYPE": "Execute.Named", "jobName": name} for name in jobs],
        "jobs": {name: {"agentPath": agent,
                        "executable": {"TYPE": "ShellScriptExecutable", "script": script,
                                       **job_options.get("executable", {})},
                        **{k: v for k, v in job_options.items() if k != "executable"}}
                 for name, (agent, script) in jobs.items()},
    }


def wait_order(client: ControllerClient, order_id: str, timeout: float = 20.0) -> Order:
    return wait_for(lambda: (o := client.order_log(order_id)).ended and o, f"order {order_id}",
                    timeout, interval=0.05)


def wait_attached(client: ControllerClient, path: str, timeout: float = 20.0) -> None:
    def attached() -> bool:
        return next(i for i in client.items() if i.path == path).attached
    wait_for(attached, f"{path} attached on its Agents", timeout, interval=0.05)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def running_estate(root: Path, agents: list[str] | None = None, **options: Any
                   ) -> Iterator[Estate]:
    estate = Estate(root, agents=agents or ["agent-1"], **options)
    try:
        yield estate.start_all()
    finally:
        estate.stop_all()
