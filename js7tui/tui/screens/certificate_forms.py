"""What the certificates section shows and asks: state words, the CA panel's lines, the detail
of one certificate, the per-purpose issue form, the bundle and CRL forms, the bundle's
progress and the store password shown once.

Nothing here calls a service: the screen (``certificates.py``) does, in workers. Files are
written with :func:`js7tui.home.write_output_file` (0600); a CRL goes in place atomically (a
server that watches ``tls/crl.pem`` never reads half a file).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID
from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, LoadingIndicator, Static

from js7tui.errors import ValidationError
from js7tui.home import write_output_file
from js7tui.pki.bundle import COMPONENTS
from js7tui.pki.crl import REASONS
from js7tui.pki.issuing import IssueRequest
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import DEFAULT_SERVER_SAN, Purpose, check_name, parse_san
from js7tui.pki.records import Authority, CaRole, CertRecord, Status
from js7tui.pki.service import CaStatus
from js7tui.tui.widgets.modals import Field, _Modal

EXPIRING_DAYS = 30
SERIAL_SHORT = 10
DEFAULT_DAYS = 730
MAX_DAYS = 3650
KEY_CHOICES = [k.value for k in KeyType]
REASON_CHOICES = list(REASONS)
_EKU_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
              ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
              ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
              ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection"}


# -- words ------------------------------------------------------------------------------
def short_serial(serial: str | None) -> str:
    if not serial:
        return "(pending)"
    return serial if len(serial) <= SERIAL_SHORT else serial[:SERIAL_SHORT] + "~"


def state_words(record: CertRecord, now: datetime) -> str:
    """The state in words (never colour alone): valid, expiring in N days, expired, revoked
    (reason), superseded, pending."""
    if record.status is Status.REVOKED:
        reason = record.revocation_reason or "unspecified"
        return "superseded" if reason == "superseded" else f"revoked ({reason})"
    if record.status is Status.PENDING or record.not_after is None:
        return "pending (waiting for the signed certificate)"
    days = record.days_left(now)
    if record.not_after <= now:
        return "expired"
    renewal = record.replaces_id is not None and not record.import_confirmed
    if days is not None and days <= EXPIRING_DAYS:
        word = f"expiring in {days} day{'s' if days != 1 else ''}"
    else:
        word = "valid"
    return word + (" (renewal unconfirmed)" if renewal else "")


def days_text(record: CertRecord, now: datetime) -> str:
    days = record.days_left(now)
    return "-" if days is None else str(days)


def _authority_line(label: str, authority: Authority | None, now: datetime) -> str:
    """Most important first (a narrow terminal cuts the end of the line, the subject)."""
    if authority is None:
        return f"{label:<8} none"
    days = (authority.not_after - now).days
    if authority.key_online:
        key = "key in the store"
    elif authority.key_removed:
        key = f"key offline (exported {authority.key_removed[:10]})"
    else:
        key = "key not held here"
    return (f"{label:<8} until {authority.not_after:%Y-%m-%d} ({days} days) · "
            f"{authority.key_type} · {key} · {escape(authority.subject)}")


def ca_lines(status: CaStatus, now: datetime, *, key_here: bool = False
             ) -> tuple[list[str], list[str]]:
    """The CA panel's lines and its warnings (each a sentence an administrator acts on);
    ``key_here``: this session may move the root key offline from the screen (x)."""
    root = status.authorities.get(CaRole.ROOT)
    inter = status.authorities.get(CaRole.INTERMEDIATE)
    if inter is None:
        return (["CA: none yet. Create one with 'js7tui cert ca create' or import your "
                 "organisation's with 'js7tui cert ca import'."], [])
    online = "root key ONLINE (in the store)" if root is not None and root.key_online \
        else "root key offline"
    lines = [f"[b]{escape(status.posture)}[/b] · {online} · new certificates "
             f"{status.leaf_key_type}",
             _authority_line("Root", root, now), _authority_line("Issuing", inter, now)]
    crl = status.crls.get(CaRole.INTERMEDIATE)
    if crl is not None:
        left = (crl.next_update - now).days
        lines.append(f"{'CRL':<8} #{crl.crl_number} · next update "
                     f"{crl.next_update:%Y-%m-%d %H:%M} ({left} days) · signed "
                     f"{crl.last_update:%Y-%m-%d %H:%M} · new CRLs last {status.crl_days} days")
    else:
        lines.append(f"{'CRL':<8} none")
    warnings = []
    if root is not None and root.key_online:
        how = "x here, or js7tui cert export-root-key" if key_here else \
            "js7tui cert export-root-key"
        warnings.append(f"the root CA's key is in the store: keep it offline ({how})")
    for label, authority in (("root CA", root), ("issuing CA", inter)):
        if authority is None:
            continue
        days = (authority.not_after - now).days
        if authority.not_after <= now:
            warnings.append(f"the {label} expired on {authority.not_after:%Y-%m-%d}: no "
                            "certificate it issued can be trusted any more")
        elif days <= 90:
            warnings.append(f"the {label} expires in {days} days ({authority.not_after:%Y-%m-%d})"
                            ": plan a new CA and new certificates now")
    if crl is not None and crl.next_update <= now:
        warnings.append("the CRL is past its next update: servers refuse every client until "
                        "a new CRL is signed and installed (s signs one, c exports it)")
    return lines, warnings


def _extension(cert: x509.Certificate, kind: type) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def detail_lines(record: CertRecord, now: datetime) -> list[tuple[str, str]]:
    """Every field an administrator checks: subject, SAN, EKU, issuer, fingerprints,
    revocation, what happened to the key."""
    rows: list[tuple[str, str]] = [
        ("Serial", record.serial or "(pending)"),
        ("Purpose", record.purpose), ("Name", record.name),
        ("Owner", record.owner or "-"), ("Subject", record.subject),
        ("Issuer", record.issuer or "-"),
        ("SAN", ", ".join(record.san) or "-"), ("Key type", record.key_type),
        ("Not before", f"{record.not_before:%Y-%m-%d %H:%M} UTC" if record.not_before else "-"),
        ("Not after", (f"{record.not_after:%Y-%m-%d %H:%M} UTC ({days_text(record, now)} days "
                       "left)") if record.not_after else "-"),
        ("State", state_words(record, now)),
    ]
    if record.cert_pem:
        cert = record.cert
        eku = _extension(cert, x509.ExtendedKeyUsage)
        rows.append(("EKU", ", ".join(_EKU_NAMES.get(o, o.dotted_string) for o in eku)
                     if eku else "-"))
        rows.append(("SHA-256", cert.fingerprint(hashes.SHA256()).hex(":")))
        rows.append(("SHA-1", cert.fingerprint(hashes.SHA1()).hex(":")))
    if record.status is Status.REVOKED:
        rows.append(("Revoked", f"{(record.revoked_at or '')[:19]} "
                                f"({record.revocation_reason or 'unspecified'})"))
    rows.append(("Key", "held in the store" if record.key_held else "not in the store"))
    rows.append(("Exported", (record.exported or "")[:19] or "no"))
    if record.replaces_id is not None:
        rows.append(("Renewal", "import confirmed " + record.import_confirmed[:19]
                     if record.import_confirmed else "import not confirmed yet (i confirms)"))
    rows.append(("Created", f"{record.created[:19]} by {record.created_by}"))
    return rows


# -- forms ------------------------------------------------------------------------------
def purpose_fields(purpose: Purpose, default_key_type: str) -> list[Field]:
    """The fields one purpose needs: servers have SAN hosts, users and signers an e-mail and
    a key file (their key is not kept unless asked)."""
    name_label = "Account" if purpose in (Purpose.USER, Purpose.SIGNING) else "Name"
    fields = [Field("name", name_label, required=True,
                    value="console" if purpose is Purpose.CONSOLE else "")]
    if purpose.profile.server:
        fields.append(Field("hosts", "SAN hosts", value=", ".join(
            v.split(":", 1)[1] for v in DEFAULT_SERVER_SAN),
            help="DNS names and IP addresses the clients use, separated by commas"))
    if purpose in (Purpose.USER, Purpose.SIGNING):
        fields.append(Field("email", "E-mail", placeholder="optional"))
    fields += [Field("days", "Valid for (days)", value=str(DEFAULT_DAYS), required=True),
               Field("key_type", "Key type", kind="choice", choices=KEY_CHOICES,
                     value=default_key_type, required=True)]
    if purpose in (Purpose.USER, Purpose.SIGNING):
        fields += [Field("key_file", "Key file (0600)", placeholder="e.g. alice.key.pem",
                         help="the new private key is written here; it is not stored unless "
                              "'keep the key' is ticked"),
                   Field("keep_key", "Keep the key in the store", kind="bool")]
    return fields


def parse_days(text: str) -> int:
    try:
        days = int(str(text).strip())
    except ValueError:
        raise ValidationError(f"validity must be a number of days, not '{text}'") from None
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"validity must be 1 to {MAX_DAYS} days")
    return days


def hosts_san(text: str) -> list[str]:
    """'example.org, 10.0.0.1' -> ['DNS:example.org', 'IP:10.0.0.1'] (checked)."""
    import ipaddress
    out = []
    for host in (h.strip() for h in str(text or "").replace(" ", ",").split(",")):
        if not host:
            continue
        try:
            ipaddress.ip_address(host)
            out.append(f"IP:{host}")
        except ValueError:
            try:
                parse_san([f"DNS:{host}"])
            except ValidationError:
                raise ValidationError(f"SAN hosts: '{host}' is neither a DNS name nor an IP "
                                      "address") from None
            out.append(f"DNS:{host}")
    return out


def free_path(text: str, *, overwrite: bool = False, what: str = "file") -> Path:
    value = str(text or "").strip()
    if not value:
        raise ValidationError(f"give the {what}'s path")
    path = Path(value).expanduser()
    if path.is_dir():
        raise ValidationError(f"{path} is a directory; give a file name")
    if path.exists() and not overwrite:
        raise ValidationError(f"{path} exists; choose another file or tick 'overwrite'")
    return path


def issue_request(purpose: Purpose, values: dict[str, Any]) -> IssueRequest:
    """Check the form (ValidationError keeps it open, with the message) and build the
    request."""
    name = str(values.get("name") or "").strip()
    check_name(purpose, name)
    san = hosts_san(values.get("hosts", "")) if purpose.profile.server else []
    email = str(values.get("email") or "").strip() or None
    if email:
        san = [f"email:{email}"]
        parse_san(san)
    if purpose in (Purpose.USER, Purpose.SIGNING) and not values.get("keep_key"):
        free_path(values.get("key_file", ""), what="key file")
    return IssueRequest(purpose, name, san=san, email=email,
                        key_type=KeyType.parse(values.get("key_type") or KEY_CHOICES[0]),
                        days=parse_days(values.get("days", DEFAULT_DAYS)),
                        keep_key=bool(values.get("keep_key")))


def bundle_fields(component: str, name: str) -> list[Field]:
    return [Field("component", "Component", kind="choice", choices=list(COMPONENTS),
                  value=component or "controller", required=True),
            Field("name", "Name", value=name, required=True),
            Field("controller", "Controller", placeholder="for an Agent: its Controller"),
            Field("hosts", "SAN hosts", placeholder="new certificate only; default localhost",
                  help="for a new server certificate: DNS names and IPs, comma-separated"),
            Field("path", "Bundle file (0600)", required=True,
                  value=f"{name}.bundle.zip" if name else ""),
            Field("overwrite", "Overwrite the file if it exists", kind="bool")]


def check_bundle(values: dict[str, Any]) -> None:
    component = values.get("component") or ""
    if component not in COMPONENTS:
        raise ValidationError(f"bundles are for {', '.join(COMPONENTS)}")
    check_name(Purpose(component), str(values.get("name") or "").strip())
    if component == "agent" and not str(values.get("controller") or "").strip():
        raise ValidationError("an Agent bundle names its Controller: its certificate is the "
                              "Agent's only client")
    if values.get("hosts"):
        hosts_san(values["hosts"])
    free_path(values.get("path", ""), overwrite=bool(values.get("overwrite")),
              what="bundle file")


def crl_fields() -> list[Field]:
    return [Field("path", "CRL file", required=True, value="crl.pem",
                  help="e.g. a server's tls/crl.pem: it is replaced atomically"),
            Field("root", "The root CA's CRL instead", kind="bool"),
            Field("overwrite", "Overwrite the file if it exists", kind="bool")]


def root_key_fields() -> list[Field]:
    return [Field("path", "Key file (0600)", required=True, value="root-ca.key.pem"),
            Field("password", "Password", kind="password",
                  placeholder="at least 8 characters"),
            Field("repeat", "Repeat password", kind="password"),
            Field("unencrypted", "Write it without a password", kind="bool")]


def check_root_key(values: dict[str, Any]) -> None:
    free_path(values.get("path", ""), what="key file")
    if values.get("unencrypted"):
        return
    password = values.get("password") or ""
    if len(password) < 8:
        raise ValidationError("the key file password must have at least 8 characters (or "
                              "tick 'without a password')")
    if password != values.get("repeat"):
        raise ValidationError("the two passwords differ")


def write_atomically(path: Path, data: bytes) -> None:
    """A CRL over the one a server reads: 0600, in place in one rename."""
    write_output_file(path, data, overwrite=True, atomic=True)


def write_new(path: Path, data: bytes, overwrite: bool) -> None:
    """A bundle or key file: refused when it appeared meanwhile, 0600 otherwise."""
    write_output_file(path, data, overwrite=overwrite)


# -- modals -----------------------------------------------------------------------------
class ProgressModal(_Modal):
    """A long step in a worker: a loading indicator and the current step in words. It
    cannot be cancelled (the worker finishes its transaction); the screen dismisses it."""

    BINDINGS: list[Binding] = []
    DEFAULT_CSS = """
    ProgressModal LoadingIndicator { height: 3; }
    """

    def __init__(self, title: str, step: str) -> None:
        super().__init__()
        self.title_text = title
        self.first_step = step

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield LoadingIndicator()
            yield Static(escape(self.first_step), id="progress-step", classes="dialog-text")

    def step(self, text: str) -> None:
        self.first_step = text  # shown at compose when the modal is not mounted yet
        for widget in self.query("#progress-step"):
            widget.update(escape(text))  # type: ignore[attr-defined]

    def action_cancel(self) -> None:
        self.notify("the bundle is being built; it cannot be cancelled half-way", timeout=3)


class PasswordOnceModal(_Modal):
    """The generated store password, shown this one time: nothing keeps it."""

    BINDINGS = [
        Binding("enter", "noted", "Noted", id="password.noted",
                tooltip="I have noted the password: close (it is not shown again)"),
    ]

    def __init__(self, lines: list[str], password: str | None) -> None:
        super().__init__()
        self.lines = lines
        self.password = password

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="password-once"):
            yield Label("Bundle written", classes="dialog-title")
            yield Static("\n".join(escape(line) for line in self.lines), classes="dialog-text")
            if self.password is not None:
                yield Static("Store password ([b]shown once[/b], stored nowhere: note it now "
                             "and give it to whoever imports the bundle):",
                             classes="dialog-text")
                yield Static(f"  [b]{escape(self.password)}[/b]", id="bundle-password",
                             classes="dialog-text")
            else:
                yield Static("The store password is the one you gave.", classes="dialog-text")
            yield Static("[b]enter[/b] I have noted it", classes="dialog-keys")

    def action_noted(self) -> None:
        self.dismiss(True)
