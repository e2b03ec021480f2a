"""Login across the configured identity services (reference section 3.5).

1. Every enabled *required* service (second-factor-only services skipped) is tried in order;
   each must succeed, and their roles are merged.
2. Only when no service is required, the *optional* services are tried in order; the first
   success wins.
3. A blocked account, or a store account that is disabled, is refused whatever the service.
4. When the service that logged the account in is TWO-FACTOR, the chain answers "second factor
   required" naming the second-factor service, until the client repeats the login with evidence
   that service accepts for the same account.

Providers are consulted outside any write transaction (they may talk to a directory); the
outcome (session, login history, failure counter, audit entry) is written in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

from js7tui import audit
from js7tui.audit import Category, Outcome
from js7tui.clock import Clock, from_iso, to_iso
from js7tui.errors import AuthenticationError, NotFound, ValidationError
from js7tui.identity import history, records, sessions, throttle
from js7tui.identity import settings as identity_settings
from js7tui.identity.passwords import PasswordHasher
from js7tui.identity.providers.base import (
    PASSWORD,
    Authenticated,
    InteractionNeeded,
    LoginRequest,
    ProviderContext,
    ProviderRegistry,
    Rejected,
    ServiceRecord,
    Unreachable,
)
from js7tui.identity.sessions import Session
from js7tui.identity.types import TWO_FACTOR, RolesFrom
from js7tui.permissions import EffectivePermissions
from js7tui.permissions.evaluator import DEFAULT_SECTION
from js7tui.secrets import SecretBox
from js7tui.store import Store

LOGIN_REQUEST = "./authentication/login"
NEUTRAL_FAILURE = "login failed: wrong account name or password"
log = logging.getLogger("js7tui.login")


class LoginStatus(StrEnum):
    AUTHENTICATED = "authenticated"
    SECOND_FACTOR_REQUIRED = "second factor required"
    INTERACTION_NEEDED = "interaction needed"


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    message: str
    session: Session | None = None
    token: str | None = None
    second_factor_service: str | None = None
    interaction: dict[str, Any] | None = None
    # SECOND_FACTOR_REQUIRED: the token of the waiting first factor, for continue_login.
    pending: str | None = None


class LoginFailed(AuthenticationError):
    """A failed login; ``str()`` is what the person at the login form may see."""


@dataclass
class _Attempt:
    details: list[tuple[str, str]]
    subjects: list[tuple[ServiceRecord, Authenticated]]


LOGIN_PERMISSION = "sos:products:controller:view"
NO_CONTROLLER_VIEW = (f"login refused: the account's roles grant no {LOGIN_PERMISSION} (or "
                      "higher) on any Controller; an administrator gives it a role that does "
                      "(js7tui role grant ROLE sos:products:controller:view)")


def _may_log_in(permissions: EffectivePermissions) -> bool:
    """JS7's rule (KB "Manage Roles and Permissions"): a user needs
    ``sos:products:controller:view`` or higher, for all Controllers or for one."""
    return any(permissions.is_permitted(LOGIN_PERMISSION, controller)
               for controller in (DEFAULT_SECTION, *permissions.controllers()))


class LoginChain:
    def __init__(self, store: Store, clock: Clock, hasher: PasswordHasher,
                 registry: ProviderRegistry, secrets: SecretBox | None = None) -> None:
        self.store = store
        self.clock = clock
        self.hasher = hasher
        self.registry = registry
        self.secrets = secrets or SecretBox()

    # -- providers ------------------------------------------------------------------------
    def _ask(self, record: ServiceRecord, request: LoginRequest):  # -> Outcome
        provider = self.registry.get(record.type)
        if provider is None:
            return Unreachable(f"identity service type {record.type} is not available in this "
                               "js7tui")
        missing = self.registry.schema(record.type).missing(record.settings)
        if missing:
            return Unreachable(f"'{record.name}' is not configured: set {', '.join(missing)}")
        try:
            return provider.authenticate(record, request, self._context())
        except Exception as exc:  # a provider bug must not crash the login form
            return Unreachable(f"{type(exc).__name__}: {exc}")

    def _context(self) -> ProviderContext:
        return ProviderContext(self.store.conn, self.hasher, self.clock, self.secrets)

    def _discard(self, attempt: _Attempt) -> None:
        """Tokens that providers issued for a login that ends without a session (refused, or
        waiting for a second factor or an interaction) are revoked at once, not left to
        expire; a failure is logged only."""
        for record, outcome in attempt.subjects:
            provider = self.registry.get(record.type)
            if outcome.state is None or provider is None or not hasattr(provider, "end"):
                continue
            try:
                provider.end(record, outcome.state, self._context())  # type: ignore[attr-defined]
            except Exception as exc:
                log.warning("could not revoke the %s token of an unfinished login: %s",
                            record.name, exc)

    def _store_account_problem(self, record: ServiceRecord, account: str) -> str | None:
        if not records.roles_from_store(record):
            return None
        row = records.find_account(self.store.conn, record, account)
        if row is None:
            return f"no account '{account}' in '{record.name}'"
        if row["disabled"]:
            return "disabled"
        return None

    def login_methods(self, name: str) -> tuple[str, ...]:
        """How the service ``name`` takes logins ("password", "device"): what a login form must
        know before it asks for anything, so no session is needed."""
        record = records.service(self.store.conn, name)
        provider = self.registry.get(record.type)
        if provider is None:
            return ()
        methods = getattr(provider, "login_methods", None)
        return tuple(methods(record, self._context())) if methods else (PASSWORD,)

    def services_taking(self, method: str) -> list[str]:
        """Enabled first-factor services that take logins by ``method`` ("device": the login
        form offers them as identity providers), in login order."""
        return [record.name for record in records.services(self.store.conn)
                if not record.disabled and not record.second_factor
                and method in self.login_methods(record.name)]

    def _candidates(self, request: LoginRequest, first_factor: list[ServiceRecord],
                    required: list[ServiceRecord]) -> list[ServiceRecord]:
        """The services this login asks. Without a chosen service: the required services, else
        the optional ones in order. With one: just that one when no service is required; when
        services are required, all of them, and the chosen one must be among them (required
        services are never bypassed)."""
        if request.service is None:
            return required or first_factor
        chosen = [s for s in first_factor if s.name.lower() == request.service.lower()]
        if not chosen:
            raise ValidationError(f"there is no enabled identity service '{request.service}' to "
                                  "log in with")
        if required and not chosen[0].required:
            raise ValidationError(
                f"'{chosen[0].name}' is optional, and every login must pass the required "
                f"identity services ({', '.join(s.name for s in required)})")
        return required or chosen

    def _confirm_account(self, request: LoginRequest, record: ServiceRecord,
                         outcome: object) -> tuple[LoginRequest, object]:
        """The provider's account is the session's account: an empty typed account takes it;
        a typed account that differs refuses the login (and the provider's token is revoked)."""
        if not isinstance(outcome, Authenticated):
            return request, outcome
        if not request.account:
            return replace(request, account=outcome.account), outcome
        if outcome.account != request.account:
            self._discard(_Attempt([], [(record, outcome)]))
            return request, Rejected(
                f"authenticated the account '{outcome.account}', not the account "
                f"'{request.account}' that was entered",
                public=f"login failed: '{record.name}' confirmed the account "
                       f"'{outcome.account}', not '{request.account}'")
        return request, outcome

    # -- the chain ------------------------------------------------------------------------
    def login(self, request: LoginRequest) -> LoginResult:
        """One attempt at a time per account, across processes (see ``throttle``)."""
        with throttle.serialised(self.store.path, request.account):
            return self._login(request)

    def _login(self, request: LoginRequest) -> LoginResult:
        typed = request.account.strip()
        if not typed and not request.service:
            raise ValidationError("the account name is empty")
        # "pending_id" ties a second factor's challenge to a waiting login; only
        # continue_login sets it, never a caller of login().
        request = replace(request, account=typed,
                          extra={k: v for k, v in request.extra.items() if k != "pending_id"})
        delay = throttle.delay_for(self.store.conn, self.clock, typed, request.source)
        if delay:
            self.clock.sleep(delay)

        enabled = [s for s in records.services(self.store.conn) if not s.disabled]
        first_factor = [s for s in enabled if not s.second_factor]
        required = [s for s in first_factor if s.required]
        attempt = _Attempt([], [])
        if not first_factor:
            return self._fail(request, attempt, "login failed: no identity service is enabled")
        candidates = self._candidates(request, first_factor, required)

        if required:
            for record in candidates:
                outcome = self._ask(record, request)
                if isinstance(outcome, InteractionNeeded):
                    self._discard(attempt)
                    return LoginResult(LoginStatus.INTERACTION_NEEDED, outcome.message,
                                       interaction={"service": record.name, **outcome.prompt})
                request, outcome = self._confirm_account(request, record, outcome)
                if not isinstance(outcome, Authenticated):
                    attempt.details.append((record.name, _describe(outcome)))
                    return self._fail(request, attempt, _public_message(record, outcome))
                attempt.details.append((record.name, outcome.message))
                attempt.subjects.append((record, outcome))
        else:
            unreachable: list[str] = []
            public: str | None = None
            for record in candidates:
                outcome = self._ask(record, request)
                if isinstance(outcome, InteractionNeeded):
                    return LoginResult(LoginStatus.INTERACTION_NEEDED, outcome.message,
                                       interaction={"service": record.name, **outcome.prompt})
                request, outcome = self._confirm_account(request, record, outcome)
                attempt.details.append((record.name, _describe(outcome)))
                if isinstance(outcome, Authenticated):
                    attempt.subjects.append((record, outcome))
                    break
                if isinstance(outcome, Unreachable):
                    unreachable.append(record.name)
                if isinstance(outcome, Rejected) and outcome.public:
                    public = outcome.public     # the person was dealing with this service
                    break
            if not attempt.subjects:
                if public:
                    message = public
                elif unreachable and len(unreachable) == len(candidates):
                    message = ("login failed: no identity service could be reached ("
                               + ", ".join(unreachable) + ")")
                else:
                    message = NEUTRAL_FAILURE
                return self._fail(request, attempt, message)
        account = request.account

        # Blocked and disabled accounts are refused whatever authenticated them; told only
        # after the credentials were right, so the form does not reveal which accounts exist.
        blocked = records.is_blocked(self.store.conn, account)
        if blocked:
            attempt.details.append(("blocklist", f"blocked since {blocked['since']}"))
            return self._fail(request, attempt, f"login failed: the account '{account}' is "
                              "blocked; ask an administrator")
        for record, _ in attempt.subjects:
            problem = self._store_account_problem(record, account)
            if problem == "disabled":
                attempt.details.append((record.name, "account disabled"))
                return self._fail(request, attempt, f"login failed: the account '{account}' is "
                                  "disabled; ask an administrator")
            if problem:
                attempt.details.append((record.name, problem))
                return self._fail(request, attempt, NEUTRAL_FAILURE)

        # Every TWO-FACTOR service that took part asks for its second factor, not only the last.
        asked: set[str] = set()
        for record, _ in list(attempt.subjects):
            if record.auth_scheme == TWO_FACTOR and record.second_factor_service not in asked:
                result = self._second_factor(request, record, attempt)
                if result is not None:
                    return result
                asked.add(record.second_factor_service or "")
        return self._succeed(request, attempt, typed)

    def _second_factor(self, request: LoginRequest, first: ServiceRecord,
                       attempt: _Attempt) -> LoginResult | None:
        name = first.second_factor_service
        if not name:
            return self._fail(request, attempt, f"login failed: '{first.name}' is TWO-FACTOR "
                              "but names no second-factor service")
        record = records.service(self.store.conn, name)
        if record.disabled:
            return self._fail(request, attempt,
                              f"login failed: the second-factor service '{name}' is disabled")
        if request.second_factor is None:
            attempt.details.append((record.name, "second factor required"))
            return self._wait_for_second_factor(request, record, attempt)
        outcome = self._ask(record, request)
        attempt.details.append((record.name, _describe(outcome)))
        if not isinstance(outcome, Authenticated):
            return self._fail(request, attempt, _public_message(record, outcome, second=True))
        if outcome.account != request.account:
            return self._fail(request, attempt, "login failed: the second factor belongs to "
                              "another account")
        return None

    # -- waiting for a second factor --------------------------------------------------------
    def _wait_for_second_factor(self, request: LoginRequest, record: ServiceRecord,
                                attempt: _Attempt, done: tuple[str, ...] = ()) -> LoginResult:
        """The first factor passed: keep it (sealed, for PENDING_LIFETIME) under a token only
        the client holds, and ask the second-factor service for a challenge bound to it."""
        token = secrets.token_urlsafe(32)
        pending_id = _token_hash(token)
        subjects = [{"service": r.name, "account": o.account,
                     "roles": None if o.roles is None else list(o.roles),
                     "message": o.message, "state": o.state,
                     "valid_until": to_iso(o.valid_until) if o.valid_until else None}
                    for r, o in attempt.subjects]
        now = self.clock.now()
        prompt: dict[str, Any] | None = None
        provider = self.registry.get(record.type)
        self.sweep_expired()
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO pending_logins (token_hash, account_name, typed_account, source,"
                " second_service_id, subjects, details, created, expires)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pending_id, request.account, request.account, request.source, record.id,
                 self.secrets.seal(json.dumps({"subjects": subjects, "done": list(done)})),
                 json.dumps(attempt.details), to_iso(now),
                 to_iso(now + timedelta(seconds=PENDING_LIFETIME))))
            history.record(conn, self.clock, account=request.account, source=request.source,
                           success=False, message="second factor required",
                           details=attempt.details)
        challenge = getattr(provider, "challenge", None)
        if challenge is not None:
            try:
                prompt = challenge(record, request.account, self._context(), pending_id)
            except Exception as exc:   # the first factor stays pending; the client may retry
                log.warning("could not issue a %s challenge: %s", record.name, exc)
        return LoginResult(LoginStatus.SECOND_FACTOR_REQUIRED,
                           f"confirm the login with the second factor '{record.name}'",
                           second_factor_service=record.name, pending=token,
                           interaction=prompt)

    def sweep_expired(self) -> int:
        """Waiting logins past their lifetime are removed and the tokens their first factor
        was given (OIDC, Vault) revoked, as for any login that ends without a session. The
        provider is asked after the rows are gone, with no transaction open."""
        now = to_iso(self.clock.now())
        with self.store.transaction() as conn:
            rows = conn.execute("SELECT subjects FROM pending_logins WHERE expires < ?",
                                (now,)).fetchall()
            conn.execute("DELETE FROM pending_logins WHERE expires < ?", (now,))
        for row in rows:
            attempt = _Attempt([], [])
            try:
                kept = json.loads(self.secrets.open(row["subjects"]))
            except Exception as exc:  # a row the box cannot open: nothing to revoke with
                log.warning("an expired waiting login could not be read: %s", exc)
                continue
            for subject in kept["subjects"]:
                try:
                    first = records.service(self.store.conn, subject["service"])
                except NotFound:
                    continue
                attempt.subjects.append((first, Authenticated(subject["account"], None,
                                                              subject["message"],
                                                              subject["state"])))
            self._discard(attempt)
        return len(rows)

    def second_factor_challenge(self, pending: str) -> dict[str, Any]:
        """A new challenge for a waiting login (the first one expired, or the client lost
        it); the waiting login itself is unchanged."""
        row = self.store.conn.execute("SELECT * FROM pending_logins WHERE token_hash = ?",
                                      (_token_hash(pending),)).fetchone()
        if row is None or from_iso(row["expires"]) <= self.clock.now():
            raise LoginFailed("login failed: the first factor's login expired; log in again")
        record = self._service_by_id(row["second_service_id"])
        provider = self.registry.get(record.type)
        challenge = getattr(provider, "challenge", None)
        if challenge is None:
            raise ValidationError(f"'{record.name}' issues no challenges")
        return dict(challenge(record, row["account_name"], self._context(), row["token_hash"]))

    def _service_by_id(self, service_id: int) -> ServiceRecord:
        return next(s for s in records.services(self.store.conn) if s.id == service_id)

    def continue_login(self, pending: str, evidence: dict[str, Any],
                       source: str | None = None) -> LoginResult:
        """The second factor of a login that answered SECOND_FACTOR_REQUIRED. One answer per
        waiting login: a wrong one ends it (the first factor must be given again), and counts
        as a failed login of the account, throttled like a wrong password."""
        row = self.store.conn.execute("SELECT account_name FROM pending_logins WHERE "
                                      "token_hash = ?", (_token_hash(pending),)).fetchone()
        account = row["account_name"] if row else ""
        with throttle.serialised(self.store.path, account):
            return self._continue(pending, evidence, source)

    def _continue(self, pending: str, evidence: dict[str, Any],
                  source: str | None) -> LoginResult:
        token_hash = _token_hash(pending)
        with self.store.transaction() as conn:
            row = conn.execute("SELECT * FROM pending_logins WHERE token_hash = ?",
                               (token_hash,)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM pending_logins WHERE token_hash = ?", (token_hash,))
        if row is None:
            raise LoginFailed("login failed: no login is waiting for this second factor "
                              "(it was answered already, or it expired); log in again")
        request = LoginRequest(row["account_name"], None, source or row["source"])
        kept = json.loads(self.secrets.open(row["subjects"]))
        attempt = _Attempt([tuple(d) for d in json.loads(row["details"])], [])  # type: ignore[misc]
        for subject in kept["subjects"]:
            try:
                first = records.service(self.store.conn, subject["service"])
            except NotFound:
                continue
            attempt.subjects.append((first, Authenticated(
                subject["account"], None if subject["roles"] is None
                else tuple(subject["roles"]), subject["message"], subject["state"],
                from_iso(subject["valid_until"]) if subject["valid_until"] else None)))
        delay = throttle.delay_for(self.store.conn, self.clock, request.account, request.source)
        if delay:
            self.clock.sleep(delay)
        if from_iso(row["expires"]) <= self.clock.now():
            attempt.details.append(("second factor", "the waiting login expired"))
            return self._fail(request, attempt, "login failed: the first factor's login "
                              "expired; log in again")
        record = self._service_by_id(row["second_service_id"])
        if record.disabled:
            return self._fail(request, attempt, f"login failed: the second-factor service "
                              f"'{record.name}' is disabled")
        outcome = self._ask(record, replace(request, second_factor=dict(evidence),
                                            extra={"pending_id": token_hash}))
        attempt.details.append((record.name, _describe(outcome)))
        if not isinstance(outcome, Authenticated):
            return self._fail(request, attempt, _public_message(record, outcome, second=True))
        if outcome.account != request.account:
            return self._fail(request, attempt, "login failed: the second factor belongs to "
                              "another account")
        blocked = records.is_blocked(self.store.conn, request.account)
        if blocked:
            attempt.details.append(("blocklist", f"blocked since {blocked['since']}"))
            return self._fail(request, attempt, f"login failed: the account "
                              f"'{request.account}' is blocked; ask an administrator")
        done = (*kept["done"], record.name)
        for first, _ in attempt.subjects:
            if first.auth_scheme == TWO_FACTOR and first.second_factor_service \
                    and first.second_factor_service not in done:
                following = records.service(self.store.conn, first.second_factor_service)
                return self._wait_for_second_factor(request, following, attempt, done)
        return self._succeed(request, attempt, row["typed_account"])

    def _succeed(self, request: LoginRequest, attempt: _Attempt,
                 typed_account: str = "") -> LoginResult:
        grants = [
            records.Grant(record.name, RolesFrom.STORE if outcome.roles is None
                          else RolesFrom.PROVIDER, tuple(outcome.roles or ()))
            for record, outcome in attempt.subjects
        ]
        states = {record.name: sessions.provider_state_entry(
                      self.secrets.seal(json.dumps(outcome.state)), outcome.valid_until)
                  for record, outcome in attempt.subjects if outcome.state is not None}
        limits = [o.valid_until for _, o in attempt.subjects if o.valid_until is not None]
        if not _may_log_in(records.compile_permissions(self.store.conn, request.account,
                                                       grants)):
            return self._fail(request, attempt, NO_CONTROLLER_VIEW)
        with self.store.transaction() as conn:
            idle = identity_settings.read(conn, "idle_session_timeout")
            session_id, token = sessions.create(
                conn, self.clock, account=request.account, grants=grants,
                source=request.source, idle_timeout=idle, provider_state=states,
                valid_until=min(limits) if limits else None,
            )
            throttle.reset(conn, request.account, request.source)
            throttle.reset(conn, typed_account, request.source)
            history.record(conn, self.clock, account=request.account, source=request.source,
                           success=True, message="logged in", details=attempt.details)
            session = sessions.refresh(conn, self.clock, session_id)
        session.token = token
        message = "logged in"
        log.info("login of %r from %s via %s", request.account, request.source,
                 ", ".join(g.service for g in grants))
        if session.must_change_password:
            message += "; the password must be changed before anything else"
        return LoginResult(LoginStatus.AUTHENTICATED, message, session=session, token=token)

    def _fail(self, request: LoginRequest, attempt: _Attempt, message: str) -> LoginResult:
        log.warning("failed login of %r from %s: %s [%s]", request.account[:255], request.source,
                    message, "; ".join(f"{n}: {t}" for n, t in attempt.details))
        with self.store.transaction() as conn:
            throttle.record_failure(conn, self.clock, request.account, request.source)
            history.record(conn, self.clock, account=request.account, source=request.source,
                           success=False, message=message, details=attempt.details)
            audit.append(
                conn, created=self.clock.now(), account=request.account[:255],
                request=LOGIN_REQUEST, category=Category.IDENTITY, outcome=Outcome.REFUSED,
                parameters={"source": request.source, "refused": message,
                            "services": [f"{name}: {text}" for name, text in attempt.details]},
            )
        self._discard(attempt)
        raise LoginFailed(message)


PENDING_LIFETIME = 300   # seconds a passed first factor waits for its second factor


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _describe(outcome: object) -> str:
    if isinstance(outcome, Authenticated):
        return outcome.message
    if isinstance(outcome, Rejected):
        return f"rejected: {outcome.reason}"
    if isinstance(outcome, Unreachable):
        return f"unreachable: {outcome.reason}"
    return str(outcome)


def _public_message(record: ServiceRecord, outcome: object, *, second: bool = False) -> str:
    if isinstance(outcome, Rejected) and outcome.public:
        return outcome.public
    if isinstance(outcome, Unreachable):
        return f"login failed: the identity service '{record.name}' cannot be reached"
    if second:
        return f"login failed: the second factor was not accepted by '{record.name}'"
    return NEUTRAL_FAILURE
