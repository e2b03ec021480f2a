"""Second factors on the command line: what ``js7tui login`` does after the first factor
(or for a CERTIFICATE/FIDO service chosen alone), and ``js7tui second-factor ...`` for
certificate bindings, FIDO devices, registration requests and recovery.

Certificate: ``--certificate FILE`` (leaf first; default: the certificate bound to the account)
and ``--key FILE`` (PEM or OpenSSH, password from JS7TUI_KEY_PASSWORD or the prompt); without
``--key`` the ssh-agent at SSH_AUTH_SOCK signs (over SSH: the laptop's, forwarded by ssh -A).
FIDO: the security key on this machine's USB, or with ``--fido-page [PORT]`` a one-time page on
127.0.0.1:PORT for the laptop's browser (forward the port: ssh -L PORT:127.0.0.1:PORT).
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from js7tui.cli.context import CliContext, audit_meta
from js7tui.errors import ValidationError
from js7tui.identity.chain import LoginResult, LoginStatus
from js7tui.identity.providers.base import LoginRequest

KEY_PASSWORD_ENV = "JS7TUI_KEY_PASSWORD"
CERTIFICATE_PROMPT = "certificate_challenge"
FIDO_PROMPT = "fido_assertion"


def add_login_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("second factor / CERTIFICATE / FIDO")
    group.add_argument("--certificate", metavar="FILE",
                       help="user certificate (PEM, leaf first); default: the bound one")
    group.add_argument("--key", metavar="FILE",
                       help="its private key; without it the ssh-agent (SSH_AUTH_SOCK) signs")
    group.add_argument("--fido-page", metavar="PORT", nargs="?", type=int, const=0,
                       help="FIDO over SSH: serve a one-time page on 127.0.0.1:PORT for the "
                            "laptop's browser (ssh -L PORT:127.0.0.1:PORT)")


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None


def evidence_for(ctx: CliContext, args: argparse.Namespace, prompt: dict[str, Any] | None,
                 *, create: bool = False) -> dict[str, Any]:
    kind = (prompt or {}).get("type")
    if prompt is None:
        raise ValidationError("the second-factor service issued no challenge")
    if kind == CERTIFICATE_PROMPT:
        from js7tui.identity.factors import sshsig
        from js7tui.identity.factors.client import certificate_evidence
        certificate, key = _read(getattr(args, "certificate", None)), _read(
            getattr(args, "key", None))
        password = ctx.env.get(KEY_PASSWORD_ENV)
        try:
            agent = None if key else sshsig.Agent(ctx.env.get("SSH_AUTH_SOCK"))
            return certificate_evidence(prompt, certificate=certificate, key=key,
                                        key_password=password.encode() if password else None,
                                        agent=agent)
        except sshsig.SshSigError as exc:
            raise ValidationError(str(exc)) from None
        except ValidationError as exc:
            if "encrypted" not in str(exc) or not getattr(ctx.stdin, "isatty", lambda: False)():
                raise
            secret = getpass.getpass("Key password: ").encode()
            return certificate_evidence(prompt, certificate=certificate, key=key,
                                        key_password=secret)
    if kind in (FIDO_PROMPT, "fido_registration"):
        port = getattr(args, "fido_page", None)
        if port is not None:
            from js7tui.identity.factors.fido_page import FidoPage
            page = FidoPage(prompt, create=create, port=port)
            url = page.start()
            ctx.say(f"On the laptop: forward the port (ssh -L {page.port}:127.0.0.1:{page.port}"
                    f" ...), then open\n  {url}\nand use the security key there. ctrl+c "
                    "cancels.")
            _flush(ctx)
            return page.wait(timeout=float(prompt.get("options", {}).get("timeout") or 60000)
                             / 1000 + 60)
        from js7tui.identity.factors import fido_client
        ctx.say("touch the security key")
        _flush(ctx)
        if create:
            return fido_client.registration(prompt)
        return fido_client.assertion(prompt)
    raise ValidationError(f"this js7tui cannot answer a '{kind}' challenge")


def second_factor(ctx: CliContext, args: argparse.Namespace, result: LoginResult,
                  source: str) -> LoginResult:
    ctx.say(result.message)
    evidence = evidence_for(ctx, args, result.interaction)
    return ctx.console.login.continue_login(result.pending or "", evidence, source)


def proof_login(ctx: CliContext, args: argparse.Namespace, service: str,
                source: str) -> LoginResult:
    """A CERTIFICATE or FIDO service chosen alone: challenge, proof, the login again."""
    request = LoginRequest(args.account or "", None, source, service=service)
    result = ctx.console.login.login(request)
    if result.status is not LoginStatus.INTERACTION_NEEDED:
        return result
    prompt = result.interaction or {}
    evidence = evidence_for(ctx, args, prompt)
    extra = {"certificate" if prompt.get("type") == CERTIFICATE_PROMPT else "fido": evidence}
    return ctx.console.login.login(LoginRequest(args.account or "", None, source,
                                                service=service, extra=extra))


def _flush(ctx: CliContext) -> None:
    flush = getattr(ctx.stdout, "flush", None)
    if flush:
        flush()


# -- js7tui second-factor ... --------------------------------------------------------------
def add_parsers(sub: argparse._SubParsersAction, meta: Any) -> None:
    group = sub.add_parser("second-factor", help="certificate bindings, FIDO devices and "
                           "registrations, recovery")
    group.set_defaults(func=cmd_second_factor)
    acts = group.add_subparsers(dest="factor_action", required=True, metavar="ACTION")
    p = acts.add_parser("bindings", help="accounts and the certificate keys bound to them")
    p.add_argument("service")
    p = acts.add_parser("bind", help="bind a certificate's key to its account (CN)")
    p.add_argument("service")
    p.add_argument("account")
    p.add_argument("certificate", metavar="FILE")
    p.add_argument("--replace", action="store_true", help="replace an existing binding")
    meta(p)
    p = acts.add_parser("reset-certificate", help="recovery: forget an account's bound key")
    p.add_argument("service")
    p.add_argument("account")
    meta(p)
    p = acts.add_parser("devices", help="FIDO devices")
    p.add_argument("service")
    p.add_argument("--account")
    p = acts.add_parser("register", help="register a FIDO key: logged in as the account or an "
                        "administrator it is added, else it is a request to approve")
    p.add_argument("service")
    p.add_argument("account")
    p.add_argument("--name", default="security key", help="the device's name")
    p.add_argument("--email")
    p.add_argument("--fido-page", metavar="PORT", nargs="?", type=int, const=0)
    meta(p)
    p = acts.add_parser("remove-device", help="remove one FIDO device")
    p.add_argument("service")
    p.add_argument("device_id", type=int)
    meta(p)
    p = acts.add_parser("reset-devices", help="recovery: remove every device of an account")
    p.add_argument("service")
    p.add_argument("account")
    meta(p)
    p = acts.add_parser("requests", help="FIDO registration requests")
    p.add_argument("service", nargs="?")
    p.add_argument("--state", choices=("pending", "deferred", "approved"))
    for name, text in (("approve", "approve a registration: account and device are created"),
                       ("defer", "defer a registration (it stays refused)")):
        p = acts.add_parser(name, help=text)
        p.add_argument("registration_id", type=int)
        meta(p)


def cmd_second_factor(ctx: CliContext, args: argparse.Namespace) -> int:
    admin = ctx.console.second_factors
    action = args.factor_action
    if action == "register":
        return _register(ctx, args)
    session = ctx.session()
    if action == "bindings":
        rows = admin.certificate_bindings(session, args.service)
        ctx.table(["Account", "Subject", "Serial", "Not after", "Bound", "By"],
                  [[r["account_name"], r["subject"], r["serial"], r["not_after"][:10],
                    r["bound"][:19], r["bound_by"]] for r in rows])
    elif action == "bind":
        admin.bind_certificate(session, args.service, args.account, _read(args.certificate)
                               or b"", replace=args.replace, meta=audit_meta(args))
        ctx.say(f"bound the certificate's key to '{args.account}' in '{args.service}'")
    elif action == "reset-certificate":
        gone = admin.reset_certificate(session, args.service, args.account,
                                       meta=audit_meta(args))
        ctx.say(f"'{args.account}': binding reset" if gone else
                f"'{args.account}' had no bound certificate")
    elif action == "devices":
        rows = admin.devices(session, args.service, args.account)
        ctx.table(["Id", "Account", "Name", "Counter", "Created", "Last used"],
                  [[r["id"], r["account_name"], r["name"], r["sign_count"], r["created"][:19],
                    (r["last_used"] or "-")[:19]] for r in rows])
    elif action == "remove-device":
        admin.remove_device(session, args.service, args.device_id, meta=audit_meta(args))
        ctx.say(f"device {args.device_id} removed")
    elif action == "reset-devices":
        count = admin.reset_devices(session, args.service, args.account, meta=audit_meta(args))
        ctx.say(f"removed {count} device(s) of '{args.account}'")
    elif action == "requests":
        rows = admin.registrations(session, args.service, args.state)
        ctx.table(["Id", "Service", "Account", "E-mail", "Device", "State", "Requested",
                   "From"], [[r["id"], r["service"], r["account_name"], r["email"] or "-",
                              r["device_name"], r["state"], r["requested"][:19], r["source"]]
                             for r in rows])
    elif action == "approve":
        admin.approve(session, args.registration_id, meta=audit_meta(args))
        ctx.say(f"registration {args.registration_id} approved")
    elif action == "defer":
        admin.defer(session, args.registration_id, meta=audit_meta(args))
        ctx.say(f"registration {args.registration_id} deferred")
    return 0


def _register(ctx: CliContext, args: argparse.Namespace) -> int:
    from js7tui.errors import AuthenticationError
    admin = ctx.console.second_factors
    try:
        session = ctx.session()
    except AuthenticationError:
        session = None
    prompt = admin.registration_challenge(args.service, args.account)
    evidence = evidence_for(ctx, args, prompt, create=True)
    from js7tui.cli.system_cmds import login_source
    state = admin.register(args.service, args.account, evidence, device_name=args.name,
                           email=args.email, session=session, source=login_source(ctx),
                           meta=audit_meta(args))
    ctx.say(f"device '{args.name}' added for '{args.account}'" if state == "added" else
            f"registration of '{args.account}' requested: an administrator approves it "
            "(js7tui second-factor requests)")
    return 0

