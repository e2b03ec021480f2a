"""Per-type identity-service settings: schema parsing, sealed secrets, audit, CLI, login."""

from __future__ import annotations

import io
import json
import stat
from dataclasses import dataclass, field

import pytest

from js7tui.cli import run
from js7tui.cli.context import CliContext
from js7tui.console import open_console
from js7tui.errors import StoreError, ValidationError
from js7tui.identity.chain import LoginFailed
from js7tui.identity.providers.base import Authenticated, LoginRequest
from js7tui.identity.service_settings import Kind, SettingSpec, SettingsSchema
from js7tui.secrets import SecretBox, is_sealed
from tests.conftest import ROOT_PASSWORD, cheap_hasher

SCHEMA = SettingsSchema((
    SettingSpec("server_urls", Kind.LIST, "directory servers, tried in order", required=True,
                example="ldaps://dir.example:636"),
    SettingSpec("protocol", Kind.CHOICE, "transport", default="SSL",
                choices=("PLAIN", "STARTTLS", "SSL")),
    SettingSpec("verify_hostname", Kind.BOOL, "check the server name", default=True),
    SettingSpec("connect_timeout", Kind.DURATION, "connect timeout", default=5),
    SettingSpec("bind_password", Kind.SECRET, "system account password"),
    SettingSpec("group_roles", Kind.MAPPING, "group DN -> roles", default={}),
))


@dataclass
class RecordingProvider:
    """A provider of a test type that records the settings it was given."""

    seen: list[dict] = field(default_factory=list)

    def authenticate(self, service, request, context):
        self.seen.append(context.settings(service, SCHEMA))
        return Authenticated(request.account, roles=("administrator",))


@pytest.fixture
def provider(console) -> RecordingProvider:
    recorder = RecordingProvider()
    console.registry.register("LDAP", lambda: recorder, SCHEMA)
    return recorder


def test_settings_are_parsed_typed_and_secrets_sealed(provider, root, console):
    console.identity_services.create(root, "DIR", "LDAP")
    views = console.identity_services.set_settings(root, "DIR", {
        "server_urls": "ldap://a:389, ldaps://b:636", "protocol": "starttls",
        "verify_hostname": "no", "connect_timeout": "2m", "bind_password": "s3cret-bind",
        "group_roles": '{"cn=admins,dc=x": ["administrator"]}'})
    shown = {v.spec.key: v.shown for v in views}
    assert shown["server_urls"] == '["ldap://a:389", "ldaps://b:636"]'
    assert shown["protocol"] == "STARTTLS" and shown["verify_hostname"] == "false"
    assert shown["connect_timeout"] == "120" and shown["bind_password"] == "(set)"

    raw = console.store.conn.execute(
        "SELECT settings FROM identity_services WHERE name = 'DIR'").fetchone()[0]
    assert "s3cret-bind" not in raw and is_sealed(json.loads(raw)["bind_password"])
    audit_text = json.dumps([e.parameters for e in console.audit.list(root)])
    assert "s3cret-bind" not in audit_text
    assert "bind_password" in audit_text

    console.identity_services.update(root, "JOC-INITIAL", disabled=False, required=False)
    console.identity_services.reorder(root, ["DIR"])
    console.roles.create(root, "administrator", service="DIR")  # the role the provider names
    console.login.login(LoginRequest("someone", "pw", "test"))
    assert provider.seen[-1]["bind_password"] == "s3cret-bind"
    assert provider.seen[-1]["group_roles"] == {"cn=admins,dc=x": ["administrator"]}


def test_defaults_and_unset(provider, root, console):
    console.identity_services.create(root, "DIR", "LDAP", settings={"server_urls": ["ldap://a"]})
    console.identity_services.set_settings(root, "DIR", {"protocol": "PLAIN"})
    views = console.identity_services.set_settings(root, "DIR", {"protocol": None})
    assert {v.spec.key: v.shown for v in views}["protocol"] == "SSL (default)"


