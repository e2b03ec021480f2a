"""``js7tui cert ...``, ``controller|agent import-bundle``, ``doctor`` and init's CA options.

Thin over :class:`js7tui.pki.service.CertificateService` and the target-side
:mod:`js7tui.pki.bundle_import`. Files this module writes are 0600; store passwords and key
passwords never come from arguments.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from js7tui.cli.context import CliContext, audit_meta
from js7tui.errors import ValidationError
from js7tui.home import write_output_file
from js7tui.pki import bundle_import
from js7tui.pki.bundle import COMPONENTS
from js7tui.pki.issuing import Issued, IssueRequest
from js7tui.pki.keys import DEFAULT_KEY_TYPE, KeyType
from js7tui.pki.profiles import ISSUABLE, Purpose
from js7tui.pki.records import CertRecord, days_between

SERIAL_WIDTH = 16


# -- parsers ------------------------------------------------------------------------------
def add_init_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--ca-key-type", default=DEFAULT_KEY_TYPE.value,
                       choices=[k.value for k in KeyType],
                       help="key type of the built-in Root and Intermediate CA and default for "
                            "issued certificates (default ec-p256)")
    group.add_argument("--no-ca", action="store_true",
                       help="no CA key in the console: work with your organisation's CA "
                            "(cert ca import, cert csr, cert import)")


def init_ca_key_type(args: argparse.Namespace) -> KeyType | None:
    return None if args.no_ca else KeyType.parse(args.ca_key_type)


def _san_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dns", action="append", default=[], metavar="NAME",
                        help="SAN DNS name (repeatable; servers default to localhost)")
    parser.add_argument("--ip", action="append", default=[], metavar="ADDR",
                        help="SAN IP address (repeatable; servers default to 127.0.0.1)")
    parser.add_argument("--email", help="SAN e-mail address (users, signers)")
    parser.add_argument("--uri", action="append", default=[], help="SAN URI (repeatable)")


def _validity_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=730, help="validity in days (default 730)")
    parser.add_argument("--key-type", choices=[k.value for k in KeyType],
                        help="default: the CA's key type")


def _out(parser: argparse.ArgumentParser, flag: str = "--out", required: bool = True,
         what: str = "file to write (0600)") -> None:
    parser.add_argument(flag, required=required, type=Path, metavar="FILE", help=what)


def add_cert_parsers(sub: argparse._SubParsersAction) -> None:
    from js7tui.cli.parser import _meta  # the shared audit options (--comment, --ticket-link, ...)

    cert = sub.add_parser("cert", help="the certificate authority: issue, bundle, revoke, CRL")
    acts = cert.add_subparsers(dest="cert_action", required=True, metavar="ACTION")
    p = acts.add_parser("list", help="certificates with days left and state")
    p.add_argument("--all", action="store_true", help="include revoked certificates")
    p.add_argument("--purpose", choices=[x.value for x in Purpose])
    p.add_argument("--name")
    p.set_defaults(func=cmd_list)
    p = acts.add_parser("show", help="one certificate (by serial or a prefix of 6+ digits)")
    p.add_argument("serial")
    p.add_argument("--pem", action="store_true", help="print the certificate as PEM")
    p.set_defaults(func=cmd_show)

    p = acts.add_parser("issue", help="issue a certificate (console, user, signing, ...)")
    p.add_argument("purpose", choices=[x.value for x in ISSUABLE])
    p.add_argument("name", help="component name, or the account for user/signing")
    _san_options(p)
    _validity_options(p)
    p.add_argument("--keep-key", action="store_true",
                   help="keep the private key in the store after it is exported")
    _out(p, "--out-cert", False, "write the certificate chain (PEM) here")
    _out(p, "--out-key", False, "write the private key here (PKCS#8, 0600)")
    p.add_argument("--key-password-stdin", action="store_true",
                   help="encrypt --out-key with a password read from standard input")
    p.add_argument("--csr", type=Path, metavar="FILE",
                   help="certify the key of this PKCS#10 request (the key stays with its "
                        "owner; the only way for a signing certificate at HIGH)")
    _meta(p)
    p.set_defaults(func=cmd_issue)

    p = acts.add_parser("sign-csr", help="issue a certificate for an outside PKCS#10 request")
    p.add_argument("csr", type=Path)
    p.add_argument("--purpose", required=True, choices=[x.value for x in ISSUABLE])
    p.add_argument("--name", required=True)
    _san_options(p)
    p.add_argument("--days", type=int, default=730)
    _out(p)
    _meta(p)
    p.set_defaults(func=cmd_sign_csr)

    p = acts.add_parser("csr", help="a key held here and a request for your CA to sign")
    p.add_argument("purpose", choices=[x.value for x in ISSUABLE])
    p.add_argument("name")
    _san_options(p)
    p.add_argument("--key-type", choices=[k.value for k in KeyType])
    _out(p)
    _meta(p)
    p.set_defaults(func=cmd_csr)
    p = acts.add_parser("import", help="import the certificate your CA signed for a request")
    p.add_argument("file", type=Path)
    _meta(p)
    p.set_defaults(func=cmd_import)

    p = acts.add_parser("bundle", help="archive with keystore, truststore, PEM, CRL, config",
                        epilog="The store password is generated and shown once, or read "
                               "with --password-stdin.")
    p.add_argument("component", choices=list(COMPONENTS))
    p.add_argument("name")
    p.add_argument("--controller", metavar="NAME",
                   help="for an Agent: the Controller whose certificate it accepts")
    _san_options(p)
    _validity_options(p)
    p.add_argument("--keep-key", action="store_true",
                   help="keep the private key in the store after the bundle is written")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the store password from standard input")
    _out(p)
    p.add_argument("--force", action="store_true", help="overwrite FILE")
    _meta(p)
    p.set_defaults(func=cmd_bundle)

    p = acts.add_parser("revoke", help="revoke a certificate and sign a new CRL")
    p.add_argument("serial")
    p.add_argument("--reason", default="unspecified",
                   help="unspecified, keyCompromise, affiliationChanged, superseded, "
                        "cessationOfOperation, privilegeWithdrawn")
    _meta(p)
    p.set_defaults(func=cmd_revoke)
    p = acts.add_parser("renew", help="a new certificate for the same subject (old one stays "
                                      "valid until 'cert confirm')")
    p.add_argument("serial")
    p.add_argument("--days", type=int)
    _out(p, "--out-cert", False, "write the new certificate chain (PEM) here")
    _out(p, "--out-key", False, "write the new private key here (user and signing)")
    _meta(p)
    p.set_defaults(func=cmd_renew)
    p = acts.add_parser("confirm", help="the renewed certificate is installed: revoke the old")
    p.add_argument("serial", help="serial of the NEW certificate")
    _meta(p)
    p.set_defaults(func=cmd_confirm)

    crl = acts.add_parser("crl", help="the issuing CA's revocation list")
    crl_acts = crl.add_subparsers(dest="crl_action", required=True, metavar="ACTION")
    crl_acts.add_parser("show", help="numbers and dates of the CRLs").set_defaults(
        func=cmd_crl_show)
    p = crl_acts.add_parser("sign", help="sign a new CRL now")
    p.add_argument("--next-update", type=int, metavar="DAYS",
                   help="days until the next update (kept as the new default; default 30)")
    _meta(p)
    p.set_defaults(func=cmd_crl_sign)
    p = crl_acts.add_parser("export", help="write the current CRL (PEM) for transfer")
    _out(p)
    p.add_argument("--root", action="store_true", help="the root CA's CRL instead")
    p.add_argument("--signing", action="store_true",
                   help="the signing CA's and the root's CRLs (for trusted-x509-crls/)")
    p.add_argument("--force", action="store_true", help="overwrite FILE")
    _meta(p)
    p.set_defaults(func=cmd_crl_export)
    p = crl_acts.add_parser("import", help="take the CRL of your external issuing CA")
    p.add_argument("file", type=Path)
    _meta(p)
    p.set_defaults(func=cmd_crl_import)

    ca = acts.add_parser("ca", help="the CA itself")
    ca_acts = ca.add_subparsers(dest="ca_action", required=True, metavar="ACTION")
    p = ca_acts.add_parser("show", help="posture, CA certificates, CRLs")
    p.add_argument("--pem", action="store_true", help="print root and issuing CA as PEM")
    p.set_defaults(func=cmd_ca_show)
    p = ca_acts.add_parser("create", help="create the built-in CA (home made with --no-ca)")
    p.add_argument("--key-type", default=DEFAULT_KEY_TYPE.value,
                   choices=[k.value for k in KeyType])
    _meta(p)
    p.set_defaults(func=cmd_ca_create)
    p = ca_acts.add_parser("import", help="use your organisation's root and issuing CA")
    p.add_argument("--root", required=True, type=Path, help="root CA certificate (PEM)")
    p.add_argument("--intermediate", required=True, type=Path,
                   help="issuing CA certificate (PEM)")
    p.add_argument("--key", type=Path, help="the issuing CA's key; without it the console "
                   "never holds a CA key (certificates come from cert csr / cert import)")
    p.add_argument("--key-password-stdin", action="store_true",
                   help="the key is encrypted: read its password from standard input")
    _meta(p)
    p.set_defaults(func=cmd_ca_import)

    p = acts.add_parser("export-root-key", help="write the root key (0600) and remove it from "
                        "the store, to keep it offline")
    _out(p)
    p.add_argument("--unencrypted", action="store_true",
                   help="write the key without a password (default: asked, or "
                        "JS7TUI_NEW_PASSWORD, or --password-stdin)")
    p.add_argument("--password-stdin", action="store_true")
    _meta(p)
    p.set_defaults(func=cmd_export_root_key)


def add_import_bundle_parser(acts: argparse._SubParsersAction, component: str) -> None:
    """``js7tui controller|agent import-bundle`` (runs on the target: no console home)."""
    p = acts.add_parser("import-bundle", help=f"install a {component} certificate bundle into "
                        "its config directory (files 0600)")
    p.add_argument("file", type=Path)
    p.add_argument("--config", required=True, type=Path, metavar="DIR",
                   help=f"the {component}'s config directory")
    p.add_argument("--name", help=f"refuse a bundle for another {component} name")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the store password from standard input (else JS7TUI_PASSWORD "
                        "or a prompt)")
    p.set_defaults(func=cmd_import_bundle, component=component)


def add_doctor_parser(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("doctor", help="check the home: expiring certificates, root key online, "
                   "CRL, file modes (exit 1 on warnings)").set_defaults(func=cmd_doctor)


# -- helpers ------------------------------------------------------------------------------
def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _check_free(path: Path, force: bool = False) -> None:
    """Refuse before any change when the output file is taken (checked again when writing)."""
    if path.exists() and not force:
        raise ValidationError(f"{path} exists; choose another file (or --force where offered)")


def _write(path: Path, data: bytes, force: bool = False) -> None:
    _check_free(path, force)
    write_output_file(path, data, overwrite=force)


def _san(args: argparse.Namespace) -> list[str]:
    return ([f"DNS:{d}" for d in args.dns] + [f"IP:{i}" for i in args.ip]
            + ([f"email:{args.email}"] if args.email else []) + [f"URI:{u}" for u in args.uri])


def _request(args: argparse.Namespace, purpose: str, name: str, **extra: Any) -> IssueRequest:
    key_type = getattr(args, "key_type", None)
    return IssueRequest(Purpose.parse(purpose), name, san=_san(args), email=args.email,
                        key_type=KeyType.parse(key_type) if key_type else None,
                        days=getattr(args, "days", None) or 730, **extra)


def _short(serial: str | None) -> str:
    if not serial:
        return "(pending)"
    return serial if len(serial) <= SERIAL_WIDTH else serial[:SERIAL_WIDTH] + "~"


def _record_json(record: CertRecord, now: Any) -> dict[str, Any]:
    return {"serial": record.serial, "purpose": record.purpose, "name": record.name,
            "owner": record.owner, "subject": record.subject, "issuer": record.issuer,
            "san": list(record.san), "keyType": record.key_type,
            "notAfter": record.not_after.isoformat() if record.not_after else None,
            "daysLeft": record.days_left(now), "status": record.status.value,
            "state": record.state(now), "keyHeld": record.key_held,
            "exported": record.exported, "importConfirmed": record.import_confirmed,
            "revokedAt": record.revoked_at, "revocationReason": record.revocation_reason}


def _before_issuing(ctx: CliContext, args: argparse.Namespace) -> bytes | None:
    """Everything that can refuse, checked before the certificate exists: a taken output file
    or a missing key password would otherwise leave a valid certificate whose key is lost.
    Returns the key file's password, if one is asked for."""
    for path in (getattr(args, "out_key", None), getattr(args, "out_cert", None)):
        if path:
            _check_free(path)
    if getattr(args, "out_key", None) and getattr(args, "key_password_stdin", False):
        return ctx.password(from_stdin=True).encode("utf-8")
    return None


