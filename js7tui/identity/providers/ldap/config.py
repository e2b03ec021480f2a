"""The LDAP settings checked and typed for one login: server URLs, timeouts, how users and
groups are found. Every problem is a :class:`ConfigProblem` whose text tells the administrator
which setting to fix; the provider reports it as "unreachable" (the service cannot work), never
as a wrong password.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"PLAIN": 389, "STARTTLS": 389, "SSL": 636}


class ConfigProblem(Exception):
    """The service's settings cannot work; the message names the setting to change."""


@dataclass(frozen=True)
class ServerUrl:
    url: str          # as configured, for messages
    host: str
    port: int
    transport: str    # PLAIN, STARTTLS or SSL

    def __str__(self) -> str:
        return self.url


def parse_server_url(text: str, protocol: str) -> ServerUrl:
    """``ldaps://`` is always SSL; ``ldap://`` follows ``protocol``."""
    url = text.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigProblem(f"server_urls: '{url}' is not a URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("ldap", "ldaps") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.username:
        raise ConfigProblem(f"server_urls: '{url}' is not an LDAP server URL; write "
                            "ldap://HOST:PORT or ldaps://HOST:PORT")
    transport = "SSL" if scheme == "ldaps" else protocol
    return ServerUrl(url, parts.hostname, port or DEFAULT_PORTS[transport], transport)


@dataclass(frozen=True)
class LdapConfig:
    servers: tuple[ServerUrl, ...]
    ca_file: str | None
    verify_hostname: bool
    connect_timeout: int
    read_timeout: int
    user_dn_template: str | None
    search_base: str | None
    user_search_filter: str | None
    system_user_dn: str | None
    system_password: str | None = None
    system_password_file: str | None = None
    group_attribute: str = "memberOf"
    group_search_base: str | None = None
    group_search_filter: str | None = None
    nested_groups: bool = False
    group_roles: dict[str, list[str]] | None = None

    @property
    def searches_users(self) -> bool:
        return bool(self.user_search_filter)

    @property
    def groups_base(self) -> str | None:
        return self.group_search_base or self.search_base

    @classmethod
    def from_settings(cls, settings: dict[str, Any], *, with_groups: bool) -> LdapConfig:
        """Typed settings of one service (defaults applied, secrets opened) -> a checked
        configuration; raises :class:`ConfigProblem`."""
        def text(key: str) -> str | None:
            value = settings.get(key)
            return value.strip() or None if isinstance(value, str) else None

        protocol = settings.get("protocol") or "STARTTLS"
        servers = tuple(parse_server_url(u, protocol) for u in settings.get("server_urls") or ())
        if not servers:
            raise ConfigProblem("server_urls is empty: name at least one directory server")
        config = cls(
            servers=servers, ca_file=text("ca_file"),
            verify_hostname=bool(settings.get("verify_hostname", True)),
            connect_timeout=int(settings.get("connect_timeout") or 0),
            read_timeout=int(settings.get("read_timeout") or 0),
            user_dn_template=text("user_dn_template"), search_base=text("search_base"),
            user_search_filter=text("user_search_filter"),
            system_user_dn=text("system_user_dn"),
            system_password=settings.get("system_password") or None,
            system_password_file=text("system_password_file"),
            group_attribute=text("group_attribute") or "memberOf",
            group_search_base=text("group_search_base"),
            group_search_filter=text("group_search_filter"),
            nested_groups=bool(settings.get("nested_groups")),
            group_roles=dict(settings.get("group_roles") or {}) if with_groups else None,
        )
        config._check(with_groups)
        return config

    def _check(self, with_groups: bool) -> None:
        for key in ("connect_timeout", "read_timeout"):
            if getattr(self, key) < 1:
                raise ConfigProblem(f"{key} must be at least 1s")
        if self.user_search_filter:
            if "%s" not in self.user_search_filter:
                raise ConfigProblem("user_search_filter must contain %s (the login name), "
                                    "e.g. (uid=%s)")
            if not self.search_base:
                raise ConfigProblem("user_search_filter is set but search_base is not: say "
                                    "where to search")
        elif self.user_dn_template:
            if "{0}" not in self.user_dn_template:
                raise ConfigProblem("user_dn_template must contain {0} (the login name), "
                                    "e.g. uid={0},ou=people,dc=example,dc=com")
        else:
            raise ConfigProblem("set user_dn_template, or user_search_filter with search_base, "
                                "so that a login name can be turned into an entry")
        if self.system_password and self.system_password_file:
            raise ConfigProblem("system_password and system_password_file are both set; "
                                "unset one of them")
        if (self.system_password or self.system_password_file) and not self.system_user_dn:
            raise ConfigProblem("a system password is set but system_user_dn is not")
        if self.system_user_dn and not (self.system_password or self.system_password_file):
            raise ConfigProblem(f"the system account '{self.system_user_dn}' has no password: "
                                "set system_password or system_password_file")
        if not with_groups:
            return
        if not self.group_roles:
            raise ConfigProblem("group_roles is empty: map at least one group to roles")
        if self.group_search_filter and "%s" not in self.group_search_filter \
                and "%u" not in self.group_search_filter:
            raise ConfigProblem("group_search_filter must contain %s (the user's DN) or %u "
                                "(the login name), e.g. (member=%s)")
        if (self.group_search_filter or self.nested_groups) and not self.groups_base:
            raise ConfigProblem("groups are searched (group_search_filter or nested_groups) "
                                "but neither group_search_base nor search_base is set")

    def system_credentials(self) -> tuple[str, str] | None:
        """(DN, password) of the system account, the password read from its file now; None
        when no system account is configured."""
        if not self.system_user_dn:
            return None
        if self.system_password:
            return self.system_user_dn, self.system_password
        path = Path(self.system_password_file or "")
        try:
            mode = path.stat().st_mode
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigProblem(f"system_password_file '{path}' cannot be read: "
                                f"{exc.strerror or exc}") from None
        if mode & 0o007:
            raise ConfigProblem(f"system_password_file '{path}' can be read by every user "
                                f"(mode {stat.S_IMODE(mode):04o}); make it 0600 or 0640")
        if not lines or not lines[0]:
            raise ConfigProblem(f"system_password_file '{path}' is empty")
        return self.system_user_dn, lines[0]
