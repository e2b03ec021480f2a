"""The aiohttp base of the Controller and the Agent: mutual TLS, DN -> user, per-hop sessions,
problems as JSON, the journal, and a run loop that stops cleanly on SIGTERM/SIGINT.

aiohttp gives each request its transport, whose ``ssl_object`` holds the client certificate
that the handshake verified (CA, validity, CRL); from it the subject DN is read and looked up in
the allowed clients. Everything but ``POST /api/session`` then needs a session token of this
server, opened under the same DN. Every request is then checked against its route's wire shape
(:mod:`js7tui.engine.wire`: body size, JSON depth, fields, query) before its handler runs;
handlers read ``request["body"]`` and ``request["query"]``. An unexpected exception is logged
and answered as a 500 problem (a bug: every refusal is a 4xx problem).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from cryptography import x509

from js7tui.clock import Clock, SystemClock
from js7tui.engine.auth import LOGIN_FAILED, ClientMap, HopSessions, verify_password
from js7tui.engine.config import ComponentConfig, ensure_private_dir
from js7tui.engine.problems import Problem
from js7tui.engine.shapes import SESSION_HEADER, ShapeError
from js7tui.engine.tls import ReloadingServerContext
from js7tui.engine.wire import (
    Endpoint,
    check_path,
    check_query,
    parse_json,
    refuse,
    session_endpoint,
)
from js7tui.errors import ValidationError
from js7tui.identity.passwords import PasswordHasher
from js7tui.signing import SignatureRefused, TrustedKeys
from js7tui.store import Store

log = logging.getLogger("js7tui.engine")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def configure_logging(config: ComponentConfig) -> None:
    """The server's log file (0600) and stderr; never a password or token."""
    logger = logging.getLogger("js7tui")
    logger.setLevel(config.log_level)
    logger.propagate = False
    ensure_private_dir(config.log_file.parent)
    if not config.log_file.exists():
        config.log_file.touch(mode=0o600)
    formatter = logging.Formatter(
        f"%(asctime)s %(levelname)s {config.component} {config.name}: %(message)s")
    for handler in (logging.FileHandler(config.log_file, encoding="utf-8"),
                    logging.StreamHandler()):
        handler.setFormatter(formatter)
        logger.addHandler(handler)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, at most ``limit`` bytes: refused (413) by its Content-Length before reading,
    or as soon as more arrived, never parsed."""
    too_large = refuse("", f"the request body is larger than {limit} bytes, this endpoint's "
                       "limit", status=413, code="RequestTooLarge")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    data = bytearray()
    while chunk := await request.content.read(65536):
        data += chunk
        if len(data) > limit:
            raise too_large
    return bytes(data)


async def check_request(request: web.Request, endpoint: Endpoint, depth: int
                        ) -> tuple[Any, dict[str, Any]]:
    """The body and query of ``request`` checked against its route's wire shape."""
    check_path(request.match_info, endpoint)
    query = check_query(request.query, endpoint.query)
    if endpoint.body is None:
        if request.can_read_body and await request.content.read(1):
            raise refuse("", "this endpoint takes no request body")
        return None, query
    data = await read_body(request, endpoint.max_body)
    return endpoint.body.check(parse_json(data, depth), ""), query


async def json_body(request: web.Request) -> Any:
    """The request's body, already read and checked against its route's wire shape by the
    middleware (:mod:`js7tui.engine.wire`)."""
    return request["body"]


