"""A Controller's or Agent's configuration directory: ``config.toml`` merged with ``bundle.toml``.

``bundle.toml`` (written by ``import-bundle`` from the console's CA) names the component, its TLS
files and the client DNs it accepts; ``config.toml`` (written by the administrator) says where to
listen, where the state lives, which users may log in with which password hash, and, for a
Controller, its Agents. Both are strict: an unknown key is refused with the file named. Relative
paths are relative to the configuration directory.

``config.toml``::

    [server]
    name = "controller-1"            # optional: defaults to the bundle's name; must match it
    listen = "127.0.0.1:4443"        # port 0: any free port (written to STATE/server.json)
    state_dir = "state"
    session_timeout = "1h"           # idle timeout of per-hop sessions
    invalid_login_delay = "1s"       # wait before answering a failed login
    journal_sync = "full"            # SQLite synchronous: "full" or "normal"
    log_file = "logs/server.log"
    log_level = "INFO"

    [users.console]                  # who may log in: argon2 ($argon2id$...) or sha512:<hex>
    password_hash = "sha512:..."

    [[allowed_clients]]              # added to the bundle's
    dn = "CN=console,O=Example"
    user = "console"

    [agents.agent-1]                 # Controller only
    url = "https://127.0.0.1:4444"
    user = "controller"              # the hop user this Controller logs in with
    password_file = "agent-1.password"   # 0600

    [links]                          # Controller only: its links to the Agents
    overview_interval = "10s"        # how often each Agent's overview (trusted keys) is read
    refused_retry = "60s"            # an item an Agent refused is sent again after this

    [jobs]                           # Agent only
    work_dir = "work"
    kill_grace = "5s"
    max_output = 1048576             # bytes kept per stream and task (then a truncation mark)
    shell = "/bin/sh"

    [limits]                         # what a request may hold (refused with 413/400 beyond)
    login_body = 16384               # bytes of POST /api/session
    item_body = 16777216             # bytes of POST /api/item (signed items)
    request_body = 1048576           # bytes of every other request body
    json_depth = 64                  # nesting of arrays and objects
    orders_per_request = 1000        # Controller: orders of one POST /api/order
    arguments = 100                  # arguments of one order
    argument_length = 8192           # characters of one argument value

    [retention]                      # pruning, applied at start and then every interval
    interval = "1h"
    item_versions = 10               # unused old versions kept per item (0: none; -1: all)
    finished_orders = "30d"          # Controller: ended orders (and steps) kept that long; 0: ever
    finished_tasks = "7d"            # Agent: ended tasks (and their events) kept that long; 0: ever
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from js7tui.config import parse_section
from js7tui.dn import parse_dn
from js7tui.durations import parse_duration
from js7tui.errors import ValidationError

COMPONENTS = ("controller", "agent")


@dataclass(frozen=True)
class _ServerToml:
    name: str = ""
    listen: str = "127.0.0.1:0"
    state_dir: str = "state"
    session_timeout: str = "1h"
    invalid_login_delay: str = "1s"
    journal_sync: str = "full"
    log_file: str = "logs/server.log"
    log_level: str = "INFO"


@dataclass(frozen=True)
class _UserToml:
    password_hash: str = ""


@dataclass(frozen=True)
class _ClientToml:
    dn: str = ""
    user: str = ""


@dataclass(frozen=True)
class _AgentToml:
    url: str = ""
    user: str = ""
    password_file: str = ""


@dataclass(frozen=True)
class _LinksToml:
    overview_interval: str = "10s"
    refused_retry: str = "60s"


@dataclass(frozen=True)
class LinksConfig:
    """How a Controller's links to its Agents pace their checks (seconds)."""

    overview_interval: float = 10.0
    refused_retry: float = 60.0


@dataclass(frozen=True)
class _JobsToml:
    work_dir: str = "work"
    kill_grace: str = "5s"
    max_output: int = 1024 * 1024
    shell: str = "/bin/sh"


@dataclass(frozen=True)
class _RetentionToml:
    interval: str = "1h"
    item_versions: int = 10
    finished_orders: str = "30d"
    finished_tasks: str = "7d"


@dataclass(frozen=True)
class _TlsToml:
    cert: str = ""
    key: str = ""
    ca: str = ""
    crl: str = ""


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    ca: Path
    crl: Path | None


@dataclass(frozen=True)
class AllowedClient:
    dn: x509.Name
    text: str
    user: str


@dataclass(frozen=True)
class AgentRef:
    """An Agent as its Controller knows it: where it is and how to log in there."""

    name: str
    url: str
    user: str
    password_file: Path

    def password(self) -> str:
        return read_secret_file(self.password_file)


@dataclass(frozen=True)
class JobsConfig:
    work_dir: Path
    kill_grace: float
    max_output: int
    shell: str


@dataclass(frozen=True)
class WireLimits:
    """What one request may hold (see :mod:`js7tui.engine.wire`)."""

    login_body: int = 16 * 1024
    item_body: int = 16 * 1024 * 1024
    request_body: int = 1024 * 1024
    json_depth: int = 64
    orders_per_request: int = 1000
    arguments: int = 100
    argument_length: int = 8192