def _write_issued(ctx: CliContext, args: argparse.Namespace, issued: Issued,
                  password: bytes | None) -> list[str]:
    """Write the key first, then the chain, then report: the lines are said only once both
    files are on disk, so a closed stdout (``| head -1``) cannot fall between a certificate
    written and its key lost."""
    lines = []
    if args.out_key and issued.key is not None:
        _write(args.out_key, issued.key_pem(password))
        lines.append(f"private key written to {args.out_key} (0600"
                     + (", encrypted)" if password else ")"))
    if args.out_cert:
        _write(args.out_cert, issued.cert_chain_pem)
        lines.insert(0, f"certificate chain written to {args.out_cert}")
    return lines


# -- commands -----------------------------------------------------------------------------
def cmd_list(ctx: CliContext, args: argparse.Namespace) -> int:
    service = ctx.console.certificates
    found = service.list(ctx.session(), include_revoked=args.all, purpose=args.purpose,
                         name=args.name)
    now = service.now()
    if not ctx.json_output:
        status = service.status(ctx.session())
        ctx.say(_ca_line(status, now))
    ctx.table(["Serial", "Purpose", "Name", "Subject", "Not after", "Days", "State", "Key"],
              [[_short(r.serial), r.purpose, r.name, r.subject,
                r.not_after.strftime("%Y-%m-%d") if r.not_after else None, r.days_left(now),
                r.state(now), "held" if r.key_held else "-"] for r in found],
              records=[_record_json(r, now) for r in found])
    return 0


