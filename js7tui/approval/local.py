"""Local changes under four eyes: a service method marked :func:`approvable` becomes a request
when its session is a requestor's, frozen as the call (method and arguments) with what the
approver reads (for a role: its entries before and after, as a diff) and a fingerprint of the
object it changes. Executing it calls the same method with the same arguments, as the
requestor, after checking the fingerprint: an object changed since the request is refused.

Arguments that are secrets (passwords, an identity service's settings) are sealed with the
home's key in the frozen call, never stored in clear.
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import enum
import functools
import hashlib
import inspect
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from js7tui.approval import rules
from js7tui.audit import AuditMeta
from js7tui.errors import ValidationError

if TYPE_CHECKING:
    import sqlite3

    from js7tui.approval.service import ApprovalRequest
    from js7tui.identity.sessions import Session

F = TypeVar("F", bound=Callable[..., Any])
# describe(service, session, arguments) -> (title, lines for the approver)
Describe = Callable[[Any, "Session", dict[str, Any]], tuple[str, list[str]]]
# fingerprint(service, arguments) -> text that changes when the object changes
Fingerprint = Callable[[Any, dict[str, Any]], str]


@dataclasses.dataclass(frozen=True)
class Approvable:
    kind: str
    attribute: str           # the Console attribute holding the service ("roles")
    describe: Describe | None
    fingerprint: Fingerprint | None
    sealed: tuple[str, ...]


REGISTRY: dict[str, Approvable] = {}
_UNCHANGED_NAME = "UNCHANGED"


# -- the frozen call's arguments ----------------------------------------------------------
def _types() -> dict[str, type]:
    from js7tui.pki.issuing import IssueRequest
    from js7tui.pki.keys import KeyType
    from js7tui.pki.profiles import Purpose
    return {"AuditMeta": AuditMeta, "IssueRequest": IssueRequest, "KeyType": KeyType,
            "Purpose": Purpose}


def encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return {"__enum__": type(value).__name__, "value": value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": type(value).__name__,
                "fields": {f.name: encode(getattr(value, f.name))
                           for f in dataclasses.fields(value)}}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    if type(value) is object:  # a module's "leave unchanged" sentinel
        return {"__sentinel__": _UNCHANGED_NAME}
    raise ValidationError(f"a value of type {type(value).__name__} cannot be sent for approval")


def decode(value: Any, sentinel: object | None = None) -> Any:
    if isinstance(value, list):
        return [decode(v, sentinel) for v in value]
    if not isinstance(value, dict):
        return value
    if "__enum__" in value:
        return _types()[value["__enum__"]](value["value"])
    if "__dataclass__" in value:
        fields = {k: decode(v, sentinel) for k, v in value["fields"].items()}
        return _types()[value["__dataclass__"]](**fields)
    if "__dict__" in value:
        return {decode(k, sentinel): decode(v, sentinel) for k, v in value["__dict__"]}
    if "__sentinel__" in value:
        return sentinel
    if "__bytes__" in value:
        return base64.b64decode(value["__bytes__"])
    return value


def _shown(value: Any) -> str:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return ", ".join(f"{f.name}={_shown(getattr(value, f.name))}"
                         for f in dataclasses.fields(value))
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if type(value) is object:
        return "(unchanged)"
    if isinstance(value, bytes):
        return f"({len(value)} bytes, sha256 {hashlib.sha256(value).hexdigest()[:16]})"
    return repr(value)


def _generic(service: Any, session: Session, arguments: dict[str, Any],
             method: str) -> tuple[str, list[str]]:
    lines = [f"{name}: {_shown(value)}" for name, value in arguments.items()]
    return method.replace("_", " "), lines


def approvable(kind: str, attribute: str, *, describe: Describe | None = None,
               fingerprint: Fingerprint | None = None,
               sealed: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Mark ``Service.method(self, session, ...)`` as a change of ``kind``."""
    def wrap(method: F) -> F:
        signature = inspect.signature(method)
        operation = f"{attribute}.{method.__name__}"
        REGISTRY[operation] = Approvable(kind, attribute, describe, fingerprint, sealed)

        @functools.wraps(method)
        def inner(self: Any, session: Session, *args: Any, **kwargs: Any) -> Any:
            if not rules.required(self.ops, session, kind):
                return method(self, session, *args, **kwargs)
            bound = signature.bind(self, session, *args, **kwargs)
            bound.apply_defaults()
            arguments = {k: v for k, v in bound.arguments.items()
                         if k not in ("self", "session")}
            meta = arguments.pop("meta", AuditMeta())
            if describe is not None:
                title, lines = describe(self, session, arguments)
            else:
                title, lines = _generic(self, session,
                                        {k: ("(sealed)" if k in sealed and v is not None
                                             else v) for k, v in arguments.items()},
                                        method.__name__)
            encoded = {}
            for name, value in arguments.items():
                if name in sealed and value is not None:
                    encoded[name] = {"__sealed__": self.secrets.seal(
                        json.dumps(encode(value)))}
                else:
                    encoded[name] = encode(value)
            rules.divert(self.ops, session, kind, operation=operation,
                         title=f"{kind}: {title}",
                         payload={"arguments": encoded,
                                  "fingerprint": fingerprint(self, arguments)
                                  if fingerprint else ""},
                         view={"lines": lines}, meta=meta)
        return inner  # type: ignore[return-value]
    return wrap