@dataclass(frozen=True)
class Retention:
    """What a journal keeps (``js7tui/controller/retention.py``, ``js7tui/agent/retention.py``):
    durations in seconds (0: forever), ``item_versions`` -1: every version."""

    interval: float = 3600.0
    item_versions: int = 10
    finished_orders: float = 30 * 86400.0
    finished_tasks: float = 7 * 86400.0


@dataclass(frozen=True)
class ComponentConfig:
    component: str
    directory: Path
    name: str
    subject: str
    host: str
    port: int
    state_dir: Path
    session_timeout: int
    invalid_login_delay: float
    journal_sync: str
    log_file: Path
    log_level: str
    tls: TlsFiles | None
    trusted_keys_dir: Path
    users: dict[str, str] = field(default_factory=dict)
    allowed_clients: tuple[AllowedClient, ...] = ()
    agents: dict[str, AgentRef] = field(default_factory=dict)
    jobs: JobsConfig | None = None
    links: LinksConfig = field(default_factory=LinksConfig)
    limits: WireLimits = field(default_factory=WireLimits)
    retention: Retention = field(default_factory=Retention)
    security_level: str = "LOW"
    registered_signers: frozenset[str] = frozenset()

    @property
    def trusted_crls_dir(self) -> Path:
        """CRLs for the signer checks besides the TLS CRL (the signing CA's, the root's):
        every file not starting with ``.``, re-read when it changes; optional."""
        return self.directory / "trusted-x509-crls"


