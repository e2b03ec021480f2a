"""The settings of VAULT, VAULT-JOC and VAULT-JOC-ACTIVE services, apart from the provider so
that reading them does not import the HTTP client."""

from __future__ import annotations

from js7tui.identity.service_settings import Kind, SettingSpec, SettingsSchema

_CONNECTION = (
    SettingSpec("url", Kind.TEXT, "address of the Vault or OpenBao server (https; plain http "
                "only to this host)", required=True, example="https://vault.example:8200"),
    SettingSpec("ca_file", Kind.TEXT, "PEM file with the CA certificate(s) that issued the "
                "server's TLS certificate; unset: the system's trust store",
                example="/etc/js7tui/vault-ca.pem"),
    SettingSpec("auth_method_path", Kind.TEXT, "path the auth method is enabled at (userpass, "
                "ldap, ...); logins go to auth/<path>/login/<account>", default="userpass"),
    SettingSpec("check_interval", Kind.DURATION, "how often a session renews its Vault token, "
                "and so how soon a token revoked in Vault ends the session", default=300,
                example="5m"),
    SettingSpec("connect_timeout", Kind.DURATION, "time to connect to Vault", default=5,
                example="5s"),
    SettingSpec("request_timeout", Kind.DURATION, "time to wait for Vault's answer", default=10,
                example="10s"),
)
_POLICY_ROLES = SettingSpec(
    "policy_roles", Kind.MAPPING, "Vault policy -> roles of this service; a login whose token "
    "has no mapped policy is refused", default={},
    example='{"scheduler-admins": ["administrator"]}')
_ACTIVE = (
    SettingSpec("application_token", Kind.SECRET, "Vault token the console uses to create, "
                "change and delete userpass users (create, read, update, delete on "
                "auth/<path>/users/*)"),
    SettingSpec("user_policies", Kind.LIST, "token policies given to users the console "
                "creates in Vault", default=[], example="scheduler-user"),
)

VAULT_SCHEMA = SettingsSchema((*_CONNECTION, _POLICY_ROLES))
VAULT_JOC_SCHEMA = SettingsSchema(_CONNECTION)
VAULT_JOC_ACTIVE_SCHEMA = SettingsSchema((*_CONNECTION, *_ACTIVE))
