"""Roles through LDAP: groups (memberOf, groupOfNames, posixGroup, nested) mapped to roles of
the LDAP service; LDAP-JOC with roles from the store; an LDAP service ordered before the JOC
service with required/optional combinations; passwords that cannot be changed here; the CLI."""

from __future__ import annotations

import pytest

from js7tui.errors import AuthenticationError, ValidationError
from js7tui.identity import sessions
from js7tui.identity.chain import NEUTRAL_FAILURE
from js7tui.identity.providers import default_registry
from js7tui.identity.providers.ldap.groups import Group, dn_key, map_groups
from tests.conftest import ROOT_PASSWORD
from tests.ldap_helpers import Ldap
from tests.ldap_server import (
    ADMINS,
    AUDITORS,
    BASE,
    GROUPS,
    OPERATORS,
    PASSWORDS,
    PEOPLE,
    SYSTEM_DN,
    SYSTEM_PASSWORD,
    VIEWERS,
)
from tests.test_cli import cli, logged_in_root  # noqa: F401  (the fixture, reused)

ADMINISTRATION = "sos:products:joc:administration:accounts:manage"
ORDERS = "sos:products:controller:orders:cancel"
ACCOUNTS = "sos:products:joc:administration:accounts"


@pytest.fixture
def ldap(ldap_server, console, root) -> Ldap:
    return Ldap(ldap_server, console, root)


# -- groups -> roles ----------------------------------------------------------------------------
def test_member_of_groups_map_to_roles_of_the_ldap_service(ldap):
    ldap.service()
    alice = ldap.login("alice", PASSWORDS["alice"])
    assert alice.ok
    grant = alice.session.grants[0]
    assert (grant.service, grant.roles_from) == ("DIR", "provider")
    assert set(grant.roles) == {"administrator", "it_operator"}
    assert alice.session.can(ADMINISTRATION) and alice.session.can(ORDERS)
    bob = ldap.login("bob", PASSWORDS["bob"]).session
    assert bob.grants[0].roles == ("it_operator",)
    assert bob.can(ORDERS) and not bob.can(ADMINISTRATION)


def test_authenticated_but_in_no_mapped_group_is_refused_with_that_reason(ldap):
    ldap.service()
    carol = ldap.login("carol", PASSWORDS["carol"])   # only in a posixGroup: no memberOf
    assert not carol.ok and carol.public == NEUTRAL_FAILURE
    assert "but in no group mapped to a role (groups: none)" in carol.details["DIR"]
    dave = ldap.login("dave", PASSWORDS["dave"])
    assert f"but in no group mapped to a role (groups: {AUDITORS})" in dave.details["DIR"]


def test_group_search_for_group_of_names_and_posix_groups(ldap):
    ldap.service(group_search_base=GROUPS, group_roles={
        OPERATORS: ["it_operator"], "posix-ops": ["business_user"]},
        group_search_filter="(|(&(objectClass=groupOfNames)(member=%s))"
                            "(&(objectClass=posixGroup)(memberUid=%u)))",
        roles=("it_operator", "business_user"))
    bob = ldap.login("bob", PASSWORDS["bob"]).session
    assert set(bob.grants[0].roles) == {"it_operator", "business_user"}
    carol = ldap.login("carol", PASSWORDS["carol"]).session
    assert carol.grants[0].roles == ("business_user",)


def test_nested_groups_count_only_when_asked_for(ldap):
    ldap.service(group_roles={VIEWERS: ["business_user"]}, search_base=BASE,
                 roles=("business_user",))
    assert "no group mapped" in ldap.login("dave", PASSWORDS["dave"]).details["DIR"]
    ldap.reconfigure(nested_groups=True)
    dave = ldap.login("dave", PASSWORDS["dave"])
    assert dave.ok and dave.session.grants[0].roles == ("business_user",)


