"""What every command needs: the home, the console, the remembered session, secrets, output.

Secrets never come from arguments (they would show in ``ps`` and shell history): passwords are
read from ``--password-stdin``, from ``JS7TUI_PASSWORD`` / ``JS7TUI_NEW_PASSWORD``, or from a
prompt on a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from js7tui import remember
from js7tui.errors import SessionRequired, ValidationError
from js7tui.home import Home, resolve_home

if TYPE_CHECKING:
    from js7tui.audit import AuditMeta
    from js7tui.console import Console
    from js7tui.identity.sessions import Session

PASSWORD_ENV = "JS7TUI_PASSWORD"
NEW_PASSWORD_ENV = "JS7TUI_NEW_PASSWORD"
SESSION_ENV = "JS7TUI_SESSION"


def hidden_input(prompt: str) -> str:
    """A secret typed on the terminal, not echoed (``getpass`` is imported here: the console's
    start does not need it)."""
    import getpass
    return getpass.getpass(prompt)


@dataclass
class CliContext:
    env: Mapping[str, str]
    stdin: IO[str]
    stdout: IO[str]
    stderr: IO[str]
    home_option: str | None = None
    json_output: bool = False
    check_home_modes: bool = True  # doctor reports them instead of being refused
    _console: Console | None = field(default=None, repr=False)
    _stdin_used: bool = False

    # -- home and console -----------------------------------------------------------------
    @property
    def home(self) -> Home:
        return resolve_home(self.home_option, self.env)

    @property
    def console(self) -> Console:
        if self._console is None:
            from js7tui.console import open_console
            self._console = open_console(self.home, check_modes=self.check_home_modes,
                                         warn=self.warn)
        return self._console

    @property
    def console_if_open(self) -> Console | None:
        """The console if a command opened it already (``js7tui demo`` before its screens)."""
        return self._console

    def close(self) -> None:
        if self._console is not None:
            self._console.close()
            self._console = None

    # -- remembered session (js7tui.remember, shared with the console) ----------------------
    def session_file(self) -> Path:
        return remember.session_file(self.env, self.console.installation_id)

    def remember(self, account: str, token: str) -> Path:
        return remember.remember(self.env, self.console.installation_id, home=self.home.root,
                                 account=account, token=token)

    def remembered(self) -> dict[str, str] | None:
        saved = remember.remembered(self.env, self.console.installation_id)
        return None if saved is None else {"home": saved.home, "account": saved.account,
                                           "token": saved.token}

    def forget(self) -> None:
        remember.forget(self.env, self.console.installation_id)

    def token(self) -> str | None:
        if self.env.get(SESSION_ENV):
            return self.env[SESSION_ENV]
        saved = self.remembered()
        return saved.get("token") if saved else None

    def session(self) -> Session:
        token = self.token()
        if not token:
            raise SessionRequired(f"not logged in to the home at {self.home.root}: run "
                                  "'js7tui login' first")
        try:
            return self.console.sessions.resume(token)
        except SessionRequired:
            if not self.env.get(SESSION_ENV):
                self.forget()
            raise

    # -- secrets --------------------------------------------------------------------------
    def _stdin_line(self) -> str:
        if self._stdin_used:
            raise ValidationError("standard input can supply only one password per command")
        self._stdin_used = True
        line = self.stdin.readline()
        if not line:
            raise ValidationError("standard input is empty: a password or secret was expected")
        return line.rstrip("\r\n")

    def _interactive(self) -> bool:
        return bool(getattr(self.stdin, "isatty", lambda: False)())

    def password(self, *, from_stdin: bool, prompt: str = "Password: ") -> str:
        """The current password: --password-stdin, else $JS7TUI_PASSWORD, else a prompt."""
        if from_stdin:
            return self._stdin_line()
        if self.env.get(PASSWORD_ENV):
            return self.env[PASSWORD_ENV]
        if self._interactive():
            return hidden_input(prompt)
        raise ValidationError(f"no password given: use --password-stdin or set {PASSWORD_ENV} "
                              "(passwords are never taken from arguments)")

    def secret(self, name: str) -> str:
        """A secret setting: one line of standard input, or asked for on a terminal. Never an
        argument: arguments end up in shell history and process listings."""
        if self._interactive():
            return hidden_input(f"{name}: ")
        return self._stdin_line()

    def new_password(self, *, from_stdin: bool = False,
                     prompt: str = "New password: ") -> tuple[str, str | None]:
        """(new, repeated): --password-stdin, else $JS7TUI_NEW_PASSWORD, else asked twice."""
        if from_stdin:
            return self._stdin_line(), None
        if self.env.get(NEW_PASSWORD_ENV):
            return self.env[NEW_PASSWORD_ENV], None
        if self._interactive():
            first = hidden_input(prompt)
            return first, hidden_input("Repeat the new password: ")
        raise ValidationError(f"no new password given: set {NEW_PASSWORD_ENV} or run on a "
                              "terminal to be asked")

    def ask(self, prompt: str) -> str:
        if not self._interactive():
            raise ValidationError(f"{prompt.rstrip(': ')} is required")
        self.stdout.write(prompt)
        self.stdout.flush()
        return self.stdin.readline().strip()

    # -- output ---------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        """One line of output; as text (not --json, whose encoder escapes controls itself),
        control characters are shown escaped (js7tui.text.for_terminal)."""
        if not self.json_output and not text.isprintable():
            from js7tui.text import for_terminal
            text = for_terminal(text)
        print(text, file=self.stdout)

    def warn(self, text: str) -> None:
        """One message on stderr; control characters from user input (an ESC sequence in a
        name) are shown escaped, never sent to the terminal."""
        from js7tui.text import for_terminal
        print(f"js7tui: {for_terminal(text)}", file=self.stderr)

    def table(self, headers: list[str], rows: list[list[Any]],
              records: list[dict[str, Any]] | None = None) -> None:
        """Aligned columns, or one JSON object per line with --json."""
        if self.json_output:
            import json
            keys = [h.lower().replace(" ", "_") for h in headers]
            for index, row in enumerate(rows):
                record = records[index] if records else dict(zip(keys, row, strict=True))
                self.say(json.dumps(record, default=str, ensure_ascii=False))
            return
        if not rows:
            self.say("(none)")
            return
        text_rows = [[_cell(value) for value in row] for row in rows]
        widths = [max(len(h), *(len(r[i]) for r in text_rows)) for i, h in enumerate(headers)]
        self.say("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
                 .rstrip())
        for row in text_rows:
            self.say("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value).replace("\n", " ")


def audit_meta(args: Any) -> AuditMeta:
    from js7tui.audit import AuditMeta
    return AuditMeta(comment=getattr(args, "comment", None) or "",
                     ticket_link=getattr(args, "ticket_link", None) or "",
                     time_spent=getattr(args, "time_spent", None),
                     approver=getattr(args, "approver", None) or "").validated()


def default_context() -> CliContext:
    return CliContext(env=os.environ, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr)
