"""HTTPS to an OpenID provider: TLS trust from the service's CA file, timeouts, and failures
turned into reasons an administrator can act on.

Two kinds of failure matter to the login chain and are kept apart here:

- :class:`ProviderUnreachable` - the provider could not be asked or gave no usable answer
  (connection refused, TLS not trusted, timeout, HTTP 5xx, not JSON). The chain reports the
  service as unreachable.
- :class:`OAuthError` - the provider answered and said no (RFC 6749 section 5.2 error codes such
  as ``invalid_grant``, or the device-flow codes of RFC 8628 section 3.5).

Messages never contain what was sent (secrets, codes, tokens) nor a response body; at most the
provider's short ``error``/``error_description``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from js7tui.identity.tls import ca_context, is_loopback, tls_problem

USER_AGENT = "js7tui-oidc"
MAX_DESCRIPTION = 200


class ProviderUnreachable(Exception):
    """The provider cannot be used right now; ``str()`` says why."""


class OAuthError(Exception):
    """The provider refused a request with an OAuth error code (or an empty 4xx answer)."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        self.status = status
        self.error = error
        self.description = description[:MAX_DESCRIPTION]
        detail = f": {self.description}" if self.description else ""
        code = f" {error}" if error else " without an error code"
        super().__init__(f"HTTP {status}{code}{detail}")


@dataclass(frozen=True)
class ClientCredentials:
    """How this console authenticates at the token endpoint (RFC 6749 section 2.3)."""

    client_id: str
    secret: str | None = None
    method: str = "client_secret_basic"    # or client_secret_post; no secret: public client

    def apply(self, form: dict[str, str]) -> tuple[dict[str, str], tuple[str, str] | None]:
        """The form and basic-auth pair to send."""
        if self.secret and self.method == "client_secret_basic":
            return form, (self.client_id, self.secret)
        form = {**form, "client_id": self.client_id}
        if self.secret:
            form["client_secret"] = self.secret
        return form, None


def check_url(url: str, what: str) -> str:
    """Refuse anything but https, except plain http to a provider on this very machine
    (development and tests): the client secret and tokens travel over this connection."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    raise ProviderUnreachable(f"the {what} '{url}' must be an https:// URL (plain http is "
                              "accepted only for a provider on this machine)")


class OidcHttp:
    """One provider's HTTP client settings; each call opens and closes its own connection,
    so the object may be shared between threads."""

    def __init__(self, ca_file: str | None = None, timeout: float = 10.0) -> None:
        self.ca_file = ca_file or None
        self.timeout = timeout

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        host = urlsplit(url).netloc
        try:
            with httpx.Client(verify=ca_context(self.ca_file, ProviderUnreachable),
                              timeout=self.timeout, trust_env=False, follow_redirects=False,
                              headers={"User-Agent": USER_AGENT}) as client:
                return client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise ProviderUnreachable(f"{host} did not answer within {self.timeout:g} s") from None
        except httpx.ConnectError as exc:
            tls = tls_problem(exc)
            if tls:
                trust = (f"the CA file '{self.ca_file}'" if self.ca_file
                         else "the system's trusted CAs (set ca_file)")
                raise ProviderUnreachable(f"the TLS certificate of {host} is not trusted by "
                                          f"{trust} ({tls})") from None
            raise ProviderUnreachable(f"cannot connect to {host}: {_short(str(exc))}") from None
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(f"the request to {host} failed: "
                                      f"{type(exc).__name__}: {_short(str(exc))}") from None

    def get_json(self, url: str, *, bearer: str | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = self._send("GET", url, headers=headers)
        if response.status_code != 200:
            raise ProviderUnreachable(f"GET {_path(url)} answered HTTP {response.status_code}")
        return _json_object(response, url)

    def post_form(self, url: str, form: dict[str, str],
                  client: ClientCredentials | None = None) -> dict[str, Any]:
        """POST a form; a 2xx JSON object, or OAuthError for a 4xx, or ProviderUnreachable."""
        auth = None
        if client is not None:
            form, auth = client.apply(form)
        response = self._send("POST", url, data=form, auth=auth,
                              headers={"Accept": "application/json"})
        if 200 <= response.status_code < 300:
            return _json_object(response, url) if response.content.strip() else {}
        if 400 <= response.status_code < 500:
            body = _json_or_empty(response)
            raise OAuthError(response.status_code, str(body.get("error") or ""),
                             str(body.get("error_description") or ""))
        raise ProviderUnreachable(f"POST {_path(url)} answered HTTP {response.status_code}")


def _json_object(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        raise ProviderUnreachable(f"{_path(url)} did not answer with JSON") from None
    if not isinstance(value, dict):
        raise ProviderUnreachable(f"{_path(url)} did not answer with a JSON object")
    return value


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
