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
sees names only): letters of one script, digits, ``.``, ``_``, ``-`` (:func:`check_name`).
``versionId`` is optional; without it the version is the first 16 hex digits of the SHA-256 of
the signed bytes. A workflow runs its ``Execute.Named``/``Execute.Anonymous`` instructions in
order. Exactly which fields, instructions and expressions run is the check below
(``item_problems``, used by the console's inventory as well as by the Controller and the
Agent); anything else is refused by JSON pointer (README: "Which part of JS7's workflow
language runs").

Requests: login ``{"TYPE": "Login", "userAndPassword": {"userId", "password"}}`` ->
``{"TYPE": "LoggedIn", "sessionToken"}``, the token in header ``x-js7-session``; refusals are
``{"TYPE": "Problem", "code", "message"}``.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from js7tui.errors import ValidationError

SESSION_HEADER = "x-js7-session"
ITEM_TYPES = ("Workflow", "JobResource")
NAME_PATTERN = r"^(?:[^\W\d]|[0-9])(?:[^\W\d]|[0-9.-]){0,199}$"
_NAME = re.compile(NAME_PATTERN)
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class ShapeError(ValidationError):
    """A request or item that does not have the documented shape."""

    code = "InvalidItem"


NAME_RULE = ("letters (of one script), digits 0-9, '.', '_' and '-', not starting with '.' or "
             "'-', at most 200")


def _script(char: str) -> str:
    if char.isascii():
        return "LATIN"
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid item name (JS7 allows letters of any script), or None.
    Look-alikes are refused: a name must be NFC-normalised and its letters of one script, so
    a Cyrillic 'а' cannot pass for a Latin 'a' inside an otherwise Latin name."""
    if not isinstance(name, str):
        return f"use {NAME_RULE}"
    return _string_name_problem(name)


@lru_cache(maxsize=8192)
def _string_name_problem(name: str) -> str | None:
    """The same names come back in every item (Agents, jobs): each is judged once."""
    if not _NAME.match(name):
        return f"use {NAME_RULE}"
    if not unicodedata.is_normalized("NFC", name):
        return "it is not in Unicode normal form NFC"
    scripts = {_script(c) for c in name if c.isalpha()}
    if len(scripts) > 1:
        return f"it mixes letters of {' and '.join(sorted(scripts))} (look-alikes)"
    return None


def check_name(kind: str, name: object) -> str:
    why = name_problem(name)
    if why is not None:
        raise ShapeError(f"{kind} name {name!r} is not valid: {why}")
    return name  # type: ignore[return-value]


# -- expressions ------------------------------------------------------------------------
# JS7's expression language, the part this engine evaluates (JS7's docs: items/workflow/
# expression, items/jobresource): 'text' (no escapes), "text with $name, ${name}" (escapes
# \\ \" \$ \t \r \n), numbers, true/false, $name / ${name}, a ++ b (concatenation), (a),
# env('NAME') / env('NAME', default) (the Agent process's environment), now(format='yyyy-MM-dd',
# timezone='Europe/Berlin') and the order variables below. Anything else is refused when the
# item is checked (console and engines alike), never when a job starts.
BUILTIN_VARIABLES = ("js7OrderId", "js7WorkflowPath", "js7WorkflowPosition", "js7JobName",
                     "js7Label", "epochSecond", "epochMilli")
_UNSUPPORTED_VARIABLES = ("js7ControllerId", "returnCode", "js7EpochMilli", "js7EpochSecond")
_JAVA_NAME = re.compile(r"[^\W\d]\w*")
_JAVA_FORMAT = {"yyyy": "%Y", "uuuu": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H",
                "mm": "%M", "ss": "%S", "SSS": "\0ms", "EEE": "%a", "MMM": "%b"}


def _java_format(pattern: str) -> str:
    """A java.time DateTimeFormatter pattern as strftime (the common letters), or refused."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = pattern.find("'", index + 1)
            if end < 0:
                raise ShapeError(f"now(): unclosed quote in format {pattern!r}")
            out.append(pattern[index + 1:end].replace("%", "%%") or "'")
            index = end + 1
        elif char.isascii() and char.isalpha():
            run = len(pattern[index:]) - len(pattern[index:].lstrip(char))
            token = pattern[index:index + run]
            if token not in _JAVA_FORMAT:
                raise ShapeError(f"now(): format letters {token!r} are not supported by this "
                                 f"engine (js7tui; supported: {', '.join(_JAVA_FORMAT)})")
            out.append(_JAVA_FORMAT[token])
            index += run
        else:
            out.append("%%" if char == "%" else char)
            index += 1
    return "".join(out)


@dataclass(frozen=True)
class Context:
    """What an expression may see besides named values: the process environment and the
    time (``now`` in UTC)."""

    environ: Mapping[str, str]
    now: datetime


def default_context() -> Context:
    return Context(os.environ, datetime.now(UTC))


@dataclass(frozen=True)
class Expression:
    """Parsed once at deployment, evaluated at each job start. ``tree`` nodes: ("lit", text),
    ("var", name), ("cat", (nodes)), ("env", node, node | None), ("now", strftime, zone)."""

    text: str
    tree: tuple[Any, ...]

    @property
    def names(self) -> set[str]:
        """The named values it reads."""
        found: set[str] = set()

        def walk(node: tuple[Any, ...]) -> None:
            if node[0] == "var":
                found.add(node[1])
            elif node[0] == "cat":
                for sub in node[1]:
                    walk(sub)
            elif node[0] == "env":
                walk(node[1])
                if node[2] is not None:
                    walk(node[2])
        walk(self.tree)
        return found

    def evaluate(self, scope: Mapping[str, str], context: Context | None = None) -> str:
        return _evaluate(self.tree, scope, context or default_context(), self.text)

    @property
    def constant(self) -> str | None:
        return self.tree[1] if self.tree[0] == "lit" else None

    @property
    def encrypted_value(self) -> str | None:
        """The value if this expression is one literal holding an encrypted value (issue 21:
        ``'js7tui-enc:v1:...'`` or JS7's ``'enc:...'``), which the Agent decrypts before the
        job starts; None for anything else."""
        from js7tui.encipherment.envelope import looks_encrypted
        constant = self.constant
        return constant if constant is not None and looks_encrypted(constant) else None


def _evaluate(node: tuple[Any, ...], scope: Mapping[str, str], context: Context,
              text: str) -> str:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "var":
        if node[1] not in scope:
            raise ShapeError(f"No such named value: {node[1]} (in {text!r})")
        return scope[node[1]]
    if kind == "cat":
        return "".join(_evaluate(sub, scope, context, text) for sub in node[1])
    if kind == "env":
        name = _evaluate(node[1], scope, context, text)
        if name in context.environ:
            return context.environ[name]
        if node[2] is None:
            raise ShapeError(f"env({name!r}): no such environment variable (in {text!r})")
        return _evaluate(node[2], scope, context, text)
    fmt, zone = node[1], node[2]
    moment = context.now.astimezone(ZoneInfo(zone))
    return moment.strftime(fmt.replace("\0ms", f"{moment.microsecond // 1000:03d}"))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def fail(self, why: str) -> ShapeError:
        return ShapeError(f"expression {self.text!r} {why}")

    def space(self) -> None:
        while self.at < len(self.text) and self.text[self.at] in " \t\r\n":
            self.at += 1

    def peek(self, token: str) -> bool:
        self.space()
        return self.text.startswith(token, self.at)

    def take(self, token: str) -> None:
        if not self.peek(token):
            raise self.fail(f"expects {token!r} at column {self.at + 1}")
        self.at += len(token)

    def parse(self) -> tuple[Any, ...]:
        node = self.concat()
        self.space()
        if self.at != len(self.text):
            rest = self.text[self.at:self.at + 12]
            raise self.fail(f"is not understood from {rest!r} on (column {self.at + 1}): this "
                            "js7tui evaluates 'text', \"text $name\", $name, numbers, "
                            "true/false, ++, env(...) and now(...)")
        return node

    def concat(self) -> tuple[Any, ...]:
        parts = [self.primary()]
        while self.peek("++"):
            self.at += 2
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else ("cat", tuple(parts))

    def variable(self) -> tuple[Any, ...]:
        """After ``$``."""
        if self.text.startswith("{", self.at):
            end = self.text.find("}", self.at)
            if end < 0 or end == self.at + 1:
                raise self.fail("has a bad ${...} reference")
            name = self.text[self.at + 1:end]
            self.at = end + 1
        else:
            match = _JAVA_NAME.match(self.text, self.at)
            if not match:
                raise self.fail(f"has a '$' without a name at column {self.at}")
            name = match.group(0)
            self.at = match.end()
        if name in _UNSUPPORTED_VARIABLES:
            raise self.fail(f"reads ${name}, which is not supported by this engine (js7tui)")
        return ("var", name)

    def primary(self) -> tuple[Any, ...]:
        self.space()
        text, at = self.text, self.at
        if at >= len(text):
            raise self.fail("ends where a value is expected")
        char = text[at]
        if char == "(":
            self.at += 1
            node = self.concat()
            self.take(")")
            return node
        if char == "'":
            end = text.find("'", at + 1)
            if end < 0:
                raise self.fail("has an unclosed '")
            self.at = end + 1
            return ("lit", text[at + 1:end].replace("\r", ""))
        if char == '"':
            return self.double_quoted()
        if char == "$":
            self.at += 1
            return self.variable()
        number = re.compile(r"-?\d+(\.\d+)?").match(text, at)
        if number:
            self.at = number.end()
            return ("lit", number.group(0))
        word = re.compile(r"[A-Za-z_]\w*").match(text, at)
        if word and word.group(0) in ("true", "false"):
            self.at = word.end()
            return ("lit", word.group(0))
        if word and word.group(0) in ("env", "now"):
            self.at = word.end()
            self.take("(")
            return self.env() if word.group(0) == "env" else self.now()
        what = word.group(0) if word else char
        raise self.fail(f"uses {what!r}, which is not supported by this engine (js7tui; it "
                        "evaluates 'text', \"text $name\", $name, numbers, true/false, ++, "
                        "env(...) and "
                        "now(...))")

    def env(self) -> tuple[Any, ...]:
        name = self.concat()
        default = None
        if self.peek(","):
            self.at += 1
            if self.peek("default"):
                self.at += len("default")
                self.take("=")
            default = self.concat()
        self.take(")")
        return ("env", name, default)

    def now(self) -> tuple[Any, ...]:
        args: dict[str, str] = {}
        while not self.peek(")"):
            match = re.compile(r"\s*(format|timezone)\s*=").match(self.text, self.at)
            if not match:
                raise self.fail("now() takes format='...' and timezone='...'")
            self.at = match.end()
            value = self.primary()
            if value[0] != "lit":
                raise self.fail(f"now({match.group(1)}=...) must be a quoted constant")
            args[match.group(1)] = value[1]
            if self.peek(","):
                self.at += 1
        self.take(")")
        zone = args.get("timezone", "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(f"names the unknown time zone {zone!r}") from None
        return ("now", _java_format(args.get("format", "yyyy-MM-dd'T'HH:mm:ss'Z'")), zone)

    def double_quoted(self) -> tuple[Any, ...]:
        text = self.text
        self.at += 1
        parts: list[tuple[Any, ...]] = []
        buffer: list[str] = []
        escapes = {"\\": "\\", '"': '"', "$": "$", "n": "\n", "t": "\t", "r": "\r"}
        while True:
            if self.at >= len(text):
                raise self.fail('has an unclosed "')
            char = text[self.at]
            if char == '"':
                self.at += 1
                break
            if char == "\\":
                nxt = text[self.at + 1:self.at + 2]
                if nxt not in escapes:
                    raise self.fail(f"has the unknown escape \\{nxt}")
                buffer.append(escapes[nxt])
                self.at += 2
            elif char == "$":
                if buffer:
                    parts.append(("lit", "".join(buffer)))
                    buffer = []
                self.at += 1
                if text.startswith("(", self.at):
                    raise self.fail("uses $(...), which is not supported by this engine (js7tui)")
                parts.append(self.variable())
            else:
                buffer.append(char)
                self.at += 1
        if buffer or not parts:
            parts.append(("lit", "".join(buffer)))
        return parts[0] if len(parts) == 1 else ("cat", tuple(parts))


def parse_expression(value: object) -> Expression:
    if isinstance(value, bool):
        return Expression(str(value).lower(), ("lit", "true" if value else "false"))
    if isinstance(value, int | float):
        return Expression(str(value), ("lit", str(value)))
    if not isinstance(value, str):
        raise ShapeError(f"an expression must be a string, not {value!r}")
    text = value.strip()
    if not text:
        raise ShapeError("an expression must not be empty")
    return Expression(text, _Parser(text).parse())


# -- items ------------------------------------------------------------------------------
# What this engine runs, one definition for the console's inventory and for the Controller
# and the Agent (each parses every signed item with :func:`parse_item`). A field or an
# instruction that is not listed here is refused, all of them at once, each by its JSON pointer:
# a signed item never runs differently from what its signer signed.
NOT_SUPPORTED = "not supported by this engine (js7tui)"
ENVELOPE_PREFIX = "js7tui"  # top-level fields of the console's own signed-item envelope
# versionCreated: what orders a path's versions (anti-rollback, read by engine/items.py)
WORKFLOW_FIELDS = frozenset({"TYPE", "path", "versionId", "versionCreated",
                             "orderPreparation", "jobResourcePaths",
                             "instructions", "jobs", "timeZone", "title", "documentationName",
                             "version"})
JOB_FIELDS = frozenset({"agentPath", "executable", "jobResourcePaths", "defaultArguments",
                        "timeout", "workingDirectory", "parallelism", "processLimit",
                        "taskLimit", "failOnErrWritten", "graceTimeout", "sigkillDelay",
                        "returnCodeMeaning", "title", "documentationName"})
EXECUTABLE_FIELDS = frozenset({"TYPE", "script", "env", "returnCodeMeaning"})
EXECUTABLE_TYPES = ("ShellScriptExecutable", "ScriptExecutable")
JOBRESOURCE_FIELDS = frozenset({"TYPE", "path", "versionId", "versionCreated", "variables",
                                "env", "title",
                                "documentationName", "version"})
INSTRUCTION_FIELDS = {"Execute.Named": frozenset({"TYPE", "jobName", "label",
                                                  "defaultArguments"}),
                      "Execute.Anonymous": frozenset({"TYPE", "job", "label",
                                                      "defaultArguments"})}
PARAMETER_TYPES = ("String", "Number", "Boolean")
# fields that mean nothing more than their absence when they hold JS7's default
DEFAULT_ONLY = {"v1Compatible": False, "warnOnErrWritten": False,
                "skipIfNoAdmissionForOrderDay": False, "criticality": "NORMAL"}
_LABEL = re.compile(r"^[^\W][\w.-]{0,199}$")


def pointer(parts: Iterable[object]) -> str:
    """A JSON pointer (RFC 6901) for a field, ``/`` for the whole document."""
    items = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
    return "/" + "/".join(items) if items else "/"


@dataclass(frozen=True)
class Parameter:
    """A declared order parameter (``orderPreparation``): required unless it has a default;
    a ``final`` value is the workflow's own and cannot be given by an order."""

    name: str
    type: str
    default: Expression | None = None
    final: Expression | None = None

    @property
    def required(self) -> bool:
        return self.default is None and self.final is None


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
    parallelism: int = 1
    fail_on_stderr: bool = False
    grace: float | None = None

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
    step_arguments: tuple[dict[str, Expression], ...] = ()
    labels: tuple[str | None, ...] = ()
    parameters: dict[str, Parameter] = field(default_factory=dict)
    allow_undeclared: bool = True
    time_zone: str | None = None

    TYPE = "Workflow"

    @property
    def agents(self) -> set[str]:
        return {job.agent for job in self.jobs.values()}

    @property
    def job_resources(self) -> set[str]:
        return {r for job in self.jobs.values() for r in job.job_resources}

    def step_defaults(self, position: int) -> dict[str, Expression]:
        return self.step_arguments[position] if position < len(self.step_arguments) else {}

    def label(self, position: int) -> str | None:
        return self.labels[position] if position < len(self.labels) else None


@dataclass(frozen=True)
class JobResource:
    path: str
    version_id: str | None
    variables: dict[str, Expression]
    env: dict[str, Expression]

    TYPE = "JobResource"


Item = Workflow | JobResource


class _Check:
    """Walks one item document, collecting every problem (pointer: why) and building what it
    can; the item is valid when nothing was collected."""

    def __init__(self, *, inventory: bool) -> None:
        self.inventory = inventory
        self.problems: list[str] = []

    def add(self, where: Sequence[object], why: str) -> None:
        self.problems.append(f"{pointer(where)}: {why}")

    def fields(self, where: Sequence[object], raw: Mapping[str, Any], known: frozenset[str], *,
               envelope: bool = False) -> None:
        for key in raw:
            if key in known or (envelope and str(key).startswith(ENVELOPE_PREFIX)):
                continue
            if key in DEFAULT_ONLY:
                if raw[key] != DEFAULT_ONLY[key]:
                    self.add([*where, key], f"{_short(raw[key])} is {NOT_SUPPORTED} (only "
                             f"{_short(DEFAULT_ONLY[key])}, JS7's default)")
                continue
            self.add([*where, key], f"unknown field, {NOT_SUPPORTED}")

    def name(self, where: Sequence[object], kind: str, value: object) -> str:
        try:
            return check_name(kind, value)
        except ShapeError as exc:
            self.add(where, str(exc))
            return "?"

    def expressions(self, where: Sequence[object], raw: object, names: re.Pattern[str],
                    what: str) -> dict[str, Expression]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.add(where, f"must be an object of {what} -> expression")
            return {}
        out = {}
        for key, value in raw.items():
            if not isinstance(key, str) or not names.match(key):
                self.add(where, f"key {_short(key)} is not a valid {what} (a letter or '_', "
                         "then letters, digits or '_')")
                continue
            try:
                out[key] = parse_expression(value)
            except ShapeError as exc:
                self.add([*where, key], f"must be an expression: {exc}")
        return out

    def codes(self, where: Sequence[object], raw: object) -> frozenset[int] | None:
        try:
            return return_codes(raw)
        except ShapeError as exc:
            self.add(where, str(exc))
            return None

    def meaning(self, where: Sequence[object], raw: object
                ) -> tuple[frozenset[int] | None, frozenset[int] | None]:
        if raw is None:
            return None, None
        if not isinstance(raw, Mapping):
            self.add(where, 'must be {"success": codes} or {"failure": codes}')
            return None, None
        raw = dict(raw)
        if raw.get("warning") in (None, "", []):
            raw.pop("warning", None)
        for key in raw:
            if key not in ("success", "failure"):
                self.add([*where, key], f"unknown field, {NOT_SUPPORTED}" if key != "warning"
                         else f"warning return codes are {NOT_SUPPORTED}")
        if "success" in raw and "failure" in raw:
            self.add(where, 'must be {"success": [codes]} or {"failure": [codes]}, not both')
            return None, None
        success = self.codes([*where, "success"], raw["success"]) if "success" in raw else None
        failure = self.codes([*where, "failure"], raw["failure"]) if "failure" in raw else None
        return success, failure

    def job(self, where: list[object], name: str, raw: object,
            workflow_resources: tuple[str, ...]) -> Job | None:
        if not isinstance(raw, Mapping):
            self.add(where, "must be an object")
            return None
        self.fields(where, raw, JOB_FIELDS)
        if "agentPath" not in raw:
            self.add([*where, "agentPath"], "is required but missing")
        agent = self.name([*where, "agentPath"], "Agent", raw.get("agentPath"))
        executable = raw.get("executable")
        script, env, success, failure = "", {}, None, None
        if not isinstance(executable, Mapping):
            self.add([*where, "executable"], "is required: a ShellScriptExecutable")
        else:
            at = [*where, "executable"]
            self.fields(at, executable, EXECUTABLE_FIELDS)
            if executable.get("TYPE") not in EXECUTABLE_TYPES:
                self.add([*at, "TYPE"], f"must be \"ShellScriptExecutable\", not "
                         f"{_short(executable.get('TYPE'))} (other executables are "
                         f"{NOT_SUPPORTED})")
            script = executable.get("script")
            if "script" not in executable:
                self.add([*at, "script"], "is required but missing")
            elif not isinstance(script, str) or not script.strip():
                self.add([*at, "script"], "must be a non-empty shell script")
            elif len(script) > 1024 * 1024:
                self.add([*at, "script"], "is longer than 1 MiB")
            env = self.expressions([*at, "env"], executable.get("env"), _ENV_NAME,
                                   "environment variable name")
            if "returnCodeMeaning" in executable and "returnCodeMeaning" in raw:
                self.add([*where, "returnCodeMeaning"], "is given twice (job and executable)")
            success, failure = self.meaning(
                [*at, "returnCodeMeaning"], executable.get("returnCodeMeaning"))
        if "returnCodeMeaning" in raw and "returnCodeMeaning" not in (executable or {}):
            success, failure = self.meaning([*where, "returnCodeMeaning"],
                                            raw["returnCodeMeaning"])
        resources = self.resources([*where, "jobResourcePaths"], raw.get("jobResourcePaths"))
        timeout = self.seconds([*where, "timeout"], raw.get("timeout"))
        grace = self.seconds([*where, "graceTimeout"], raw.get("graceTimeout",
                                                                raw.get("sigkillDelay")))
        workdir = raw.get("workingDirectory")
        if workdir is not None and (not isinstance(workdir, str) or not workdir
                                    or workdir.startswith("/") or ".." in workdir.split("/")
                                    or any(ord(c) < 32 for c in workdir)):
            self.add([*where, "workingDirectory"], "must be a relative path without '..' "
                     "(below the Agent's work directory)")
        limits = [k for k in ("parallelism", "processLimit", "taskLimit") if k in raw]
        parallelism = 1
        for key in limits:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10000:
                self.add([*where, key], "must be a whole number from 1 to 10000")
            else:
                parallelism = value
        if len(limits) > 1:
            self.add([*where, limits[1]], f"is given together with {limits[0]}")
        stderr = raw.get("failOnErrWritten", False)
        if not isinstance(stderr, bool):
            self.add([*where, "failOnErrWritten"], "must be true or false")
        return Job(name=name, agent=agent, script=script if isinstance(script, str) else "",
                   env=env, job_resources=tuple(dict.fromkeys((*resources,
                                                               *workflow_resources))),
                   default_arguments=self.expressions(
                       [*where, "defaultArguments"], raw.get("defaultArguments"), _VARIABLE,
                       "argument name"),
                   timeout=timeout, working_directory=workdir if isinstance(workdir, str)
                   else None, success_codes=success, failure_codes=failure,
                   parallelism=parallelism, fail_on_stderr=stderr is True, grace=grace)

    def seconds(self, where: Sequence[object], value: object) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                0 < value <= 366 * 86400):
            self.add(where, "must be a positive number of seconds")
            return None
        return float(value)

    def resources(self, where: Sequence[object], raw: object) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.add(where, "must be a list of job resource names")
            return ()
        if len(set(map(str, raw))) != len(raw):
            self.add(where, "holds the same entry twice")
        return tuple(self.name([*where, i], "job resource", r) for i, r in enumerate(raw))

    def parameters(self, where: Sequence[object], raw: object
                   ) -> tuple[dict[str, Parameter], bool]:
        if raw is None:
            return {}, True
        if not isinstance(raw, Mapping):
            self.add(where, "must be an object {parameters, allowUndeclared}")
            return {}, True
        self.fields(where, raw, frozenset({"parameters", "allowUndeclared"}))
        allow = raw.get("allowUndeclared", False)
        if not isinstance(allow, bool):
            self.add([*where, "allowUndeclared"], "must be true or false")
        params = raw.get("parameters") or {}
        if not isinstance(params, Mapping):
            self.add([*where, "parameters"], "must be an object of name -> declaration")
            return {}, allow is True
        out = {}
        for name, declared in params.items():
            at = [*where, "parameters", name]
            if not isinstance(name, str) or not _VARIABLE.match(name):
                self.add(at, "is not a valid parameter name (a letter or '_', then letters, "
                         "digits or '_')")
                continue
            if not isinstance(declared, Mapping):
                self.add(at, "must be an object {type, default}")
                continue
            self.fields(at, declared, frozenset({"type", "default", "final"}))
            kind = declared.get("type", "String")
            if kind not in PARAMETER_TYPES:
                self.add([*at, "type"], f"{_short(kind)} is {NOT_SUPPORTED} (types: "
                         f"{', '.join(PARAMETER_TYPES)})")
            values = {}
            for key in ("default", "final"):
                if key in declared:
                    try:
                        values[key] = parse_expression(declared[key])
                    except ShapeError as exc:
                        self.add([*at, key], f"must be an expression: {exc}")
                        continue
                    constant = values[key].constant
                    if (constant is not None and kind in PARAMETER_TYPES
                            and not fits(kind, constant)):
                        self.add([*at, key], f"{_short(constant)} is not a {kind}")
            if "default" in values and "final" in values:
                self.add(at, "has both a default and a final value")
            out[name] = Parameter(name, str(kind), values.get("default"), values.get("final"))
        return out, allow is True

    def workflow(self, document: Mapping[str, Any], path: str) -> Workflow:
        self.fields([], document, WORKFLOW_FIELDS, envelope=True)
        zone = document.get("timeZone")
        if zone is not None:
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                self.add(["timeZone"], f"{_short(zone)} is not a known time zone")
        parameters, allow = self.parameters(["orderPreparation"],
                                            document.get("orderPreparation"))
        workflow_resources = self.resources(["jobResourcePaths"],
                                            document.get("jobResourcePaths"))
        jobs_raw = document.get("jobs") or {}
        jobs: dict[str, Job] = {}
        if not isinstance(jobs_raw, Mapping):
            self.add(["jobs"], "must be an object of job name -> job")
            jobs_raw = {}
        for name, raw in jobs_raw.items():
            try:
                check_name("job", name)
            except ShapeError as exc:
                self.add(["jobs"], f"key {_short(name)}: {exc}")
                continue
            job = self.job(["jobs", name], name, raw, workflow_resources)
            if job is not None:
                jobs[name] = job
        instructions = document.get("instructions")
        steps, step_arguments, labels = [], [], []
        if "instructions" not in document:
            self.add(["instructions"], "is required but missing")
        elif not isinstance(instructions, list):
            self.add(["instructions"], "must be a list")
        for index, instruction in enumerate(instructions or [] if isinstance(
                instructions, list) else []):
            at: list[object] = ["instructions", index]
            kind = instruction.get("TYPE") if isinstance(instruction, Mapping) else None
            if kind not in INSTRUCTION_FIELDS:
                self.add(at, f"the instruction {_short(kind)} is {NOT_SUPPORTED} (its "
                         "instructions are Execute.Named and Execute.Anonymous)")
                continue
            self.fields(at, instruction, INSTRUCTION_FIELDS[kind])
            label = instruction.get("label")
            if label is not None and (not isinstance(label, str) or not _LABEL.match(label)):
                self.add([*at, "label"], "is not a valid label")
            if label is not None and label in labels:
                self.add([*at, "label"], f"label {_short(label)} is used twice")
            if kind == "Execute.Named":
                job_name = instruction.get("jobName")
                if "jobName" not in instruction:
                    self.add([*at, "jobName"], "is required but missing")
                elif job_name not in jobs and job_name not in jobs_raw:
                    self.add([*at, "jobName"], f"names the unknown job {_short(job_name)} ("
                             "not in /jobs)")
                key = str(job_name)
            else:
                key = f"#{index}"  # not a valid job name: never the name of a named job
                job = self.job([*at, "job"], key, instruction.get("job"), workflow_resources)
                if job is not None:
                    jobs[key] = job
            steps.append(key)
            labels.append(label if isinstance(label, str) else None)
            step_arguments.append(self.expressions(
                [*at, "defaultArguments"], instruction.get("defaultArguments"), _VARIABLE,
                "argument name"))
        return Workflow(path, _version(document, self), tuple(steps), jobs,
                        tuple(step_arguments), tuple(labels), parameters, allow,
                        str(zone) if zone is not None else None)

    def item(self, document: object) -> Item | None:
        if not isinstance(document, Mapping):
            self.add([], "an item must be a JSON object")
            return None
        kind = document.get("TYPE")
        if kind not in ITEM_TYPES:
            self.add(["TYPE"], f"item type {_short(kind)} cannot be deployed signed; signed "
                     f"items are {' and '.join(ITEM_TYPES)}")
            return None
        if "path" in document or not self.inventory:
            path = self.name(["path"], "Workflow" if kind == "Workflow" else "JobResource",
                             document.get("path"))
        else:
            path = "inventory"
        if self.inventory and "versionId" in document:
            self.add(["versionId"], "unknown field (the version is set at deployment)")
        if kind == "JobResource":
            self.fields([], document, JOBRESOURCE_FIELDS, envelope=True)
            return JobResource(
                path, _version(document, self),
                self.expressions(["variables"], document.get("variables"), _VARIABLE,
                                 "argument name"),
                self.expressions(["env"], document.get("env"), _ENV_NAME,
                                 "environment variable name"))
        return self.workflow(document, path)


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def return_codes(raw: object) -> frozenset[int]:
    """Return codes as JS7 writes them: a list of integers, one integer, or a string such as
    ``"0"``, ``"0,3"`` or ``"1,3..9"``."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw]
    if isinstance(raw, str):
        codes: set[int] = set()
        for part in raw.replace(" ", "").split(","):
            match = re.fullmatch(r"(-?\d+)(?:\.\.(-?\d+))?", part)
            if not match:
                raise ShapeError(f"return codes {raw!r}: write numbers and ranges, e.g. "
                                 "\"0,3\" or \"1,3..9\"")
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) else low
            if high < low or high - low > 65536:
                raise ShapeError(f"return codes {raw!r}: the range {part} is not valid")
            codes.update(range(low, high + 1))
        return frozenset(codes)
    if not isinstance(raw, list) or not raw or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in raw):
        raise ShapeError("return codes must be a non-empty list of integers or a string such "
                         "as \"0,3\" or \"1,3..9\"")
    return frozenset(raw)


def fits(kind: str, value: object) -> bool:
    """Whether an order's value is of a declared parameter type."""
    if kind == "Number":
        return (isinstance(value, int | float) and not isinstance(value, bool)) or (
            isinstance(value, str) and bool(_NUMBER.match(value.strip())))
    if kind == "Boolean":
        return isinstance(value, bool) or value in ("true", "false")
    return isinstance(value, str)


def _version(document: Mapping[str, Any], check: _Check) -> str | None:
    version = document.get("versionId")
    if version is not None and (not isinstance(version, str) or not version.strip()
                                or len(version) > 200):
        check.add(["versionId"], "must be a non-empty string (at most 200 characters)")
        return None
    return version


def item_problems(document: object, *, inventory: bool = False) -> list[str]:
    """Every problem of an item document, each ``pointer: why``; none when this engine runs it
    as written. ``inventory``: the console's form, without ``path`` and ``versionId``."""
    check = _Check(inventory=inventory)
    check.item(document)
    return list(dict.fromkeys(check.problems))


def parse_item(document: Mapping[str, Any]) -> Item:
    """The item described by a verified signed string; refuses anything else, naming every
    field or instruction this engine would not run as written."""
    check = _Check(inventory=False)
    item = check.item(document)
    if check.problems or item is None:
        kind = document.get("TYPE") if isinstance(document, Mapping) else None
        path = document.get("path") if isinstance(document, Mapping) else None
        raise ShapeError(f"{kind or 'item'} {path!r} is refused: "
                         + "; ".join(dict.fromkeys(check.problems)))
    return item


def order_variables(order_id: str, workflow: Workflow, version_id: str,
                    position: int | None, now: datetime) -> dict[str, str]:
    """JS7's built-in order variables as this engine provides them."""
    out = {"js7OrderId": order_id, "js7WorkflowPath": workflow.path,
           "epochSecond": str(int(now.timestamp())),
           "epochMilli": str(int(now.timestamp() * 1000))}
    if position is not None:
        out.update(js7WorkflowPosition=f"{workflow.path}~{version_id}:{position}",
                   js7JobName=workflow.steps[position] if position < len(workflow.steps)
                   else "", js7Label=workflow.label(position) or "")
    return out


def prepare_arguments(workflow: Workflow, raw: object, builtins: Mapping[str, str],
                      context: Context | None = None) -> dict[str, str]:
    """An order's arguments checked against the workflow's ``orderPreparation`` (JS7's rules:
    every parameter without a default is required, values have the declared type, undeclared
    ones are refused unless allowed, final ones cannot be given), with the defaults and final
    values filled in."""
    given = order_arguments(raw)
    if not workflow.parameters:
        if given and not workflow.allow_undeclared:
            raise ShapeError(f"workflow '{workflow.path}' declares no parameters; refused: "
                             + ", ".join(sorted(given)))
        return given
    raw_values = dict(raw) if isinstance(raw, Mapping) else {}
    problems = []
    for name, value in raw_values.items():
        declared = workflow.parameters.get(name)
        if declared is None:
            if not workflow.allow_undeclared:
                problems.append(f"{name!r} is not a parameter of workflow '{workflow.path}' "
                                f"(parameters: {', '.join(sorted(workflow.parameters))})")
        elif declared.final is not None:
            problems.append(f"{name!r} is final in workflow '{workflow.path}' and cannot be "
                            "given")
        elif not fits(declared.type, value):
            problems.append(f"{name!r} must be a {declared.type}, not {_short(value)}")
    missing = [n for n, p in workflow.parameters.items() if p.required and n not in raw_values]
    if missing:
        problems.append("required argument(s) missing: " + ", ".join(missing))
    if problems:
        raise ShapeError("; ".join(problems))
    scope = {**given, **builtins}
    for name, declared in workflow.parameters.items():
        expression = declared.final or (declared.default if name not in given else None)
        if expression is not None:
            given[name] = expression.evaluate(scope, context)
    return given


def evaluate_all(expressions: Mapping[str, Expression], scope: Mapping[str, str],
                 context: Context | None = None) -> dict[str, str]:
    context = context or default_context()
    return {name: expression.evaluate(scope, context) for name, expression in
            expressions.items()}


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
