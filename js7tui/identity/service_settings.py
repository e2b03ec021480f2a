"""Per-type settings of identity services: what each provider type needs (LDAP server URLs,
OIDC issuer, Vault address ...), declared once as a schema.

The schema is the one description that the CLI (``identity-service set --setting``), the TUI's
settings form and the provider itself use: it parses text typed by an administrator, refuses
unknown keys with a suggestion, applies defaults, and keeps secrets sealed in the store
(:mod:`js7tui.secrets`) so they never appear in listings, logs or the audit log.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from js7tui.durations import parse_duration
from js7tui.errors import ValidationError
from js7tui.secrets import SecretBox, is_sealed


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    BOOL = "bool"
    CHOICE = "choice"
    DURATION = "duration"   # stored as seconds (int); typed as 30s, 5m, 1h ...
    LIST = "list"           # list of strings; typed as JSON or comma/newline separated
    MAPPING = "mapping"     # {name: [role, ...]}; typed as JSON
    SECRET = "secret"       # stored sealed; shown as "(set)"


TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: Kind
    description: str
    default: Any = None
    choices: tuple[str, ...] = ()
    required: bool = False       # the service cannot log anybody in without it
    example: str = ""

    def parse(self, text: str) -> Any:
        """The value for ``text`` as an administrator types it; refuses with the key named."""
        raw = text.strip()
        try:
            return self._parse(raw)
        except ValidationError as exc:
            raise ValidationError(f"setting '{self.key}': {exc}") from None
        except (ValueError, json.JSONDecodeError) as exc:
            hint = f" (e.g. {self.example})" if self.example else ""
            raise ValidationError(f"setting '{self.key}': {exc}{hint}") from None

    def _parse(self, raw: str) -> Any:
        if self.kind in (Kind.TEXT, Kind.SECRET):
            return raw
        if self.kind is Kind.INT:
            return int(raw)
        if self.kind is Kind.BOOL:
            if raw.lower() in TRUE_WORDS:
                return True
            if raw.lower() in FALSE_WORDS:
                return False
            raise ValueError("expected true or false")
        if self.kind is Kind.CHOICE:
            for choice in self.choices:
                if raw.lower() == choice.lower():
                    return choice
            raise ValueError("expected one of " + ", ".join(self.choices))
        if self.kind is Kind.DURATION:
            return parse_duration(raw)
        if self.kind is Kind.LIST:
            if raw.startswith("["):
                return self.check(json.loads(raw))
            return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
        return self.check(json.loads(raw or "{}"))   # MAPPING

    def check(self, value: Any) -> Any:
        """Refuse a typed value of the wrong shape (values from JSON or from code)."""
        ok = {
            Kind.TEXT: isinstance(value, str),
            Kind.SECRET: isinstance(value, str),
            Kind.INT: isinstance(value, int) and not isinstance(value, bool),
            Kind.DURATION: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            Kind.BOOL: isinstance(value, bool),
            Kind.CHOICE: value in self.choices,
            Kind.LIST: isinstance(value, list) and all(isinstance(v, str) for v in value),
            Kind.MAPPING: isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(r, str) for r in v)
                for k, v in value.items()),
        }[self.kind]
        if not ok:
            expected = {Kind.LIST: "a list of strings",
                        Kind.MAPPING: 'an object such as {"group": ["role", ...]}',
                        Kind.CHOICE: "one of " + ", ".join(self.choices)}.get(
                            self.kind, f"a {self.kind.value} value")
            raise ValidationError(f"setting '{self.key}' must be {expected}")
        return value

    def shown(self, value: Any) -> str:
        """How a stored value is displayed: secrets never, the rest compactly."""
        if value is None:
            return "-"
        if self.kind is Kind.SECRET:
            return "(set)"
        if self.kind is Kind.BOOL:
            return "true" if value else "false"
        if self.kind in (Kind.LIST, Kind.MAPPING):
            return json.dumps(value, ensure_ascii=False)
        return str(value)


@dataclass(frozen=True)
class SettingView:
    spec: SettingSpec
    value: Any            # stored value (sealed for secrets) or None
    shown: str            # display text, defaults marked

    @property
    def is_default(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class SettingsSchema:
    specs: tuple[SettingSpec, ...] = ()

    def keys(self) -> list[str]:
        return [s.key for s in self.specs]

    def spec(self, key: str) -> SettingSpec:
        for spec in self.specs:
            if spec.key == key:
                return spec
        if not self.specs:
            raise ValidationError("this identity service type has no settings")
        hint = difflib.get_close_matches(key, self.keys(), n=1, cutoff=0.5)
        did_you_mean = f"; did you mean '{hint[0]}'?" if hint else ""
        raise ValidationError(f"unknown setting '{key}'{did_you_mean} Settings of this type: "
                              + ", ".join(self.keys()))

    def apply(self, stored: Mapping[str, Any], changes: Mapping[str, Any | None],
              secrets: SecretBox) -> dict[str, Any]:
        """A new settings dict: each change is a typed value (or text to parse) or None to go
        back to the default. Secrets are sealed here and only here."""
        result = dict(stored)
        for key, value in changes.items():
            spec = self.spec(key)
            if value is None:
                result.pop(key, None)
                continue
            typed = spec.parse(value) if isinstance(value, str) else spec.check(value)
            if spec.kind is Kind.SECRET:
                if not typed:
                    raise ValidationError(f"setting '{key}': an empty secret; use unset instead")
                typed = secrets.seal(typed)
            result[key] = typed
        return result

    def checked(self, settings: Mapping[str, Any], secrets: SecretBox) -> dict[str, Any]:
        """Settings given whole (at create time) as typed values: check and seal them."""
        return self.apply({}, dict(settings), secrets)

    def resolve(self, stored: Mapping[str, Any], secrets: SecretBox) -> dict[str, Any]:
        """What a provider works with: defaults filled in, secrets opened (in memory only)."""
        result: dict[str, Any] = {}
        for spec in self.specs:
            value = stored.get(spec.key)
            if value is None:
                value = spec.default
            elif spec.kind is Kind.SECRET and is_sealed(value):
                value = secrets.open(value)
            result[spec.key] = value
        return result

    def missing(self, stored: Mapping[str, Any]) -> list[str]:
        """Required settings that are neither set nor defaulted."""
        return [s.key for s in self.specs
                if s.required and stored.get(s.key) is None and s.default is None]

    def views(self, stored: Mapping[str, Any]) -> list[SettingView]:
        views = []
        for spec in self.specs:
            value = stored.get(spec.key)
            if value is None:
                shown = (f"{spec.shown(spec.default)} (default)" if spec.default is not None
                         else ("- (required)" if spec.required else "-"))
            else:
                shown = spec.shown(value)
            views.append(SettingView(spec, value, shown))
        return views

    def audit_parameters(self, changes: Mapping[str, Any | None]) -> dict[str, Any]:
        """What the audit log may say of a change: secrets only as 'changed'/'unset'."""
        out: dict[str, Any] = {}
        for key, value in changes.items():
            spec = self.spec(key)
            if spec.kind is Kind.SECRET:
                out[key] = "(unset)" if value is None else "(secret changed)"
            else:
                out[key] = value
        return out


NO_SETTINGS = SettingsSchema()
