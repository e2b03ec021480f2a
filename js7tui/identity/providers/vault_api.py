"""The few calls of the HashiCorp Vault HTTP API (OpenBao implements the same) that the Vault
identity services need: log in through an auth method, renew, look up and revoke a token, and
manage userpass users.

Why httpx and not hvac: httpx is already a dependency (one HTTP stack in the console), it takes
an ``ssl.SSLContext`` so the CA file is applied exactly as the other TLS clients do, and we need
to tell "cannot connect", "certificate not trusted", "timed out", "sealed" and "refused" apart
for the login history; hvac would add requests and its own exception layer on top of the eight
requests used here.

Nothing here logs; errors carry reasons without passwords or tokens.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from js7tui.identity.tls import ca_context, is_loopback, tls_problem

TOKEN_HEADER = "X-Vault-Token"


class VaultUnavailable(Exception):
    """Vault could not be asked: no connection, untrusted certificate, timeout, sealed, bad
    configuration. The reason is for the login history."""


class VaultRefused(Exception):
    """Vault answered with an error status; ``errors`` are its own messages."""

    def __init__(self, status: int, errors: list[str]) -> None:
        self.status = status
        self.errors = errors
        super().__init__(f"HTTP {status}: {'; '.join(errors) or 'no reason given'}")

    @property
    def text(self) -> str:
        return "; ".join(e.strip() for e in self.errors if e.strip()) or f"HTTP {self.status}"


def check_url(url: str | None) -> str:
    """The base URL without a trailing slash; refuses what would send passwords in clear."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise VaultUnavailable(f"the Vault URL '{url}' is not an http(s) URL such as "
                               "https://vault.example:8200")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise VaultUnavailable(f"the Vault URL '{url}' is plain http to another host; passwords "
                               "and tokens would travel in clear: use https")
    if parts.path.strip("/") or parts.query:
        raise VaultUnavailable(f"the Vault URL '{url}' must be the server's address only "
                               "(no path such as /v1)")
    return url.rstrip("/")


def user_path(mount: str, name: str) -> str:
    """``auth/<mount>/users/<name>`` with the name as one path segment."""
    return f"auth/{mount_path(mount)}/users/{segment(name)}"


def mount_path(mount: str) -> str:
    path = mount.strip().strip("/")
    if not path or any(part in ("", ".", "..") for part in path.split("/")):
        raise VaultUnavailable(f"'{mount}' is not an auth method path (e.g. userpass)")
    return path


def segment(name: str) -> str:
    """A user name as one URL path segment; names that cannot be one are refused."""
    if not name or "/" in name or name in (".", "..") or any(ord(c) < 32 for c in name):
        raise ValueError(f"'{name}' cannot be a Vault user name")
    return quote(name, safe="")


@dataclass(frozen=True)
class Endpoint:
    url: str
    ca_file: str | None = None
    connect_timeout: float = 5.0
    timeout: float = 10.0

    def ssl_context(self) -> ssl.SSLContext:
        return ca_context(self.ca_file, VaultUnavailable)


class VaultClient:
    """One short-lived HTTP client per use; ``with VaultClient(endpoint) as vault: ...``."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.url = check_url(endpoint.url)
        verify: ssl.SSLContext | bool = (self.endpoint.ssl_context()
                                         if self.url.startswith("https:") else False)
        self._http = httpx.Client(
            base_url=self.url, verify=verify, follow_redirects=False, trust_env=False,
            timeout=httpx.Timeout(endpoint.timeout, connect=endpoint.connect_timeout))

    def __enter__(self) -> VaultClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def call(self, method: str, path: str, *, token: str | None = None,
             body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON answer of ``/v1/<path>`` ({} for 204); VaultRefused for an error status,
        VaultUnavailable when Vault could not answer."""
        headers = {TOKEN_HEADER: token} if token else {}
        try:
            response = self._http.request(method, f"/v1/{path}", headers=headers, json=body)
        except httpx.TimeoutException:
            raise VaultUnavailable(f"{self.url} did not answer within "
                                   f"{self.endpoint.timeout:g} s") from None
        except httpx.HTTPError as exc:
            tls = tls_problem(exc)
            if tls:
                raise VaultUnavailable(f"the TLS certificate of {self.url} is not trusted "
                                       f"({tls}); set ca_file to the CA that issued it") from None
            raise VaultUnavailable(f"cannot connect to {self.url}: {exc}") from None
        if response.status_code == 204:
            return {}
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise VaultUnavailable(f"{self.url} did not answer like a Vault server "
                                   f"(HTTP {response.status_code}, not JSON)")
        if response.is_success:
            return answer
        errors = [str(e) for e in answer.get("errors") or []]
        if response.status_code == 503:
            reason = "; ".join(errors) or "service unavailable"
            raise VaultUnavailable(f"{self.url} cannot serve requests now ({reason})")
        raise VaultRefused(response.status_code, errors)

    # -- tokens ---------------------------------------------------------------------------
    def login(self, mount: str, user: str, password: str) -> dict[str, Any]:
        """The ``auth`` block of a login through the auth method at ``mount`` (userpass, ldap,
        radius and okta all take a user name in the path and a password in the body)."""
        answer = self.call("POST", f"auth/{mount_path(mount)}/login/{segment(user)}",
                           body={"password": password})
        auth = answer.get("auth")
        if not isinstance(auth, dict) or not auth.get("client_token"):
            raise VaultUnavailable(f"{self.url} answered the login without a token")
        return auth

    def renew_self(self, token: str) -> dict[str, Any]:
        auth = self.call("POST", "auth/token/renew-self", token=token, body={}).get("auth")
        if not isinstance(auth, dict):
            raise VaultUnavailable(f"{self.url} answered the renewal without a token")
        return auth

    def lookup_self(self, token: str) -> dict[str, Any]:
        data = self.call("GET", "auth/token/lookup-self", token=token).get("data")
        if not isinstance(data, dict):
            raise VaultUnavailable(f"{self.url} answered the token lookup without data")
        return data

    def revoke_self(self, token: str) -> None:
        self.call("POST", "auth/token/revoke-self", token=token, body={})

    # -- userpass users -------------------------------------------------------------------
    def read_user(self, token: str, mount: str, name: str) -> dict[str, Any] | None:
        try:
            return self.call("GET", user_path(mount, name), token=token).get("data") or {}
        except VaultRefused as exc:
            if exc.status == 404:
                return None
            raise

    def write_user(self, token: str, mount: str, name: str, password: str,
                   policies: list[str]) -> None:
        body: dict[str, Any] = {"password": password}
        if policies:
            body["token_policies"] = policies
        self.call("POST", user_path(mount, name), token=token, body=body)

    def set_user_password(self, token: str, mount: str, name: str, password: str) -> None:
        self.call("POST", user_path(mount, name) + "/password", token=token,
                  body={"password": password})

    def delete_user(self, token: str, mount: str, name: str) -> None:
        self.call("DELETE", user_path(mount, name), token=token)
