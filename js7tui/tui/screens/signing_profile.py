"""Signing key and certificate in the account's profile (``k`` in the inventory).

What the security level prescribes, in words: LOW one installation key (held by the default
profile account), MEDIUM a key per deploying account, HIGH a certificate only (the key never
enters the console). ``g`` generates a key and certificate from the console's CA and ``i``
imports a key with its certificate (LOW, MEDIUM); ``c`` registers a certificate only (every
level, the only way at HIGH). Refusals are shown as the service words them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from js7tui.deployment.keys import SigningIdentity
from js7tui.errors import NotFound, ValidationError
from js7tui.identity.sessions import Session
from js7tui.permissions.names import INVENTORY_DEPLOY
from js7tui.tui.screens.base import SectionScreen
from js7tui.tui.widgets.modals import ConfirmModal, Field, FormModal

LEVELS = {
    "LOW": "security level LOW: one signing key for the whole installation, held by the "
           "default profile account; every deployer signs with it",
    "MEDIUM": "security level MEDIUM: each deploying account signs with its own key",
    "HIGH": "security level HIGH: no private key enters the console; register your signing "
            "certificate, sign exported archives outside and import-deploy them",
}


def read_file(path: str) -> bytes:
    try:
        return Path(os.path.expanduser(path.strip())).read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None


def identity_lines(identity: SigningIdentity) -> list[str]:
    cert = identity.cert
    return [
        f"account    {identity.account}",
        f"subject    {identity.subject}",
        f"issuer     {cert.issuer.rfc4514_string()}",
        f"valid      {cert.not_valid_before_utc.date()} to {cert.not_valid_after_utc.date()}",
        f"origin     {identity.origin.lower()}",
        "key        " + ("held by the console (sealed)" if identity.origin != "REGISTERED"
                         else "outside the console (certificate only)"),
        f"chain      {len(identity.chain)} certificate(s) up to "
        + (identity.chain[-1].subject.rfc4514_string() if identity.chain else "itself"),
    ]


class SigningProfileScreen(SectionScreen):
    SECTION = "inventory"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="signing.back", tooltip="Back to the inventory"),
        Binding("g", "generate", "Generate", id="signing.generate",
                tooltip="A new key and code-signing certificate from the console's CA "
                        "(LOW, MEDIUM)"),
        Binding("i", "import_key", "Import key", id="signing.import",
                tooltip="Import your key and certificate (LOW, MEDIUM)"),
        Binding("c", "register", "Certificate", id="signing.register",
                tooltip="Register a signing certificate only; its key stays outside"),
    ]
    ACTION_PERMISSIONS: ClassVar[dict[str, str | None]] = {
        "generate": INVENTORY_DEPLOY, "import_key": INVENTORY_DEPLOY,
        "register": INVENTORY_DEPLOY,
    }
    MUTATING: ClassVar[frozenset[str]] = frozenset({"generate", "import_key", "register"})

    def compose_body(self) -> ComposeResult:
        yield Static("", id="signing-level", classes="detail")
        yield Static("", id="signing-state", classes="detail")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("generate", "import_key"):
            from js7tui.deployment.policy import Action, decide
            from js7tui.security_level import SecurityLevel
            if not decide(Action.KEY_IN_STORE, SecurityLevel(self.ctx.security_level),
                          self.ctx.session).allowed:
                return False
        return super().check_action(action, parameters)

    def reload(self) -> None:
        session = self.ctx.session
        if session is None:
            return
        level = self.ctx.security_level
        self.query_one("#signing-level", Static).update(escape(LEVELS.get(level, level)))
        self.run_service("", self._read, session, then=self._show)

    def _read(self, session: Session) -> SigningIdentity | str:
        try:
            return self.ctx.console.signing_keys.show(session)
        except NotFound as exc:
            return str(exc)

    def _show(self, found: SigningIdentity | str) -> None:
        text = ("no signing identity: " + _console_words(found)) if isinstance(found, str) \
            else "\n".join(identity_lines(found))
        self.query_one("#signing-state", Static).update(escape(text))

    def _done(self, verb: str) -> Any:
        def done(identity: SigningIdentity) -> None:
            self.show_done(f"{verb}: {identity.subject}")
            self.reload()
        return done

    def action_generate(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.change("generate a signing key", self.ctx.console.signing_keys.generate,
                            then=self._done("generated"))
        self.app.push_screen(ConfirmModal(
            "Generate a new signing key and certificate from the console's CA? It replaces "
            "the one in force.", title="Generate signing key"), confirmed)

    def action_import_key(self) -> None:
        fields = [Field("key", "Private key (PEM)", required=True),
                  Field("cert", "Certificate (+chain)", required=True),
                  Field("password", "Key password", kind="password",
                        help="only for an encrypted key")]
        self.app.push_screen(FormModal("Import signing key and certificate", fields),
                             self._import)

    def _import(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        password = str(values.get("password") or "")
        keys = self.ctx.console.signing_keys

        def load(session: Session, *, meta: Any) -> SigningIdentity:
            return keys.import_key(session, read_file(str(values["key"])),
                                   read_file(str(values["cert"])),
                                   key_password=password.encode() if password else None,
                                   meta=meta)
        self.change("import a signing key", load, then=self._done("imported"))

    def action_register(self) -> None:
        fields = [Field("cert", "Certificate (+chain)", required=True,
                        help="PEM: the certificate first, then intermediates and root")]
        self.app.push_screen(FormModal("Register a signing certificate", fields),
                             self._register)

    def _register(self, values: dict[str, Any] | None) -> None:
        if not values:
            return
        keys = self.ctx.console.signing_keys

        def load(session: Session, *, meta: Any) -> SigningIdentity:
            return keys.register(session, read_file(str(values["cert"])), meta=meta)
        self.change("register a signing certificate", load, then=self._done("registered"))

    def action_back(self) -> None:
        self.app.pop_screen()


def _console_words(missing: str) -> str:
    """The store's sentence names the CLI command; here the key does it."""
    return (missing
            .replace("'js7tui signing-key generate' or import key and certificate",
                     "g (generate, then y to confirm) or i (import key and certificate)")
            .replace("'js7tui signing-key generate'", "g (then y to confirm)")
            .replace("'js7tui signing-key register CERT.pem'", "c (a certificate file)"))
