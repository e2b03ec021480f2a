"""Why can the console not talk to this Controller? A connection taken apart step by step.

``diagnose(target)`` walks what a hop does, in order, and stops at the first step that fails:
the URL, DNS (``getaddrinfo``), TCP, the TLS handshake presenting the console's client
certificate, the Controller's server certificate (checked with ``cryptography``'s verifier
against the trusted CA: chain, validity, the URL's name in its SAN), whether the Controller
maps the console's DN to a user, the hop login, and a health read. Each step says in one
sentence what happened and, when it failed, what to check.

The handshake is made without verifying the server first (the verification is the next step,
done here with a reason an administrator can act on); nothing secret is sent over that
connection, only a ``GET /api`` without a session. The login and the health read go through
the ordinary client with the verifying context.

A :class:`Target` holds everything the network part needs, so the caller reads the store (and
checks the permission) first and runs the diagnosis outside its store lock: an unreachable
Controller then delays nobody else.
"""

from __future__ import annotations

import _ssl
import contextlib
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from js7tui.errors import Js7Error
from js7tui.pki.material import ClientMaterial, ssl_client_context

DEFAULT_TIMEOUT = 5.0
# TLS alerts a server sends when it does not accept the client's certificate.
_CLIENT_CERT_ALERTS = ("UNKNOWN_CA", "CERTIFICATE_REQUIRED", "BAD_CERTIFICATE",
                       "CERTIFICATE_REVOKED", "CERTIFICATE_EXPIRED", "CERTIFICATE_UNKNOWN",
                       "HANDSHAKE_FAILURE", "ACCESS_DENIED", "UNSUPPORTED_CERTIFICATE")
CLIENT_CERT_HINT = ("Import the console's CA into the Controller's truststore (a bundle made "
                    "by the console does that); renew the console's certificate if it expired "
                    "or was revoked (js7tui cert list shows its state).")


@dataclass(frozen=True)
class Target:
    """A registered Controller as the network part of a diagnosis needs it (no store)."""

    controller_id: str
    url: str
    hop_user: str
    password: str = field(repr=False)
    client_name: str
    material: ClientMaterial | None          # None: no usable client certificate
    material_problem: str = ""               # why not
    own_ca: bool = False                     # the registration names its own CA


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    text: str
    hint: str = ""

    def line(self) -> str:
        mark = "ok" if self.ok else "FAILED"
        return f"{self.name}: {mark} - {self.text}" + (f" {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class Diagnosis:
    controller_id: str
    url: str
    steps: tuple[Step, ...]
    health: dict[str, Any] | None = None
    days_left: int | None = None           # of the Controller's server certificate
    mutual_tls: bool | None = None         # the Controller refuses clients without a certificate
    client_dn: str = ""

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)

    @property
    def failed(self) -> Step | None:
        return next((s for s in self.steps if not s.ok), None)

    @property
    def reachable(self) -> bool:
        """The Controller answered over TLS (later steps may still refuse the console)."""
        return any(s.name == "TLS handshake" and s.ok for s in self.steps)

    @property
    def summary(self) -> str:
        failed = self.failed
        if failed is None:
            return "login ok; the Controller answers"
        return f"{failed.name} failed: {failed.text}"

    def text(self) -> str:
        return "\n".join(s.line() for s in self.steps)


class NotHttp(ValueError):
    """The other side speaks TLS but does not answer HTTP."""


class _Stop(Exception):
    def __init__(self, step: Step) -> None:
        super().__init__(step.text)
        self.step = step


class _Run:
    """One diagnosis: collects the steps, stops at the first failure."""

    def __init__(self, target: Target, now: datetime, timeout: float) -> None:
        self.target = target
        self.now = now
        self.timeout = timeout
        self.steps: list[Step] = []
        self.facts: dict[str, Any] = {}

    def ok(self, name: str, text: str) -> None:
        self.steps.append(Step(name, True, text))

    def fail(self, name: str, text: str, hint: str = "") -> None:
        raise _Stop(Step(name, False, text, hint))


def diagnose(target: Target, *, now: datetime | None = None,
             timeout: float = DEFAULT_TIMEOUT) -> Diagnosis:
    """Every step up to the first that fails (see the module docstring)."""
    run = _Run(target, now or datetime.now(UTC), timeout)
    try:
        _steps(run)
    except _Stop as stop:
        run.steps.append(stop.step)
    return Diagnosis(target.controller_id, target.url, tuple(run.steps),
                     health=run.facts.get("health"), days_left=run.facts.get("days_left"),
                     mutual_tls=run.facts.get("mutual_tls"),
                     client_dn=run.facts.get("client_dn", ""))