def execute(console: Any, session: Session, request: ApprovalRequest,
            meta: AuditMeta) -> str:
    """Run a frozen local change as the requestor, if its object is as it was."""
    spec = REGISTRY.get(request.operation)
    if spec is None:
        raise ValidationError(f"'{request.operation}' is not a change that can be approved")
    service = getattr(console, spec.attribute)
    sentinel = _sentinel_of(service)
    arguments = {}
    for name, value in request.payload.get("arguments", {}).items():
        if isinstance(value, dict) and "__sealed__" in value:
            value = json.loads(service.secrets.open(value["__sealed__"]))
        arguments[name] = decode(value, sentinel)
    if spec.fingerprint is not None:
        now = spec.fingerprint(service, arguments)
        if now != request.payload.get("fingerprint", ""):
            raise _world_changed(request)
    method = getattr(service, request.operation.split(".", 1)[1])
    result = method(session, **arguments, meta=meta)
    return f"{request.title}: done" + (f" ({_result_words(result)})" if result else "")


def _world_changed(request: ApprovalRequest) -> ValidationError:
    from js7tui.approval.service import ExecutionRefused
    return ExecutionRefused(f"the object was changed after the request was made "
                            f"({request.title}); make a new request")


def _sentinel_of(service: Any) -> object | None:
    module = inspect.getmodule(type(service))
    return getattr(module, _UNCHANGED_NAME, None)


def _result_words(result: Any) -> str:
    name = getattr(result, "name", None)
    return f"{type(result).__name__} {name}" if name else type(result).__name__


# -- roles: the entries before and after ---------------------------------------------------
def role_lines(conn: sqlite3.Connection, service_name: str | None, session: Session,
               role: str) -> list[str] | None:
    """A role as sorted lines (grant/deny per section, folders), None if it does not exist."""
    from js7tui.errors import NotFound
    from js7tui.identity import records
    record = records.service(conn, service_name or session.services[0])
    try:
        records.role(conn, record, role)
    except NotFound:
        return None
    perms, folders = records.role_entries(conn, record, [role])
    return sorted([_perm_line(p.permission, p.excluded, p.controller) for p in perms]
                  + [_folder_line(f.folder, f.recursive, f.controller) for f in folders])


def _perm_line(permission: str, excluded: bool, controller: str) -> str:
    where = f"  [Controller {controller}]" if controller else ""
    return f"{'deny ' if excluded else 'grant'} {permission}{where}"


def _folder_line(folder: str, recursive: bool, controller: str) -> str:
    where = f"  [Controller {controller}]" if controller else ""
    return f"folder {folder}{' (recursive)' if recursive else ''}{where}"


def _diff(name: str, before: list[str] | None, after: list[str] | None) -> list[str]:
    head = [f"role {name}: " + ("new" if before is None else "deleted" if after is None
                                 else "changed")]
    return head + list(difflib.unified_diff(before or [], after or [], "before", "after",
                                            lineterm="", n=100))


