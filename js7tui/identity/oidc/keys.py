"""The provider's signing keys (JWKS), found by ``kid``.

Providers rotate keys: a token signed with a key the cache does not know makes the console fetch
the key set again, once for that token; a key still unknown then is a refusal. The set is also
fetched again after an hour, so retired keys do not stay trusted for ever.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from js7tui.identity.oidc.http import OidcHttp, ProviderUnreachable

CACHE_FOR = timedelta(hours=1)
# JWK key types that can verify each JWS algorithm family.
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class UnknownKey(Exception):
    """No key of the provider fits the token's ``kid`` and algorithm."""


class KeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[datetime, KeySet]] = {}
        self.fetches = 0    # how often a key set was downloaded (tests, diagnostics)

    def _fetch(self, http: OidcHttp, jwks_uri: str, now: datetime) -> KeySet:
        document = http.get_json(jwks_uri)
        try:
            keys = KeySet.import_key_set(document)   # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderUnreachable(f"the provider's key set ({jwks_uri}) cannot be read: "
                                      f"{exc}") from None
        with self._lock:
            self.fetches += 1
            self._sets[jwks_uri] = (now, keys)
        return keys

    def key_for(self, http: OidcHttp, jwks_uri: str, kid: str | None, alg: str,
                now: datetime):  # -> a joserfc key
        with self._lock:
            cached = self._sets.get(jwks_uri)
        fresh = cached is None or now - cached[0] >= CACHE_FOR
        keys = self._fetch(http, jwks_uri, now) if fresh else cached[1]  # type: ignore[index]
        key = _pick(keys, kid, alg)
        if key is None and not fresh:
            key = _pick(self._fetch(http, jwks_uri, now), kid, alg)
        if key is None:
            which = f"kid '{kid}'" if kid else f"no kid, algorithm {alg}"
            raise UnknownKey(f"the provider publishes no key for this token ({which}), even "
                             "after fetching its key set again")
        return key


def _pick(keys: KeySet, kid: str | None, alg: str):  # -> a joserfc key or None
    wanted = KEY_TYPES.get(alg[:2])
    candidates = [k for k in keys.keys if k.key_type == wanted
                  and k.get("use") in (None, "sig") and k.get("alg") in (None, alg)]
    if kid is not None:
        candidates = [k for k in candidates if k.kid == kid]
    # Without a kid the choice must be unambiguous.
    return candidates[0] if len(candidates) == 1 or (kid and candidates) else None