def _steps(run: _Run) -> None:
    host, port = _parse_url(run)
    addresses = _resolve(run, host, port)
    material = _client_material(run)
    with _connect(run, host, port, addresses) as sock:
        leaf, chain, status, body = _handshake(run, sock, host, material)
    _server_certificate(run, host, leaf, chain, material)
    _distinguished_name(run, status, body)
    _mutual_tls(run, host, port, addresses)
    _login_and_health(run, material)


# -- the steps ------------------------------------------------------------------------------
def _parse_url(run: _Run) -> tuple[str, int]:
    parts = urlsplit(run.target.url)
    try:
        port = parts.port or 443
    except ValueError:
        run.fail("URL", f"'{run.target.url}' has no valid port",
                 "Correct the registration (remove and register the Controller again).")
    if parts.scheme != "https" or not parts.hostname:
        run.fail("URL", f"'{run.target.url}' is not an https:// URL",
                 "A Controller is reached over HTTPS; register it with https://host:port.")
    run.ok("URL", f"https to {parts.hostname} port {port}")
    return str(parts.hostname), port


def _resolve(run: _Run, host: str, port: int) -> list[Any]:
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        run.fail("DNS", f"the name '{host}' does not resolve ({_os_reason(exc)})",
                 "Check the host name in the URL and this machine's DNS resolver "
                 "(/etc/resolv.conf, /etc/hosts).")
    addresses = [info[4][0] for info in infos]
    if literal:
        run.ok("DNS", f"{host} is an IP address; nothing to look up")
    else:
        shown = ", ".join(dict.fromkeys(addresses))
        run.ok("DNS", f"{host} resolves to {shown}")
    return infos


def _client_material(run: _Run) -> ClientMaterial:
    material = run.target.material
    if material is None:
        run.fail("client certificate", run.target.material_problem or
                 f"the console has no certificate '{run.target.client_name}' to present",
                 "Issue one (js7tui cert issue console NAME) and bundle it to the Controller.")
    assert material is not None
    leaf = x509.load_pem_x509_certificates(material.cert_chain_pem)[0]
    run.facts["client_dn"] = leaf.subject.rfc4514_string()
    return material


@contextlib.contextmanager
def _connect(run: _Run, host: str, port: int, infos: list[Any]) -> Iterator[socket.socket]:
    sock = _tcp(run, infos, host, port, record=True)
    try:
        yield sock
    finally:
        sock.close()


