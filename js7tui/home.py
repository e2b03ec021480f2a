"""Where a console's files live: the home (store, config, keys) and the user's state directory.

Resolution order for the home: ``--home DIR``, else ``$JS7TUI_HOME``, else
``$XDG_DATA_HOME/js7tui`` (``~/.local/share/js7tui``). The session token of ``js7tui login``
lives under the *user's* state directory (``$XDG_STATE_HOME/js7tui``), never in the home, so
several administrators can share a home without sharing sessions.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "JS7TUI_HOME"


def _xdg(env: Mapping[str, str], variable: str, fallback: str) -> Path:
    value = env.get(variable, "")
    if value and Path(value).is_absolute():
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / fallback


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / "js7tui.db"

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def secrets_key_path(self) -> Path:
        """The key that seals secrets kept in the store (see js7tui.secrets)."""
        return self.keys_dir / "secrets.key"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def exists(self) -> bool:
        return self.db_path.exists()

    def require(self) -> None:
        """Refuse a home that was never created, saying how to create one."""
        if not self.exists():
            from js7tui.errors import StoreError
            raise StoreError(
                f"no js7tui home at {self.root}: create one with 'js7tui init --security-level "
                "low|medium|high' (or choose another with --home / JS7TUI_HOME)"
            )

    def create_dirs(self) -> None:
        """Create the home and its key folder private to the owner (0700)."""
        for directory in (self.root, self.keys_dir, self.log_dir):
            if directory.exists() and not directory.is_dir():
                from js7tui.errors import StoreError
                raise StoreError(f"{directory} is a file, not a directory: a js7tui home "
                                 "needs a directory there (choose another with --home)")
        for directory in (self.root, self.keys_dir, self.log_dir):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)


@dataclass(frozen=True)
class ModeProblem:
    """A file or directory of a home that others (group or world) can write or read."""

    path: Path
    mode: int
    wanted: int

    @property
    def writable(self) -> bool:
        return bool(self.mode & 0o022)

    @property
    def severity(self) -> str:
        return "problem" if self.writable else "warning"

    def sentence(self) -> str:
        what = "writable by others" if self.writable else "readable by others"
        if self.writable and self.mode & 0o044:
            what = "writable and readable by others"
        return (f"{self.path} is {what} (mode {self.mode:04o}, expected {self.wanted:04o}): "
                f"fix it with chmod {self.wanted:o} {self.path}")


def _mode_problem(path: Path, wanted: int) -> ModeProblem | None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return None
    mode = stat.S_IMODE(info.st_mode)
    return ModeProblem(path, mode, wanted) if mode & 0o077 & ~wanted else None


def guarded_paths(home: Home) -> list[tuple[Path, int]]:
    """What every start checks: the home, the store (with its WAL files), config.toml, the
    keys folder and every file in it."""
    paths = [(home.root, 0o700), (home.db_path, 0o600),
             (home.db_path.with_name(home.db_path.name + "-wal"), 0o600),
             (home.db_path.with_name(home.db_path.name + "-shm"), 0o600),
             (home.config_path, 0o600), (home.keys_dir, 0o700)]
    with contextlib.suppress(OSError):
        paths += [(p, 0o700 if p.is_dir() else 0o600) for p in sorted(home.keys_dir.iterdir())]
    return paths


def mode_problems(paths: list[tuple[Path, int]]) -> list[ModeProblem]:
    return [p for p in (_mode_problem(path, wanted) for path, wanted in paths) if p]


_WARNED: set[Path] = set()


def check_home_modes(home: Home, warn: Callable[[str], None] | None = None) -> None:
    """At every start: refuse a home whose own files others can write (they could plant a
    key, change the store or the argon2 costs), as OpenSSH refuses such key files; warn once
    per process, on ``warn`` (stderr by default), about those others can read."""
    problems = mode_problems(guarded_paths(home))
    for problem in problems:
        if problem.writable:
            from js7tui.errors import StoreError
            raise StoreError(problem.sentence() + "; js7tui refuses to use it until then")
    for problem in problems:
        if problem.path not in _WARNED:
            _WARNED.add(problem.path)
            text = "warning: " + problem.sentence()
            if warn is None:
                print(f"js7tui: {text}", file=sys.stderr)
            else:
                warn(text)


def resolve_home(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Home:
    if explicit:
        return Home(Path(explicit).expanduser().absolute())
    if env.get(HOME_ENV):
        return Home(Path(env[HOME_ENV]).expanduser().absolute())
    return Home(_xdg(env, "XDG_DATA_HOME", ".local/share") / "js7tui")


def state_dir(env: Mapping[str, str]) -> Path:
    """The user's state directory for js7tui (remembered sessions)."""
    return _xdg(env, "XDG_STATE_HOME", ".local/state") / "js7tui"


def make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parents as 0700 (``mkdir -p`` would make them 0755)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)


def write_private_file(path: Path, data: bytes, *, sync: bool = False) -> None:
    """Write ``data`` to a file only the owner can read (0600), without a readable window."""
    make_private_dirs(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def replace_private_file(path: Path, data: bytes) -> None:
    """0600 from the first byte, then one rename over any older file: a reader (a server
    reloading its CRL or certificate) sees the old file or the new one, never half of it."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write_private_file(temporary, data, sync=True)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_output_file(path: Path, data: bytes, *, overwrite: bool = False,
                      atomic: bool = False) -> None:
    """A file an administrator asked for (a bundle, a key, a CRL): 0600, an existing file
    only replaced when ``overwrite``, ``atomic`` for one a server may be reading; failures
    as one sentence (``ValidationError``)."""
    from js7tui.errors import ValidationError
    if path.exists() and not overwrite:
        raise ValidationError(f"{path} exists; choose another file")
    try:
        (replace_private_file if atomic else write_private_file)(path, data)
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc.strerror or exc}") from None
