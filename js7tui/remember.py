"""Remember me: the session token a client keeps between runs, in 0600 files.

The command line (``js7tui login``) and the console remember the same way (reference section
6) but apart: each client has its own file, so logging out of one (``js7tui logout``, ctrl+l in
the console) ends that client's session only. The files live under the *user's* state
directory, never in the home; logging out invalidates the token and deletes the file.

- the CLI's file is named by the installation id (``sessions/<installation>.json``);
- the console's is named by the home's path (``sessions/console-<digest>.json``) so the console
  can tell, before the home opens, whether a start will resume a session (and then never shows
  the login form, so no keystroke typed into it is lost to a switch); it carries the
  installation id, and a file for another installation is ignored.

``client_source`` says where a login comes from, for the login history.
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
    installation: str = ""


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


# -- the console's own remembered session ---------------------------------------------------
def console_file(env: Mapping[str, str], home: Path) -> Path:
    import hashlib
    digest = hashlib.sha256(str(Path(home).resolve()).encode("utf-8")).hexdigest()[:20]
    return state_dir(env) / "sessions" / f"console-{digest}.json"


def remember_console(env: Mapping[str, str], home: Path, installation_id: str, *,
                     account: str, token: str) -> Path:
    import json
    path = console_file(env, home)
    payload = {"home": str(home), "installation": installation_id, "account": account,
               "token": token}
    write_private_file(path, json.dumps(payload).encode("utf-8"))
    return path


def console_remembered(env: Mapping[str, str], home: Path) -> Remembered | None:
    """The console's kept session for ``home`` (one small file read: the console asks before
    its first frame), or None."""
    path = console_file(env, home)
    if not path.exists():
        return None
    import json
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Remembered(str(raw.get("home", "")), str(raw.get("account", "")),
                          str(raw["token"]), str(raw.get("installation", "")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def forget_console(env: Mapping[str, str], home: Path) -> None:
    console_file(env, home).unlink(missing_ok=True)


def client_source(env: Mapping[str, str], client: str) -> str:
    """Where a login comes from: the client kind, the OS user and the SSH client address."""
    try:
        user = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = str(os.getuid())
    address = (env.get("SSH_CLIENT") or "").split(" ")[0] or "local"
    return f"{client}:{user}@{address}"
