"""VAULT-JOC-ACTIVE against a real OpenBao: creating an account, resetting and changing its
password and deleting it in the console does the same to the userpass user in Vault, with a
least-privilege application token; a Vault refusal refuses the change and leaves the store as
it was; a store failure after Vault created a user removes that user again."""

from __future__ import annotations

import json

import pytest

from js7tui.audit import AuditMeta
from js7tui.config import CONFIG_TEMPLATE
from js7tui.errors import AuthenticationError, ProviderRefused, StoreError, ValidationError
from js7tui.identity.providers.base import LoginRequest
from tests.openbao import OpenBao, free_port, vault_service
from tests.test_cli import Cli, logged_in_root

SERVICE = "VAULT-X"
ERIN_PW = "erin-chosen-password-1"


def _manager_rules(mount: str) -> str:
    capabilities = '["create", "read", "update", "delete"]'
    return f'path "auth/{mount}/users/*" {{ capabilities = {capabilities} }}'


@pytest.fixture
def mount(openbao: OpenBao) -> str:
    return openbao.userpass()


@pytest.fixture
def active(console, root, openbao: OpenBao, mount: str) -> str:
    """A VAULT-JOC-ACTIVE service whose application token may only manage its mount's users."""
    openbao.policy(f"js7tui-{mount}", _manager_rules(mount))
    openbao.policy("scheduler-user")
    vault_service(console, root, openbao, SERVICE, "VAULT-JOC-ACTIVE", mount,
                  user_policies=["scheduler-user"],
                  application_token=openbao.token([f"js7tui-{mount}"]))
    console.roles.create(root, "operators", service=SERVICE)
    return SERVICE


def _row(console, name: str):
    return console.store.conn.execute(
        "SELECT a.* FROM accounts a JOIN identity_services s ON s.id = a.identity_service_id "
        "WHERE s.name = ? AND a.name = ?", (SERVICE, name)).fetchone()


def _audit_count(console) -> int:
    return console.store.conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]


def test_creating_an_account_creates_the_vault_user(active, console, root, openbao, mount):
    view = console.accounts.create(root, "erin", service=active, password=ERIN_PW,
                                   roles=["operators"])
    assert view.roles == ("operators",) and view.state == "active"
    user = openbao.read_user(mount, "erin")
    assert user is not None and user["token_policies"] == ["scheduler-user"]
    assert openbao.can_log_in(mount, "erin", ERIN_PW)
    assert _row(console, "erin")["password_hash"] is None     # Vault alone keeps it

    session = console.login.login(LoginRequest("erin", ERIN_PW, "test")).session
    assert [(g.service, g.roles_from) for g in session.grants] == [(SERVICE, "store")]
    assert ERIN_PW not in json.dumps([e.parameters for e in console.audit.list(root)])


def test_an_account_needs_a_chosen_password(active, console, root, openbao, mount):
    with pytest.raises(ValidationError, match="keeps its passwords in the provider"):
        console.accounts.create(root, "gina", service=active)
    with pytest.raises(ValidationError, match="too short"):
        console.accounts.create(root, "gina", service=active, password="short")
    assert _row(console, "gina") is None and openbao.read_user(mount, "gina") is None

    console.accounts.create(root, "erin", service=active, password=ERIN_PW, roles=["operators"])
    copy = console.accounts.copy(root, "erin", "gina", service=active,
                                 password="gina-chosen-password-2")
    assert copy.roles == ("operators",)
    assert openbao.can_log_in(mount, "gina", "gina-chosen-password-2")


def test_reset_and_own_change_set_the_password_in_vault(active, console, root, openbao,
                                                       mount):
    console.accounts.create(root, "erin", service=active, password=ERIN_PW, roles=["operators"])
    with pytest.raises(ValidationError, match="keeps its passwords in the provider"):
        console.accounts.reset_password(root, "erin", service=active)

    view = console.accounts.reset_password(root, "erin", service=active,
                                           password="reset-by-admin-42")
    assert view.force_password_change
    assert openbao.can_log_in(mount, "erin", "reset-by-admin-42")
    assert not openbao.can_log_in(mount, "erin", ERIN_PW)
    session = console.login.login(LoginRequest("erin", "reset-by-admin-42", "test")).session
    assert session.must_change_password

    before = openbao.accessors()
    with pytest.raises(AuthenticationError, match="wrong account name or current password"):
        console.accounts.change_password(account="erin", old="not-it-at-all",
                                         new="erins-own-password-7")
    console.accounts.change_password(account="erin", old="reset-by-admin-42",
                                     new="erins-own-password-7")
    assert openbao.accessors() == before     # the token of the password check was revoked
    assert openbao.can_log_in(mount, "erin", "erins-own-password-7")
    assert not _row(console, "erin")["force_password_change"]


def test_deleting_an_account_deletes_the_vault_user(active, console, root, openbao, mount):
    console.accounts.create(root, "erin", service=active, password=ERIN_PW, roles=["operators"])
    console.accounts.delete(root, ["erin"], service=active)
    assert _row(console, "erin") is None and openbao.read_user(mount, "erin") is None


def test_rename_is_refused_and_changes_nothing(active, console, root, openbao, mount):
    console.accounts.create(root, "erin", service=active, password=ERIN_PW, roles=["operators"])
    with pytest.raises(ProviderRefused, match="Vault cannot rename the userpass user 'erin'"):
        console.accounts.rename(root, "erin", "erin2", service=active)
    assert _row(console, "erin") is not None and _row(console, "erin2") is None


