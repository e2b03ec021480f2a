"""ID-token validation (OpenID Connect Core 1.0 section 3.1.3.7) with ``joserfc``.

The token arrives straight from the token endpoint over TLS, and is still checked in full,
because the token is what names the account and its groups:

1. a signed JWT with an asymmetric algorithm the provider announces (never ``none``, never an
   HMAC with the client secret);
2. the signature, with the provider's key of that ``kid`` (:mod:`.keys`);
3. ``iss`` equal to the discovered issuer, ``aud`` containing the client id (``azp`` equal to it
   when there are several audiences), ``exp`` in the future and ``iat`` not in the future
   (both on the console's clock, with a leeway for clock skew), ``nonce`` when one was sent.

Each refusal is a :class:`TokenInvalid` whose text names the failed check, for the login
history; the token itself is never part of a message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
)

ASYMMETRIC_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                   "ES512", "EdDSA")

KeyLookup = Callable[[str | None, str], Any]   # (kid, alg) -> joserfc key; may raise


class TokenInvalid(Exception):
    """The ID token was refused; ``str()`` says which check failed."""


def _when(timestamp: object) -> str:
    if isinstance(timestamp, int | float):
        return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
    return str(timestamp)


def header_of(token: str) -> dict[str, Any]:
    try:
        return dict(jws.extract_compact(token.encode("ascii")).headers())
    except (JoseError, ValueError, UnicodeEncodeError) as exc:
        raise TokenInvalid(f"the ID token is not a signed JWT ({type(exc).__name__})") from None


def validate_id_token(token: str, *, issuer: str, client_id: str, keys: KeyLookup,
                      now: datetime, leeway: int = 60, nonce: str | None = None,
                      provider_algs: tuple[str, ...] = ()) -> dict[str, Any]:
    """The verified claims of ``token``, or TokenInvalid naming the failed check."""
    header = header_of(token)
    alg = header.get("alg")
    accepted = [a for a in ASYMMETRIC_ALGS if not provider_algs or a in provider_algs]
    if alg not in accepted:
        raise TokenInvalid(f"the ID token is signed with '{alg}', which is not accepted "
                           f"(accepted: {', '.join(accepted) or 'none'})")
    kid = header.get("kid")
    key = keys(kid if isinstance(kid, str) else None, alg)
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
    except BadSignatureError:
        raise TokenInvalid(f"the ID token's signature does not verify with the provider's "
                           f"key '{kid}'") from None
    except JoseError as exc:
        raise TokenInvalid(f"the ID token cannot be read: {exc}") from None
    claims = dict(decoded.claims)

    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "sub": {"essential": True},
    }
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
    stamp = int(now.timestamp())
    registry = jwt.JWTClaimsRegistry(now=stamp, leeway=leeway, **options)
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise TokenInvalid(f"the ID token expired at {_when(claims.get('exp'))}") from None
    except MissingClaimError as exc:
        raise TokenInvalid(f"the ID token has no '{exc.claim}' claim") from None
    except ClaimError as exc:
        raise TokenInvalid(_claim_reason(exc.claim, claims, issuer, client_id)) from None
    iat = claims.get("iat")
    if isinstance(iat, int | float) and iat > stamp + leeway:
        raise TokenInvalid(f"the ID token was issued in the future ({_when(iat)}); check "
                           "the clocks")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise TokenInvalid(f"the ID token is for several clients and its 'azp' is "
                           f"'{claims.get('azp')}', not '{client_id}'")
    return claims


def _claim_reason(claim: str, claims: dict[str, Any], issuer: str, client_id: str) -> str:
    if claim == "iss":
        return f"the ID token was issued by '{claims.get('iss')}', not by '{issuer}'"
    if claim == "aud":
        return (f"the ID token is meant for '{claims.get('aud')}', not for this console's "
                f"client '{client_id}'")
    if claim == "nonce":
        return "the ID token's nonce does not belong to this login"
    if claim == "nbf":
        return f"the ID token is not valid before {_when(claims.get('nbf'))}"
    if claim == "iat":
        return f"the ID token was issued in the future ({_when(claims.get('iat'))})"
    return f"the ID token's '{claim}' claim is not valid"