def _ca_line(status: Any, now: Any) -> str:
    from js7tui.pki.records import CaRole
    inter = status.authorities.get(CaRole.INTERMEDIATE)
    root = status.authorities.get(CaRole.ROOT)
    if inter is None:
        return "CA: none yet (js7tui cert ca create, or cert ca import)"
    crl = status.crls.get(CaRole.INTERMEDIATE)
    parts = [f"CA: {status.posture}",
             f"issuing CA until {inter.not_after:%Y-%m-%d} "
             f"({days_between(now, inter.not_after)} days)",
             "root key ONLINE" if root is not None and root.key_online else "root key offline",
             f"CRL #{crl.crl_number} next update {crl.next_update:%Y-%m-%d}" if crl
             else "no CRL"]
    return "; ".join(parts)


def cmd_show(ctx: CliContext, args: argparse.Namespace) -> int:
    service = ctx.console.certificates
    record = service.show(ctx.session(), args.serial)
    now = service.now()
    if ctx.json_output:
        import json
        ctx.say(json.dumps({**_record_json(record, now), "pem": record.cert_pem}))
        return 0
    for key, value in _record_json(record, now).items():
        ctx.say(f"{key:<17} {'-' if value in (None, [], '') else value}")
    if args.pem and record.cert_pem:
        ctx.say(record.cert_pem.rstrip())
    return 0