def test_nested_groups_with_the_system_account_and_group_search(ldap):
    ldap.service(group_roles={"scheduler-viewers": ["business_user"]}, roles=("business_user",),
                 user_dn_template=None, search_base=BASE, user_search_filter="(uid=%s)",
                 system_user_dn=SYSTEM_DN, system_password=SYSTEM_PASSWORD,
                 group_search_base=GROUPS, group_search_filter="(member=%s)", nested_groups=True)
    dave = ldap.login("dave", PASSWORDS["dave"])
    assert dave.ok, dave.details
    assert "groups scheduler-viewers -> roles business_user" in dave.details["DIR"]


def test_roles_the_service_does_not_define_are_named(ldap):
    ldap.service(group_roles={OPERATORS: ["it_operator", "ghost"], ADMINS: ["phantom"]},
                 roles=("it_operator",))
    alice = ldap.login("alice", PASSWORDS["alice"])
    assert alice.ok and alice.session.grants[0].roles == ("it_operator",)
    assert "ignored roles not defined in 'DIR': ghost, phantom" in alice.details["DIR"]
    ldap.reconfigure(group_roles={ADMINS: ["phantom"]})
    refused = ldap.login("alice", PASSWORDS["alice"])
    assert not refused.ok
    assert "map to roles that 'DIR' does not define (phantom)" in refused.details["DIR"]


def test_group_dns_compare_like_the_directory_compares_them():
    assert dn_key("CN=Ops\\2C Night , OU=Groups,dc=x") == dn_key("cn=ops\\, night,ou=groups,DC=X")
    assert dn_key("scheduler-admins") is None
    groups = [Group("cn=Scheduler-Admins,ou=groups,dc=example,dc=test"),
              Group("cn=posix-ops,ou=groups,dc=example,dc=test")]
    mapped = map_groups(groups, {"CN=scheduler-admins, OU=groups, DC=example, DC=test": ["a"],
                                 "POSIX-OPS": ["b", "a"], "cn=other,dc=x": ["c"]})
    assert mapped.roles == ("a", "b")
    assert len(mapped.matched) == 2


# -- LDAP-JOC: the directory authenticates, the store holds the roles ----------------------------
def test_ldap_joc_takes_roles_from_the_store_and_needs_the_account_there(ldap):
    ldap.service("DIR-JOC", "LDAP-JOC", roles=("it_operator",))
    ldap.console.accounts.create(ldap.root, "alice", service="DIR-JOC", roles=["it_operator"])
    alice = ldap.login("alice", PASSWORDS["alice"])
    assert alice.ok, alice.details
    assert alice.session.grants[0].roles_from == "store"
    assert alice.session.can(ORDERS) and not alice.session.can(ADMINISTRATION)
    bob = ldap.login("bob", PASSWORDS["bob"])        # in the directory, not in the store
    assert not bob.ok and bob.public == NEUTRAL_FAILURE
    assert bob.details["DIR-JOC"] == "no account 'bob' in 'DIR-JOC'"
    wrong = ldap.login("alice", "not-alices-password")
    assert wrong.public == bob.public
    assert "invalid credentials" in wrong.details["DIR-JOC"]


def test_ldap_joc_role_changes_apply_to_a_running_session(ldap):
    ldap.service("DIR-JOC", "LDAP-JOC", roles=("it_operator", "administrator"))
    ldap.console.accounts.create(ldap.root, "alice", service="DIR-JOC", roles=["it_operator"])
    session = ldap.login("alice", PASSWORDS["alice"]).session
    assert not session.can(ADMINISTRATION)
    ldap.console.accounts.set_roles(ldap.root, "alice", ["administrator"], service="DIR-JOC")
    with ldap.console.store.transaction() as conn:
        assert sessions.refresh(conn, ldap.console.clock, session.id).can(ADMINISTRATION)


# -- an LDAP service before the JOC service: required / optional --------------------------------
def test_optional_ldap_first_then_joc(ldap):
    ldap.service()
    alice = ldap.login("alice", PASSWORDS["alice"])
    assert alice.session.services == ("DIR",)
    assert list(alice.details) == ["DIR"]               # the first success ends the loop
    root = ldap.login("root", ROOT_PASSWORD)
    assert root.session.services == ("JOC-INITIAL",)
    assert root.details["DIR"].startswith("rejected: invalid credentials")


