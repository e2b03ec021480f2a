"""The console's services built from one home: the factory the CLI, the TUI and tests share.

``initialize`` creates a home once (store, config, default identity content, first audit entry);
``open_console`` opens an existing one. Tests pass a frozen clock, a cheap password hasher and
extra providers; nothing here is a module-level global.

Each service is built on first use, and its modules are imported then: opening a console costs
the store and the configuration, so ``js7tui status`` or the console's login screen do not pay
for the CA, the deployment code or the Controller client before they are needed. The TUI warms
the services it needs in a worker after its first frame.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from js7tui import logs, security_level
from js7tui.clock import Clock, SystemClock, to_iso
from js7tui.config import CONFIG_TEMPLATE, Config, load_config
from js7tui.errors import StoreError
from js7tui.home import Home, write_private_file
from js7tui.identity import settings as identity_settings
from js7tui.security_level import SecurityLevel
from js7tui.store import Store

if TYPE_CHECKING:
    from js7tui.approval.service import ApprovalService
    from js7tui.audit.service import AuditService
    from js7tui.audit.witness import AuditWitness
    from js7tui.client.orders import OrderService
    from js7tui.client.registry import ControllerService
    from js7tui.deployment import ExportService
    from js7tui.deployment.keys import SigningKeyService
    from js7tui.deployment.service import DeploymentService
    from js7tui.encipherment.service import EnciphermentService
    from js7tui.identity.accounts import AccountService
    from js7tui.identity.chain import LoginChain
    from js7tui.identity.factors.admin import SecondFactorAdmin
    from js7tui.identity.passwords import PasswordHasher
    from js7tui.identity.providers import ProviderRegistry
    from js7tui.identity.roles import RoleService
    from js7tui.identity.services import IdentityServiceAdmin
    from js7tui.identity.session_admin import SessionAdmin
    from js7tui.identity.settings_service import SettingsService
    from js7tui.inventory import InventoryService
    from js7tui.operations import Operations
    from js7tui.permissions.service import PermissionService
    from js7tui.pki.keys import KeyType
    from js7tui.pki.service import CertificateService
    from js7tui.remote import RemoteChanges
    from js7tui.secrets import SecretBox

SYSTEM_ACCOUNT = "js7tui"
T = TypeVar("T")


class _Lazy(Generic[T]):
    """A console attribute built by ``build(console)`` on first use, once (under the
    console's lock: the TUI warms services in a worker while the UI thread may ask too)."""

    def __init__(self, build: Callable[[Console], T]) -> None:
        self.build = build
        self.name = build.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, console: None, owner: type | None = None) -> _Lazy[T]: ...
    @overload
    def __get__(self, console: Console, owner: type | None = None) -> T: ...

    def __get__(self, console: Console | None, owner: type | None = None) -> Any:
        if console is None:
            return self
        value = console.__dict__.get(self.name, _MISSING)
        if value is _MISSING:
            with console._build_lock:
                value = console.__dict__.get(self.name, _MISSING)
                if value is _MISSING:
                    value = console.__dict__[self.name] = self.build(console)
        return value

    def __set__(self, console: Console, value: T) -> None:
        console.__dict__[self.name] = value


_MISSING = object()


def _hasher(console: Console) -> PasswordHasher:
    from js7tui.identity.passwords import PasswordHasher
    return PasswordHasher(console.config.passwords)


def _registry(console: Console) -> ProviderRegistry:
    from js7tui.identity.providers import default_registry
    return default_registry()


def _ops(console: Console) -> Operations:
    from js7tui.operations import Operations
    ops = Operations(console.store, console.clock)
    ops.on_change = lambda: _notify_witnesses(console)
    return ops


def _notify_witnesses(console: Console) -> None:
    """After a change: the Controllers witness the new audit head (only where some are
    registered; the sending is in a background thread)."""
    if console.store.conn.execute("SELECT 1 FROM controllers LIMIT 1").fetchone():
        console.witness.notify()


def _witness(c: Console) -> AuditWitness:
    from js7tui.audit.witness import AuditWitness
    return AuditWitness(
        lambda: c.store.conn,
        lambda: [r[0] for r in c.store.conn.execute("SELECT id FROM controllers ORDER BY id")],
        lambda controller_id: c.controllers.client(controller_id, timeout=3.0))


def _secrets(console: Console) -> SecretBox:
    from js7tui.secrets import SecretBox
    return SecretBox(console.home.secrets_key_path if console.home else None)


