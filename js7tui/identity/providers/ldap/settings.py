"""Settings of the LDAP and LDAP-JOC identity services (reference 3.4, in our snake_case).

One declaration serves the CLI (``identity-service set --setting``), the TUI's form and the
provider. This module must not import ``ldap3``: listing settings or starting the CLI should not
pay for the LDAP client; the provider loads it at the first login.

Differences from JS7, on purpose: several server URLs tried in order instead of one; host-name
verification on by default; a PEM CA file instead of a Java truststore; the system account's
password sealed in the store or read from a file at each login; the group attribute
(``memberOf``) and the group search kept apart; a group is matched by its DN or by its name
(the value of the first RDN).

JS7 key -> ours: iamLdapServerUrl (and iamLdapHost/Port) -> server_urls; iamLdapProtocol,
iamLdapUseStartTls -> protocol; iamLdapTruststorePath -> ca_file; iamLdapHostNameVerification
-> verify_hostname; iamLdapConnectTimeout/ReadTimeout -> connect_timeout/read_timeout;
iamLdapUserDnTemplate -> user_dn_template; iamLdapSearchBase -> search_base;
iamLdapUserSearchFilter -> user_search_filter; iamLdapSystemUser/Password -> system_user_dn,
system_password (or system_password_file); iamLdapGroupNameAttribute -> group_attribute;
iamLdapGroupSearchBase/Filter -> group_search_base/filter; iamLdapDisableNestedGroupSearch ->
nested_groups (inverted, off by default); iamLdapGroupRolesMap -> group_roles.
"""

from __future__ import annotations

from js7tui.identity.service_settings import Kind, SettingSpec, SettingsSchema

PROTOCOLS = ("PLAIN", "STARTTLS", "SSL")

CONNECTION = (
    SettingSpec(
        "server_urls", Kind.LIST,
        "directory servers, tried in this order until one answers (failover); ldap://HOST:389 "
        "or ldaps://HOST:636", required=True,
        example="ldaps://dc1.example.com:636, ldaps://dc2.example.com:636"),
    SettingSpec(
        "protocol", Kind.CHOICE,
        "how ldap:// URLs are protected: STARTTLS upgrades the connection before any password "
        "is sent, SSL speaks TLS from the first byte, PLAIN sends passwords in clear text; "
        "ldaps:// URLs always use SSL", default="STARTTLS", choices=PROTOCOLS),
    SettingSpec(
        "ca_file", Kind.TEXT,
        "PEM file with the CA certificate(s) that issued the directory servers' certificates; "
        "unset: the CAs this machine trusts", example="/etc/js7tui/directory-ca.pem"),
    SettingSpec(
        "verify_hostname", Kind.BOOL,
        "refuse a server certificate that does not name the host of the URL (turn off only "
        "for a server reached by an address its certificate does not list)", default=True),
    SettingSpec(
        "connect_timeout", Kind.DURATION,
        "how long to wait for each server to accept the connection before trying the next",
        default=5, example="5s"),
    SettingSpec(
        "read_timeout", Kind.DURATION,
        "how long to wait for each answer of the directory before giving the server up",
        default=10, example="10s"),
)

USER = (
    SettingSpec(
        "user_dn_template", Kind.TEXT,
        "the DN to bind as; {0} is the login name (escaped); used when user_search_filter is "
        "unset. Active Directory also takes {0}@example.com",
        example="uid={0},ou=people,dc=example,dc=com"),
    SettingSpec(
        "search_base", Kind.TEXT,
        "where user_search_filter looks for the entry of the person logging in",
        example="ou=people,dc=example,dc=com"),
    SettingSpec(
        "user_search_filter", Kind.TEXT,
        "finds the entry of the person logging in (exactly one); %s is the login name "
        "(escaped); takes precedence over user_dn_template",
        example="(&(objectClass=person)(sAMAccountName=%s))"),
    SettingSpec(
        "system_user_dn", Kind.TEXT,
        "account that binds to search for users and groups; unset: users are searched "
        "anonymously and groups read as the person logging in",
        example="cn=js7tui,ou=system,dc=example,dc=com"),
    SettingSpec(
        "system_password", Kind.SECRET,
        "password of system_user_dn, kept sealed in the store"),
    SettingSpec(
        "system_password_file", Kind.TEXT,
        "file whose first line is the password of system_user_dn, read at each login "
        "(instead of system_password)", example="/etc/js7tui/ldap-bind.secret"),
)

GROUPS = (
    SettingSpec(
        "group_attribute", Kind.TEXT,
        "attribute of the user's entry that lists the DNs of its groups; used when "
        "group_search_filter is unset", default="memberOf"),
    SettingSpec(
        "group_search_base", Kind.TEXT,
        "where groups are searched (group_search_filter, nested_groups); unset: search_base",
        example="ou=groups,dc=example,dc=com"),
    SettingSpec(
        "group_search_filter", Kind.TEXT,
        "finds the groups of the person instead of group_attribute; %s is the user's DN, %u "
        "the login name (both escaped)", example="(&(objectClass=groupOfNames)(member=%s))"),
    SettingSpec(
        "nested_groups", Kind.BOOL,
        "also count the groups that contain the person's groups, searched by member under "
        "group_search_base (for Active Directory prefer the filter "
        "(member:1.2.840.113556.1.4.1941:=%s))", default=False),
    SettingSpec(
        "group_roles", Kind.MAPPING,
        "group DN (or group name, the value of its first RDN) -> roles of this service; an "
        "account in no mapped group cannot log in", required=True,
        example='{"cn=scheduler-admins,ou=groups,dc=example,dc=com": ["administrator"]}'),
)

# LDAP: the directory authenticates and its groups give the roles.
LDAP_SCHEMA = SettingsSchema(CONNECTION + USER + GROUPS)
# LDAP-JOC: the directory authenticates; roles are assigned to the account in the console.
LDAP_JOC_SCHEMA = SettingsSchema(CONNECTION + USER)