def describe_role(service: Any, session: Session,
                  arguments: dict[str, Any]) -> tuple[str, list[str]]:
    from js7tui.identity.roles import NEW_ROLE_PERMISSION
    from js7tui.permissions import catalogue, normalize_folder
    conn = service.store.conn
    where = arguments.get("service")
    if "names" in arguments:  # delete (reorder has describe_reorder)
        names = list(arguments["names"])
        lines: list[str] = []
        for name in names:
            lines += _diff(name, role_lines(conn, where, session, name), None)
        return f"delete role(s) {', '.join(names)}", lines
    if "new_name" in arguments:
        name, new = arguments["name"], arguments["new_name"]
        entries = role_lines(conn, where, session, name) or []
        return (f"rename role {name} to {new}",
                [f"role {name} -> {new}", *(f"  {line}" for line in entries)])
    if "name" in arguments:  # create
        name = arguments["name"]
        after = [] if arguments.get("empty") else [_perm_line(
            catalogue().canonical(NEW_ROLE_PERMISSION), False, "")]
        return f"create role {name}", _diff(name, None, after)
    role = arguments["role"]
    before = role_lines(conn, where, session, role) or []
    after = list(before)
    controller = arguments.get("controller", "")
    if "permission" in arguments:
        permission = catalogue().canonical(arguments["permission"])
        after = [line for line in after if not line.endswith(f" {permission}" + (
            f"  [Controller {controller}]" if controller else ""))]
        if "excluded" in arguments:
            after.append(_perm_line(permission, bool(arguments["excluded"]), controller))
            title = (f"{'deny' if arguments['excluded'] else 'grant'} {permission} in role "
                     f"{role}")
        else:
            title = f"remove {permission} from role {role}"
    else:
        folder = normalize_folder(arguments["folder"])
        after = [line for line in after if not line.startswith(f"folder {folder}")
                 or line.split(" ")[1] != folder]
        if "recursive" in arguments:
            after.append(_folder_line(folder, bool(arguments["recursive"]), controller))
            title = f"add folder {folder} to role {role}"
        else:
            title = f"remove folder {folder} from role {role}"
    return title, _diff(role, before, sorted(after))


def role_fingerprint(service: Any, arguments: dict[str, Any]) -> str:
    """The entries of every role the change names (and whether each exists)."""
    from js7tui.identity import records
    conn = service.store.conn
    names = [arguments[k] for k in ("role", "name", "new_name") if k in arguments]
    names += list(arguments.get("names", []))
    where = arguments.get("service")
    record = records.service(conn, where) if where else records.services(conn)[0]
    state: dict[str, Any] = {}
    for name in names:
        row = conn.execute("SELECT id FROM roles WHERE identity_service_id = ? AND name = ?",
                           (record.id, name)).fetchone()
        if row is None:
            state[name] = None
            continue
        perms, folders = records.role_entries(conn, record, [name])
        state[name] = sorted([_perm_line(p.permission, p.excluded, p.controller) for p in perms]
                             + [_folder_line(f.folder, f.recursive, f.controller)
                                for f in folders])
    return hashlib.sha256(rules.canonical(state)).hexdigest()


def describe_reorder(service: Any, session: Session,
                     arguments: dict[str, Any]) -> tuple[str, list[str]]:
    return "reorder roles", [f"new order: {', '.join(arguments['names'])}"]


# -- accounts, identity services, settings, certificates -----------------------------------
def account_fingerprint(service: Any, arguments: dict[str, Any]) -> str:
    """The accounts the change names: their row and roles (None when absent)."""
    conn = service.store.conn
    names = [arguments[k] for k in ("name", "source", "new_name") if k in arguments]
    names += list(arguments.get("names", []))
    state: dict[str, Any] = {}
    for name in names:
        row = conn.execute("SELECT id, identity_service_id, email, disabled, "
                           "force_password_change, password_hash FROM accounts WHERE name = ? "
                           "ORDER BY id", (name,)).fetchall()
        state[name] = [[*r[:5], hashlib.sha256((r[5] or "").encode()).hexdigest(),
                        sorted(x[0] for x in conn.execute(
                            "SELECT r.name FROM account_roles ar JOIN roles r ON "
                            "r.id = ar.role_id WHERE ar.account_id = ?", (r[0],)))]
                       for r in row]
    return hashlib.sha256(rules.canonical(state)).hexdigest()