def read_secret_file(path: Path) -> str:
    """A password from a file that only its owner may read (0600), first line, no newline."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ValidationError(f"cannot read the password file {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValidationError(
            f"the password file {path} is readable by others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); make it private: chmod 600 {path}")
    text = path.read_text(encoding="utf-8").splitlines()
    if not text or not text[0]:
        raise ValidationError(f"the password file {path} is empty")
    return text[0]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"{path} is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
                              ) from None


def _check_keys(path: Path, where: str, raw: dict[str, Any], allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            raise ValidationError(f"{path}: unknown key '{key}' in {where}; allowed: "
                                  f"{', '.join(sorted(allowed))}")


def _clients(path: Path, raw: object) -> list[AllowedClient]:
    if not isinstance(raw, list):
        raise ValidationError(f"{path}: allowed_clients must be an array of tables "
                              "([[allowed_clients]])")
    clients = []
    for index, entry in enumerate(raw):
        parsed = parse_section(path, f"allowed_clients #{index + 1}", entry, _ClientToml)
        if not parsed.dn or not parsed.user:
            raise ValidationError(f"{path}: allowed_clients #{index + 1} needs dn and user")
        try:
            name = parse_dn(parsed.dn)
        except ValueError as exc:
            raise ValidationError(f"{path}: '{parsed.dn}' is not an RFC 4514 distinguished "
                                  f"name ({exc})") from None
        clients.append(AllowedClient(name, name.rfc4514_string(), parsed.user))
    return clients


def _listen(path: Path, text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValidationError(f"{path}: [server] listen must be HOST:PORT, not '{text}'")
    return host.strip("[]"), int(port)


def _bundle(directory: Path, component: str) -> tuple[dict[str, Any], TlsFiles | None,
                                                       list[AllowedClient]]:
    path = directory / "bundle.toml"
    if not path.exists():
        return {}, None, []
    raw = _read_toml(path)
    _check_keys(path, "bundle.toml", raw,
                {"component", "name", "subject", "tls", "allowed_clients", "trust"})
    if raw.get("component") != component:
        raise ValidationError(f"{path}: this bundle is for a {raw.get('component')!r}, not a "
                              f"{component}; import the {component}'s bundle")
    tls = parse_section(path, "tls", raw.get("tls", {}), _TlsToml)
    for key in ("cert", "key", "ca"):
        if not getattr(tls, key):
            raise ValidationError(f"{path}: [tls] {key} is missing")
    files = TlsFiles(directory / tls.cert, directory / tls.key, directory / tls.ca,
                     directory / tls.crl if tls.crl else None)
    return raw, files, _clients(path, raw.get("allowed_clients", []))


def load_component_config(directory: Path, component: str, *,
                          insecure_http: bool = False) -> ComponentConfig:
    """Read and check DIR's ``config.toml`` and ``bundle.toml`` for ``component``."""
    if component not in COMPONENTS:
        raise ValueError(component)
    directory = directory.absolute()
    path = directory / "config.toml"
    raw = _read_toml(path)
    sections = {"server", "users", "allowed_clients", "limits", "retention"} | (
        {"agents", "links"} if component == "controller" else {"jobs"})
    _check_keys(path, "config.toml", raw, sections)
    server = parse_section(path, "server", raw.get("server", {}), _ServerToml)
    bundle, tls, clients = _bundle(directory, component)
    if tls is None and not insecure_http:
        raise ValidationError(
            f"{directory / 'bundle.toml'} is missing: import the {component}'s bundle first "
            "(HTTPS with client certificates is required unless --insecure-http is given)")
    name = server.name or bundle.get("name", "")
    if not name:
        raise ValidationError(f"{path}: [server] name is missing (and no bundle names it)")
    if bundle.get("name") and server.name and server.name != bundle["name"]:
        raise ValidationError(f"{path}: [server] name '{server.name}' differs from the "
                              f"bundle's name '{bundle['name']}'")
    host, port = _listen(path, server.listen)
    users = {}
    for user, table in (raw.get("users") or {}).items():
        parsed = parse_section(path, f"users.{user}", table, _UserToml)
        if not parsed.password_hash.startswith(("$argon2", "sha512:")):
            raise ValidationError(f"{path}: [users.{user}] password_hash must be an argon2 hash "
                                  "($argon2id$...) or sha512:<hex>")
        users[user] = parsed.password_hash
    clients += _clients(path, raw.get("allowed_clients", []))
    for client in clients:
        if client.user not in users:
            raise ValidationError(f"{path}: the client '{client.text}' maps to the user "
                                  f"'{client.user}', which has no [users.{client.user}] entry")
    if server.journal_sync.upper() not in ("FULL", "NORMAL"):
        raise ValidationError(f"{path}: [server] journal_sync must be 'full' or 'normal'")
    agents = {}
    for agent, table in (raw.get("agents") or {}).items():
        parsed = parse_section(path, f"agents.{agent}", table, _AgentToml)
        if not (parsed.url and parsed.user and parsed.password_file):
            raise ValidationError(f"{path}: [agents.{agent}] needs url, user and password_file")
        agents[agent] = AgentRef(agent, parsed.url.rstrip("/"), parsed.user,
                                 directory / parsed.password_file)
    parsed_links = parse_section(path, "links", raw.get("links", {}), _LinksToml)
    links = LinksConfig(float(parse_duration(parsed_links.overview_interval)),
                        float(parse_duration(parsed_links.refused_retry)))
    if links.overview_interval < 1 or links.refused_retry < 1:
        raise ValidationError(f"{path}: [links] intervals must be at least 1s")
    jobs = None
    if component == "agent":
        parsed = parse_section(path, "jobs", raw.get("jobs", {}), _JobsToml)
        jobs = JobsConfig(directory / parsed.work_dir, float(parse_duration(parsed.kill_grace)),
                          parsed.max_output, parsed.shell)
    from js7tui.pki.bundle_import import bundle_trust
    try:
        level, registered = bundle_trust(bundle)
    except ValueError as exc:
        raise ValidationError(f"{directory / 'bundle.toml'}: {exc}") from None
    return ComponentConfig(
        security_level=level, registered_signers=registered,
        limits=_limits(path, raw.get("limits", {})),
        retention=_retention(path, raw.get("retention", {})),
        component=component, directory=directory, name=name,
        subject=str(bundle.get("subject", "")), host=host, port=port,
        state_dir=directory / server.state_dir,
        session_timeout=parse_duration(server.session_timeout),
        invalid_login_delay=float(parse_duration(server.invalid_login_delay)),
        journal_sync=server.journal_sync.upper(), log_file=directory / server.log_file,
        log_level=server.log_level.upper(), tls=tls,
        trusted_keys_dir=directory / "trusted-x509-keys", users=users,
        allowed_clients=tuple(clients), agents=agents, jobs=jobs, links=links)


_LIMIT_RANGES = {"login_body": (1024, 1024 * 1024), "item_body": (1024, 1024 ** 3),
                 "request_body": (1024, 256 * 1024 * 1024), "json_depth": (4, 512),
                 "orders_per_request": (1, 100_000), "arguments": (0, 10_000),
                 "argument_length": (1, 1024 * 1024)}


def _limits(path: Path, raw: object) -> WireLimits:
    parsed = parse_section(path, "limits", raw, WireLimits)  # all ints: the TOML form is it
    for key, (low, high) in _LIMIT_RANGES.items():
        value = getattr(parsed, key)
        if not low <= value <= high:
            raise ValidationError(f"{path}: [limits] {key} must be from {low} to {high}, "
                                  f"not {value}")
    return parsed


def _retention(path: Path, raw: object) -> Retention:
    parsed = parse_section(path, "retention", raw, _RetentionToml)
    durations = {}
    for key in ("interval", "finished_orders", "finished_tasks"):
        try:
            durations[key] = float(parse_duration(getattr(parsed, key)))
        except ValidationError as exc:
            raise ValidationError(f"{path}: [retention] {key}: {exc}") from None
    if durations["interval"] < 1:
        raise ValidationError(f"{path}: [retention] interval must be 1s or more")
    if parsed.item_versions < -1:
        raise ValidationError(f"{path}: [retention] item_versions must be -1 (all) or more")
    return Retention(durations["interval"], parsed.item_versions, durations["finished_orders"],
                     durations["finished_tasks"])


def ensure_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