def _login(c: Console) -> LoginChain:
    from js7tui.identity.chain import LoginChain
    return LoginChain(c.store, c.clock, c.hasher, c.registry, c.secrets)


def _accounts(c: Console) -> AccountService:
    from js7tui.identity.accounts import AccountService
    return AccountService(c.store, c.clock, c.hasher, c.ops, c.registry, c.secrets)


def _roles(c: Console) -> RoleService:
    from js7tui.identity.roles import RoleService
    return RoleService(c.store, c.ops)


def _identity_services(c: Console) -> IdentityServiceAdmin:
    from js7tui.identity.services import IdentityServiceAdmin
    return IdentityServiceAdmin(c.store, c.ops, c.registry, c.secrets)


def _second_factors(c: Console) -> SecondFactorAdmin:
    from js7tui.identity.factors.admin import SecondFactorAdmin
    return SecondFactorAdmin(c.store, c.clock, c.ops, c.registry, c.hasher, c.secrets)


def _settings(c: Console) -> SettingsService:
    from js7tui.identity.settings_service import SettingsService
    return SettingsService(c.store, c.ops, c.hasher)


def _sessions(c: Console) -> SessionAdmin:
    from js7tui.identity.provider_sessions import ProviderSessions
    from js7tui.identity.session_admin import SessionAdmin
    return SessionAdmin(c.store, c.clock, c.ops,
                        ProviderSessions(c.store, c.clock, c.hasher, c.registry, c.secrets))


def _audit(c: Console) -> AuditService:
    from js7tui.audit.service import AuditService
    return AuditService(c.store, c.ops, witness=c.witness)


def _permissions(c: Console) -> PermissionService:
    from js7tui.permissions.service import PermissionService
    return PermissionService(c.store, c.ops)


def _inventory(c: Console) -> InventoryService:
    from js7tui.inventory import InventoryService
    return InventoryService(c.store, c.ops, c.clock)


def _exports(c: Console) -> ExportService:
    from js7tui.deployment import ExportService
    return ExportService(c.ops, c.inventory)


def _certificates(c: Console) -> CertificateService:
    from js7tui.pki.service import CertificateService
    store = c.store
    return CertificateService(store, c.clock, c.ops,
                              lambda: security_level.installation_id(store.conn), c.secrets)


def _encipherment(c: Console) -> EnciphermentService:
    from js7tui.encipherment.service import EnciphermentService
    return EnciphermentService(c.store, c.clock, c.ops, c.secrets)


def _controllers(c: Console) -> ControllerService:
    from js7tui.client.registry import ControllerService
    return ControllerService(c.store, c.ops, c.clock, c.secrets,
                             timeout=c.config.controllers.timeout_seconds)


def _signing_keys(c: Console) -> SigningKeyService:
    from js7tui.deployment.keys import SigningKeyService
    return SigningKeyService(c.store, c.ops, c.clock, c.secrets)


def _deployments(c: Console) -> DeploymentService:
    from js7tui.deployment.service import DeploymentService
    return DeploymentService(c.store, c.ops, c.clock, c.signing_keys, c.inventory,
                             c.controllers, c.config.archive, c.remote,
                             agent_wait=c.config.controllers.agent_wait_seconds,
                             expiry_days=c.config.controllers.expiry_warning_days)


def _remote(c: Console) -> RemoteChanges:
    """The road of every remote change, with each kind's reconciliation probe (registered
    here, so reconciliation knows every kind whichever service was built)."""
    from js7tui.client.orders import register_probes as order_probes
    from js7tui.deployment.service import register_probes as deployment_probes
    from js7tui.remote import RemoteChanges
    remote = RemoteChanges(c.store, c.ops, c.clock, c.controllers)
    deployment_probes(remote)
    order_probes(remote)
    return remote


def _orders(c: Console) -> OrderService:
    from js7tui.client.orders import OrderService
    return OrderService(c.store, c.ops, c.clock, c.controllers, c.remote)


def _approvals(c: Console) -> ApprovalService:
    """Four-eyes requests; each kind runs through its own service once approved."""
    from js7tui.approval import local
    from js7tui.approval.service import ApprovalService

    def deployment(session: Any, request: Any, meta: Any) -> str:
        return c.deployments.execute_approved(session, request, meta)

    def change(session: Any, request: Any, meta: Any) -> str:
        return local.execute(c, session, request, meta)

    executors = {kind: deployment for kind in ("deploy", "revoke", "import-deploy")}
    executors.update({kind: change for kind in ("accounts", "roles", "identity-services",
                                                "certificates", "settings")})
    return ApprovalService(c.store, c.ops, c.clock, c.secrets, executors)


