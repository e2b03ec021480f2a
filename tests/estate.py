"""A real estate for end-to-end tests: one Controller and N Agents as subprocesses
(``python -m js7tui controller|agent serve --config DIR``) over HTTPS with client certificates
on loopback, configured the way an administrator would (bundle.toml + config.toml + a 0600
password file), and the console's typed client.

Servers listen on port 0; each writes ``STATE/server.json`` with its pid and URL once it
listens, which is what :meth:`Estate.start` waits for (never a fixed sleep).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from js7tui.client import ControllerClient, Order
from js7tui.engine.auth import hash_sha512
from js7tui.engine.tls import build_client_context
from js7tui.signing import SignedItem, sign_item
from tests.pki_fixture import Issued, TestPki, write_private

CONSOLE_PASSWORD = "console-hop-password"
CONTROLLER_PASSWORD = "controller-hop-password"
START_TIMEOUT = 20.0


@dataclass
class Server:
    component: str
    name: str
    directory: Path
    process: subprocess.Popen[bytes]
    url: str = ""

    @property
    def log(self) -> str:
        path = self.directory / "logs" / "server.log"
        return path.read_text() if path.exists() else ""

    @property
    def output(self) -> str:
        path = self.directory / "output.txt"
        return path.read_text(errors="replace") if path.exists() else ""


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


@dataclass
class Estate:
    root: Path
    pki: TestPki = field(default_factory=TestPki)
    agents: list[str] = field(default_factory=lambda: ["agent-1"])
    servers: dict[str, Server] = field(default_factory=dict)
    journal_sync: str = "full"

    def __post_init__(self) -> None:
        self.console = self.pki.issue("console", "client")
        self.controller_cert = self.pki.issue("controller-1", "server")
        self.agent_certs = {name: self.pki.issue(name, "server") for name in self.agents}
        self.signer = self.pki.issue("deployer", "signing")
        self.console_files = self.console.write(self.root / "console", "console")
        (self.root / "console" / "ca.pem").write_bytes(self.pki.ca_pem())

    # -- configuration ----------------------------------------------------------------------
    def dir(self, name: str) -> Path:
        return self.root / name

    def configure_agent(self, name: str, *, extra: str = "") -> Path:
        directory = self.dir(name)
        self.pki.write_bundle(directory, "agent", name, self.agent_certs[name],
                              [(self.controller_cert.dn, "controller")])
        (directory / "config.toml").write_text(
            '[server]\nlisten = "127.0.0.1:0"\ninvalid_login_delay = "0s"\n'
            f'journal_sync = "{self.journal_sync}"\n\n'
            f'[users.controller]\npassword_hash = "{hash_sha512(CONTROLLER_PASSWORD)}"\n\n'
            '[jobs]\nkill_grace = "2s"\n' + extra)
        return directory

    def configure_controller(self, *, extra: str = "") -> Path:
        directory = self.dir("controller-1")
        self.pki.write_bundle(directory, "controller", "controller-1", self.controller_cert,
                              [(self.console.dn, "console")])
        agents = ""
        for name in self.agents:
            write_private(directory / f"{name}.password", CONTROLLER_PASSWORD.encode() + b"\n")
            agents += (f'\n[agents.{name}]\nurl = "{self.servers[name].url}"\n'
                       f'user = "controller"\npassword_file = "{name}.password"\n')
        (directory / "config.toml").write_text(
            '[server]\nlisten = "127.0.0.1:0"\ninvalid_login_delay = "0s"\n'
            f'journal_sync = "{self.journal_sync}"\n\n'
            f'[users.console]\npassword_hash = "{hash_sha512(CONSOLE_PASSWORD)}"\n'
            + agents + extra)
        return directory

    # -- processes --------------------------------------------------------------------------
    def start(self, component: str, name: str, *options: str) -> Server:
        directory = self.dir(name)
        state = directory / "state" / "server.json"
        state.unlink(missing_ok=True)
        with open(directory / "output.txt", "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "js7tui", component, "serve", "--config",
                 str(directory), *options], stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)
        server = Server(component, name, directory, process)
        self.servers[name] = server

        def ready() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}:\n"
                                     f"{server.output}")
            try:
                info = json.loads(state.read_text())
            except (OSError, ValueError):
                return None
            return info["url"] if info.get("pid") == process.pid else None

        server.url = wait_for(ready, f"{name} to listen", START_TIMEOUT)
        return server

    def pin_port(self, name: str) -> None:
        """Listen on the port it has now after a restart (its URL is in others' configs)."""
        config = self.dir(name) / "config.toml"
        port = self.servers[name].url.rsplit(":", 1)[1]
        config.write_text(config.read_text().replace('listen = "127.0.0.1:0"',
                                                     f'listen = "127.0.0.1:{port}"'))

    def start_all(self) -> Estate:
        for name in self.agents:
            self.configure_agent(name)
            self.start("agent", name)
        self.configure_controller()
        self.start("controller", "controller-1")
        return self

    def stop(self, name: str, sig: int = signal.SIGTERM) -> int:
        server = self.servers[name]
        if server.process.poll() is None:
            server.process.send_signal(sig)
        try:
            return server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            return server.process.wait()

    def stop_all(self) -> None:
        """The Controller first, so it does not log its Agents going away."""
        for name in reversed(list(self.servers)):
            self.stop(name)

    # -- console side -----------------------------------------------------------------------
    def client(self, *, cert: Issued | None = None, password: str = CONSOLE_PASSWORD,
               user: str = "console", url: str | None = None) -> ControllerClient:
        files = self.console_files if cert is None else cert.write(self.root / "console",
                                                                   cert.dn.split(",")[0][3:])
        context = build_client_context(self.root / "console" / "ca.pem", *files)
        return ControllerClient(url or self.servers["controller-1"].url, user, password,
                                ssl_context=context, timeout=15)

    def sign(self, document: dict[str, Any], signer: Issued | None = None) -> SignedItem:
        signer = signer or self.signer
        return sign_item(json.dumps(document), signer.key, certificate=signer.cert,
                         chain=signer.chain)


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
        item = next(i for i in client.items() if i.path == path)
        return bool(item.agents) and all(s == "attached" for s in item.agents.values())
    wait_for(attached, f"{path} attached on its Agents", timeout, interval=0.05)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def running_estate(root: Path, agents: list[str] | None = None) -> Iterator[Estate]:
    estate = Estate(root, agents=agents or ["agent-1"])
    try:
        yield estate.start_all()
    finally:
        estate.stop_all()