def cmd_issue(ctx: CliContext, args: argparse.Namespace) -> int:
    purpose = Purpose.parse(args.purpose)
    if args.csr is not None:
        if args.out_key or args.keep_key:
            raise ValidationError("with --csr the key stays with the requester: --out-key and "
                                  "--keep-key do not apply")
        if not args.out_cert:
            raise ValidationError("give --out-cert FILE for the certificate chain")
        issued = ctx.console.certificates.issue_from_csr(
            ctx.session(), _read(args.csr, "the request"),
            _request(args, args.purpose, args.name), meta=audit_meta(args))
        written = _write_issued(ctx, args, issued, None)  # written first, then reported
        ctx.say(f"issued {issued.record.label} for {issued.record.subject} from the request, "
                f"valid until {issued.record.not_after:%Y-%m-%d}")
        for line in written:
            ctx.say(line)
        return 0
    if purpose in (Purpose.USER, Purpose.SIGNING) and not (args.out_key or args.keep_key):
        raise ValidationError(f"a {purpose.value} certificate's key is not kept by default: "
                              "give --out-key FILE (or --keep-key)")
    request = _request(args, args.purpose, args.name, keep_key=args.keep_key)
    hold = purpose in (Purpose.CONTROLLER, Purpose.AGENT)
    password = _before_issuing(ctx, args)
    issued = ctx.console.certificates.issue(ctx.session(), request, hold_key=hold,
                                            meta=audit_meta(args))
    written = _write_issued(ctx, args, issued, password)
    ctx.say(f"issued {issued.record.label} for {issued.record.subject}, valid until "
            f"{issued.record.not_after:%Y-%m-%d}")
    for line in written:
        ctx.say(line)
    if hold:
        ctx.say(f"its key is held until you write the bundle: js7tui cert bundle {purpose.value}"
                f" {args.name} --out FILE")
    return 0


