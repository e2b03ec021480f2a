"""``js7tui login --identity-service NAME``: a login with a chosen identity service, in plain
text - the device flow (URL, code, QR code, polling, ctrl+c cancels) or, where the service takes
passwords, the usual password prompt.

The polling loop is the login chain called again with the ``device_handle`` of the prompt; the
provider waits out the provider's interval itself, so this loop never spins.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime
from typing import Any

from js7tui.cli.context import PASSWORD_ENV, CliContext
from js7tui.errors import AuthenticationError, ValidationError
from js7tui.identity.chain import LoginFailed, LoginResult, LoginStatus
from js7tui.identity.providers.base import DEVICE, PASSWORD, LoginRequest
from js7tui.qr import qr_text

CERTIFICATE, FIDO = "certificate", "fido"


def login_with_service(ctx: CliContext, args: argparse.Namespace, service: str,
                       source: str) -> LoginResult:
    methods = ctx.console.login.login_methods(service)
    if CERTIFICATE in methods or FIDO in methods:
        from js7tui.cli.factor_cmds import proof_login
        return proof_login(ctx, args, service, source)
    password_given = bool(args.password_stdin or ctx.env.get(PASSWORD_ENV))
    if PASSWORD in methods and (password_given or DEVICE not in methods):
        account = args.account or ctx.ask("Account: ")
        password = ctx.password(from_stdin=args.password_stdin)
        return ctx.console.login.login(LoginRequest(account, password, source,
                                                    service=service))
    if DEVICE not in methods:
        raise ValidationError(f"the identity service '{service}' takes no logins from the "
                              "command line")
    return device_login(ctx, LoginRequest(args.account or "", None, source, service=service),
                        show_qr=not args.no_qr)


def device_login(ctx: CliContext, request: LoginRequest, *, show_qr: bool = True
                 ) -> LoginResult:
    """Start the device flow and poll until it ends; ctrl+c cancels it at the console."""
    result = ctx.console.login.login(request)
    shown: dict[str, Any] | None = None
    continued = request
    try:
        while result.status is LoginStatus.INTERACTION_NEEDED:
            interaction = result.interaction or {}
            handle = interaction.get("device_handle")
            if not handle:
                raise AuthenticationError(f"login not completed: {result.message}")
            continued = replace(request, extra={"device_handle": handle})
            if shown is None:
                show_prompt(ctx, interaction, show_qr=show_qr)
            elif interaction.get("interval") != shown.get("interval"):
                ctx.say(f"  {result.message}")
            shown = interaction
            result = ctx.console.login.login(continued)
    except KeyboardInterrupt:
        if continued.extra:
            cancel(ctx, continued)
        raise
    return result


def cancel(ctx: CliContext, request: LoginRequest) -> None:
    try:
        ctx.console.login.login(replace(request, extra={**request.extra, "cancel": True}))
    except LoginFailed as exc:
        ctx.warn(str(exc))


def show_prompt(ctx: CliContext, interaction: dict[str, Any], *, show_qr: bool) -> None:
    uri = interaction.get("verification_uri")
    complete = interaction.get("verification_uri_complete")
    ctx.say(f"To log in with '{interaction.get('service')}', open")
    ctx.say(f"  {uri}")
    ctx.say(f"and enter the code  {interaction.get('user_code')}")
    if complete:
        ctx.say(f"(or open {complete} - the QR code below leads there)" if show_qr
                else f"(or open {complete})")
    if show_qr:
        ctx.say(qr_text(complete or str(uri)))
    ctx.say(f"Waiting for the confirmation; the code expires at "
            f"{_local_time(interaction.get('expires_at'))}. ctrl+c cancels.")
    _flush(ctx)


def _local_time(value: object) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return str(value)


def _flush(ctx: CliContext) -> None:
    flush = getattr(ctx.stdout, "flush", None)
    if flush:
        flush()
