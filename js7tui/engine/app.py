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
import hashlib
import json
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from js7tui.clock import Clock, SystemClock, to_iso
from js7tui.engine.auth import LOGIN_FAILED, ClientMap, HopSessions, verify_password
from js7tui.engine.config import ComponentConfig, ensure_private_dir
from js7tui.engine.events import JournalFormatter, OneLineFormatter, fields, journal_stream
from js7tui.engine.journal import hold_security_level
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
from js7tui.signing import CrlSet, SignatureRefused, TrustedKeys
from js7tui.store import Store

log = logging.getLogger("js7tui.engine")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signer_crls(config: ComponentConfig) -> CrlSet:
    """The CRLs every signer chain is checked against: the TLS CRL (the issuing CA's) and
    ``trusted-x509-crls/``, verified with the TLS CA certificates or the trust anchors."""
    tls = config.tls
    return CrlSet(files=[tls.crl] if tls is not None and tls.crl is not None else [],
                  directories=[config.trusted_crls_dir],
                  issuer_files=[tls.ca] if tls is not None else [])


def configure_logging(config: ComponentConfig) -> None:
    """The server's log file (0600) and stderr; never a password or token. Started by systemd
    with stderr on the journal (``$JOURNAL_STREAM``), stderr only, in journald's format
    (``js7tui.engine.events``): the unit's ``ProtectSystem=strict`` keeps the configuration
    directory, where the log file is, read-only."""
    logger = logging.getLogger("js7tui")
    logger.setLevel(config.log_level)
    logger.propagate = False
    if journal_stream():
        handler = logging.StreamHandler()
        handler.setFormatter(JournalFormatter("%(message)s"))
        logger.addHandler(handler)
        return
    ensure_private_dir(config.log_file.parent)
    if not config.log_file.exists():
        config.log_file.touch(mode=0o600)
    formatter = OneLineFormatter(
        f"%(asctime)s %(levelname)s {config.component} {config.name}: %(message)s")
    for handler in (logging.FileHandler(config.log_file, encoding="utf-8"),
                    logging.StreamHandler()):
        handler.setFormatter(formatter)
        logger.addHandler(handler)


def notify_systemd(state: str) -> None:
    """Tell systemd (``Type=notify``) that we are ready or stopping: a datagram to
    ``$NOTIFY_SOCKET`` (sd_notify(3)); nothing without it."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address.startswith(("/", "@")):
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    import socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning(fields("notify", status="failed", msg=f"cannot notify systemd: {exc}"))


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
        self.security_level = hold_security_level(journal, config.security_level,
                                                  to_iso(self.clock.now()))
        self.trusted = TrustedKeys(
            config.trusted_keys_dir, revocations=signer_crls(config),
            registered=config.registered_signers if self.security_level == "HIGH" else None)
        self.hasher = PasswordHasher()
        self.started = time.time()
        self.url = ""
        self._peers: dict[bytes, x509.Name] = {}
        self.tls_context: ReloadingServerContext | None = None
        self._trust_print: tuple[int, str] = (-1, "")
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
                "startedAt": int(self.started * 1000), "pid": os.getpid(),
                "securityLevel": self.security_level,
                "trustedKeys": self.trusted_keys()}

    def trusted_keys(self) -> dict[str, Any]:
        """The signature trust in force: the directory is re-read first when it changed (a
        few ``stat`` calls, as for each UpdateItems), so whoever polls this sees a change
        (the Controller's link does, to re-send what this server refused). ``fingerprint``:
        SHA-256 over the sorted SHA-256 digests of the trusted certificates' DER."""
        self.trusted.refresh()
        generation, fingerprint = self._trust_print
        anchors = self.trusted.anchors
        if generation != self.trusted.generation:
            digests = sorted(hashlib.sha256(a.public_bytes(Encoding.DER)).digest()
                             for a in anchors)
            fingerprint = hashlib.sha256(b"".join(digests)).hexdigest()
            self._trust_print = (self.trusted.generation, fingerprint)
        return {"fingerprint": fingerprint, "certificates": len(anchors)}

    @staticmethod
    def who(request: web.Request) -> str:
        """The acting hop user and its certificate's DN, for the log."""
        return f"{request['user']} ({request['dn'] or 'plain HTTP'})"

    # -- the application --------------------------------------------------------------------
    def app(self) -> web.Application:
        limits = self.config.limits
        app = web.Application(middlewares=[self._access_log, self._problems, self._authenticate,
                                           self._wire],
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
    async def _access_log(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """One line per request: changes and refusals at INFO, successful reads at DEBUG (the
        Controller polls its Agents)."""
        started = time.monotonic()
        status: int | str = "failed"
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            quiet = request.method in ("GET", "HEAD") and isinstance(status, int) and status < 400
            log.log(logging.DEBUG if quiet else logging.INFO, fields(
                "request", method=request.method, path=request.path, status=status,
                peer=request.remote, user=request.get("user"),
                ms=round((time.monotonic() - started) * 1000)))

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
            log.warning(fields("request", status=403, path=request.path,
                               peer=request.remote, dn=dn,
                               msg=f"unknown distinguished name '{dn}'"))
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
            log.warning(fields("login", status="refused", user=user, peer=request.remote,
                               dn=request["dn"] or "none", reason=reason,
                               msg=f"login refused for {user!r} from {request.remote} "
                                   f"({request['dn'] or 'no certificate'}): {reason}"))
            await asyncio.sleep(self.config.invalid_login_delay)
            raise Problem(401, "InvalidLogin", LOGIN_FAILED)
        token = self.sessions.create(user, request["dn"])  # type: ignore[arg-type]
        log.info(fields("login", status="ok", user=user, peer=request.remote,
                        dn=request["dn"] or "none (plain HTTP)"))
        return web.json_response({"TYPE": "LoggedIn", "sessionToken": token})

    # -- running --------------------------------------------------------------------------
    def reload_tls(self) -> None:
        """SIGHUP (``systemctl reload``): read the certificate, key, CA and CRL files again now,
        for new connections (they are also re-read when they change); a set that does not load
        leaves the previous one in force. Logged either way."""
        if self.tls_context is None:
            log.info(fields("tls-reload", status="skipped", trigger="SIGHUP",
                            msg="no TLS (plain HTTP): nothing to reload"))
            return
        self.tls_context.reload(trigger="SIGHUP")

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
            log.warning(fields(
                "insecure-http", listen=f"{self.config.host}:{self.config.port}",
                msg="INSECURE: plain HTTP without client certificates (--insecure-http); "
                    "anyone who can reach it can try passwords"))
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
        loop.add_signal_handler(signal.SIGHUP, self.reload_tls)
        retainer: asyncio.Task[None] | None = None
        try:
            await self.on_start()
            retainer = asyncio.create_task(self._retain())
            log.info(fields("start", status="listening", url=self.url, pid=os.getpid(),
                            msg=f"{self.component} {self.config.name} listening on {self.url}"))
            if ready:
                ready(self.url)
            notify_systemd("READY=1")
            await stop.wait()
            notify_systemd("STOPPING=1")
            log.info(fields("stop", msg="stopping"))
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
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
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:  # 0600 like every state file
            out.write(json.dumps({"pid": os.getpid(), "url": self.url,
                                  "component": self.component, "name": self.config.name}))
        os.replace(temporary, path)
