"""Connections to one directory server: TCP with a connect timeout, TLS by the standard
``ssl`` module (our context, so host-name checks are Python's own and on by default), StartTLS
before any bind, a read timeout on every answer.

A server that cannot be used raises :class:`ServerUnavailable` with a reason an administrator
can act on ("connection refused", "certificate not trusted: ..."); the caller then tries the
next URL. Anything the directory *answers* (a refused bind, a missing entry) is not an
unavailable server and is left to the caller.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
from dataclasses import dataclass

from ldap3 import NONE, SIMPLE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPCommunicationError, LDAPException, LDAPOperationResult

from js7tui.identity.providers.ldap.config import ConfigProblem, LdapConfig, ServerUrl


class ServerUnavailable(Exception):
    """This server cannot be used now; ``certificate`` marks a refused server certificate."""

    def __init__(self, server: ServerUrl, reason: str, *, certificate: bool = False) -> None:
        super().__init__(f"{server}: {reason}")
        self.server = server
        self.reason = reason
        self.certificate = certificate


def tls_context(config: LdapConfig) -> ssl.SSLContext:
    """A client context: the configured CA file (else the system's CAs), certificate
    required, host names checked unless ``verify_hostname`` is off, TLS 1.2 or newer."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=config.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigProblem(f"ca_file '{config.ca_file}' cannot be used: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = config.verify_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class TlsContexts:
    """Client contexts kept between logins, one per CA file and host-name policy, rebuilt when
    the CA file changes on disk. Why: loading a CA bundle costs tens of milliseconds (the
    system bundle about 80 ms on a busy 2-core machine), more than the rest of a login."""

    def __init__(self, limit: int = 8) -> None:
        self._limit = limit
        self._contexts: dict[tuple[object, ...], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def get(self, config: LdapConfig) -> ssl.SSLContext:
        key = (config.ca_file, _stamp(config.ca_file), config.verify_hostname)
        with self._lock:
            context = self._contexts.get(key)
        if context is None:
            context = tls_context(config)
            with self._lock:
                if len(self._contexts) >= self._limit:
                    self._contexts.clear()
                self._contexts[key] = context
        return context


def _stamp(ca_file: str | None) -> tuple[int, int] | None:
    """When and how big the CA file (or the system bundle) is, to notice a replaced one."""
    path = ca_file or os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile
    try:
        info = os.stat(path) if path else None
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if info else None


class _ContextTls(Tls):
    """ldap3's TLS hook, wrapping sockets with our context and remembering why a handshake
    failed (ldap3 re-raises it under its own exception types, losing the verify message)."""

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED)
        self.context = context
        self.host = host
        self.failure: str | None = None

    def wrap_socket(self, connection: Connection, do_handshake: bool = False) -> None:
        _no_delay(connection.socket)
        try:
            connection.socket = self.context.wrap_socket(
                connection.socket, server_side=False, do_handshake_on_connect=do_handshake,
                server_hostname=self.host)
        except ssl.SSLCertVerificationError as exc:
            self.failure = _certificate_reason(exc)
            raise
        except (ssl.SSLError, OSError) as exc:
            self.failure = f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}"
            raise


def _no_delay(sock: socket.socket) -> None:
    """Send each request at once. With Nagle's algorithm the first request after a TLS
    handshake waits for the server's delayed ACK: about 40 ms added to every login."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _certificate_reason(exc: ssl.SSLCertVerificationError) -> str:
    message = str(exc.verify_message or exc.reason or exc).rstrip(".")
    if "mismatch" in message.lower():
        return f"the server certificate does not name this host ({message})"
    return f"the server certificate is not trusted ({message})"


@dataclass
class OpenServer:
    """A connection to one server, opened and protected as configured, not yet bound."""

    server: ServerUrl
    connection: Connection

    def bind(self, dn: str, password: str) -> None:
        """A simple bind; raises ldap3's result exceptions (e.g. invalid credentials) for the
        caller, and :class:`ServerUnavailable` when the server stops answering."""
        conn = self.connection
        conn.authentication = SIMPLE
        conn.user, conn.password = dn, password
        try:
            conn.bind(read_server_info=False)
        except LDAPOperationResult:
            raise
        except (LDAPCommunicationError, OSError) as exc:
            raise ServerUnavailable(self.server, f"stopped answering ({_brief(exc)})") from None
        finally:
            conn.password = None

    def close(self) -> None:
        with contextlib.suppress(LDAPException, OSError):
            self.connection.unbind()


def open_server(server: ServerUrl, config: LdapConfig, context: ssl.SSLContext) -> OpenServer:
    """Connect to one server (TLS or StartTLS as configured); raises ServerUnavailable."""
    tls = _ContextTls(context, server.host)
    target = Server(server.host, port=server.port, use_ssl=server.transport == "SSL", tls=tls,
                    get_info=NONE, connect_timeout=config.connect_timeout)
    conn = Connection(target, client_strategy=SYNC, raise_exceptions=True, read_only=True,
                      auto_referrals=False, receive_timeout=config.read_timeout,
                      return_empty_attributes=False)
    try:
        conn.open(read_server_info=False)
        _no_delay(conn.socket)
        if server.transport == "STARTTLS":
            conn.start_tls(read_server_info=False)
    except (LDAPException, OSError) as exc:
        with contextlib.suppress(LDAPException, OSError):
            conn.unbind()
        if tls.failure:
            raise ServerUnavailable(server, tls.failure,
                                    certificate="certificate" in tls.failure) from None
        raise ServerUnavailable(server, _connect_reason(exc, server, config)) from None
    return OpenServer(server, conn)


def _connect_reason(exc: BaseException, server: ServerUrl, config: LdapConfig) -> str:
    history = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], list) else []
    if history and isinstance(history[0], tuple) and isinstance(history[0][0], BaseException):
        exc = history[0][0]   # several addresses for one name: the first one's reason
    if "invalid server address" in str(exc):
        return f"the host name '{server.host}' cannot be resolved"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running and listening on this port?)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer within {config.connect_timeout}s"
    if isinstance(exc, socket.gaierror):
        return f"the host name '{server.host}' cannot be resolved"
    if server.transport == "STARTTLS" and "startTLS" in str(exc):
        return f"the server refused StartTLS ({_brief(exc)})"
    return _brief(exc)


def _brief(exc: BaseException) -> str:
    """ldap3's exception text without its prefixes; never contains a password (ldap3 puts no
    request data in these messages)."""
    text = str(exc)
    for prefix in ("socket connection error while opening: ", "socket ssl wrapping error: ",
                   "wrap socket error: "):
        text = text.replace(prefix, "")
    return text or type(exc).__name__
