"""The settings of OIDC and OIDC-JOC services, apart from the provider so that reading them
(registry, CLI, console forms) does not import the HTTP and JOSE libraries."""

from __future__ import annotations

from js7tui.identity.service_settings import Kind, SettingSpec, SettingsSchema


# -- settings -------------------------------------------------------------------------------
def _common_specs() -> tuple[SettingSpec, ...]:
    return (
        SettingSpec("issuer_url", Kind.TEXT, "the provider's issuer URL; its "
                    "/.well-known/openid-configuration is read (JS7 iamOidcAuthenticationUrl)",
                    required=True, example="https://idp.example.com/realms/scheduler"),
        SettingSpec("client_id", Kind.TEXT, "this console's client id at the provider",
                    required=True, example="js7tui"),
        SettingSpec("client_secret", Kind.SECRET, "the client secret (none: a public client)"),
        SettingSpec("client_auth", Kind.CHOICE, "how the secret is sent to the token endpoint",
                    default="client_secret_basic",
                    choices=("client_secret_basic", "client_secret_post")),
        SettingSpec("account_claim", Kind.TEXT, "the claim that names the account; 'email' "
                    "when it is absent (JS7 iamOidcUserAttribute)",
                    default="preferred_username"),
        SettingSpec("scopes", Kind.LIST, "scopes requested besides 'openid' (JS7 "
                    "iamOidcGroupScopes)", default=[], example="profile, email, groups"),
        SettingSpec("ca_file", Kind.TEXT, "PEM file of the CA(s) that issued the provider's "
                    "TLS certificate (default: the system's trusted CAs)"),
        SettingSpec("password_grant", Kind.BOOL, "also take account and password "
                    "(resource-owner password grant) for providers without a device grant",
                    default=False),
        SettingSpec("timeout", Kind.DURATION, "how long to wait for the provider", default=10),
        SettingSpec("clock_leeway", Kind.DURATION, "clock difference tolerated in token times",
                    default=60),
        SettingSpec("label", Kind.TEXT, "what a login screen calls this provider (JS7 "
                    "iamOidcName)"),
    )


OIDC_SCHEMA = SettingsSchema((
    *_common_specs(),
    SettingSpec("group_claims", Kind.LIST, "claims holding the account's groups; a dotted "
                "path reads nested claims (JS7 iamOidcGroupClaims)", default=["groups"],
                example="groups, realm_access.roles"),
    SettingSpec("group_roles", Kind.MAPPING, "group -> roles of this service (JS7 "
                "iamOidcGroupRolesMap)", default={},
                example='{"scheduler-admins": ["administrator"]}'),
))
OIDC_JOC_SCHEMA = SettingsSchema(_common_specs())
