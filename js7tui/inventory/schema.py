"""The JSON schemas of inventory objects, equal to the Controller's wire shapes.

The shapes are those of ``js7tui.engine.shapes`` (reference 4.3). An inventory object is that
JSON without ``path`` (its name, taken from the inventory path) and without ``versionId`` (set
at deployment).

Checks are made with ``jsonschema`` (draft 2020-12) for the types of the fields the editor
knows, then with the engine's own check (:func:`js7tui.engine.shapes.item_problems`, the same
code the Controller and the Agent run on every signed item): every field or instruction the
engines do not implement is refused by name, and every expression is parsed by the engine's
parser, so what the inventory accepts the Controller deploys. Every refusal names the
offending field by its JSON pointer, so an administrator can find it in the editor.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

from js7tui.engine.shapes import item_problems
from js7tui.engine.shapes import pointer as pointer
from js7tui.errors import ValidationError
from js7tui.inventory.types import NAME_PATTERN, NAME_RULE, ObjectType

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError as SchemaError

MAX_CONTENT_BYTES = 4 * 1024 * 1024
MAX_REPORTED = 20

_VARIABLE = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,199}$"


def _name(what: str) -> dict[str, Any]:
    return {"type": "string", "pattern": NAME_PATTERN,
            "x-message": f"is not a valid {what} name: use {NAME_RULE}"}


_EXPRESSION = {
    "type": ["string", "number", "boolean"],
    "x-message": "must be an expression: 'text', \"text with $name\", $name, a number, "
                 "true or false",
}


def _expressions(what: str, names: str, rule: str) -> dict[str, Any]:
    return {"type": "object",
            "propertyNames": {"pattern": names, "x-message": f"is not a valid {what} ({rule})"},
            "additionalProperties": _EXPRESSION}


_ARGUMENTS = _expressions("argument name", _VARIABLE,
                          "a letter or '_', then letters, digits or '_'")
_ENVIRONMENT = _expressions("environment variable name", _ENV_NAME,
                            "a letter or '_', then letters, digits or '_'")
_CODES = {"type": "array", "minItems": 1, "uniqueItems": True,
          "items": {"type": "integer", "minimum": 0, "maximum": 255}}

JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["agentPath", "executable"],
    "properties": {
        "agentPath": _name("Agent"),
        "executable": {
            "type": "object",
            "required": ["TYPE", "script"],
            "properties": {
                "TYPE": {"enum": ["ShellScriptExecutable", "ScriptExecutable"],
                         "x-message": 'must be "ShellScriptExecutable" (other executables are '
                                      "not supported by this js7tui)"},
                "script": {"type": "string", "pattern": r"\S", "maxLength": 1024 * 1024,
                           "x-message": "must be a non-empty shell script"},
                "env": _ENVIRONMENT,
                "returnCodeMeaning": {"type": "object"},
            },
        },
        "jobResourcePaths": {"type": "array", "uniqueItems": True,
                             "items": _name("job resource")},
        "defaultArguments": _ARGUMENTS,
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 366 * 86400,
                    "x-message": "must be a positive number of seconds"},
        "workingDirectory": {
            "type": "string", "minLength": 1, "maxLength": 1024,
            "pattern": r"^(?!/)(?!.*(^|/)\.\.(/|$))[^\x00-\x1f]*$",
            "x-message": "must be a relative path without '..' (below the Agent's work "
                         "directory)",
        },
    },
}

WORKFLOW_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "js7tui inventory workflow",
    "type": "object",
    "required": ["TYPE", "instructions"],
    "properties": {
        "TYPE": {"const": "Workflow"},
        "path": _name("workflow"),
        "instructions": {
            "type": "array",
            "items": {"type": "object", "required": ["TYPE"],
                      "properties": {"TYPE": {"type": "string"}}},
        },
        "jobs": {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN,
                              "x-message": f"is not a valid job name: use {NAME_RULE}"},
            "additionalProperties": JOB_SCHEMA,
        },
    },
}

JOBRESOURCE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "js7tui inventory job resource",
    "type": "object",
    "required": ["TYPE"],
    "properties": {
        "TYPE": {"const": "JobResource"},
        "path": _name("job resource"),
        "variables": _ARGUMENTS,
        "env": _ENVIRONMENT,
    },
}

SCHEMAS = {ObjectType.WORKFLOW: WORKFLOW_SCHEMA, ObjectType.JOBRESOURCE: JOBRESOURCE_SCHEMA}


@cache
def _validator(kind: ObjectType) -> Draft202012Validator:
    """Built on first use: importing jsonschema costs tens of milliseconds that commands which
    never validate (most of them) should not pay."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(SCHEMAS[kind])