def cmd_sign_csr(ctx: CliContext, args: argparse.Namespace) -> int:
    _check_free(args.out)
    request = _request(args, args.purpose, args.name)
    issued = ctx.console.certificates.issue_from_csr(
        ctx.session(), _read(args.csr, "the request"), request, meta=audit_meta(args))
    _write(args.out, issued.cert_chain_pem)
    ctx.say(f"issued {issued.record.label} for {issued.record.subject}; chain written to "
            f"{args.out}")
    return 0


def cmd_csr(ctx: CliContext, args: argparse.Namespace) -> int:
    _check_free(args.out)
    record, pem = ctx.console.certificates.create_csr(
        ctx.session(), _request(args, args.purpose, args.name), meta=audit_meta(args))
    _write(args.out, pem)
    ctx.say(f"request for {record.subject} written to {args.out}; its key stays in the store. "
            "When your CA has signed it: js7tui cert import FILE")
    return 0


def cmd_import(ctx: CliContext, args: argparse.Namespace) -> int:
    record = ctx.console.certificates.import_signed(
        ctx.session(), _read(args.file, "the certificate"), meta=audit_meta(args))
    ctx.say(f"imported {record.label} for {record.subject}, valid until "
            f"{record.not_after:%Y-%m-%d}")
    return 0


def cmd_bundle(ctx: CliContext, args: argparse.Namespace) -> int:
    _check_free(args.out, args.force)
    password = ctx.password(from_stdin=True) if args.password_stdin else None
    result = ctx.console.certificates.bundle(
        ctx.session(), args.component, args.name, password=password,
        controller=args.controller, san=_san(args), days=args.days,
        key_type=KeyType.parse(args.key_type) if args.key_type else None,
        keep_key=args.keep_key, write=lambda data: _write(args.out, data, args.force),
        meta=audit_meta(args))
    record = result.record
    ctx.say(f"bundle for the {args.component} '{args.name}' written to {args.out}")
    ctx.say(f"  certificate {record.serial}, {record.subject}, valid until "
            f"{record.not_after:%Y-%m-%d}")
    if result.password_generated:
        ctx.say(f"  store password (shown once, give it to whoever imports the bundle): "
                f"{result.password}")
    if args.component != "console":
        ctx.say(f"  on the {args.component}'s host: js7tui {args.component} import-bundle "
                f"{args.out.name} --config DIR")
    return 0


