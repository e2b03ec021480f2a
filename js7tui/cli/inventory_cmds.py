"""``inventory`` and ``export --for-signing``: thin over the inventory and export services.

``inventory edit`` opens ``$VISUAL`` / ``$EDITOR`` (else ``vi``) on the object's JSON in a
private temporary directory; the change is stored only if it is valid and nobody changed the
object meanwhile. An edit that is refused is offered again on a terminal, or kept in a file
whose path is printed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from js7tui.cli.context import CliContext, audit_meta
from js7tui.deployment import ArchiveFormat
from js7tui.errors import Js7Error, ValidationError
from js7tui.inventory import ImportFile, InventoryObject, ObjectType

TEMPLATES = {
    ObjectType.WORKFLOW: {
        "TYPE": "Workflow",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "job1"}],
        "jobs": {"job1": {"agentPath": "agent-1",
                          "executable": {"TYPE": "ShellScriptExecutable",
                                         "script": "#!/bin/sh\necho hello\n"},
                          "timeout": 60}},
    },
    ObjectType.JOBRESOURCE: {"TYPE": "JobResource", "variables": {}, "env": {}},
}


def _type(text: str | None) -> ObjectType | None:
    return ObjectType.parse(text) if text else None


def _row(obj: InventoryObject) -> list[object]:
    return [obj.object_type.label, str(obj.path), obj.revision, obj.modified, obj.modified_by]


def _read_input(ctx: CliContext, source: str) -> bytes:
    if source == "-":
        return ctx.stdin.read().encode("utf-8")
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ValidationError(f"cannot read {source}: {exc.strerror}") from None


# -- the editor -----------------------------------------------------------------------------
def _run_editor(ctx: CliContext, path: Path) -> None:
    command = ctx.env.get("VISUAL") or ctx.env.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(command), str(path)], check=False)
    except OSError as exc:
        raise ValidationError(f"cannot start the editor '{command}' ({exc.strerror}); set "
                              "EDITOR") from None
    if done.returncode != 0:
        raise ValidationError(f"the editor '{command}' ended with status {done.returncode}; "
                              "nothing was changed")


def edit_loop(ctx: CliContext, text: str, filename: str,
              save: Callable[[str], InventoryObject]) -> InventoryObject | None:
    """Edit ``text`` until ``save`` accepts it; None when the user left it unchanged or empty."""
    folder = Path(tempfile.mkdtemp(prefix="js7tui-edit-"))  # 0700
    path = folder / filename
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    keep = False
    try:
        while True:
            _run_editor(ctx, path)
            edited = path.read_text(encoding="utf-8")
            if not edited.strip() or edited == text:
                return None
            try:
                return save(edited)
            except Js7Error as exc:
                ctx.warn(str(exc))
                if ctx._interactive() and ctx.ask("Edit again? [Y/n] ").lower() in ("", "y",
                                                                                    "yes"):
                    continue
                keep = True
                raise ValidationError(f"nothing was stored; your edit is kept in {path}") from None
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


# -- commands -------------------------------------------------------------------------------
def cmd_inventory(ctx: CliContext, args: argparse.Namespace) -> int:
    inv = ctx.console.inventory
    session = ctx.session()
    action = args.inventory_action
    kind = _type(getattr(args, "type", None))
    meta = audit_meta(args)
    if action == "list":
        objects = inv.list(session, args.folder, recursive=not args.no_recursive,
                           object_type=kind)
        ctx.table(["Type", "Path", "Revision", "Modified", "By"], [_row(o) for o in objects])
    elif action == "folders":
        views = inv.folders(session, args.folder)
        ctx.table(["Folder", "Objects", "Access"],
                  [[v.path, v.objects, "permitted" if v.permitted else "navigation only"]
                   for v in views])
    elif action == "show":
        obj = inv.get(session, args.path, kind)
        ctx.stdout.write(obj.text())
    elif action == "create":
        kind = ObjectType.parse(args.object_type)
        if args.file:
            obj = inv.create(session, kind, args.path, _read_input(ctx, args.file), meta=meta)
        else:
            template = json.dumps(TEMPLATES[kind], indent=2) + "\n"
            made = edit_loop(ctx, template, args.path.rsplit("/", 1)[-1] + kind.extension,
                             lambda text: inv.create(session, kind, args.path, text, meta=meta))
            if made is None:
                ctx.say("nothing created (the file was left empty)")
                return 0
            obj = made
        ctx.say(f"created {obj.describe()} (revision {obj.revision})")
    elif action == "import":
        files = [ImportFile(name, _read_input(ctx, name)) for name in args.files]
        notes: list[str] = []
        made = inv.import_files(session, args.folder, files, replace=args.replace, meta=meta,
                                notes=notes)
        for note in notes:
            ctx.say(f"mapped {note}")
        for obj in made:
            ctx.say(f"imported {obj.describe()} (revision {obj.revision})")
    elif action == "edit":
        obj = inv.get(session, args.path, kind)
        saved = edit_loop(ctx, obj.text(), obj.name + obj.object_type.extension,
                          lambda text: inv.update(session, str(obj.path), text,
                                                  object_type=obj.object_type,
                                                  expected_revision=obj.revision, meta=meta))
        if saved is None or saved.revision == obj.revision:
            ctx.say(f"{obj.describe()} unchanged")
        else:
            ctx.say(f"saved {saved.describe()} (revision {saved.revision})")
    elif action == "update":
        obj = inv.update(session, args.path, _read_input(ctx, args.file), object_type=kind,
                         meta=meta)
        ctx.say(f"{obj.describe()} is at revision {obj.revision}")
    elif action == "rename":
        obj = inv.rename(session, args.path, args.new_name, object_type=kind, meta=meta)
        ctx.say(f"renamed to {obj.describe()}")
    elif action == "move":
        obj = inv.move(session, args.path, args.folder, object_type=kind, meta=meta)
        ctx.say(f"moved to {obj.describe()}")
    elif action == "delete":
        gone = inv.delete(session, args.paths, object_type=kind, meta=meta)
        ctx.say("deleted " + ", ".join(o.describe() for o in gone))
    elif action == "folder-create":
        created = inv.create_folder(session, args.folder, meta=meta)
        ctx.say("created folder " + ", ".join(created))
    elif action == "folder-rename":
        inv.rename_folder(session, args.folder, args.new_folder, meta=meta)
        ctx.say(f"folder {args.folder} is now {args.new_folder}")
    elif action == "folder-delete":
        count = inv.delete_folder(session, args.folder, recursive=args.recursive, meta=meta)
        ctx.say(f"deleted folder {args.folder}" + (f" with {count} object(s)" if count else ""))
    else:
        raise ValidationError(f"unknown inventory action {action}")
    return 0


def cmd_export(ctx: CliContext, args: argparse.Namespace) -> int:
    if not args.for_signing:
        raise ValidationError("only 'export --for-signing' exists: it writes the objects to be "
                              "signed outside and brought back with import-deploy")
    output = Path(args.output)
    fmt = ArchiveFormat.parse(args.format) if args.format else None
    result = ctx.console.exports.for_signing(
        ctx.session(), args.paths, output, fmt=fmt, recursive=not args.no_recursive,
        object_type=_type(args.type), meta=audit_meta(args))
    objects = len(result.entries) - 1
    ctx.say(f"exported {objects} object(s) to {output} ({result.format.value}), versionId "
            f"{result.version_id}")
    ctx.say("sign every .json file, e.g. 'openssl dgst -sha256 -sign key.pem -out "
            "F.sig F', add the .sig files to the archive, then deploy it with 'js7tui "
            "import-deploy ARCHIVE --controller ID'")
    return 0


# -- parsers --------------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction,
             meta: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``inventory`` and ``export`` to the command line."""
    inventory = sub.add_parser("inventory", help="folders, workflows and job resources")
    inventory.set_defaults(func=cmd_inventory)
    acts = inventory.add_subparsers(dest="inventory_action", required=True, metavar="ACTION")

    def add(name: str, text: str, *, changes: bool = False,
            typed: bool = False) -> argparse.ArgumentParser:
        parser = acts.add_parser(name, help=text, description=text)
        if typed:
            parser.add_argument("--type", "-t", metavar="TYPE",
                                help="workflow or jobresource, when both have this path")
        if changes:
            meta(parser)
        return parser

    p = add("list", "objects you may see, below a folder", typed=True)
    p.add_argument("folder", nargs="?", default="/")
    p.add_argument("--no-recursive", action="store_true", help="this folder only")
    add("folders", "folders you may see (parents for navigation)").add_argument(
        "folder", nargs="?", default="/")
    add("show", "an object's JSON", typed=True).add_argument("path")
    p = add("create", "a new object from a file, standard input (-) or the editor",
            changes=True)
    p.add_argument("object_type", metavar="TYPE", help="workflow or jobresource")
    p.add_argument("path", help="/folder/name")
    p.add_argument("--file", "-f", metavar="FILE", help="JSON file, or - for standard input")
    p = add("import", "objects from files (TYPE inside, name from 'path' or the file name)",
            changes=True)
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--folder", required=True, help="the folder to import into")
    p.add_argument("--replace", action="store_true",
                   help="replace objects of the same name in that folder")
    add("edit", "edit an object's JSON with $EDITOR", changes=True, typed=True).add_argument(
        "path")
    p = add("update", "replace an object's JSON from a file", changes=True, typed=True)
    p.add_argument("path")
    p.add_argument("--file", "-f", required=True, metavar="FILE", help="or - for stdin")
    p = add("rename", "give an object a new name (same folder)", changes=True, typed=True)
    p.add_argument("path")
    p.add_argument("new_name")
    p = add("move", "move an object to another folder", changes=True, typed=True)
    p.add_argument("path")
    p.add_argument("folder")
    add("delete", "delete objects", changes=True, typed=True).add_argument("paths", nargs="+")
    add("folder-create", "create a folder (and its parents)", changes=True).add_argument(
        "folder")
    p = add("folder-rename", "rename or move a folder with all it holds", changes=True)
    p.add_argument("folder")
    p.add_argument("new_folder")
    p = add("folder-delete", "delete a folder", changes=True)
    p.add_argument("folder")
    p.add_argument("--recursive", action="store_true", help="with everything in it")

    export = sub.add_parser(
        "export", help="write objects to an archive for signing outside (zip or tar.gz)",
        description="Write the chosen objects (or folders, recursively) as one "
                    "<path>.workflow.json / <path>.jobresource.json each plus meta_inf, to be "
                    "signed outside and deployed with import-deploy.")
    export.add_argument("--for-signing", action="store_true", required=True)
    export.add_argument("--output", "-o", required=True, metavar="FILE",
                        help="the archive to write (*.zip or *.tar.gz)")
    export.add_argument("--format", choices=["zip", "tar.gz"],
                        help="default: from the file name")
    export.add_argument("--no-recursive", action="store_true", help="folders: not below")
    export.add_argument("--type", "-t", metavar="TYPE", help="only workflows or jobresources")
    export.add_argument("paths", nargs="+", metavar="PATH", help="objects or folders")
    meta(export)
    export.set_defaults(func=cmd_export)
