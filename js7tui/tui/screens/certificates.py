"""Section 5: the CA and the certificates it issued.

Top: the CA panel (posture, root online/offline, issuing CA, key types, days left, CRL number
and next update, warnings in words). Below: every certificate with its state in words
(valid, expiring in N days, expired, revoked (reason), superseded); enter shows the detail
(subject, SAN, EKU, issuer, fingerprints, revocation).

Keys: n issue (a form per purpose), b export a bundle (progress, then the store password shown
once), d revoke (reason, then type the certificate's name), R renew, i confirm a renewal's
import (revokes the old one as superseded), c export the CRL to a file (atomic, 0600), s sign
a new CRL. Each change goes through ``change`` (the audit comment when asked or forced); the
keys are hidden without ``certificates:manage`` and in read-only mode, and the service checks
again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from js7tui.errors import ValidationError
from js7tui.permissions.names import CERTIFICATES_MANAGE
from js7tui.pki.bundle import COMPONENTS
from js7tui.pki.keys import KeyType
from js7tui.pki.profiles import ISSUABLE, Purpose
from js7tui.pki.records import CertRecord, Status
from js7tui.pki.service import BundleResult, CaStatus
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.screens.certificate_forms import (
    REASON_CHOICES,
    PasswordOnceModal,
    ProgressModal,
    bundle_fields,
    ca_lines,
    check_bundle,
    check_root_key,
    crl_fields,
    days_text,
    detail_lines,
    free_path,
    hosts_san,
    issue_request,
    parse_days,
    purpose_fields,
    root_key_fields,
    short_serial,
    state_words,
    write_atomically,
    write_new,
)
from js7tui.tui.widgets.lists import HouseTable, Row
from js7tui.tui.widgets.modals import ConfirmModal, Field, FormModal, TypedConfirmModal

CHANGES = ("issue", "bundle", "revoke", "renew", "confirm_import", "export_crl", "sign_crl",
           "export_root_key")


class BundleStep(Message):
    """The bundle worker reached a step (posted from the worker thread)."""

    def __init__(self, text: str | None) -> None:
        super().__init__()
        self.text = text  # None: the worker failed, close the progress


def row_key(record: CertRecord) -> str:
    return record.serial or f"pending-{record.id}"


class CertificatesScreen(SectionScreen):
    SECTION = "certificates"
    BINDINGS = [
        Binding("n", "issue", "Issue", id="certificates.issue",
                tooltip="Issue a certificate (a form per purpose)"),
        Binding("b", "bundle", "Bundle", id="certificates.bundle",
                tooltip="Export a bundle for a console, Controller or Agent to a file"),
        Binding("d", "revoke", "Revoke", id="certificates.revoke",
                tooltip="Revoke the certificate (reason, then type its name); signs a new CRL"),
        Binding("R", "renew", "Renew", id="certificates.renew", key_display="R", show=False,
                tooltip="A new certificate for the same subject; the old one stays valid "
                        "until the import is confirmed"),
        Binding("i", "confirm_import", "Confirm import", show=False,
                id="certificates.confirm",
                tooltip="The renewed certificate is installed: revoke the one it replaces"),
        Binding("c", "export_crl", "CRL", id="certificates.crl",
                tooltip="Export the current CRL to a file (e.g. a server's tls/crl.pem)"),
        Binding("s", "sign_crl", "Sign CRL", show=False, id="certificates.sign_crl",
                tooltip="Sign a new CRL now (and set how long new CRLs last)"),
        Binding("x", "export_root_key", "Export root key", show=False,
                id="certificates.export_root_key",
                tooltip="Write the root CA's key to a 0600 file and remove it from the store "
                        "(keep it offline)"),
    ]
    ACTION_PERMISSIONS = dict.fromkeys(CHANGES, CERTIFICATES_MANAGE)
    MUTATING = frozenset(CHANGES)
    HELP = ("The CA and its certificates. **enter** detail, **n** issue, **b** bundle, "
            "**d** revoke, **R** renew, **i** confirm a renewal, **c** export the CRL, "
            "**s** sign a CRL, **x** move the root key offline.")
    DEFAULT_CSS = """
    CertificatesScreen #ca-panel { height: auto; padding: 0 1; border: round $primary;
        border-title-align: left; text-wrap: nowrap; text-overflow: ellipsis; }
    CertificatesScreen #ca-warnings { height: auto; padding: 0 1; color: $text-warning; }
    CertificatesScreen #certs-table { height: 1fr; }
    CertificatesScreen #cert-detail { height: auto; max-height: 50%; border: round $accent;
        padding: 0 1; display: none; }
    CertificatesScreen #cert-detail.open { display: block; }
    """

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.records: dict[str, CertRecord] = {}
        self.status: CaStatus | None = None
        self.now: datetime | None = None
        self._pending_select: str | None = None
        self._progress: ProgressModal | None = None

    def compose_body(self) -> ComposeResult:
        panel = Static("reading the CA...", id="ca-panel")
        panel.border_title = "Certificate authority"
        yield panel
        yield Static("", id="ca-warnings")
        # the state first after the name: a narrow terminal cuts the columns at the end
        yield HouseTable(("Name", "Purpose", "State", "Days", "Not after", "Serial"),
                         id="certs-table", empty="no certificates")
        with VerticalScroll(id="cert-detail"):
            yield Static("", id="cert-detail-text")

    def on_mount(self) -> None:
        self.table.focus()

    @property
    def table(self) -> HouseTable:
        return self.query_one("#certs-table", HouseTable)

    @property
    def service(self) -> Any:
        return self.ctx.console.certificates

    # -- reading --------------------------------------------------------------------------
    def reload(self, then_select: str | None = None) -> None:
        session = self.ctx.session
        if session is None:
            return
        service = self.service

        def read() -> tuple[CaStatus, list[CertRecord], datetime]:
            return (service.status(session), service.list(session, include_revoked=True),
                    service.now())

        self.run_service("certificates", read, then=lambda r: self._loaded(*r, then_select))

    def _loaded(self, status: CaStatus, records: list[CertRecord], now: datetime,
                select: str | None) -> None:
        self.status, self.now = status, now
        lines, warnings = ca_lines(status, now,
                                   key_here=bool(self.check_action("export_root_key", ())))
        self.query_one("#ca-panel", Static).update("\n".join(lines))
        self.query_one("#ca-warnings", Static).update(
            "\n".join(f"warning: {escape(w)}" for w in warnings))
        ordered = sorted(records, key=lambda r: (r.status is Status.REVOKED, r.purpose, r.name,
                                                 r.not_after or now))
        self.records = {row_key(r): r for r in ordered}
        self.table.set_rows(
            Row(row_key(r), (r.name, r.purpose, state_words(r, now), days_text(r, now),
                             f"{r.not_after:%Y-%m-%d}" if r.not_after else "-",
                             short_serial(r.serial)))
            for r in ordered)
        if self._pending_select:
            self._select(self._pending_select, detail=True)
            self._pending_select = None
        elif select:
            self._select(select)
        if self.query_one("#cert-detail").has_class("open"):
            self._show_detail()

    def select_item(self, item: str) -> None:
        """Select the certificate with this serial (or a prefix of it) and show its detail;
        the dashboard opens certificates this way."""
        if not self.records:
            self._pending_select = item
            return
        self._select(item, detail=True)

    def _select(self, serial: str, *, detail: bool = False) -> None:
        wanted = serial.strip().lower().replace(":", "")
        keys = self.table.visible_keys
        match = [k for k in keys if k == wanted] or [k for k in keys if k.startswith(wanted)]
        if not match:
            self.show_error(f"no certificate with serial {serial} in the list")
            return
        self.table.move_cursor(row=keys.index(match[0]))
        if detail:
            self._show_detail()

    @property
    def current(self) -> CertRecord | None:
        key = self.table.current_key
        return self.records.get(key) if key else None

    @on(HouseTable.Opened)
    def _opened(self) -> None:
        detail = self.query_one("#cert-detail")
        if detail.has_class("open"):
            detail.remove_class("open")
        else:
            self._show_detail()

    @on(HouseTable.RowHighlighted)
    def _highlighted(self) -> None:
        if self.query_one("#cert-detail").has_class("open"):
            self._show_detail()

    def _show_detail(self) -> None:
        record = self.current
        if record is None or self.now is None:
            return
        text = "\n".join(f"[b]{label:<11}[/b] {escape(value)}"
                         for label, value in detail_lines(record, self.now))
        self.query_one("#cert-detail-text", Static).update(text)
        detail = self.query_one("#cert-detail")
        detail.border_title = f"{record.purpose} '{record.name}'"
        detail.add_class("open")

    def _after(self, select: str | None, done: str) -> Callable[[Any], None]:
        def then(_: object) -> None:
            self.show_done(done)
            self.reload(then_select=select)
        return then

    # -- issue ----------------------------------------------------------------------------
    def action_issue(self) -> None:
        def chosen(values: dict[str, Any] | None) -> None:
            if values is not None and values.get("purpose"):
                self._issue_form(Purpose(values["purpose"]))
        self.app.push_screen(FormModal("Issue a certificate", [Field(
            "purpose", "Purpose", kind="choice", choices=[p.value for p in ISSUABLE],
            value="controller", required=True,
            help="console: the console's client certificate; controller/agent: servers "
                 "(their key is held until the bundle is exported); user: login with a "
                 "certificate; signing: signs deployments")]), chosen)

    def _issue_form(self, purpose: Purpose) -> None:
        default_key = self.status.leaf_key_type if self.status else KeyType.EC_P256.value

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            request = issue_request(purpose, values)
            key_file = str(values.get("key_file") or "").strip()
            hold = purpose in (Purpose.CONTROLLER, Purpose.AGENT)
            service = self.service

            def issue(session: Any, *, meta: Any) -> Any:
                issued = service.issue(session, request, hold_key=hold, meta=meta)
                if key_file and issued.key is not None:
                    write_new(Path(key_file).expanduser(), issued.key_pem(None), False)
                return issued

            def then(issued: Any) -> None:
                record = issued.record
                extra = (f"; key written to {key_file} (0600)" if key_file else "")
                if hold:
                    extra += "; its key is held until you export the bundle (b)"
                self.show_done(f"issued {record.label}, valid until "
                               f"{record.not_after:%Y-%m-%d}{extra}")
                self.reload(then_select=record.serial)
            self.change(f"issue a {purpose.value} certificate for '{request.name}'", issue,
                        then=then)
        self.app.push_screen(FormModal(
            f"Issue: {purpose.profile.what}", purpose_fields(purpose, default_key),
            validate=lambda values: issue_request(purpose, values)), done)

    # -- bundle ---------------------------------------------------------------------------
    def action_bundle(self) -> None:
        record = self.current
        component, name = "controller", ""
        if record is not None and record.purpose in COMPONENTS:
            component, name = record.purpose, record.name

        def done(values: dict[str, Any] | None) -> None:
            if values is not None:
                self._export_bundle(values)
        self.app.push_screen(FormModal(
            "Export a bundle", bundle_fields(component, name), validate=check_bundle,
            note="Keystore, truststore, PEM files, CRL and config for the component; the "
                 "store password is generated and shown once."), done)

    def _export_bundle(self, values: dict[str, Any]) -> None:
        component = values["component"]
        name = str(values["name"]).strip()
        controller = str(values.get("controller") or "").strip() or None
        path = Path(str(values["path"]).strip()).expanduser()
        overwrite = bool(values.get("overwrite"))
        san = hosts_san(values.get("hosts") or "")
        service = self.service

        def build(session: Any, *, meta: Any) -> BundleResult:
            self.post_message(BundleStep("building the bundle: certificate, PKCS#12 "
                                         "keystore, truststore, CRL, config..."))

            def write(data: bytes) -> None:
                self.post_message(BundleStep(f"writing {path} (0600, {len(data)} bytes)..."))
                write_new(path, data, overwrite)
            try:
                return service.bundle(session, component, name, controller=controller,
                                      san=san, write=write, meta=meta)
            except Exception:
                self.post_message(BundleStep(None))  # close the progress, then the refusal
                raise

        def then(result: BundleResult) -> None:
            self._close_progress()
            record = result.record
            lines = [f"The bundle of the {component} '{name}' is written to {path} (0600).",
                     f"Certificate {record.subject}, valid until {record.not_after:%Y-%m-%d}."]
            if component != "console":
                lines.append(f"On the {component}'s host: js7tui {component} import-bundle "
                             f"{path.name} --config DIR")
            self.app.push_screen(PasswordOnceModal(
                lines, result.password if result.password_generated else None))
            self.reload(then_select=record.serial)

        self.change(f"export the bundle of the {component} '{name}' to {path}", build,
                    then=then)

    def on_bundle_step(self, message: BundleStep) -> None:
        message.stop()
        if message.text is None:
            self._close_progress()
        elif self._progress is None:
            self._progress = ProgressModal("Exporting a bundle", message.text)
            self.app.push_screen(self._progress)
        else:
            self._progress.step(message.text)

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.dismiss(None)
            self._progress = None

    # -- revoke, renew, confirm -----------------------------------------------------------
    def action_revoke(self) -> None:
        record = self.current
        if record is None:
            return
        if record.status is not Status.VALID or not record.serial:
            self.show_error(f"the certificate of {record.label} is "
                            f"{state_words(record, self.now or self.service.now())}; only a "
                            "valid certificate can be revoked")
            return

        def reason(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            chosen = values["reason"]

            def typed(ok: bool | None) -> None:
                if ok:
                    self.change(f"revoke {record.label} ({chosen})", self.service.revoke,
                                record.serial, chosen,
                                then=self._after(record.serial,
                                                 f"revoked {record.label} ({chosen}); a new "
                                                 "CRL is signed: export it with c"))
            self.app.push_screen(TypedConfirmModal(
                f"Revoke the {record.purpose} certificate '{record.name}' (serial "
                f"{short_serial(record.serial)}, {record.subject}), reason {chosen}? Servers "
                "refuse it once they have the new CRL. This cannot be undone.",
                record.name, title="Revoke certificate"), typed)
        self.app.push_screen(FormModal(f"Revoke {record.label}", [Field(
            "reason", "Reason (RFC 5280)", kind="choice", choices=REASON_CHOICES,
            value="unspecified", required=True)]), reason)

    def action_renew(self) -> None:
        record = self.current
        if record is None or not record.serial:
            return
        fields = [Field("days", "Valid for (days)", value="730", required=True)]
        needs_key_file = record.purpose in ("user", "signing") and not record.keep_key
        if needs_key_file:
            fields.append(Field("key_file", "Key file (0600)", required=True,
                                help="the new private key is written here (it is not kept)"))

        def check(values: dict[str, Any]) -> None:
            parse_days(values["days"])
            if needs_key_file:
                free_path(values["key_file"], what="key file")

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            days = parse_days(values["days"])
            key_file = str(values.get("key_file") or "").strip()
            service = self.service

            def renew(session: Any, *, meta: Any) -> Any:
                issued = service.renew(session, record.serial, days=days, meta=meta)
                if key_file and issued.key is not None:
                    write_new(Path(key_file).expanduser(), issued.key_pem(None), False)
                return issued

            def then(issued: Any) -> None:
                new = issued.record
                if new.purpose in ("controller", "agent"):
                    nxt = "export its bundle (b), install it, then confirm the import (i)"
                else:
                    nxt = "when it is in use, confirm the import (i): the old one is revoked"
                self.show_done(f"renewed: new {new.label}, valid until "
                               f"{new.not_after:%Y-%m-%d}; next: {nxt}")
                self.reload(then_select=new.serial)
            self.change(f"renew {record.label}", renew, then=then)
        self.app.push_screen(FormModal(
            f"Renew {record.label}", fields, validate=check,
            note="A new certificate for the same subject and SANs. The old one stays valid "
                 "until you confirm the new one's import (i)."), done)

    def action_confirm_import(self) -> None:
        record = self.current
        if record is None or not record.serial:
            return
        if record.replaces_id is None or record.import_confirmed:
            self.show_error(f"{record.label} is not a renewal waiting for its import to be "
                            "confirmed")
            return

        def done(ok: bool | None) -> None:
            if ok:
                self.change(f"confirm the import of {record.label}",
                            self.service.confirm_import, record.serial,
                            then=self._after(record.serial, f"import of {record.label} "
                                             "confirmed; the old certificate is superseded"))
        self.app.push_screen(ConfirmModal(
            f"Is the renewed {record.label} installed? Confirming revokes the certificate it "
            "replaces (superseded) and signs a new CRL."), done)

    # -- CRL ------------------------------------------------------------------------------
    def action_export_crl(self) -> None:
        def check(values: dict[str, Any]) -> None:
            free_path(values["path"], overwrite=bool(values.get("overwrite")), what="CRL file")

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            path = free_path(values["path"], overwrite=bool(values.get("overwrite")),
                             what="CRL file")
            root = bool(values.get("root"))
            service = self.service

            def export(session: Any, *, meta: Any) -> Any:
                record = service.export_crl(session, root=root, meta=meta)
                write_atomically(path, record.crl_pem.encode("ascii"))
                return record

            def then(record: Any) -> None:
                self.show_done(f"CRL #{record.crl_number} (next update "
                               f"{record.next_update:%Y-%m-%d}) written to {path}; install it "
                               "as tls/crl.pem on every Controller and Agent")
                self.reload()
            self.change(f"export the {'root' if root else 'issuing'} CA's CRL to {path}",
                        export, then=then)
        self.app.push_screen(FormModal("Export the CRL", crl_fields(), validate=check), done)

    def action_sign_crl(self) -> None:
        days = str(self.status.crl_days) if self.status else "30"

        def check(values: dict[str, Any]) -> None:
            value = parse_days(values["days"])
            if value > 366:
                raise ValidationError("the CRL's next update must be 1 to 366 days ahead")

        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            def then(record: Any) -> None:
                self.show_done(f"signed CRL #{record.crl_number}, next update "
                               f"{record.next_update:%Y-%m-%d}; export it with c")
                self.reload()
            self.change("sign a new CRL", self.service.sign_crl, parse_days(values["days"]),
                        then=then)
        self.app.push_screen(FormModal("Sign a new CRL", [Field(
            "days", "Next update in (days)", value=days, required=True,
            help="kept as the default for the CRLs signed after a revocation")],
            validate=check), done)

    # -- the root key offline -------------------------------------------------------------
    def action_export_root_key(self) -> None:
        def done(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            path = free_path(values["path"], what="key file")
            password = None if values["unencrypted"] else values["password"].encode("utf-8")

            def confirmed(ok: bool | None) -> None:
                if not ok:
                    return
                service = self.service

                def export(session: Any, *, meta: Any) -> None:
                    service.export_root_key(session, lambda pem: write_new(path, pem, False),
                                            password, meta=meta)
                self.change(f"move the root CA's key to {path}", export, then=self._after(
                    None, f"root key written to {path} (0600"
                          f"{', encrypted' if password else ''}) and removed from the store"))
            self.app.push_screen(ConfirmModal(
                f"Write the root CA's key to {path} and remove it from the store? The root's "
                "CRL cannot be signed here any more; keep the file offline.",
                title="Root key offline"), confirmed)
        self.app.push_screen(FormModal(
            "Move the root CA's key offline", root_key_fields(), validate=check_root_key,
            note="The key is written to the file (0600) and removed from the store in one "
                 "transaction: if writing fails, it stays in the store."), done)