def cmd_revoke(ctx: CliContext, args: argparse.Namespace) -> int:
    record = ctx.console.certificates.revoke(ctx.session(), args.serial, args.reason,
                                             meta=audit_meta(args))
    ctx.say(f"revoked {record.label} ({record.revocation_reason}); a new CRL is signed: "
            "distribute it with js7tui cert crl export --out FILE (a signing certificate: "
            "cert crl export --signing --out FILE)")
    return 0


def cmd_renew(ctx: CliContext, args: argparse.Namespace) -> int:
    old = ctx.console.certificates.show(ctx.session(), args.serial)
    if old.purpose in ("user", "signing") and not (old.keep_key or args.out_key):
        raise ValidationError(f"the new key of a {old.purpose} certificate is not kept: give "
                              "--out-key FILE")
    password = _before_issuing(ctx, args)
    issued = ctx.console.certificates.renew(ctx.session(), args.serial, days=args.days,
                                            meta=audit_meta(args))
    record = issued.record
    written = _write_issued(ctx, args, issued, password)
    ctx.say(f"renewed: new {record.label}, valid until {record.not_after:%Y-%m-%d}")
    for line in written:
        ctx.say(line)
    if record.purpose in ("controller", "agent"):
        ctx.say(f"next: js7tui cert bundle {record.purpose} {record.name} --out FILE, import "
                f"it there, then: js7tui cert confirm {record.serial}")
    else:
        ctx.say(f"when it is in use: js7tui cert confirm {record.serial} (revokes the old one)")
    return 0


def cmd_confirm(ctx: CliContext, args: argparse.Namespace) -> int:
    new, old = ctx.console.certificates.confirm_import(ctx.session(), args.serial,
                                                       meta=audit_meta(args))
    ctx.say(f"import of {new.label} confirmed"
            + (f"; the old certificate {old.serial} is revoked (superseded)" if old else ""))
    return 0


def cmd_crl_show(ctx: CliContext, args: argparse.Namespace) -> int:
    status = ctx.console.certificates.status(ctx.session())
    rows = [[role.value.lower(), c.crl_number, c.last_update.strftime("%Y-%m-%d %H:%M"),
             c.next_update.strftime("%Y-%m-%d %H:%M")]
            for role, c in status.crls.items() if c is not None]
    ctx.table(["CA", "Number", "Last update", "Next update"], rows)
    ctx.say(f"new CRLs are valid for {status.crl_days} days")
    return 0


def cmd_crl_sign(ctx: CliContext, args: argparse.Namespace) -> int:
    record = ctx.console.certificates.sign_crl(ctx.session(), args.next_update,
                                               meta=audit_meta(args))
    ctx.say(f"signed CRL #{record.crl_number}, next update {record.next_update:%Y-%m-%d %H:%M}"
            " UTC")
    return 0


def cmd_crl_export(ctx: CliContext, args: argparse.Namespace) -> int:
    _check_free(args.out, args.force)
    if args.signing:
        pem = ctx.console.certificates.export_signing_crls(ctx.session(), meta=audit_meta(args))
        _write(args.out, pem.encode("ascii"), force=True)
        ctx.say(f"signing CRLs written to {args.out}; install it as trusted-x509-crls/"
                "js7tui-signing-ca.crl.pem on every Controller and Agent (read without a "
                "restart)")
        return 0
    record = ctx.console.certificates.export_crl(ctx.session(), root=args.root,
                                                 meta=audit_meta(args))
    _write(args.out, record.crl_pem.encode("ascii"), force=True)
    ctx.say(f"CRL #{record.crl_number} (next update {record.next_update:%Y-%m-%d}) written to "
            f"{args.out}; install it as tls/crl.pem on every Controller and Agent")
    return 0