def _tcp(run: _Run, infos: list[Any], host: str, port: int, *,
         record: bool) -> socket.socket:
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(run.timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        if record:
            run.ok("TCP", f"connected to {address[0]} port {port}")
        return sock
    if isinstance(last, TimeoutError | socket.timeout):
        run.fail("TCP", f"no answer from {host} port {port} within {run.timeout:g} s",
                 "The host may be down, or a firewall drops the packets; check the "
                 "address and the firewall between this machine and the Controller.")
    if isinstance(last, ConnectionRefusedError):
        run.fail("TCP", f"nothing listens on {host} port {port} (connection refused)",
                 "Is the Controller running, and is this its HTTPS port (its config.toml, "
                 "[server] listen)?")
    run.fail("TCP", f"cannot connect to {host} port {port} ({_os_reason(last)})",
             "Check the address, the route and the firewall.")
    raise AssertionError("unreachable")


def _probe_context(material: ClientMaterial | None) -> ssl.SSLContext:
    """Present the certificate (if any) but verify nothing: the next step verifies."""
    if material is None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    else:
        context = ssl_client_context(material, check_crl=False, check_hostname=False)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _get_api(sock: ssl.SSLSocket, host: str, timeout: float) -> tuple[int, dict[str, Any]]:
    """``GET /api`` without a session: 401 means the Controller accepted the certificate."""
    sock.settimeout(timeout)
    sock.sendall(f"GET /api HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n"
                 "Connection: close\r\n\r\n".encode("ascii"))
    data = b""
    while len(data) < 65536:
        chunk = sock.recv(8192)
        if not chunk:
            break
        data += chunk
    if not data:
        # TLS 1.3: the server checks the client certificate after the client's side of the
        # handshake is done; a refusal then shows as a connection closed without an answer.
        raise ConnectionAbortedError("closed without an answer")
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    try:
        status = int(status_line.split()[1])
    except (IndexError, ValueError):
        raise NotHttp(f"it begins {status_line[:60]!r}") from None
    try:
        parsed = json.loads(body.decode("utf-8") or "{}")
    except ValueError:
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {}


def _alert(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or str(exc)
    return str(reason)


def _handshake(run: _Run, raw: socket.socket, host: str, material: ClientMaterial
               ) -> tuple[x509.Certificate, list[x509.Certificate], int, dict[str, Any]]:
    client = run.facts["client_dn"]
    name = "TLS handshake"
    try:
        sock = _probe_context(material).wrap_socket(raw, server_hostname=host)
    except ssl.SSLError as exc:
        _tls_failed(run, name, exc, client)
    except TimeoutError:
        run.fail(name, f"{host} accepted TCP but did not finish the TLS handshake within "
                 f"{run.timeout:g} s", "Is this port the Controller's HTTPS port, and is the "
                 "Controller process healthy (not stopped or overloaded)?")
    except OSError as exc:
        run.fail(name, f"the connection broke during the TLS handshake ({_os_reason(exc)})",
                 "The Controller may not trust the console's certificate; see its log.")
    with sock:      # wrap_socket took over the connection: close it here
        der = sock.getpeercert(binary_form=True)
        if not der:
            run.fail(name, "the Controller sent no certificate")
        leaf = x509.load_der_x509_certificate(der)
        chain = _sent_chain(sock)
        version = sock.version() or "TLS"
        try:
            status, body = _get_api(sock, host, run.timeout)
        except ssl.SSLError as exc:
            _tls_failed(run, name, exc, client)
        except TimeoutError:
            run.fail(name, f"no answer over TLS within {run.timeout:g} s",
                     "Is this port the Controller's HTTPS port?")
        except NotHttp as exc:
            run.fail(name, f"TLS works but the answer is not HTTP ({exc})",
                     "Is this URL a js7tui Controller?")
        except OSError as exc:
            run.fail(name, f"TLS handshake refused: the Controller closed the connection "
                     f"({_os_reason(exc)}); the Controller does not trust the console's "
                     f"certificate '{client}'", CLIENT_CERT_HINT)
    run.ok(name, f"{version}, presenting the console's certificate '{client}'")
    return leaf, chain, status, body


def _tls_failed(run: _Run, name: str, exc: ssl.SSLError, client: str) -> None:
    reason = _alert(exc)
    upper = reason.upper()
    if any(alert in upper for alert in _CLIENT_CERT_ALERTS) and "ALERT" in upper:
        run.fail(name, f"TLS handshake refused ({reason}): the Controller does not trust the "
                 f"console's certificate '{client}'", CLIENT_CERT_HINT)
    if "WRONG_VERSION_NUMBER" in upper or "HTTP" in upper or "RECORD" in upper:
        run.fail(name, f"the other side does not speak TLS ({reason})",
                 "Is this the Controller's HTTPS port, and does it run with its certificates?")
    run.fail(name, f"the TLS handshake failed ({reason})",
             "See the Controller's log for why it refused the connection.")


def _sent_chain(sock: ssl.SSLSocket) -> list[x509.Certificate]:
    """The certificates the server sent after its own (intermediates), where Python shows
    them (``get_unverified_chain``: public from 3.13, on the internal object before)."""
    getter = getattr(sock, "get_unverified_chain", None) or getattr(
        getattr(sock, "_sslobj", None), "get_unverified_chain", None)
    if getter is None:
        return []
    try:
        sent = getter() or []
        certs = [x509.load_der_x509_certificate(
            c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER))
            for c in sent]
    except (ValueError, AttributeError, ssl.SSLError):
        return []
    return certs[1:]


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)] + \
        [str(n) for n in san.get_values_for_type(x509.IPAddress)]


def _matches(host: str, names: list[str]) -> bool:
    try:
        wanted: Any = ipaddress.ip_address(host)
        return any(_same_ip(wanted, n) for n in names)
    except ValueError:
        pass
    host = host.lower().rstrip(".")
    for name in names:
        name = name.lower()
        if name == host:
            return True
        if name.startswith("*.") and host.split(".", 1)[-1] == name[2:] and "." in host:
            return True
    return False


def _same_ip(wanted: Any, name: str) -> bool:
    try:
        return ipaddress.ip_address(name) == wanted
    except ValueError:
        return False


