"""The home's ``config.toml``: strict, every unknown key is refused with the file named.

The security level is deliberately *not* a configuration key: it lives in the store, written once
at ``init``, where a trigger refuses to lower it. A ``security_level`` key here is an error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from js7tui.errors import ValidationError

CONFIG_TEMPLATE = """\
# js7tui configuration for this home. Unknown keys are refused.
# The security level is not set here: it is fixed in the store at init.

[log]
# Log file, relative to the home; the console never logs to the terminal it draws on.
file = "js7tui.log"
level = "INFO"

[passwords]
# argon2id cost for account passwords (argon2-cffi defaults; raise them on fast hosts).
argon2_time_cost = 3
argon2_memory_kib = 65536
argon2_parallelism = 4

[tui]
theme = "textual-dark"

[controllers]
# How long one request to a Controller may take before its answer counts as lost (a change
# sent then is UNKNOWN until reconciled), and how long a deploy waits for the Controller's
# Agents to take its items before it reports them as still pending.
timeout_seconds = 30
agent_wait_seconds = 5
# Name deployed items whose signing certificate expires within this many days (doctor, the
# dashboard, 'js7tui deployment expiring').
expiry_warning_days = 30

[archive]
# Limits for archives read by import-deploy (zip bombs, entry floods).
max_entries = 20000
max_bytes = 268435456
max_entry_bytes = 16777216
"""

_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}


@dataclass(frozen=True)
class LogConfig:
    file: str = "js7tui.log"
    level: str = "INFO"


@dataclass(frozen=True)
class PasswordConfig:
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4


# The ranges argon2 (and a sane host) accepts; outside them every password change would fail
# with a HashingError, or one login would take minutes or all the memory there is.
ARGON2_TIME_COST = (1, 100)
ARGON2_PARALLELISM = (1, 64)
ARGON2_MEMORY_KIB_MAX = 4 * 1024 * 1024  # 4 GiB; the least is 8 KiB per lane


def check_password_config(config: PasswordConfig, where: str = "") -> None:
    """Refuse argon2 costs argon2 cannot use (or no host could afford), naming the range."""
    low, high = ARGON2_TIME_COST
    if not low <= config.argon2_time_cost <= high:
        raise ValidationError(f"{where}[passwords] argon2_time_cost must be {low} to {high}, "
                              f"not {config.argon2_time_cost}")
    low, high = ARGON2_PARALLELISM
    if not low <= config.argon2_parallelism <= high:
        raise ValidationError(f"{where}[passwords] argon2_parallelism must be {low} to {high}, "
                              f"not {config.argon2_parallelism}")
    least = 8 * config.argon2_parallelism
    if not least <= config.argon2_memory_kib <= ARGON2_MEMORY_KIB_MAX:
        raise ValidationError(
            f"{where}[passwords] argon2_memory_kib must be {least} (8 per lane of "
            f"argon2_parallelism = {config.argon2_parallelism}) to {ARGON2_MEMORY_KIB_MAX}, "
            f"not {config.argon2_memory_kib}")


@dataclass(frozen=True)
class TuiConfig:
    theme: str = "textual-dark"


@dataclass(frozen=True)
class ControllersConfig:
    """Talking to Controllers: the request timeout, the wait for Agents after a deploy, and
    how early expiring signers are named (issue 15)."""

    timeout_seconds: int = 30
    agent_wait_seconds: int = 5
    expiry_warning_days: int = 30


@dataclass(frozen=True)
class ArchiveConfig:
    """What an archive given to import-deploy may hold at most: entries, bytes once unpacked
    (all entries together), bytes of one entry. Checked before and while unpacking."""

    max_entries: int = 20000
    max_bytes: int = 256 * 1024 * 1024
    max_entry_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    log: LogConfig = field(default_factory=LogConfig)
    passwords: PasswordConfig = field(default_factory=PasswordConfig)
    tui: TuiConfig = field(default_factory=TuiConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    controllers: ControllersConfig = field(default_factory=ControllersConfig)


_SECTIONS: dict[str, type] = {"log": LogConfig, "passwords": PasswordConfig, "tui": TuiConfig,
                              "archive": ArchiveConfig, "controllers": ControllersConfig}


def parse_section(path: Path, name: str, raw: Any, cls: type) -> Any:
    """One strict table: every key must be a field of the dataclass ``cls`` (all fields have
    defaults), of the default's type; unknown keys are refused naming the file."""
    if not isinstance(raw, dict):
        raise ValidationError(f"{path}: [{name}] must be a table")
    allowed = cls.__dataclass_fields__
    for key in raw:
        if key not in allowed:
            raise ValidationError(
                f"{path}: unknown key '{key}' in [{name}]; allowed: {', '.join(sorted(allowed))}"
            )
    values = {}
    for key, value in raw.items():
        expected = type(getattr(cls(), key))
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ValidationError(
                f"{path}: [{name}] {key} must be a {expected.__name__}, not {value!r}"
            )
        values[key] = value
    return cls(**values)


def load_config(path: Path) -> Config:
    """Read and check ``path``; a missing file means the defaults."""
    if not path.exists():
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text (byte {exc.start} is "
                              f"0x{exc.object[exc.start]:02x}); save it as UTF-8") from None
    sections = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            hint = " (the security level is fixed in the store at init)" if (
                name == "security_level") else ""
            raise ValidationError(
                f"{path}: unknown key '{name}'{hint}; allowed sections: "
                f"{', '.join(sorted(_SECTIONS))}"
            )
        sections[name] = parse_section(path, name, value, _SECTIONS[name])
    config = Config(**sections)
    for key, value in vars(config.archive).items():
        if value < 1:
            raise ValidationError(f"{path}: [archive] {key} must be at least 1")
    limits = config.controllers
    if not 1 <= limits.timeout_seconds <= 600:
        raise ValidationError(f"{path}: [controllers] timeout_seconds must be 1 to 600")
    if not 0 <= limits.agent_wait_seconds <= 600:
        raise ValidationError(f"{path}: [controllers] agent_wait_seconds must be 0 to 600")
    if not 0 <= limits.expiry_warning_days <= 3650:
        raise ValidationError(f"{path}: [controllers] expiry_warning_days must be 0 to 3650")
    check_password_config(config.passwords, f"{path}: ")
    if config.log.level.upper() not in _LEVELS:
        raise ValidationError(f"{path}: [log] level must be one of {', '.join(sorted(_LEVELS))}")
    return config