@pytest.mark.parametrize(("changes", "message"), [
    ({"server_url": "x"}, "did you mean 'server_urls'"),
    ({"protocol": "TLS"}, "expected one of PLAIN, STARTTLS, SSL"),
    ({"verify_hostname": "perhaps"}, "expected true or false"),
    ({"connect_timeout": "soon"}, "setting 'connect_timeout'"),
    ({"group_roles": '["a"]'}, "must be an object"),
    ({"group_roles": "{not json"}, "setting 'group_roles'"),
    ({"bind_password": ""}, "empty secret"),
])
def test_bad_settings_are_refused_and_change_nothing(provider, root, console, changes, message):
    console.identity_services.create(root, "DIR", "LDAP", settings={"server_urls": ["ldap://a"]})
    before = console.store.conn.execute("SELECT settings FROM identity_services").fetchall()
    entries = len(console.audit.list(root))
    with pytest.raises(ValidationError, match=message):
        console.identity_services.set_settings(root, "DIR", {"protocol": "PLAIN", **changes})
    after = console.store.conn.execute("SELECT settings FROM identity_services").fetchall()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert len(console.audit.list(root)) == entries


def test_a_type_without_settings_says_so(root, console):
    with pytest.raises(ValidationError, match="has no settings"):
        console.identity_services.set_settings(root, "JOC-INITIAL", {"x": "1"})


def test_a_service_missing_a_required_setting_is_reported_unreachable(provider, root, console):
    console.identity_services.create(root, "DIR", "LDAP", required=True)
    with pytest.raises(LoginFailed):
        console.login.login(LoginRequest("root", ROOT_PASSWORD, "test"))
    history = console.sessions.login_history(root, failed_only=True)
    assert "'DIR' is not configured: set server_urls" in json.dumps(
        [list(a.details) for a in history])
    assert provider.seen == []


def test_setting_a_secret_needs_the_manage_permission(provider, root, console):
    from tests.conftest import make_account
    viewer = make_account(console, root, "viewer", ["it_operator"])
    console.identity_services.create(root, "DIR", "LDAP", settings={"server_urls": ["ldap://a"]})
    from js7tui.errors import PermissionDenied
    with pytest.raises(PermissionDenied):
        console.identity_services.set_settings(viewer, "DIR", {"bind_password": "x"})


def test_secret_box_key_is_private_and_bound_to_its_home(tmp_path):
    box = SecretBox(tmp_path / "keys" / "secrets.key")
    sealed = box.seal("token-123")
    assert stat.S_IMODE((tmp_path / "keys" / "secrets.key").stat().st_mode) == 0o600
    assert SecretBox(tmp_path / "keys" / "secrets.key").open(sealed) == "token-123"
    with pytest.raises(StoreError, match="cannot be opened with this home's key"):
        SecretBox(tmp_path / "other.key").open(sealed)
    with pytest.raises(StoreError, match="not sealed"):
        box.open("plain-text")


def test_cli_sets_and_shows_settings_with_a_secret_from_stdin(console, home, clock):
    console.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    console.close()

    def with_ldap_type():  # each CLI run opens (and closes) its own console, as main() does
        opened = open_console(home, clock=clock, hasher=cheap_hasher())
        opened.registry.register("LDAP", RecordingProvider, SCHEMA)
        return opened

    first = with_ldap_type()
    token = first.login.login(LoginRequest("root", ROOT_PASSWORD, "test")).token
    first.close()
    env = {"JS7TUI_HOME": str(home.root), "JS7TUI_SESSION": token or ""}

    def call(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        ctx = CliContext(env=env, stdin=io.StringIO(stdin), stdout=out, stderr=err,
                         _console=with_ldap_type())
        return run(list(argv), ctx), out.getvalue(), err.getvalue()

    code, _, err = call("identity-service", "create", "DIR", "--type", "LDAP")
    assert code == 0, err
    code, out, err = call("identity-service", "set", "DIR", "--setting",
                          "server_urls=ldaps://dir:636", "--secret", "bind_password",
                          stdin="from-stdin-secret\n")
    assert code == 0, err
    assert "(set)" in out and "from-stdin-secret" not in out
    code, out, _ = call("identity-service", "settings", "DIR")
    assert "ldaps://dir:636" in out and "SSL (default)" in out
    code, _, err = call("identity-service", "set", "DIR", "--setting", "nonsense")
    assert code == 2 and "KEY=VALUE" in err
