"""Remember me: the session token a client keeps between runs, one 0600 file per installation.

Shared by the command line (``js7tui login``) and the console, so both remember the same way
(reference section 6): the file lives under the *user's* state directory, never in the home;
logging out invalidates the token and deletes the file; a new start with a valid token skips
the login form. ``client_source`` says where a login comes from, for the login history.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from js7tui.home import state_dir, write_private_file


@dataclass(frozen=True)
class Remembered:
    home: str
    account: str
    token: str


def session_file(env: Mapping[str, str], installation_id: str) -> Path:
    return state_dir(env) / "sessions" / f"{installation_id}.json"


def remember(env: Mapping[str, str], installation_id: str, *, home: Path, account: str,
             token: str) -> Path:
    path = session_file(env, installation_id)
    payload = {"home": str(home), "account": account, "token": token}
    import json
    write_private_file(path, json.dumps(payload).encode("utf-8"))
    return path


def remembered(env: Mapping[str, str], installation_id: str) -> Remembered | None:
    """The kept session, or None when there is none or the file is unreadable."""
    path = session_file(env, installation_id)
    if not path.exists():
        return None
    import json
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Remembered(str(raw.get("home", "")), str(raw.get("account", "")),
                          str(raw["token"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def forget(env: Mapping[str, str], installation_id: str) -> None:
    session_file(env, installation_id).unlink(missing_ok=True)


def client_source(env: Mapping[str, str], client: str) -> str:
    """Where a login comes from: the client kind, the OS user and the SSH client address."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = str(os.getuid())
    address = (env.get("SSH_CLIENT") or "").split(" ")[0] or "local"
    return f"{client}:{user}@{address}"