class Console:
    """One home's services. ``hasher`` and ``registry`` may be given (tests: a cheap hasher,
    extra providers); every service is built from them on first use."""

    hasher = _Lazy(_hasher)
    registry = _Lazy(_registry)
    ops = _Lazy(_ops)
    secrets = _Lazy(_secrets)
    login = _Lazy(_login)
    accounts = _Lazy(_accounts)
    roles = _Lazy(_roles)
    identity_services = _Lazy(_identity_services)
    second_factors = _Lazy(_second_factors)
    settings = _Lazy(_settings)
    sessions = _Lazy(_sessions)
    audit = _Lazy(_audit)
    witness = _Lazy(_witness)
    permissions = _Lazy(_permissions)
    inventory = _Lazy(_inventory)
    exports = _Lazy(_exports)
    certificates = _Lazy(_certificates)
    encipherment = _Lazy(_encipherment)
    controllers = _Lazy(_controllers)
    signing_keys = _Lazy(_signing_keys)
    deployments = _Lazy(_deployments)
    orders = _Lazy(_orders)
    remote = _Lazy(_remote)
    approvals = _Lazy(_approvals)

    def __init__(self, store: Store, *, home: Home | None = None, clock: Clock | None = None,
                 config: Config | None = None, hasher: PasswordHasher | None = None,
                 registry: ProviderRegistry | None = None) -> None:
        self.home = home
        self.store = store
        self.clock = clock or SystemClock()
        self.config = config or Config()
        self._build_lock = threading.RLock()
        if hasher is not None:
            self.hasher = hasher
        if registry is not None:
            self.registry = registry

    def warm(self, *names: str) -> None:
        """Build these services now (the TUI does so in a worker after its first frame)."""
        for name in names:
            getattr(self, name)

    @property
    def security_level(self) -> SecurityLevel:
        return security_level.read(self.store.conn)

    @property
    def installation_id(self) -> str:
        return security_level.installation_id(self.store.conn)

    @property
    def remember_me_enabled(self) -> bool:
        """Whether a client may keep the session token (setting ``enable_remember_me``); read
        before any session exists, so it needs no permission."""
        return bool(identity_settings.read(self.store.conn, "enable_remember_me"))

    @property
    def comments_required(self) -> bool:
        """Whether every change needs an audit comment (``force_comments_for_audit_log``);
        clients read it to ask for the comment before the change, without a permission."""
        return bool(identity_settings.read(self.store.conn, "force_comments_for_audit_log"))

    @property
    def comment_choices(self) -> list[str]:
        """The predefined audit comments (``comments_for_audit_log``) offered when asking."""
        return list(identity_settings.read(self.store.conn, "comments_for_audit_log"))

    @property
    def minimum_password_length(self) -> int:
        """Shown on password forms before any session exists."""
        return int(identity_settings.read(self.store.conn, "minimum_password_length"))

    def close(self) -> None:
        if "witness" in self.__dict__:  # its thread reads the store: end it first
            self.witness.stop()
        if "orders" in self.__dict__:  # its Controller clients log out
            self.orders.close()
        self.store.close()


def build_console(store: Store, *, home: Home | None = None, clock: Clock | None = None,
                  config: Config | None = None, hasher: PasswordHasher | None = None,
                  registry: ProviderRegistry | None = None) -> Console:
    return Console(store, home=home, clock=clock, config=config, hasher=hasher,
                   registry=registry)


def open_console(home: Home, *, check_modes: bool = True,
                 warn: Callable[[str], None] | None = None, **kwargs: object) -> Console:
    """Open an existing home. Its modes are checked first (js7tui.home.check_home_modes):
    one that others can write is refused, one they can read is warned about on ``warn``;
    ``check_modes=False`` only for ``doctor``, which reports them.

    A home older than sealed keys has its clear private keys sealed now (js7tui.pki.sealed:
    one audited transaction, once); ``doctor`` (``check_modes=False``) only reads, and names
    them."""
    home.require()
    if check_modes:
        from js7tui.home import check_home_modes
        check_home_modes(home, warn)
    config = load_config(home.config_path)
    store = Store.open(home.db_path)
    try:
        security_level.read(store.conn)
        if check_modes:
            from js7tui.pki import sealed
            clock = kwargs.get("clock") or SystemClock()
            sealed.seal_clear_keys(store, clock, SYSTEM_ACCOUNT)
    except BaseException:
        store.close()
        raise
    logs.configure(home, config)
    return build_console(store, home=home, config=config, **kwargs)  # type: ignore[arg-type]


