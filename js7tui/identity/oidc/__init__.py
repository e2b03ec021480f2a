"""OpenID Connect for a terminal: discovery, the token endpoint, ID-token validation.

The pieces are independent of any one provider type so that OIDC, OIDC-JOC and later KEYCLOAK /
KEYCLOAK-JOC share them:

- :mod:`.http` - HTTPS with the service's CA file, timeouts, and errors worded for an
  administrator (never a token, secret or response body in a message);
- :mod:`.discovery` - ``/.well-known/openid-configuration`` of the issuer, cached;
- :mod:`.keys` - the provider's JWKS by ``kid``, fetched again once for an unknown key;
- :mod:`.id_token` - signature, ``iss``, ``aud``/``azp``, ``exp``/``iat``, ``nonce``;
- :mod:`.claims` - the account name and groups in the claims, groups mapped to roles;
- :mod:`.device` - pending Device Authorization Grants (RFC 8628) kept in memory.

The provider that puts them together is :mod:`js7tui.identity.providers.oidc`.
"""