def test_vault_refusals_leave_the_store_unchanged(active, console, root, openbao, mount):
    console.accounts.create(root, "erin", service=active, password=ERIN_PW, roles=["operators"])
    entries = _audit_count(console)

    openbao.user(mount, "frank", "franks-vault-password", ["default"])
    with pytest.raises(ProviderRefused, match="Vault already has a user 'frank'"):
        console.accounts.create(root, "frank", service=active, password="console-password-1")
    assert openbao.can_log_in(mount, "frank", "franks-vault-password")    # not overwritten

    console.identity_services.set_settings(root, active, {
        "application_token": openbao.token(["default"])})
    weak = _audit_count(console)
    for attempt in (
        lambda: console.accounts.create(root, "gina", service=active,
                                        password="gina-chosen-password-2"),
        lambda: console.accounts.reset_password(root, "erin", service=active,
                                                password="another-password-3"),
        lambda: console.accounts.delete(root, ["erin"], service=active),
    ):
        with pytest.raises(ProviderRefused, match=(
                "permission denied; the application_token of 'VAULT-X' has expired or lacks "
                f"create, read, update and delete on auth/{mount}/users/")):
            attempt()
    assert _audit_count(console) == weak
    assert _row(console, "gina") is None and openbao.read_user(mount, "gina") is None
    assert not _row(console, "erin")["force_password_change"]
    assert openbao.can_log_in(mount, "erin", ERIN_PW)

    closed = f"https://127.0.0.1:{free_port()}"
    console.identity_services.set_settings(root, active, {"url": closed})
    with pytest.raises(ProviderRefused, match="Vault cannot be reached to delete the user 'erin'"
                                              rf" \(cannot connect to {closed}"):
        console.accounts.delete(root, ["erin"], service=active)
    console.identity_services.set_settings(root, active, {"application_token": None})
    with pytest.raises(ProviderRefused, match="has no application_token"):
        console.accounts.delete(root, ["erin"], service=active)
    assert _row(console, "erin") is not None
    assert _audit_count(console) == entries + 3        # only the three settings changes


def _fail_audit_of(console, request: str) -> None:
    """Make the store fail at the audit entry of ``request``, after Vault was already asked."""
    console.store.conn.execute(
        "CREATE TEMP TRIGGER fail_audit BEFORE INSERT ON audit_log "
        f"WHEN NEW.request = '{request}' BEGIN SELECT RAISE(ABORT, 'disk full'); END")


def test_a_store_failure_after_vault_created_the_user_deletes_it_again(active, console, root,
                                                                       openbao, mount):
    _fail_audit_of(console, "./iam/account/store")
    with pytest.raises(Exception, match="disk full"):
        console.accounts.create(root, "erin", service=active, password=ERIN_PW)
    assert _row(console, "erin") is None
    assert openbao.read_user(mount, "erin") is None


def test_a_store_failure_after_vault_set_a_password_says_what_vault_did(active, console, root,
                                                                        openbao, mount):
    console.accounts.create(root, "erin", service=active, password=ERIN_PW, roles=["operators"])
    _fail_audit_of(console, "./iam/accounts/resetpassword")
    with pytest.raises(StoreError) as failure:
        console.accounts.reset_password(root, "erin", service=active,
                                        password="reset-by-admin-42", meta=AuditMeta())
    assert "disk full" in str(failure.value)
    assert ("the provider already set the password of 'erin' in 'VAULT-X': repeat the "
            "operation to bring both in step") in str(failure.value)
    assert not _row(console, "erin")["force_password_change"]
    assert openbao.can_log_in(mount, "erin", "reset-by-admin-42")


def test_the_command_line_configures_a_vault_service_and_logs_in(tmp_path, openbao, mount):
    """What the README shows: create the service, set its settings (the token from standard
    input), create an account with a password, log in with it, log out."""
    cli = Cli(tmp_path)
    cli.home.mkdir(mode=0o700)                # test-sized argon2 cost from the start
    (cli.home / "config.toml").write_text(
        CONFIG_TEMPLATE.replace("argon2_time_cost = 3", "argon2_time_cost = 1")
        .replace("argon2_memory_kib = 65536", "argon2_memory_kib = 8")
        .replace("argon2_parallelism = 4", "argon2_parallelism = 1"))
    assert cli("init", "--security-level", "low")[0] == 0
    logged_in_root(cli)
    openbao.policy(f"js7tui-{mount}", _manager_rules(mount))
    app_token = openbao.token([f"js7tui-{mount}"])
    steps = [
        (["identity-service", "create", SERVICE, "--type", "VAULT-JOC-ACTIVE"], ""),
        (["identity-service", "set", SERVICE, "--setting", f"url={openbao.url}",
          "--setting", f"ca_file={openbao.ca_file}", "--setting", f"auth_method_path={mount}",
          "--setting", "check_interval=2m", "--secret", "application_token"], app_token + "\n"),
        (["identity-service", "order", SERVICE], ""),
        (["role", "create", "operators", "--identity-service", SERVICE], ""),
        (["account", "create", "erin", "--identity-service", SERVICE, "--role", "operators",
          "--password-stdin"], ERIN_PW + "\n"),
        (["identity-service", "settings", SERVICE], ""),
        (["logout"], ""),
        (["login", "--account", "erin", "--password-stdin"], ERIN_PW + "\n"),
        (["whoami"], ""),
    ]
    outputs = []
    for argv, stdin in steps:
        code, out, err = cli(*argv, stdin=stdin)
        assert code == 0, (argv, err)
        outputs.append(out)
    settings, whoami = outputs[5], outputs[-1]
    assert "application_token" in settings and "(set)" in settings
    assert app_token not in settings and "120" in settings
    assert "erin" in whoami and SERVICE in whoami
    assert "recheck" in whoami and "(idle timeout)" in whoami
    assert openbao.can_log_in(mount, "erin", ERIN_PW)
    before = openbao.accessors()
    assert cli("logout")[0] == 0
    assert len(openbao.accessors()) == len(before) - 1      # the session's token revoked
