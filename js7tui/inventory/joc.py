"""JOC's inventory format and JS7's file-based items, taken as they are (issue 25, point 3).

JOC exports and JS7's file-based items differ from the Controller's wire form in a few names;
:func:`from_js7` maps them, each mapping reported, and refuses the simple items of a JOC
archive (locks, schedules, calendars...) with a sentence saying what they are:

- no ``TYPE``: taken from the file name (``name.workflow.json``, ``name.jobresource.json``);
- ``path`` as JOC writes it (``/folder/name``): the name, its last segment;
- ``agentName`` -> ``agentPath``, ``jobResourceNames`` -> ``jobResourcePaths`` (workflow, jobs
  and anonymous jobs), a job resource's ``arguments`` -> ``variables``;
- ``versionId``: dropped, the version is set at deployment;
- ``version`` (JOC's inventory repository version): dropped.

Everything else is left to the engine's check, which names what it does not run.
"""

from __future__ import annotations

import copy
from typing import Any

from js7tui.errors import ValidationError
from js7tui.inventory.types import ObjectType

# JOC's file suffixes of the items js7tui does not hold (JOC's ConfigurationType names)
SIMPLE_ITEMS = {
    ".lock.json": "a JOC resource lock",
    ".noticeboard.json": "a JOC notice board",
    ".fileordersource.json": "a JOC file order source",
    ".schedule.json": "a JOC schedule (daily plan)",
    ".calendar.json": "a JOC calendar",
    ".jobtemplate.json": "a JOC job template",
    ".includescript.json": "a JOC include script",
    ".jobclass.json": "a JOC job class",
    ".report.json": "a JOC report",
}
_WIRE = {ObjectType.WORKFLOW: "Workflow", ObjectType.JOBRESOURCE: "JobResource"}


def simple_item(filename: str) -> str | None:
    """What a JOC simple item file is, or None."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return next((what for suffix, what in SIMPLE_ITEMS.items() if base.endswith(suffix)), None)


def refuse_simple_item(filename: str) -> None:
    what = simple_item(filename)
    if what is not None:
        raise ValidationError(f"the file {filename} is {what}: js7tui holds and deploys "
                              "workflows and job resources only, so it is not imported")


def _kind_from_name(filename: str) -> ObjectType | None:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return next((k for k in ObjectType if base.endswith(k.extension)), None)


def _rename(obj: dict[str, Any], old: str, new: str, where: str, notes: list[str]) -> None:
    if old in obj:
        if new in obj:
            raise ValidationError(f"{where}: both {old!r} and {new!r} are given")
        obj[new] = obj.pop(old)
        notes.append(f"{where}/{old} -> {where}/{new}")


def _job(job: object, where: str, notes: list[str]) -> None:
    if isinstance(job, dict):
        _rename(job, "agentName", "agentPath", where, notes)
        _rename(job, "jobResourceNames", "jobResourcePaths", where, notes)


def from_js7(document: dict[str, Any], filename: str
             ) -> tuple[ObjectType | None, dict[str, Any], list[str]]:
    """(type, document in the wire form, the mappings made); the type is None when neither
    TYPE nor the file name says it."""
    refuse_simple_item(filename)
    doc = copy.deepcopy(document)
    notes: list[str] = []
    kind = ObjectType.from_wire(doc.get("TYPE"))
    if "TYPE" not in doc:
        kind = _kind_from_name(filename)
        if kind is not None:
            doc = {"TYPE": _WIRE[kind], **doc}
            notes.append(f"/TYPE set to {_WIRE[kind]!r} from the file name")
    if kind is None:
        return None, doc, notes
    path = doc.get("path")
    if isinstance(path, str) and "/" in path:
        doc["path"] = path.rstrip("/").rsplit("/", 1)[-1]
        notes.append(f"/path {path!r} -> {doc['path']!r} (the name; folders are the "
                     "inventory's)")
    for field in ("versionId", "version"):
        if field in doc:
            notes.append(f"/{field} {doc.pop(field)!r} dropped (set at deployment)"
                         if field == "versionId" else
                         f"/version {doc.pop(field)!r} dropped (JOC's repository version)")
    if kind is ObjectType.JOBRESOURCE:
        _rename(doc, "arguments", "variables", "", notes)
        return kind, doc, notes
    _rename(doc, "jobResourceNames", "jobResourcePaths", "", notes)
    jobs = doc.get("jobs")
    if isinstance(jobs, dict):
        for name, job in jobs.items():
            _job(job, f"/jobs/{name}", notes)
    instructions = doc.get("instructions")
    if isinstance(instructions, list):
        for index, instruction in enumerate(instructions):
            if isinstance(instruction, dict):
                _job(instruction.get("job"), f"/instructions/{index}/job", notes)
    return kind, doc, notes
