"""The provider's metadata from ``<issuer>/.well-known/openid-configuration`` (OpenID Connect
Discovery 1.0), checked and cached.

The document's ``issuer`` must name the configured issuer (section 4.3): otherwise a document
served elsewhere could redirect the console to another token endpoint and key set. Trailing
slashes and an explicit ``:443`` are not told apart, as in JS7 (reference 3.4). Every endpoint
must satisfy the same https rule as the issuer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from js7tui.identity.oidc.http import OidcHttp, ProviderUnreachable, check_url

WELL_KNOWN = "/.well-known/openid-configuration"
CACHE_FOR = timedelta(hours=1)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    token_endpoint: str
    jwks_uri: str
    device_authorization_endpoint: str | None = None
    revocation_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    id_token_algs: tuple[str, ...] = ()


def normalize_issuer(url: str) -> str:
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if parts.scheme == "https" and netloc.endswith(":443"):
        netloc = netloc[:-4]
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def discovery_url(issuer_url: str) -> str:
    return issuer_url.rstrip("/") + WELL_KNOWN


def parse_metadata(document: dict[str, Any], issuer_url: str) -> ProviderMetadata:
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or normalize_issuer(issuer) != normalize_issuer(issuer_url):
        raise ProviderUnreachable(
            f"the discovery document of '{issuer_url}' names the issuer '{issuer}'; the "
            "configured issuer_url must be exactly the provider's issuer")

    def endpoint(name: str, required: bool) -> str | None:
        value = document.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise ProviderUnreachable(f"the discovery document of '{issuer_url}' has no {name}")
        return check_url(value, name)

    algs = document.get("id_token_signing_alg_values_supported") or ()
    return ProviderMetadata(
        issuer=issuer,
        token_endpoint=endpoint("token_endpoint", True) or "",
        jwks_uri=endpoint("jwks_uri", True) or "",
        device_authorization_endpoint=endpoint("device_authorization_endpoint", False),
        revocation_endpoint=endpoint("revocation_endpoint", False),
        userinfo_endpoint=endpoint("userinfo_endpoint", False),
        id_token_algs=tuple(a for a in algs if isinstance(a, str)),
    )


class MetadataCache:
    """Discovery documents by (issuer, CA file), kept for an hour of the console's clock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str | None], tuple[datetime, ProviderMetadata]] = {}

    def get(self, http: OidcHttp, issuer_url: str, now: datetime) -> ProviderMetadata:
        check_url(issuer_url, "issuer_url")
        key = (normalize_issuer(issuer_url), http.ca_file)
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and now - cached[0] < CACHE_FOR:
            return cached[1]
        metadata = parse_metadata(http.get_json(discovery_url(issuer_url)), issuer_url)
        with self._lock:
            self._entries[key] = (now, metadata)
        return metadata

    def forget(self, issuer_url: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[0] == normalize_issuer(issuer_url)]:
                del self._entries[key]