def test_optional_ldap_down_still_lets_joc_accounts_in(ldap):
    ldap.service(server_urls=["ldap://127.0.0.1:1"])
    root = ldap.login("root", ROOT_PASSWORD)
    assert root.ok
    assert root.details["DIR"].startswith("unreachable: no directory server could be used")


def test_required_ldap_and_required_joc_must_both_accept_and_roles_merge(ldap, console):
    ldap.service(required=True)
    console.identity_services.update(ldap.root, "JOC-INITIAL", required=True)
    # bob: the JOC account has another password than the directory entry -> refused.
    console.accounts.create(ldap.root, "bob", service="JOC-INITIAL",
                            password="another-password-for-bob", roles=["administrator"])
    refused = ldap.login("bob", PASSWORDS["bob"])
    assert not refused.ok and refused.public == NEUTRAL_FAILURE
    assert refused.details["DIR"].startswith("authenticated by")
    assert refused.details["JOC-INITIAL"] == "rejected: wrong password"
    # carol: known to the store, but the directory maps her to no role -> refused by DIR first.
    console.accounts.create(ldap.root, "carol", service="JOC-INITIAL",
                            password=PASSWORDS["carol"], roles=["business_user"])
    carol = ldap.login("carol", PASSWORDS["carol"])
    assert not carol.ok and list(carol.details) == ["DIR"]
    # alice: same password in both -> both services' roles, merged.
    console.accounts.create(ldap.root, "alice", service="JOC-INITIAL",
                            password=PASSWORDS["alice"], roles=["business_user"])
    alice = ldap.login("alice", PASSWORDS["alice"])
    assert alice.ok, alice.details
    grants = {g.service: g for g in alice.session.grants}
    assert set(grants) == {"DIR", "JOC-INITIAL"}
    assert set(grants["DIR"].roles) == {"administrator", "it_operator"}
    assert grants["JOC-INITIAL"].roles_from == "store"
    assert alice.session.can(ADMINISTRATION)          # from the LDAP group
    assert alice.session.can("sos:products:joc:dailyplan:view")   # from business_user


def test_required_ldap_with_an_optional_joc_consults_only_the_ldap_service(ldap):
    ldap.service(required=True)
    alice = ldap.login("alice", PASSWORDS["alice"])
    assert alice.ok and list(alice.details) == ["DIR"]
    root = ldap.login("root", ROOT_PASSWORD)            # JOC-INITIAL is optional: not asked
    assert not root.ok and list(root.details) == ["DIR"]


def test_required_ldap_down_refuses_everybody_with_the_unreachable_message(ldap):
    ldap.service(server_urls=["ldap://127.0.0.1:1"], required=True)
    root = ldap.login("root", ROOT_PASSWORD)
    assert root.public == "login failed: the identity service 'DIR' cannot be reached"


# -- passwords of directory accounts are not the console's ----------------------------------------
def test_directory_passwords_cannot_be_changed_or_set_in_the_console(ldap, console):
    ldap.service("DIR-JOC", "LDAP-JOC", roles=("it_operator",))
    console.accounts.create(ldap.root, "alice", service="DIR-JOC", roles=["it_operator"])
    with pytest.raises(ValidationError, match="kept in the LDAP directory; change them there"):
        console.accounts.change_password(account="alice", old=PASSWORDS["alice"],
                                         new="a-brand-new-password", service="DIR-JOC")
    with pytest.raises(AuthenticationError,
                       match=r"accounts of DIR-JOC \(LDAP-JOC\) change their password in the "
                             "LDAP directory"):
        console.accounts.change_password(account="alice", old=PASSWORDS["alice"],
                                         new="a-brand-new-password")
    with pytest.raises(ValidationError, match="kept in the LDAP directory"):
        console.accounts.reset_password(ldap.root, "alice", service="DIR-JOC")
    with pytest.raises(ValidationError, match="kept in the LDAP directory"):
        console.accounts.create(ldap.root, "bob", service="DIR-JOC", password="x" * 20)
    # The directory password still works, unchanged.
    assert ldap.login("alice", PASSWORDS["alice"]).ok


