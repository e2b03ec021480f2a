"""``js7tui demo``: one Controller and one Agent on this machine, as child processes of the
console, with certificates from the console's CA, registered in its store.

Layout under the home: ``demo/controller`` and ``demo/agent``, each a configuration directory
as an administrator would have it on a real host (the imported bundle: ``bundle.toml``,
``tls/``, ``trusted-x509-keys/``; plus ``config.toml`` and, for the Controller, the Agent's hop
password file). Ports are free loopback ports chosen once; hop passwords are random, stored as
argon2 hashes in the servers' configurations and sealed in the console's store.

Who acts: on a home the demo created itself (marked by ``demo/.created-by-demo``) the setup is
done for the system, like ``init``, and audited as the ``js7tui`` account; on any other home it
needs a logged-in session with the permissions for bundles and Controllers.

:func:`start_child`, :func:`stop_child` and :func:`running_demo` are the reusable part: they
start and stop ``js7tui controller|agent serve`` processes and wait for them to listen.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from js7tui import audit
from js7tui.client.registry import REGISTER, insert_controller
from js7tui.clock import to_iso
from js7tui.console import SYSTEM_ACCOUNT, Console
from js7tui.errors import Js7Error, StoreError
from js7tui.home import Home, make_private_dirs, write_private_file
from js7tui.identity.sessions import Session
from js7tui.pki.bundle_import import import_bundle
from js7tui.pki.service import make_bundle

CONTROLLER_ID = "demo-controller"
AGENT_NAME = "demo-agent"
CONSOLE_USER = "console"
MARKER = ".created-by-demo"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class DemoLayout:
    root: Path

    @property
    def controller(self) -> Path:
        return self.root / "controller"

    @property
    def agent(self) -> Path:
        return self.root / "agent"

    @property
    def complete(self) -> bool:
        return all((d / name).exists() for d in (self.controller, self.agent)
                   for name in ("bundle.toml", "config.toml"))


def demo_layout(home: Home) -> DemoLayout:
    return DemoLayout(home.root / "demo")


def mark_created(layout: DemoLayout) -> None:
    make_private_dirs(layout.root)
    write_private_file(layout.root / MARKER, b"this home was created by js7tui demo\n")


def created_by_demo(layout: DemoLayout) -> bool:
    return (layout.root / MARKER).exists()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bundle_writer(directory: Path, component: str, password: str) -> Callable[[bytes], None]:
    """Import the bundle into its directory as ``import-bundle`` would on the host."""
    def write(data: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="js7tui-demo-") as scratch:
            archive = Path(scratch) / "bundle.zip"
            write_private_file(archive, data)
            import_bundle(archive, directory, component=component,
                          password=password.encode("utf-8"))
    return write


def _write_configs(console: Console, layout: DemoLayout, controller_port: int,
                   agent_port: int, console_password: str, agent_password: str) -> None:
    hasher = console.hasher
    write_private_file(layout.agent / "config.toml", (
        "# js7tui demo Agent (written by js7tui demo)\n"
        f'[server]\nlisten = "127.0.0.1:{agent_port}"\n\n'
        f'[users.controller]\npassword_hash = "{hasher.hash(agent_password)}"\n\n'
        '[jobs]\nwork_dir = "work"\n').encode())
    write_private_file(layout.controller / f"{AGENT_NAME}.password",
                       agent_password.encode("utf-8") + b"\n")
    write_private_file(layout.controller / "config.toml", (
        "# js7tui demo Controller (written by js7tui demo)\n"
        f'[server]\nlisten = "127.0.0.1:{controller_port}"\n\n'
        f'[users.{CONSOLE_USER}]\npassword_hash = "{hasher.hash(console_password)}"\n\n'
        f'[agents.{AGENT_NAME}]\nurl = "https://127.0.0.1:{agent_port}"\n'
        f'user = "controller"\npassword_file = "{AGENT_NAME}.password"\n').encode())


def prepare_demo(console: Console, layout: DemoLayout, session: Session | None) -> bool:
    """Make what is missing; False when everything was there already. ``session`` None acts
    for the system (only on a home the demo created)."""
    registered = console.store.conn.execute("SELECT 1 FROM controllers WHERE id = ?",
                                            (CONTROLLER_ID,)).fetchone() is not None
    if layout.complete and registered:
        return False
    if session is None and not created_by_demo(layout):
        raise StoreError("this home was not created by js7tui demo: log in (js7tui login) as "
                         "an administrator who may manage certificates and Controllers")
    for directory in (layout.controller, layout.agent):
        if directory.exists():
            shutil.rmtree(directory)
    if registered:
        if session is None:
            with console.store.transaction() as conn:
                conn.execute("DELETE FROM controllers WHERE id = ?", (CONTROLLER_ID,))
        else:
            console.controllers.remove(session, CONTROLLER_ID)
    controller_port, agent_port = free_port(), free_port()
    console_password, agent_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    store_password = secrets.token_urlsafe(18)
    url = f"https://127.0.0.1:{controller_port}"
    controller_bundle = _bundle_writer(layout.controller, "controller", store_password)
    agent_bundle = _bundle_writer(layout.agent, "agent", store_password)
    if session is None:
        now = console.clock.now()
        with console.store.transaction() as conn:
            for component, name, controller, writer in (
                    ("controller", CONTROLLER_ID, None, controller_bundle),
                    ("agent", AGENT_NAME, CONTROLLER_ID, agent_bundle)):
                result, parameters = make_bundle(conn, now, SYSTEM_ACCOUNT, component, name,
                                                 password=store_password,
                                                 controller=controller, write=writer)
                audit.append(conn, created=now, account=SYSTEM_ACCOUNT,
                             request="./pki/bundle/export", category=audit.Category.CERTIFICATES,
                             path=result.record.subject, parameters={**parameters,
                                                                     "by": "js7tui demo"})
            _, parameters = insert_controller(conn, console.secrets, to_iso(now), CONTROLLER_ID,
                                              url, CONSOLE_USER, console_password)
            audit.append(conn, created=now, account=SYSTEM_ACCOUNT, request=REGISTER,
                         category=audit.Category.CONTROLLER, controller_id=CONTROLLER_ID,
                         path=CONTROLLER_ID, parameters={**parameters, "by": "js7tui demo"})
    else:
        console.certificates.bundle(session, "controller", CONTROLLER_ID,
                                    password=store_password, write=controller_bundle)
        console.certificates.bundle(session, "agent", AGENT_NAME, password=store_password,
                                    controller=CONTROLLER_ID, write=agent_bundle)
        console.controllers.register(session, CONTROLLER_ID, url, CONSOLE_USER,
                                     console_password)
    _write_configs(console, layout, controller_port, agent_port, console_password,
                   agent_password)
    return True


# -- child processes ----------------------------------------------------------------------------
@dataclass
class Child:
    component: str
    directory: Path
    process: subprocess.Popen[bytes]
    output: Path
    url: str = ""

    @property
    def name(self) -> str:
        return self.directory.name


def spawn_child(component: str, directory: Path, *, options: tuple[str, ...] = (),
                output: Path | None = None) -> Child:
    """Start ``js7tui COMPONENT serve --config DIRECTORY`` (stdout and stderr to ``output``)
    without waiting; :func:`wait_ready` waits until it listens."""
    (directory / "state" / "server.json").unlink(missing_ok=True)
    output = output or directory / "output.log"
    make_private_dirs(output.parent)
    with open(output, "ab") as sink:
        os.chmod(output, 0o600)
        process = subprocess.Popen(
            [sys.executable, "-m", "js7tui", component, "serve", "--config", str(directory),
             *options], stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True)
    return Child(component, directory, process, output)


def wait_ready(child: Child, timeout: float = START_TIMEOUT) -> Child:
    """Wait until the child listens: its ``STATE/server.json`` names its pid and URL."""
    state = child.directory / "state" / "server.json"
    deadline = time.monotonic() + timeout
    while True:
        if child.process.poll() is not None:
            tail = child.output.read_text(errors="replace").strip().splitlines()[-5:]
            raise Js7Error(f"the {child.component} in {child.directory} stopped at start (exit "
                           f"{child.process.returncode}): " + " | ".join(tail))
        try:
            info = json.loads(state.read_text())
        except (OSError, ValueError):
            info = {}
        if info.get("pid") == child.process.pid:
            child.url = str(info["url"])
            return child
        if time.monotonic() > deadline:
            stop_child(child, signal.SIGKILL)
            raise Js7Error(f"the {child.component} in {child.directory} did not listen within "
                           f"{timeout:g} s (see {child.output})")
        time.sleep(0.02)


def start_child(component: str, directory: Path, *, options: tuple[str, ...] = (),
                output: Path | None = None, timeout: float = START_TIMEOUT) -> Child:
    """Start a server and wait until it listens."""
    return wait_ready(spawn_child(component, directory, options=options, output=output),
                      timeout)


def stop_child(child: Child, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
    """Signal the child (its pid, nothing else) and wait; SIGKILL if it does not stop."""
    if child.process.poll() is None:
        child.process.send_signal(sig)
    try:
        return child.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.process.kill()
        return child.process.wait()


@contextmanager
def running_demo(layout: DemoLayout) -> Iterator[list[Child]]:
    """The Agent and the Controller (started together: their ports are fixed), stopped in
    reverse order however the block ends."""
    children: list[Child] = []
    try:
        children.append(spawn_child("agent", layout.agent))
        children.append(spawn_child("controller", layout.controller))
        for child in children:
            wait_ready(child)
        yield children
    finally:
        for child in reversed(children):
            stop_child(child)


def wait_until_interrupted(children: list[Child]) -> int:
    """Block until SIGINT/SIGTERM/SIGHUP (0) or until a child ends by itself (1)."""
    stop = {"signal": 0}

    def handler(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    previous = {sig: signal.signal(sig, handler)
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        while not stop["signal"]:
            for child in children:
                if child.process.poll() is not None:
                    return 1
            time.sleep(0.2)
        return 0
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