def seed_defaults(store: Store, clock: Clock, hasher: PasswordHasher,
                  level: SecurityLevel) -> None:
    """Installation record, JOC-INITIAL with root/root, the default roles, settings: one
    transaction, with the first audit entry."""
    from js7tui import audit
    from js7tui.audit import Category
    from js7tui.identity.defaults import (
        ALL_ROLE,
        DEFAULT_ROLES,
        INITIAL_ACCOUNT,
        INITIAL_ACCOUNT_PASSWORD,
        INITIAL_SERVICE,
    )
    from js7tui.permissions import catalogue
    names = catalogue()
    now = to_iso(clock.now())
    with store.transaction() as conn:
        conn.execute("INSERT INTO installation (id, installation_id, security_level, created) "
                     "VALUES (1, ?, ?, ?)", (str(uuid.uuid4()), level.value, now))
        cursor = conn.execute(
            "INSERT INTO identity_services (name, type, ordering, required, disabled) "
            "VALUES (?, 'JOC', 0, 0, 0)", (INITIAL_SERVICE,))
        service_id = cursor.lastrowid
        role_ids = {}
        for ordering, (role, permissions) in enumerate(DEFAULT_ROLES.items()):
            role_ids[role] = conn.execute(
                "INSERT INTO roles (identity_service_id, name, ordering) VALUES (?, ?, ?)",
                (service_id, role, ordering)).lastrowid
            conn.executemany(
                "INSERT INTO role_permissions (role_id, permission) VALUES (?, ?)",
                [(role_ids[role], names.canonical(p)) for p in permissions])
        account_id = conn.execute(
            "INSERT INTO accounts (identity_service_id, name, password_hash, "
            "force_password_change, created) VALUES (?, ?, ?, 1, ?)",
            (service_id, INITIAL_ACCOUNT, hasher.hash(INITIAL_ACCOUNT_PASSWORD), now)).lastrowid
        conn.execute("INSERT INTO account_roles (account_id, role_id) VALUES (?, ?)",
                     (account_id, role_ids[ALL_ROLE]))
        identity_settings.write_initial_password_hash(
            conn, hasher.hash(identity_settings.DEFAULT_INITIAL_PASSWORD),
            len(identity_settings.DEFAULT_INITIAL_PASSWORD))
        audit.append(conn, created=clock.now(), account=SYSTEM_ACCOUNT, request="init",
                     category=Category.SETTINGS,
                     parameters={"securityLevel": level.value,
                                 "identityService": INITIAL_SERVICE,
                                 "account": INITIAL_ACCOUNT})


def initialize(home: Home, level: SecurityLevel, *, clock: Clock | None = None,
               hasher: PasswordHasher | None = None,
               registry: ProviderRegistry | None = None,
               ca_key_type: KeyType | None = None) -> Console:
    """Create the home once; an existing home is refused, never overwritten. With
    ``ca_key_type`` the built-in Root and Intermediate CA and the console's certificate are
    created too (``js7tui init`` does so unless told ``--no-ca``)."""
    if home.exists():
        existing = Store.open(home.db_path)
        try:
            current = security_level.read(existing.conn).value
        except StoreError:
            current = "unknown"
        finally:
            existing.close()
        raise StoreError(
            f"a js7tui home already exists at {home.root} (security level {current}); init "
            "runs once per home and never changes an existing one. Choose another directory "
            "with --home to create a new home."
        )
    clock = clock or SystemClock()
    home.create_dirs()
    if not home.config_path.exists():
        write_private_file(home.config_path, CONFIG_TEMPLATE.encode("utf-8"))
    config = load_config(home.config_path)
    if hasher is None:
        from js7tui.identity.passwords import PasswordHasher
        hasher = PasswordHasher(config.passwords)
    store = Store.create(home.db_path)
    try:
        seed_defaults(store, clock, hasher, level)
        if ca_key_type is not None:
            from js7tui.pki.service import bootstrap_ca
            bootstrap_ca(store, clock, ca_key_type, SYSTEM_ACCOUNT)
        from js7tui.pki import sealed
        sealed.mark(home)  # born sealed: a clear key found later is refused, never sealed
    except Exception:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            home.db_path.with_name(home.db_path.name + suffix).unlink(missing_ok=True)
        raise
    return build_console(store, home=home, clock=clock, config=config, hasher=hasher,
                         registry=registry)