def _server_certificate(run: _Run, host: str, leaf: x509.Certificate,
                        chain: list[x509.Certificate], material: ClientMaterial) -> None:
    name = "server certificate"
    subject = leaf.subject.rfc4514_string()
    issuer = leaf.issuer.rfc4514_string()
    trusted = x509.load_pem_x509_certificates(material.ca_pem) if material.ca_pem else []
    anchor = "the Controller's registered CA" if run.target.own_ca else "the console's CA"
    after = leaf.not_valid_after_utc
    days = (after - run.now).days
    run.facts["days_left"] = days
    if after < run.now:
        run.fail(name, f"the Controller's certificate '{subject}' expired on "
                 f"{after:%Y-%m-%d}", "Renew it (js7tui cert renew) and import the new bundle "
                 "on the Controller.")
    if leaf.not_valid_before_utc > run.now:
        run.fail(name, f"the Controller's certificate '{subject}' is valid only from "
                 f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
                 "Check the clocks of both machines.")
    names = _names(leaf)
    if not _matches(host, names):
        run.fail(name, f"the Controller's certificate is for {', '.join(names) or 'no name'}, "
                 f"not for '{host}'", "Use one of those names in the URL, or issue the "
                 "Controller a certificate with this name (SAN).")
    roots = [c for c in trusted if c.issuer == c.subject]
    if not roots:
        run.fail(name, f"there is no root certificate in {anchor} to check "
                 f"'{subject}' against", "Register the Controller with its CA's root "
                 "certificate.")
    intermediates = [c for c in trusted if c.issuer != c.subject] + chain
    try:
        builder = PolicyBuilder().store(Store(roots)).time(run.now)
        subject_name: x509.GeneralName
        try:
            subject_name = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            subject_name = x509.DNSName(host)
        builder.build_server_verifier(subject_name).verify(leaf, intermediates)
    except VerificationError as exc:
        roots_text = ", ".join(f"'{r.subject.rfc4514_string()}'" for r in roots)
        run.fail(name, f"the Controller's certificate '{subject}' (issued by '{issuer}') does "
                 f"not chain to {anchor} ({roots_text}): {exc}",
                 "Register the Controller with the CA that issued its certificate, or give "
                 "the Controller a certificate from the console's CA (js7tui cert bundle "
                 "controller NAME).")
    run.ok(name, f"'{subject}' issued by '{issuer}', trusted by {anchor}, names "
           f"'{host}', {days} days left")


def _distinguished_name(run: _Run, status: int, body: dict[str, Any]) -> None:
    name = "DN accepted"
    client = run.facts["client_dn"]
    code = str(body.get("code", ""))
    if status == 403 and code == "UnknownDistinguishedName":
        run.fail(name, f"the Controller does not know the console's certificate '{client}' "
                 "(unknown distinguished name)",
                 "Add this DN to the Controller's allowed_clients (make and import a new "
                 "Controller bundle after issuing the console certificate), or register the "
                 "Controller with a client certificate it maps.")
    if status == 403:
        run.fail(name, f"the Controller refused the console's certificate: "
                 f"{body.get('message') or code or 'HTTP 403'}")
    if status not in (200, 401):
        run.fail(name, f"unexpected answer HTTP {status} "
                 f"{body.get('message') or code}".strip(),
                 "Is this URL a js7tui Controller?")
    run.ok(name, f"the Controller maps '{client}' to its users")


def _mutual_tls(run: _Run, host: str, port: int, infos: list[Any]) -> None:
    """Is a client certificate required? Asked with a connection that presents none."""
    try:
        raw = _tcp(run, infos, host, port, record=False)
    except _Stop:
        return
    try:
        with _probe_context(None).wrap_socket(raw, server_hostname=host) as sock:
            status, body = _get_api(sock, host, run.timeout)
        required = status == 403 and body.get("code") == "ClientCertificateRequired"
    except (OSError, ssl.SSLError, NotHttp):
        required = True
    finally:
        raw.close()
    run.facts["mutual_tls"] = required
    run.ok("mutual TLS", "on: the Controller refuses clients without a certificate"
           if required else "OFF: the Controller answers clients without a certificate")


def _login_and_health(run: _Run, material: ClientMaterial) -> None:
    from js7tui.client.controller import ControllerClient, ControllerRefused

    target = run.target
    try:
        context = ssl_client_context(material)
    except (ssl.SSLError, OSError) as exc:
        run.fail("login", f"the console's TLS material does not load ({exc})")
    with ControllerClient(target.url, target.hop_user, target.password, ssl_context=context,
                          timeout=run.timeout) as client:
        try:
            client.login()
        except ControllerRefused as exc:
            if exc.status == 401:
                run.fail("login", f"the Controller refused the hop user '{target.hop_user}' "
                         f"with the registered password ({exc})",
                         "Check the password registered here against the Controller's "
                         f"[users.{target.hop_user}] password_hash.")
            run.fail("login", f"the Controller refused the login: {exc} [{exc.code}]")
        except Js7Error as exc:
            run.fail("login", str(exc), "A revoked Controller certificate (the console's "
                     "CRL) also ends here.")
        run.ok("login", f"login ok as '{target.hop_user}'")
        try:
            health = client.health()
        except Js7Error as exc:
            run.fail("health", f"the Controller did not answer its overview: {exc}")
    run.facts["health"] = health
    agents = health.get("agents") or []
    connected = sum(1 for a in agents if a.get("connected"))
    run.ok("health", f"Controller '{health.get('id', '?')}' answers: "
           f"{health.get('items', 0)} deployed items, {len(agents)} "
           f"Agent{'' if len(agents) == 1 else 's'} ({connected} connected)")


def _os_reason(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
