"""Identity service types (reference section 3.1) and what each means for roles and passwords."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RolesFrom(StrEnum):
    STORE = "store"        # accounts and role assignments kept in the console's store
    PROVIDER = "provider"  # the provider supplies roles (LDAP groups, OIDC claims, policies)


class Passwords(StrEnum):
    """Where an account's password lives and who sets it.

    JS7's VAULT-JOC-ACTIVE kept a hash in the JOC database *and* wrote the password to Vault
    (reference 3.1). Here Vault is the only place: login asks Vault anyway, a second verifier
    would be one more copy to attack offline and would drift when the password is changed in
    Vault, so the console sets the password there (AccountSync) and keeps no hash.
    """

    NONE = "none"          # the provider owns passwords; the console never sets one
    STORE = "store"        # an argon2id hash in the console's store (JOC)
    PROVIDER = "provider"  # set by the console in the provider, not kept (VAULT-JOC-ACTIVE)


@dataclass(frozen=True)
class ServiceType:
    name: str
    roles_from: RolesFrom
    passwords: Passwords = Passwords.NONE
    can_be_second_factor: bool = False
    description: str = ""
    # Where accounts of this type change their password when the console sets none ("" for
    # types without passwords: CERTIFICATE, FIDO); said in refusals.
    password_keeper: str = ""

    @property
    def stores_password(self) -> bool:
        """A password hash is kept in the store and checked there (JOC)."""
        return self.passwords is Passwords.STORE

    @property
    def manages_password(self) -> bool:
        """The console sets passwords (create, reset, change) for this type's accounts."""
        return self.passwords is not Passwords.NONE


SERVICE_TYPES: dict[str, ServiceType] = {
    t.name: t
    for t in (
        ServiceType("JOC", RolesFrom.STORE, passwords=Passwords.STORE,
                    description="accounts with argon2id passwords in the console's store"),
        ServiceType("LDAP", RolesFrom.PROVIDER,
                    password_keeper="the LDAP directory",
                    description="the directory authenticates; its groups map to roles"),
        ServiceType("LDAP-JOC", RolesFrom.STORE,
                    password_keeper="the LDAP directory",
                    description="the directory authenticates; roles kept in the console"),
        ServiceType("OIDC", RolesFrom.PROVIDER,
                    password_keeper="the OpenID Connect provider",
                    description="an OpenID Connect provider authenticates; claims map to roles"),
        ServiceType("OIDC-JOC", RolesFrom.STORE,
                    password_keeper="the OpenID Connect provider",
                    description="an OpenID Connect provider authenticates; roles in the console"),
        ServiceType("KEYCLOAK", RolesFrom.PROVIDER,
                    password_keeper="Keycloak",
                    description="Keycloak authenticates and supplies roles"),
        ServiceType("KEYCLOAK-JOC", RolesFrom.STORE,
                    password_keeper="Keycloak",
                    description="Keycloak authenticates; roles in the console"),
        ServiceType("VAULT", RolesFrom.PROVIDER,
                    password_keeper="Vault",
                    description="a Vault auth method authenticates; token policies map to roles"),
        ServiceType("VAULT-JOC", RolesFrom.STORE,
                    password_keeper="Vault",
                    description="a Vault auth method authenticates; roles in the console"),
        ServiceType("VAULT-JOC-ACTIVE", RolesFrom.STORE, passwords=Passwords.PROVIDER,
                    description="as VAULT-JOC, and account changes are written to Vault"),
        ServiceType("CERTIFICATE", RolesFrom.STORE, can_be_second_factor=True,
                    description="a client certificate proves the account (CN)"),
        ServiceType("FIDO", RolesFrom.STORE, can_be_second_factor=True,
                    description="a FIDO2/passkey credential proves the account"),
    )
}

SINGLE_FACTOR = "SINGLE-FACTOR"
TWO_FACTOR = "TWO-FACTOR"
SCHEMES = (SINGLE_FACTOR, TWO_FACTOR)