class EngineServer:
    """One Controller or Agent process. Subclasses add routes and background work."""

    component = "engine"

    def __init__(self, config: ComponentConfig, journal: Store, *, insecure_http: bool = False,
                 clock: Clock | None = None) -> None:
        self.config = config
        self.journal = journal
        self.insecure_http = insecure_http
        self.clock = clock or SystemClock()
        self.sessions = HopSessions(config.session_timeout)
        self.clients = ClientMap(config.allowed_clients)
        self.trusted = TrustedKeys(config.trusted_keys_dir)
        self.hasher = PasswordHasher()
        self.started = time.time()
        self.url = ""
        self._peers: dict[bytes, x509.Name] = {}
        self.tls_context: ReloadingServerContext | None = None
        self.endpoints = {"POST /api/session": session_endpoint(config.limits),
                          "GET /api": Endpoint(), **self.wire_endpoints()}

    # -- to be extended ---------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return []

    def prune(self) -> dict[str, int]:
        """One retention run (``[retention]``); what went, by kind."""
        return {}

    def wire_endpoints(self) -> dict[str, Endpoint]:
        """The wire shape of each route of :meth:`routes`, by ``METHOD /canonical/path``."""
        return {}

    async def on_start(self) -> None:
        """Background work once the port is open."""

    async def on_stop(self) -> None:
        """Stop background work before the journal closes."""

    def overview(self) -> dict[str, Any]:
        return {"id": self.config.name, "TYPE": self.component, "url": self.url,
                "startedAt": int(self.started * 1000), "pid": os.getpid()}

    # -- the application --------------------------------------------------------------------
    def app(self) -> web.Application:
        limits = self.config.limits
        app = web.Application(middlewares=[self._problems, self._authenticate, self._wire],
                              client_max_size=max(limits.item_body, limits.request_body))
        app.add_routes([web.post("/api/session", self._session),
                        web.get("/api", self._overview), *self.routes()])
        for route in app.router.routes():
            key = f"{route.method} {route.resource.canonical}" if route.resource else ""
            if route.method != "HEAD" and key not in self.endpoints:
                raise AssertionError(f"the route {key} has no wire shape")
        return app

    async def _overview(self, request: web.Request) -> web.Response:
        return web.json_response(self.overview())

    @web.middleware
    async def _problems(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as problem:
            return web.json_response(problem.body(), status=problem.status)
        except web.HTTPException as exc:  # the router's 404 and 405, aiohttp's own 4xx
            if exc.status < 400:
                raise
            code = {404: "NotFound", 405: "MethodNotAllowed",
                    413: "RequestTooLarge"}.get(exc.status, "InvalidRequest")
            return web.json_response({"TYPE": "Problem", "code": code, "message": exc.reason},
                                     status=exc.status)
        except SignatureRefused as exc:
            return web.json_response({"TYPE": "Problem", "code": exc.code, "message": str(exc)},
                                     status=400)
        except (ShapeError, ValidationError) as exc:
            code = getattr(exc, "code", "InvalidRequest")
            return web.json_response({"TYPE": "Problem", "code": code, "message": str(exc)},
                                     status=400)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            log.exception("internal error answering %s %s", request.method, request.path)
            return web.json_response({"TYPE": "Problem", "code": "InternalError",
                                      "message": "internal error (logged by the server)"},
                                     status=500)

    @web.middleware
    async def _wire(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The request checked against its route's wire shape (:mod:`js7tui.engine.wire`)."""
        resource = request.match_info.route.resource
        if resource is None:  # no route: the router's 404 or 405
            return await handler(request)
        method = "GET" if request.method == "HEAD" else request.method
        endpoint = self.endpoints[f"{method} {resource.canonical}"]
        request["body"], request["query"] = await check_request(
            request, endpoint, self.config.limits.json_depth)
        return await handler(request)

    def _peer(self, request: web.Request) -> tuple[str, set[str]]:
        """The client's DN and the users it may be; refuses unknown clients (403)."""
        transport = request.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport else None
        if ssl_object is None:
            if self.insecure_http:
                return "", set(self.config.users)
            raise Problem(403, "ClientCertificateRequired",
                          "A client HTTPS certificate is required")
        der = ssl_object.getpeercert(binary_form=True)
        if not der:
            raise Problem(403, "ClientCertificateRequired",
                          "A client HTTPS certificate is required")
        subject = self._peers.get(der)
        if subject is None:
            subject = x509.load_der_x509_certificate(der).subject
            if len(self._peers) > 256:
                self._peers.clear()
            self._peers[der] = subject
        dn = subject.rfc4514_string()
        users = self.clients.users(subject)
        if not users:
            log.warning("refused %s from %s: unknown distinguished name '%s'",
                        request.path, request.remote, dn)
            raise Problem(403, "UnknownDistinguishedName", f"unknown distinguished name '{dn}'")
        return dn, users

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler
                            ) -> web.StreamResponse:
        dn, users = self._peer(request)
        request["dn"], request["client_users"] = dn, users
        if request.path == "/api/session" and request.method == "POST":
            return await handler(request)
        token = request.headers.get(SESSION_HEADER)
        if not token:
            raise Problem(401, "MissingSessionToken",
                          f"a session token is required (header {SESSION_HEADER}); log in first")
        session = self.sessions.resume(token, dn)
        if session is None:
            raise Problem(401, "InvalidSessionToken",
                          "the session token is invalid or has ended; log in again")
        request["user"] = session.user
        return await handler(request)

    async def _session(self, request: web.Request) -> web.Response:
        body = request["body"]  # checked: Login {userAndPassword} or Logout {sessionToken}
        if body["TYPE"] == "Logout":
            token = body["sessionToken"]
            if self.sessions.resume(token, request["dn"]):
                self.sessions.end(token)
            return web.json_response({"TYPE": "LoggedOut"})
        credentials = body["userAndPassword"]
        user, password = credentials["userId"], credentials["password"]
        stored = self.config.users.get(user)
        allowed = user in request["client_users"]
        ok = False
        if stored and allowed:
            ok = await asyncio.to_thread(verify_password, stored, password, self.hasher)
        if not ok:
            reason = ("unknown user" if not stored else
                      "user not allowed for this certificate" if not allowed else
                      "wrong password")
            log.warning("login refused for %r from %s (%s): %s", user, request.remote,
                        request["dn"] or "no certificate", reason)
            await asyncio.sleep(self.config.invalid_login_delay)
            raise Problem(401, "InvalidLogin", LOGIN_FAILED)
        token = self.sessions.create(user, request["dn"])
        log.info("login of %r from %s (%s)", user, request.remote, request["dn"] or "plain HTTP")
        return web.json_response({"TYPE": "LoggedIn", "sessionToken": token})

    # -- running --------------------------------------------------------------------------
    async def _retain(self) -> None:
        """Retention at start and then every ``[retention] interval``."""
        while True:
            try:
                pruned = self.prune()
            except Exception:
                log.exception("retention failed")
            else:
                if any(pruned.values()):
                    log.info("retention: removed %s", ", ".join(
                        f"{count} {kind}" for kind, count in pruned.items() if count))
            await asyncio.sleep(self.config.retention.interval)

    async def run(self, ready: Callable[[str], None] | None = None) -> None:
        """Serve until SIGTERM/SIGINT, then stop background work and close the journal."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        if self.insecure_http:
            log.warning("INSECURE: plain HTTP without client certificates (--insecure-http); "
                        "anyone who can reach %s:%s can try passwords", self.config.host,
                        self.config.port)
        elif self.config.tls is not None:
            self.tls_context = ReloadingServerContext(self.config.tls)
        site = web.TCPSite(runner, self.config.host, self.config.port,
                           ssl_context=self.tls_context)
        await site.start()
        host, port = runner.addresses[0][:2]
        scheme = "http" if self.insecure_http else "https"
        self.url = f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
        self._write_state_file()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        retainer: asyncio.Task[None] | None = None
        try:
            await self.on_start()
            retainer = asyncio.create_task(self._retain())
            log.info("%s %s listening on %s", self.component, self.config.name, self.url)
            if ready:
                ready(self.url)
            await stop.wait()
            log.info("stopping")
        finally:
            if retainer is not None:
                retainer.cancel()
            await self.on_stop()
            await runner.cleanup()
            self.journal.close()
            (self.config.state_dir / "server.json").unlink(missing_ok=True)

    def _write_state_file(self) -> None:
        """``STATE/server.json``: pid and URL, for whoever started us on port 0."""
        path = self.config.state_dir / "server.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"pid": os.getpid(), "url": self.url,
                                         "component": self.component,
                                         "name": self.config.name}))
        os.replace(temporary, path)