_JSON_TYPES = {"string": "a string", "number": "a number", "integer": "an integer",
               "boolean": "true or false", "object": "an object", "array": "a list",
               "null": "null"}


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(error: SchemaError) -> str:
    """One line: where, then what is wrong, in an administrator's words."""
    path = list(error.absolute_path)
    kind, schema, instance = error.validator, error.schema, error.instance
    custom = schema.get("x-message") if isinstance(schema, dict) else None
    if kind == "required":
        missing = [n for n in error.validator_value if n not in instance]
        return f"{pointer([*path, missing[0]])}: is required but missing"
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = set(schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in known)
        hint = (" (the version is set at deployment)" if extra and extra[0] == "versionId"
                else f"; allowed: {', '.join(sorted(known))}")
        return f"{pointer([*path, extra[0]])}: unknown field{hint}"
    if "propertyNames" in error.absolute_schema_path:
        return f"{pointer(path)}: key {_short(instance)} {custom or error.message}"
    if kind == "const":
        return f"{pointer(path)}: must be {_short(error.validator_value)}, not {_short(instance)}"
    if kind == "type" and not custom:
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        return (f"{pointer(path)}: must be "
                + " or ".join(_JSON_TYPES.get(w, w) for w in wanted) + f", not {_short(instance)}")
    if kind in ("minItems", "minProperties") and error.validator_value == 1 and not custom:
        return f"{pointer(path)}: must not be empty"
    if kind == "uniqueItems":
        return f"{pointer(path)}: holds the same entry twice"
    if custom:
        shown = f" ({_short(instance)})" if not isinstance(instance, dict | list) else ""
        return f"{pointer(path)}{shown}: {custom}"
    return f"{pointer(path)}: {error.message}"


def _errors(kind: ObjectType, document: object) -> list[str]:
    validator = _validator(kind)
    found: list[str] = []
    for error in sorted(validator.iter_errors(document), key=lambda e: pointer(e.absolute_path)):
        found.append(_describe(error))
    if isinstance(document, dict) and document.get("TYPE") != kind.wire_type:
        return found
    # The engine's own check: what it does not implement, and every expression, by pointer.
    # A field the schema reported already is not reported twice.
    seen = [re.split(r"[ :]", p, maxsplit=1)[0] for p in found]
    for problem in item_problems(document, inventory=True):
        where = re.split(r"[ :]", problem, maxsplit=1)[0]
        if not any(where == s or where.startswith(s + "/") for s in seen):
            found.append(problem)
    return found


def validate(kind: ObjectType, document: object, *, what: str = "") -> None:
    """Refuse ``document`` unless it is a valid ``kind``; the message lists the first few
    problems, each with the JSON pointer of its field."""
    problems = list(dict.fromkeys(_errors(kind, document)))
    if not problems:
        return
    more = len(problems) - MAX_REPORTED
    text = "; ".join(problems[:MAX_REPORTED]) + (f"; and {more} more" if more > 0 else "")
    subject = what or f"the {kind.label}"
    raise ValidationError(f"{subject} is not valid: {text}")


def parse_json(text: str | bytes, *, what: str) -> dict[str, Any]:
    """The JSON object in ``text``, or a refusal that gives the line and column."""
    if len(text) > MAX_CONTENT_BYTES:
        raise ValidationError(f"{what} is larger than {MAX_CONTENT_BYTES // (1024 * 1024)} MiB")
    try:
        document = json.loads(text)
    except UnicodeDecodeError:
        raise ValidationError(f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} "
                              f"column {exc.colno}") from None
    if not isinstance(document, dict):
        raise ValidationError(f"{what} must be a JSON object, not {type(document).__name__}")
    return document
