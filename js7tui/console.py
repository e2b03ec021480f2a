"""The console's services built from one home: the factory the CLI, the TUI and tests share.

``initialize`` creates a home once (store, config, default identity content, first audit entry);
``open_console`` opens an existing one. Tests pass a frozen clock, a cheap password hasher and
extra providers; nothing here is a module-level global.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from js7tui import audit, logs, security_level
from js7tui.audit import Category
from js7tui.audit.service import AuditService
from js7tui.client.orders import OrderService
from js7tui.client.registry import ControllerService
from js7tui.clock import Clock, SystemClock, to_iso
from js7tui.config import CONFIG_TEMPLATE, Config, load_config
from js7tui.deployment import ExportService
from js7tui.deployment.keys import SigningKeyService
from js7tui.deployment.service import DeploymentService
from js7tui.errors import StoreError
from js7tui.home import Home, write_private_file
from js7tui.identity import settings as identity_settings
from js7tui.identity.accounts import AccountService
from js7tui.identity.chain import LoginChain
from js7tui.identity.defaults import (
    ALL_ROLE,
    DEFAULT_ROLES,
    INITIAL_ACCOUNT,
    INITIAL_ACCOUNT_PASSWORD,
    INITIAL_SERVICE,
)
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.provider_sessions import ProviderSessions
from js7tui.identity.providers import ProviderRegistry, default_registry
from js7tui.identity.roles import RoleService
from js7tui.identity.services import IdentityServiceAdmin
from js7tui.identity.session_admin import SessionAdmin
from js7tui.identity.settings_service import SettingsService
from js7tui.inventory import InventoryService
from js7tui.operations import Operations
from js7tui.permissions import catalogue
from js7tui.permissions.service import PermissionService
from js7tui.pki.keys import KeyType
from js7tui.pki.service import CertificateService, bootstrap_ca
from js7tui.secrets import SecretBox
from js7tui.security_level import SecurityLevel
from js7tui.store import Store

SYSTEM_ACCOUNT = "js7tui"


@dataclass
class Console:
    home: Home | None
    store: Store
    clock: Clock
    config: Config
    hasher: PasswordHasher
    registry: ProviderRegistry
    ops: Operations
    login: LoginChain
    accounts: AccountService
    roles: RoleService
    identity_services: IdentityServiceAdmin
    settings: SettingsService
    sessions: SessionAdmin
    audit: AuditService
    permissions: PermissionService
    secrets: SecretBox
    inventory: InventoryService
    exports: ExportService
    certificates: CertificateService
    controllers: ControllerService
    signing_keys: SigningKeyService
    deployments: DeploymentService
    orders: OrderService

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
        self.orders.close()
        self.store.close()


def build_console(store: Store, *, home: Home | None = None, clock: Clock | None = None,
                  config: Config | None = None, hasher: PasswordHasher | None = None,
                  registry: ProviderRegistry | None = None) -> Console:
    clock = clock or SystemClock()
    config = config or Config()
    hasher = hasher or PasswordHasher(config.passwords)
    registry = registry or default_registry()
    ops = Operations(store, clock)
    secrets = SecretBox(home.secrets_key_path if home else None)
    inventory = InventoryService(store, ops, clock)
    controllers = ControllerService(store, ops, clock, secrets)
    signing_keys = SigningKeyService(store, ops, clock, secrets)
    return Console(
        home=home, store=store, clock=clock, config=config, hasher=hasher, registry=registry,
        ops=ops,
        login=LoginChain(store, clock, hasher, registry, secrets),
        accounts=AccountService(store, clock, hasher, ops, registry, secrets),
        roles=RoleService(store, ops),
        identity_services=IdentityServiceAdmin(store, ops, registry, secrets),
        settings=SettingsService(store, ops, hasher),
        sessions=SessionAdmin(store, clock, ops,
                              ProviderSessions(store, clock, hasher, registry, secrets)),
        audit=AuditService(store, ops),
        permissions=PermissionService(store, ops),
        secrets=secrets,
        inventory=inventory,
        exports=ExportService(ops, inventory),
        certificates=CertificateService(store, clock, ops,
                                        lambda: security_level.installation_id(store.conn)),
        controllers=controllers,
        signing_keys=signing_keys,
        deployments=DeploymentService(store, ops, clock, signing_keys, inventory, controllers,
                                      config.archive),
        orders=OrderService(store, ops, clock, controllers),
    )


def open_console(home: Home, **kwargs: object) -> Console:
    if not home.exists():
        raise StoreError(
            f"no js7tui home at {home.root}: create one with 'js7tui init --security-level "
            "low|medium|high' (or choose another with --home / JS7TUI_HOME)"
        )
    config = load_config(home.config_path)
    store = Store.open(home.db_path)
    security_level.read(store.conn)
    logs.configure(home, config)
    return build_console(store, home=home, config=config, **kwargs)  # type: ignore[arg-type]


def seed_defaults(store: Store, clock: Clock, hasher: PasswordHasher,
                  level: SecurityLevel) -> None:
    """Installation record, JOC-INITIAL with root/root, the default roles, settings: one
    transaction, with the first audit entry."""
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
            conn, hasher.hash(identity_settings.DEFAULT_INITIAL_PASSWORD))
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
    hasher = hasher or PasswordHasher(config.passwords)
    store = Store.create(home.db_path)
    try:
        seed_defaults(store, clock, hasher, level)
        if ca_key_type is not None:
            bootstrap_ca(store, clock, ca_key_type, SYSTEM_ACCOUNT)
    except Exception:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            home.db_path.with_name(home.db_path.name + suffix).unlink(missing_ok=True)
        raise
    return build_console(store, home=home, clock=clock, config=config, hasher=hasher,
                         registry=registry)