# -- schema and CLI -----------------------------------------------------------------------------
def test_the_schemas_describe_every_key_and_ldap_joc_has_no_group_keys():
    registry = default_registry()
    ldap, joc = registry.schema("LDAP"), registry.schema("LDAP-JOC")
    assert all(spec.description for spec in ldap.specs)
    assert set(ldap.keys()) - set(joc.keys()) == {
        "group_attribute", "group_search_base", "group_search_filter", "nested_groups",
        "group_roles"}
    assert ldap.spec("verify_hostname").default is True
    assert ldap.spec("system_password").kind.value == "secret"


def test_cli_configures_an_ldap_service_and_logs_in_through_it(ldap_server, cli):  # noqa: F811
    logged_in_root(cli)
    steps = [
        ("identity-service", "create", "Directory", "--type", "LDAP"),
        ("identity-service", "set", "Directory",
         "--setting", f"server_urls={ldap_server.ldaps_url}",
         "--setting", f"ca_file={ldap_server.ca_file}",
         "--setting", f"search_base={BASE}", "--setting", "user_search_filter=(uid=%s)",
         "--setting", f"system_user_dn={SYSTEM_DN}",
         "--setting", f'group_roles={{"{ADMINS}": ["administrator"]}}'),
        ("role", "create", "administrator", "-s", "Directory"),
        ("role", "grant", "administrator", ACCOUNTS, "-s", "Directory"),
        ("identity-service", "order", "Directory"),
    ]
    for argv in steps:
        code, _, err = cli(*argv)
        assert code == 0, (argv, err)
    code, out, err = cli("identity-service", "set", "Directory", "--secret", "system_password",
                         stdin=SYSTEM_PASSWORD + "\n")
    assert code == 0, err
    assert SYSTEM_PASSWORD not in out and "(set)" in out
    code, out, _ = cli("identity-service", "settings", "Directory")
    assert "STARTTLS (default)" in out and "true (default)" in out
    assert cli("logout")[0] == 0
    code, out, err = cli("login", "--account", "alice", "--password-stdin",
                         stdin=PASSWORDS["alice"] + "\n")
    assert code == 0, err
    code, out, _ = cli("whoami")
    assert "alice" in out and "Directory" in out
    code, out, err = cli("account", "create", "someone", "-s", "Directory")
    assert code == 2 and "accounts are managed there" in err
    code, out, err = cli("login-history", "--limit", "1")
    assert code == 0, err
    assert "authenticated by" in out and "administrator" in out


def test_the_cli_passwd_command_points_ldap_accounts_to_the_directory(ldap_server, cli):  # noqa: F811
    logged_in_root(cli)
    for argv in (("identity-service", "create", "Staff", "--type", "LDAP-JOC"),
                 ("identity-service", "set", "Staff", "--setting",
                  f"server_urls={ldap_server.ldaps_url}", "--setting",
                  f"ca_file={ldap_server.ca_file}", "--setting",
                  f"user_dn_template=uid={{0}},{PEOPLE}"),
                 ("role", "create", "it_operator", "-s", "Staff"),
                 ("account", "create", "alice", "-s", "Staff", "--role", "it_operator")):
        code, _, err = cli(*argv)
        assert code == 0, (argv, err)
    code, _, err = cli("account", "create", "bob", "-s", "Staff", "--password-stdin",
                       stdin="a-password-for-bob\n")
    assert code == 2 and "kept in the LDAP directory; change them there" in err
    code, _, err = cli("passwd", "--account", "alice", "--password-stdin", "-s", "Staff",
                       stdin=PASSWORDS["alice"] + "\n", JS7TUI_NEW_PASSWORD="n" * 20)
    assert code == 2
    assert "passwords are kept in the LDAP directory; change them there" in err
    code, _, err = cli("passwd", "--account", "alice", "--password-stdin",
                       stdin=PASSWORDS["alice"] + "\n", JS7TUI_NEW_PASSWORD="n" * 20)
    assert code == 6 and "accounts of Staff (LDAP-JOC) change their password in" in err
    code, _, err = cli("login", "--account", "alice", "--password-stdin",
                       stdin=PASSWORDS["alice"] + "\n")
    assert code == 0, err
