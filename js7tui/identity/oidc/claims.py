"""What the console takes from verified claims: the account name and the groups.

Account name (JS7 ``iamOidcUserAttribute``): the configured claim, ``preferred_username`` by
default, falling back to ``email`` when that claim is absent. Groups: every configured claim
(``groups`` by default); a claim may be a dotted path into nested objects, as Keycloak puts
realm roles in ``realm_access.roles``; a value may be a list or one string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FALLBACK_ACCOUNT_CLAIM = "email"


def lookup(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name, or by dotted path when no claim has that exact name."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def account_name(claims: Mapping[str, Any], claim: str) -> tuple[str | None, str]:
    """(account, claim it came from); account None when neither claim holds a string."""
    for name in dict.fromkeys((claim, FALLBACK_ACCOUNT_CLAIM)):
        value = lookup(claims, name)
        if isinstance(value, str) and value.strip():
            return value.strip(), name
    return None, claim


def groups(claims: Mapping[str, Any], group_claims: Iterable[str]) -> list[str]:
    found: list[str] = []
    for claim in group_claims:
        value = lookup(claims, claim)
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str))
    return list(dict.fromkeys(found))


def mapped_roles(group_names: Iterable[str], mapping: Mapping[str, list[str]]) -> list[str]:
    """Roles of every group in ``mapping``, in the groups' order, without repeats."""
    roles: list[str] = []
    for group in group_names:
        roles.extend(mapping.get(group, ()))
    return list(dict.fromkeys(roles))


def missing_from(claims: Mapping[str, Any], names: Iterable[str]) -> bool:
    """Whether any of ``names`` is absent (the provider may have it at userinfo)."""
    return any(lookup(claims, name) is None for name in names)