def cmd_crl_import(ctx: CliContext, args: argparse.Namespace) -> int:
    record = ctx.console.certificates.import_crl(ctx.session(), _read(args.file, "the CRL"),
                                                 meta=audit_meta(args))
    ctx.say(f"imported CRL #{record.crl_number}, next update {record.next_update:%Y-%m-%d}")
    return 0


def cmd_ca_show(ctx: CliContext, args: argparse.Namespace) -> int:
    status = ctx.console.certificates.status(ctx.session())
    now = ctx.console.certificates.now()
    ctx.say(_ca_line(status, now))
    rows = [[role.value.lower(), a.subject, a.key_type, a.not_after.strftime("%Y-%m-%d"),
             days_between(now, a.not_after), a.origin.lower(),
             "in store" if a.key_online else ("exported " + a.key_removed[:10]
                                              if a.key_removed else "not held")]
            for role, a in status.authorities.items()]
    ctx.table(["CA", "Subject", "Key type", "Not after", "Days", "Origin", "Key"], rows)
    if args.pem:
        for authority in status.authorities.values():
            ctx.say(authority.cert_pem.rstrip())
    return 0


def cmd_ca_create(ctx: CliContext, args: argparse.Namespace) -> int:
    issued = ctx.console.certificates.create_ca(ctx.session(), KeyType.parse(args.key_type),
                                                meta=audit_meta(args))
    ctx.say(f"created the built-in CA ({args.key_type}) and the console certificate "
            f"{issued.record.serial}")
    return 0


def cmd_ca_import(ctx: CliContext, args: argparse.Namespace) -> int:
    key = _read(args.key, "the key") if args.key else None
    password = (ctx.password(from_stdin=True).encode("utf-8")
                if args.key_password_stdin else None)
    status = ctx.console.certificates.import_ca(
        ctx.session(), _read(args.root, "the root CA"), _read(args.intermediate,
                                                              "the issuing CA"),
        key, password, meta=audit_meta(args))
    ctx.say(f"imported: {status.posture}")
    return 0


def cmd_export_root_key(ctx: CliContext, args: argparse.Namespace) -> int:
    _check_free(args.out)
    password = None
    if not args.unencrypted:
        new, repeated = ctx.new_password(from_stdin=args.password_stdin,
                                         prompt="Password for the root key file: ")
        if repeated is not None and repeated != new:
            raise ValidationError("the two entries differ")
        if len(new) < 8:
            raise ValidationError("the key file password must have at least 8 characters")
        password = new.encode("utf-8")
    ctx.console.certificates.export_root_key(ctx.session(), lambda pem: _write(args.out, pem),
                                             password, meta=audit_meta(args))
    ctx.say(f"root key written to {args.out} (0600{', encrypted' if password else ''}) and "
            "removed from the store. Keep it offline: the root's CRL cannot be re-signed here "
            "any more.")
    return 0


def cmd_import_bundle(ctx: CliContext, args: argparse.Namespace) -> int:
    password = ctx.password(from_stdin=args.password_stdin, prompt="Store password: ")
    result = bundle_import.import_bundle(args.file, args.config, component=args.component,
                                         password=password.encode("utf-8"), name=args.name)
    ctx.say(f"installed the bundle of the {result.component} '{result.name}' "
            f"({result.subject}, serial {result.serial}, valid until {result.not_after[:10]}) "
            f"into {result.directory}:")
    for path in result.written:
        ctx.say(f"  {path.relative_to(result.directory)}")
    for warning in result.warnings:
        ctx.warn(warning)
    return 0


def cmd_doctor(ctx: CliContext, args: argparse.Namespace) -> int:
    from js7tui.doctor import examine_console
    ctx.check_home_modes = False  # a home others can write is reported here, not refused
    findings = examine_console(ctx.console)
    from js7tui.findings import exit_code
    for finding in sorted(findings, key=lambda f: getattr(f, "severity", "warning")):
        ctx.say(f"{getattr(finding, 'severity', 'warning')}: {finding}")
    if not findings:
        ctx.say("no warnings")
    return exit_code(findings)
