"""``js7tui encrypt`` and ``js7tui encipherment ...`` (issue 21), thin over the encipherment
service; ``js7tui agent import-encipherment`` runs on an Agent's host.

The value to encrypt is read from standard input (one line) or asked for on a terminal, never
from an argument (arguments end up in shell history and process listings). ``encrypt`` prints
the encrypted value alone on standard output (for scripts); who can read it and any warning go
to standard error.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from js7tui.cli.context import CliContext, audit_meta
from js7tui.errors import ValidationError
from js7tui.pki.keys import KeyType


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {what} {path}: {exc.strerror}") from None


def register(sub: argparse._SubParsersAction,
             meta: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("encrypt", help="encrypt a value for an Agent's encipherment "
                       "certificate (the value from standard input or a prompt)")
    p.add_argument("--for", dest="recipient", required=True, metavar="AGENT|ALIAS",
                   help="an encipherment alias, or an Agent assigned one")
    p.add_argument("--variable", required=True, metavar="BINDING",
                   help="the variable the value is for: jobresource:PATH:VARIABLE, "
                        "jobresource:PATH:env:NAME, workflow:PATH:JOB:env:NAME, "
                        "workflow:PATH:JOB:arg:NAME or order:WORKFLOW:NAME")
    p.add_argument("--js7-format", action="store_true",
                   help="JS7's enc: format (RSA only; unauthenticated: for JS7 jobs that "
                        "decrypt themselves)")
    meta(p)
    p.set_defaults(func=cmd_encrypt)

    enc = sub.add_parser("encipherment", help="encipherment certificates of Agents: issue, "
                         "import, assign, rotate")
    acts = enc.add_subparsers(dest="enc_action", required=True, metavar="ACTION")
    p = acts.add_parser("list", help="certificates by alias, their Agents and key state")
    p.add_argument("--all", action="store_true", help="include retired certificates")
    p.set_defaults(func=cmd_list)
    p = acts.add_parser("issue", help="a new encipherment certificate from the built-in CA")
    p.add_argument("alias")
    p.add_argument("--agent", action="append", default=[], help="assign it (repeatable)")
    p.add_argument("--key-type", choices=[k.value for k in KeyType],
                   help="default ec-p256; rsa-3072/4096 for JS7's enc: format")
    p.add_argument("--days", type=int, default=730)
    meta(p)
    p.set_defaults(func=cmd_issue)
    p = acts.add_parser("import", help="an organisation's encipherment certificate (and key)")
    p.add_argument("alias")
    p.add_argument("--cert", required=True, type=Path)
    p.add_argument("--key", type=Path, help="its private key (carried to the Agents in their "
                   "bundles; without it, put the key on the Agents yourself)")
    p.add_argument("--key-password-stdin", action="store_true")
    p.add_argument("--agent", action="append", default=[])
    meta(p)
    p.set_defaults(func=cmd_import)
    for name, text in (("assign", "assign an alias to an Agent"),
                       ("unassign", "remove an Agent's assignment")):
        p = acts.add_parser(name, help=text)
        p.add_argument("alias")
        p.add_argument("agent")
        meta(p)
        p.set_defaults(func=cmd_assign)
    p = acts.add_parser("usage", help="per certificate of an alias: the objects holding values "
                        "for it and the Agents that can read them")
    p.add_argument("alias")
    p.set_defaults(func=cmd_usage)
    p = acts.add_parser("renew", help="a new certificate for an alias; lists what must be "
                        "encrypted again (the old key stays on the Agents)")
    p.add_argument("alias")
    p.add_argument("--key-type", choices=[k.value for k in KeyType])
    p.add_argument("--days", type=int, default=730)
    meta(p)
    p.set_defaults(func=cmd_renew)
    p = acts.add_parser("retire", help="a superseded certificate nothing needs: the Agents "
                        "delete its key with their next bundle")
    p.add_argument("fingerprint")
    p.add_argument("--force", action="store_true", help="even if values still need it")
    meta(p)
    p.set_defaults(func=cmd_retire)
    p = acts.add_parser("bundle", help="an archive of an Agent's encipherment keys (for an "
                        "Agent that has its TLS bundle already)")
    p.add_argument("agent")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--password-stdin", action="store_true",
                   help="the store password from standard input (else asked for)")
    meta(p)
    p.set_defaults(func=cmd_bundle)


def add_agent_import(acts: argparse._SubParsersAction) -> None:
    p = acts.add_parser("import-encipherment", help="install an encipherment archive into the "
                        "Agent's config directory (keys 0600)")
    p.add_argument("file", type=Path)
    p.add_argument("--config", required=True, type=Path, metavar="DIR")
    p.add_argument("--password-stdin", action="store_true")
    p.set_defaults(func=cmd_import_encipherment)


def _readers(view) -> str:  # type: ignore[no-untyped-def]
    parts = []
    if view.holding:
        parts.append("held by " + ", ".join(view.holding))
    if view.waiting:
        parts.append("waiting for a bundle: " + ", ".join(view.waiting))
    return "; ".join(parts) or "no Agent"


def cmd_encrypt(ctx: CliContext, args: argparse.Namespace) -> int:
    service = ctx.console.encipherment
    session = ctx.session()
    value = ctx.secret("Value to encrypt")
    result = service.encrypt(session, args.recipient, value, args.variable,
                             js7_format=args.js7_format, meta=audit_meta(args))
    del value
    ctx.say(result.value)
    ctx.warn(f"encrypted for '{result.alias}' ({result.fingerprint[:16]}…), bound to "
             f"{result.binding}; readable on: {', '.join(result.readers) or 'no Agent yet'}")
    if result.warning:
        ctx.warn(result.warning)
    return 0


def cmd_list(ctx: CliContext, args: argparse.Namespace) -> int:
    views = ctx.console.encipherment.list(ctx.session(), include_retired=args.all)
    ctx.table(["Alias", "Fingerprint", "State", "Key type", "Not after", "Key in store",
               "Agents", "Readers"],
              [[v.cert.alias, v.cert.fingerprint[:16], v.cert.state.lower(), v.cert.key_type,
                v.cert.not_after.date().isoformat(), v.cert.key_held, ", ".join(v.agents),
                _readers(v)] for v in views])
    return 0


def _said(ctx: CliContext, verb: str, view) -> None:  # type: ignore[no-untyped-def]
    ctx.say(f"{verb} '{view.cert.alias}': {view.cert.subject}, fingerprint "
            f"{view.cert.fingerprint}, {view.cert.key_type}, valid until "
            f"{view.cert.not_after.date().isoformat()}; Agents: {', '.join(view.agents) or '-'}")


def cmd_issue(ctx: CliContext, args: argparse.Namespace) -> int:
    view = ctx.console.encipherment.issue(
        ctx.session(), args.alias, agents=args.agent,
        key_type=KeyType.parse(args.key_type) if args.key_type else None, days=args.days,
        meta=audit_meta(args))
    _said(ctx, "issued", view)
    ctx.say("its key is held (sealed) until the bundles of its Agents carry it "
            "(js7tui cert bundle agent NAME, or js7tui encipherment bundle AGENT)")
    return 0


def cmd_import(ctx: CliContext, args: argparse.Namespace) -> int:
    password = (ctx.password(from_stdin=True).encode() if args.key_password_stdin else None)
    view = ctx.console.encipherment.import_certificate(
        ctx.session(), args.alias, _read(args.cert, "the certificate"),
        key_pem=_read(args.key, "the key") if args.key else None, key_password=password,
        agents=args.agent, meta=audit_meta(args))
    _said(ctx, "imported", view)
    return 0


def cmd_assign(ctx: CliContext, args: argparse.Namespace) -> int:
    service = ctx.console.encipherment
    if args.enc_action == "assign":
        view = service.assign(ctx.session(), args.alias, args.agent, meta=audit_meta(args))
        ctx.say(f"'{args.alias}' assigned to Agent '{args.agent}'")
        if not view.cert.key_held and args.agent not in view.holding:
            ctx.warn(f"the key of '{args.alias}' left the store already: copy "
                     f"encipherment/{view.cert.fingerprint}.key.pem from another of its Agents "
                     f"to '{args.agent}', or renew the alias")
    else:
        service.unassign(ctx.session(), args.alias, args.agent, meta=audit_meta(args))
        ctx.say(f"'{args.alias}' no longer assigned to Agent '{args.agent}'")
    return 0


def _holder_rows(holders) -> list[list[object]]:  # type: ignore[no-untyped-def]
    return [[h.object_type, f"{h.folder.rstrip('/')}/{h.name}", h.where,
             "" if h.kind == "js7tui" else h.kind] for h in holders]


def cmd_usage(ctx: CliContext, args: argparse.Namespace) -> int:
    service = ctx.console.encipherment
    for usage in service.usage(ctx.session(), args.alias):
        cert = usage.view.cert
        ctx.say(f"{cert.alias} {cert.fingerprint[:16]}… ({cert.state.lower()}): "
                f"{len(usage.holders)} value(s); readable on: {_readers(usage.view)}")
        if usage.holders:
            ctx.table(["Type", "Object", "Where", "Note"], _holder_rows(usage.holders))
    odd = service.unauthenticated(ctx.session())
    if odd:
        ctx.warn(f"{len(odd)} value(s) in JS7's unauthenticated enc: format (or damaged):")
        ctx.table(["Type", "Object", "Where", "Note"], _holder_rows(odd))
    return 0


def cmd_renew(ctx: CliContext, args: argparse.Namespace) -> int:
    renewed = ctx.console.encipherment.renew(
        ctx.session(), args.alias,
        key_type=KeyType.parse(args.key_type) if args.key_type else None, days=args.days,
        meta=audit_meta(args))
    ctx.say(f"renewed '{args.alias}': new fingerprint {renewed.new.fingerprint}; the old "
            f"certificate {renewed.old.fingerprint[:16]}… is superseded and its key stays on "
            "the Agents until you retire it")
    if renewed.reencrypt:
        ctx.say(f"encrypt again ({len(renewed.reencrypt)}):")
        ctx.table(["Type", "Object", "Where", "Note"], _holder_rows(renewed.reencrypt))
    else:
        ctx.say("nothing in the inventory holds a value for the old certificate")
    return 0


def cmd_retire(ctx: CliContext, args: argparse.Namespace) -> int:
    view = ctx.console.encipherment.retire(ctx.session(), args.fingerprint, force=args.force,
                                           meta=audit_meta(args))
    ctx.say(f"retired {view.cert.fingerprint[:16]}… of '{view.cert.alias}'; the next bundle "
            f"of {', '.join(view.holding) or 'its Agents'} deletes its key there")
    return 0


def cmd_bundle(ctx: CliContext, args: argparse.Namespace) -> int:
    from js7tui.home import write_output_file
    password = ctx.password(from_stdin=args.password_stdin, prompt="Store password: ")
    carried = ctx.console.encipherment.bundle(
        ctx.session(), args.agent, password=password,
        write=lambda data: write_output_file(args.out, data, overwrite=False),
        meta=audit_meta(args))
    ctx.say(f"wrote {args.out} for Agent '{args.agent}' ({len(carried)} key(s)); import it "
            f"there: js7tui agent import-encipherment {args.out.name} --config DIR")
    return 0


def cmd_import_encipherment(ctx: CliContext, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from js7tui.encipherment import bundle
    from js7tui.pki.bundle_import import _write_private
    password = ctx.password(from_stdin=args.password_stdin, prompt="Store password: ")
    agent, entries = bundle.read_archive(args.file)
    checked = bundle.check(entries, password.encode(), datetime.now(UTC))
    written, removed = bundle.install(checked, args.config, _write_private)
    ctx.say(f"installed the encipherment keys of Agent '{agent}' into {args.config}:")
    for path in written:
        ctx.say(f"  {path.relative_to(args.config)}")
    for path in removed:
        ctx.say(f"  removed {path.relative_to(args.config)} (retired)")
    return 0
