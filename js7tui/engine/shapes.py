"""Wire shapes shared by the console client, the Controller and the Agent (no I/O here).

Items (the ``string`` of a signed item, reference 4.3), named as in JS7's engine:

Workflow::

    {"TYPE": "Workflow", "path": "daily-report", "versionId": "2026-11-23T10:00:00Z-1",
     "instructions": [{"TYPE": "Execute.Named", "jobName": "extract"}, ...],
     "jobs": {"extract": {
         "agentPath": "agent-1",                        # the Agent that runs it
         "executable": {"TYPE": "ShellScriptExecutable",
                        "script": "#!/bin/sh\\necho \\"$GREETING\\"\\n",
                        "env": {"GREETING": "$greeting"},            # expressions, see below
                        "returnCodeMeaning": {"success": [0]}},      # or {"failure": [...]}
         "jobResourcePaths": ["mail-settings"],
         "defaultArguments": {"greeting": "'hello'"},
         "timeout": 60,                                 # seconds; none: no limit
         "workingDirectory": "reports"}}}               # js7tui: under the Agent's work_dir

JobResource::

    {"TYPE": "JobResource", "path": "mail-settings",
     "variables": {"host": "'smtp.example.test'"},
     "env": {"MAIL_HOST": "$host"}}

``path`` is the item's name (JOC replaces folders and Agent names before signing, so the engine
sees names only): letters, digits, ``.``, ``_``, ``-``. ``versionId`` is optional; without it
the version is the first 16 hex digits of the SHA-256 of the signed bytes. A workflow runs its
``Execute.Named`` instructions in order (this engine knows no other instruction yet).

Expressions (a subset of JS7's): ``'literal'`` (no escapes), ``"text with $name or ${name}"``
(escapes ``\\\\ \\" \\$ \\n \\t``), ``$name`` / ``${name}``, numbers, ``true``/``false``.
Names come from the order's arguments, then the job's ``defaultArguments``; a job resource's
``env`` also sees its own ``variables``.

Requests: login ``{"TYPE": "Login", "userAndPassword": {"userId", "password"}}`` ->
``{"TYPE": "LoggedIn", "sessionToken"}``, the token in header ``x-js7-session``; refusals are
``{"TYPE": "Problem", "code", "message"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from js7tui.errors import ValidationError

SESSION_HEADER = "x-js7-session"
ITEM_TYPES = ("Workflow", "JobResource")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class ShapeError(ValidationError):
    """A request or item that does not have the documented shape."""

    code = "InvalidItem"


def check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ShapeError(f"{kind} name {name!r} is not valid: use letters, digits, '.', '_' "
                         "and '-' (at most 200)")
    return name


# -- expressions ------------------------------------------------------------------------
@dataclass(frozen=True)
class Expression:
    """Parsed once at deployment, evaluated at each job start."""

    text: str
    parts: tuple[str | tuple[str], ...]  # literal text, or (variable name,)

    def evaluate(self, scope: Mapping[str, str]) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, tuple):
                if part[0] not in scope:
                    raise ShapeError(f"No such named value: {part[0]} (in {self.text!r})")
                out.append(scope[part[0]])
            else:
                out.append(part)
        return "".join(out)

    @property
    def encrypted_value(self) -> str | None:
        """The value if this expression is one literal holding an encrypted value (issue 21:
        ``'js7tui-enc:v1:...'`` or JS7's ``'enc:...'``), which the Agent decrypts before the
        job starts; None for anything else."""
        from js7tui.encipherment.envelope import looks_encrypted
        if len(self.parts) == 1 and isinstance(self.parts[0], str) and looks_encrypted(
                self.parts[0]):
            return self.parts[0]
        return None


def _variable(text: str, at: int) -> tuple[str, int]:
    """The variable name starting after ``$`` at ``at``; returns (name, next index)."""
    if text.startswith("{", at):
        end = text.find("}", at)
        name = text[at + 1:end] if end > 0 else ""
        if end < 0 or not _VARIABLE.match(name):
            raise ShapeError(f"bad variable reference in expression {text!r}")
        return name, end + 1
    match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[at:])
    if not match:
        raise ShapeError(f"bad variable reference in expression {text!r}")
    return match.group(0), at + match.end()


def parse_expression(value: object) -> Expression:
    if isinstance(value, bool):
        return Expression(str(value).lower(), ("true" if value else "false",))
    if isinstance(value, int | float):
        return Expression(str(value), (str(value),))
    if not isinstance(value, str):
        raise ShapeError(f"an expression must be a string, not {value!r}")
    text = value.strip()
    if text in ("true", "false") or _NUMBER.match(text):
        return Expression(text, (text,))
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return Expression(text, (text[1:-1],))
    if text.startswith("$"):
        name, end = _variable(text, 1)
        if end != len(text):
            raise ShapeError(f"expression {text!r}: quote text that follows a variable "
                             "(\"...$name...\")")
        return Expression(text, ((name,),))
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return Expression(text, tuple(_double_quoted(text)))
    raise ShapeError(f"expression {text!r} is not understood: write 'text', \"text $name\", "
                     "$name or a number")


def _double_quoted(text: str) -> list[str | tuple[str]]:
    parts: list[str | tuple[str]] = []
    buffer, index, body = [], 1, len(text) - 1
    escapes = {"\\": "\\", '"': '"', "$": "$", "n": "\n", "t": "\t"}
    while index < body:
        char = text[index]
        if char == "\\" and index + 1 < body and text[index + 1] in escapes:
            buffer.append(escapes[text[index + 1]])
            index += 2
        elif char == '"':
            raise ShapeError(f"expression {text!r}: escape inner quotes as \\\"")
        elif char == "$":
            if buffer:
                parts.append("".join(buffer))
                buffer = []
            name, index = _variable(text, index + 1)
            parts.append((name,))
        else:
            buffer.append(char)
            index += 1
    if buffer:
        parts.append("".join(buffer))
    return parts


def _expressions(kind: str, raw: object, names: re.Pattern[str]) -> dict[str, Expression]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ShapeError(f"{kind} must be an object of name -> expression")
    out = {}
    for key, value in raw.items():
        if not names.match(str(key)):
            raise ShapeError(f"{kind}: {key!r} is not a valid name")
        out[str(key)] = parse_expression(value)
    return out


# -- items ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    name: str
    agent: str
    script: str
    env: dict[str, Expression]
    job_resources: tuple[str, ...]
    default_arguments: dict[str, Expression]
    timeout: float | None
    working_directory: str | None
    success_codes: frozenset[int] | None = None
    failure_codes: frozenset[int] | None = None

    def succeeded(self, return_code: int) -> bool:
        if self.success_codes is not None:
            return return_code in self.success_codes
        if self.failure_codes is not None:
            return return_code not in self.failure_codes
        return return_code == 0


@dataclass(frozen=True)
class Workflow:
    path: str
    version_id: str | None
    steps: tuple[str, ...]
    jobs: dict[str, Job] = field(default_factory=dict)

    TYPE = "Workflow"

    @property
    def agents(self) -> set[str]:
        return {job.agent for job in self.jobs.values()}

    @property
    def job_resources(self) -> set[str]:
        return {r for job in self.jobs.values() for r in job.job_resources}


@dataclass(frozen=True)
class JobResource:
    path: str
    version_id: str | None
    variables: dict[str, Expression]
    env: dict[str, Expression]

    TYPE = "JobResource"


Item = Workflow | JobResource


def _codes(raw: object) -> frozenset[int] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(c, int) and not isinstance(c, bool)
                                            for c in raw):
        raise ShapeError("returnCodeMeaning lists must hold integers")
    return frozenset(raw)


def _job(name: str, raw: object) -> Job:
    if not isinstance(raw, Mapping):
        raise ShapeError(f"job '{name}' must be an object")
    executable = raw.get("executable")
    if not isinstance(executable, Mapping) or executable.get("TYPE") != "ShellScriptExecutable":
        raise ShapeError(f"job '{name}': executable must be a ShellScriptExecutable")
    script = executable.get("script")
    if not isinstance(script, str) or not script.strip():
        raise ShapeError(f"job '{name}': the script is empty")
    meaning = executable.get("returnCodeMeaning") or {}
    if not isinstance(meaning, Mapping) or set(meaning) - {"success", "failure"} or len(
            meaning) > 1:
        raise ShapeError(f"job '{name}': returnCodeMeaning is {{\"success\": [...]}} or "
                         "{\"failure\": [...]}")
    resources = raw.get("jobResourcePaths") or []
    if not isinstance(resources, list):
        raise ShapeError(f"job '{name}': jobResourcePaths must be a list")
    timeout = raw.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                                or timeout <= 0):
        raise ShapeError(f"job '{name}': timeout must be a positive number of seconds")
    workdir = raw.get("workingDirectory")
    if workdir is not None and (not isinstance(workdir, str) or workdir.startswith("/")
                                or ".." in workdir.split("/")):
        raise ShapeError(f"job '{name}': workingDirectory must be a relative path without "
                         "'..' (it is taken under the Agent's work_dir)")
    return Job(
        name=name, agent=check_name("agent", raw.get("agentPath")), script=script,
        env=_expressions(f"job '{name}' env", executable.get("env"), _ENV_NAME),
        job_resources=tuple(check_name("job resource", r) for r in resources),
        default_arguments=_expressions(f"job '{name}' defaultArguments",
                                       raw.get("defaultArguments"), _VARIABLE),
        timeout=float(timeout) if timeout is not None else None,
        working_directory=workdir,
        success_codes=_codes(meaning.get("success")),
        failure_codes=_codes(meaning.get("failure")))


def _version(document: Mapping[str, Any]) -> str | None:
    version = document.get("versionId")
    if version is not None and (not isinstance(version, str) or not version.strip()
                                or len(version) > 200):
        raise ShapeError("versionId must be a non-empty string (at most 200 characters)")
    return version


def parse_item(document: Mapping[str, Any]) -> Item:
    """The item described by a verified signed string; refuses anything else."""
    kind = document.get("TYPE")
    path = check_name(f"{kind or 'item'}", document.get("path"))
    if kind == "JobResource":
        return JobResource(path, _version(document),
                           _expressions("variables", document.get("variables"), _VARIABLE),
                           _expressions("env", document.get("env"), _ENV_NAME))
    if kind != "Workflow":
        raise ShapeError(f"item type {kind!r} cannot be deployed signed; signed items are "
                         f"{' and '.join(ITEM_TYPES)}")
    jobs_raw = document.get("jobs") or {}
    if not isinstance(jobs_raw, Mapping):
        raise ShapeError(f"workflow '{path}': jobs must be an object")
    jobs = {check_name("job", name): _job(name, raw) for name, raw in jobs_raw.items()}
    instructions = document.get("instructions")
    if not isinstance(instructions, list) or not instructions:
        raise ShapeError(f"workflow '{path}' has no instructions")
    steps = []
    for index, instruction in enumerate(instructions):
        if not isinstance(instruction, Mapping) or instruction.get("TYPE") != "Execute.Named":
            what = instruction.get("TYPE") if isinstance(instruction, Mapping) else instruction
            raise ShapeError(f"workflow '{path}' instruction {index}: {what!r} is not supported "
                             "by this engine (only Execute.Named)")
        job = instruction.get("jobName")
        if job not in jobs:
            raise ShapeError(f"workflow '{path}' instruction {index} names the unknown job "
                             f"{job!r}")
        steps.append(job)
    return Workflow(path, _version(document), tuple(steps), jobs)


def evaluate_all(expressions: Mapping[str, Expression], scope: Mapping[str, str]
                 ) -> dict[str, str]:
    return {name: expression.evaluate(scope) for name, expression in expressions.items()}


def order_arguments(raw: object) -> dict[str, str]:
    """An order's arguments: names to strings (numbers and booleans written as JSON would)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ShapeError("arguments must be an object of name -> value")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _VARIABLE.match(key):
            raise ShapeError(f"argument name {key!r} is not valid")
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            out[key] = str(value)
        else:
            raise ShapeError(f"argument {key!r} must be a string, number or boolean")
    return out


# -- job output -------------------------------------------------------------------------
OUTPUT_CHUNK = 256 * 1024


def _utf8_length(lead: int) -> int:
    return 2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else \
        4 if lead >> 3 == 0b11110 else 1


def output_slice(data: bytes, offset: int, limit: int = OUTPUT_CHUNK) -> tuple[str, int]:
    """The text of ``data`` from byte ``offset`` (at most ``limit`` bytes) and the offset to ask
    from next time: follow mode reads a job's growing output in pieces, so a piece ends before
    a UTF-8 character whose bytes have not all arrived (the next piece starts with it)."""
    offset = min(max(offset, 0), len(data))
    chunk = data[offset:offset + limit]
    end = len(chunk)
    start = end - 1
    while start >= 0 and end - start < 4 and chunk[start] & 0xC0 == 0x80:
        start -= 1
    if start >= 0 and chunk[start] >= 0x80 and end - start < _utf8_length(chunk[start]):
        end = start
    return chunk[:end].decode("utf-8", "replace"), offset + end


# -- requests ---------------------------------------------------------------------------
def problem(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"TYPE": "Problem", "code": code, "message": message, **extra}


def login_body(user: str, password: str) -> dict[str, Any]:
    return {"TYPE": "Login", "userAndPassword": {"userId": user, "password": password}}


def logout_body(token: str) -> dict[str, Any]:
    return {"TYPE": "Logout", "sessionToken": token}


def delete_operation(item_type: str, path: str) -> dict[str, Any]:
    return {"TYPE": "DeleteItem", "itemType": item_type, "path": path}


def update_items_body(add: Sequence[Mapping[str, Any]] = (),
                      delete: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """``add``: signed items in wire form; ``delete``: (item type, path)."""
    return {"TYPE": "UpdateItems",
            "operations": [*({"TYPE": "AddOrChangeSigned", "signedString": dict(s)}
                             for s in add),
                           *(delete_operation(t, p) for t, p in delete)]}