def service_fingerprint(service: Any, arguments: dict[str, Any]) -> str:
    conn = service.store.conn
    rows = [list(r) for r in conn.execute(
        "SELECT name, type, ordering, required, disabled, settings FROM identity_services "
        "ORDER BY id")]
    return hashlib.sha256(rules.canonical(rows)).hexdigest()


def setting_fingerprint(service: Any, arguments: dict[str, Any]) -> str:
    row = service.store.conn.execute("SELECT value FROM settings WHERE key = ?",
                                     (arguments["key"],)).fetchone()
    return hashlib.sha256((row[0] if row else "").encode()).hexdigest()


def describe_setting(service: Any, session: Session,
                     arguments: dict[str, Any]) -> tuple[str, list[str]]:
    from js7tui.identity import settings as identity_settings
    key = arguments["key"]
    spec = identity_settings.spec_for(key)
    if spec.secret:
        raise ValidationError(f"{key} is a secret: a requestor cannot send it for approval; "
                              "an approver sets it")
    before = spec.show(identity_settings.read(service.store.conn, key))
    after = spec.show(spec.parse(arguments["value"]))
    return f"set {key}", [f"setting {key}", f"- {before}", f"+ {after}"]


def describe_issue(service: Any, session: Session,
                   arguments: dict[str, Any]) -> tuple[str, list[str]]:
    request = arguments["request"]
    san = ", ".join(request.san) or "(the purpose's default)"
    return (f"issue a {request.purpose.value} certificate for {request.name}",
            [f"subject: CN={request.name}" + (f" (owner {request.owner})"
                                              if request.owner else ""),
             f"purposes: {request.purpose.value}", f"subject alternative names: {san}",
             f"valid for: {request.days} days",
             f"key: {request.key_type.value if request.key_type else 'the default type'}"
             + (", kept in the console" if arguments.get("hold_key") else "")])


def describe_revoke(service: Any, session: Session,
                    arguments: dict[str, Any]) -> tuple[str, list[str]]:
    serial = arguments["serial"]
    row = service.store.conn.execute("SELECT * FROM pki_certificates WHERE serial = ?",
                                     (serial,)).fetchone()
    lines = [f"serial: {serial}", f"reason: {arguments.get('reason', 'unspecified')}"]
    if row is not None:
        keys = row.keys()
        for label, column in (("subject", "subject"), ("purposes", "purpose"),
                              ("owner", "owner"), ("valid until", "not_after")):
            if column in keys:
                lines.append(f"{label}: {row[column]}")
    return f"revoke certificate {serial}", lines


def describe_renew(service: Any, session: Session,
                   arguments: dict[str, Any]) -> tuple[str, list[str]]:
    _, lines = describe_revoke(service, session, arguments)
    return (f"renew certificate {arguments['serial']}",
            [line for line in lines if not line.startswith("reason")]
            + [f"days: {arguments.get('days') or 'as before'}"])


def describe_account_update(service: Any, session: Session,
                            arguments: dict[str, Any]) -> tuple[str, list[str]]:
    """An account's e-mail and roles, before and after."""
    name = arguments["name"]
    try:
        view = service.show(session, name, arguments.get("service"))
        roles, email = list(view.roles), view.email
    except Exception:
        roles, email = [], None
    lines = [f"account {name}"]
    new_email = arguments.get("email")
    if type(new_email) is not object:
        lines += [f"- email {email or '(none)'}", f"+ email {new_email or '(none)'}"]
    if arguments.get("roles") is not None:
        lines += [f"- roles {', '.join(roles) or '(none)'}",
                  f"+ roles {', '.join(arguments['roles']) or '(none)'}"]
    return f"change account {name}", lines


def certificate_fingerprint(service: Any, arguments: dict[str, Any]) -> str:
    serial = arguments.get("serial")
    if serial is None:
        return ""
    row = service.store.conn.execute("SELECT * FROM pki_certificates WHERE serial = ?",
                                     (serial,)).fetchone()
    return hashlib.sha256(rules.canonical(
        [str(v) for v in row] if row is not None else None)).hexdigest()
