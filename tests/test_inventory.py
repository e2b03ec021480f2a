"""The inventory service: schema refusals with field paths, create/import/update/rename/move/
delete, folders, folder permissions on every read and change, audit, one transaction each."""

from __future__ import annotations

import json

import pytest

from js7tui.audit import AuditFilter, AuditMeta
from js7tui.console import Console
from js7tui.errors import Conflict, NotFound, PermissionDenied, ValidationError
from js7tui.identity.sessions import Session
from js7tui.inventory import ImportFile, ObjectType, validate
from js7tui.inventory.schema import SCHEMAS
from js7tui.permissions.names import INVENTORY_VIEW
from tests.inventory_fixtures import folder_account, jobresource, text, workflow

W, J = ObjectType.WORKFLOW, ObjectType.JOBRESOURCE
META = AuditMeta()


def rows(console: Console) -> list[tuple]:
    conn = console.store.conn
    return ([tuple(r) for r in conn.execute("SELECT * FROM inventory_objects ORDER BY id")]
            + [tuple(r) for r in conn.execute("SELECT * FROM inventory_folders ORDER BY path")])


def audit(console: Console, root: Session, **kwargs):
    return console.audit.list(root, AuditFilter(**kwargs), limit=1000)


# -- schema ------------------------------------------------------------------------------
def test_schemas_are_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(("mutate", "pointer", "words"), [
    (lambda d: d["jobs"]["hello"].update(timeout=-5), "/jobs/hello/timeout",
     "positive number of seconds"),
    (lambda d: d["jobs"]["hello"].update(timeout=True), "/jobs/hello/timeout", "positive"),
    (lambda d: d["jobs"]["hello"].update(agentPath="agent one"), "/jobs/hello/agentPath",
     "not a valid Agent name"),
    (lambda d: d["jobs"]["hello"]["executable"].update(script=" \n"),
     "/jobs/hello/executable/script", "non-empty shell script"),
    (lambda d: d["jobs"]["hello"]["executable"].pop("script"),
     "/jobs/hello/executable/script", "is required"),
    (lambda d: d["jobs"]["hello"]["executable"].update(TYPE="InternalExecutable"),
     "/jobs/hello/executable/TYPE", '"ShellScriptExecutable"'),
    (lambda d: d["jobs"]["hello"].update(color="red"), "/jobs/hello/color", "unknown field"),
    (lambda d: d.update(versionId="v1"), "/versionId", "set at deployment"),
    (lambda d: d["jobs"]["hello"]["defaultArguments"].update({"9lives": "'x'"}),
     "/jobs/hello/defaultArguments", 'key "9lives"'),
    (lambda d: d["jobs"]["hello"]["defaultArguments"].update(x={"a": 1}),
     "/jobs/hello/defaultArguments/x", "must be an expression"),
    (lambda d: d["jobs"]["hello"].update(workingDirectory="../etc"),
     "/jobs/hello/workingDirectory", "without '..'"),
    (lambda d: d["jobs"]["hello"].update(jobResourcePaths=["a", "a"]),
     "/jobs/hello/jobResourcePaths", "same entry twice"),
    (lambda d: d["instructions"][0].update(jobName="other"), "/instructions/0/jobName",
     "not in /jobs"),
    (lambda d: d["jobs"]["hello"]["executable"].update(returnCodeMeaning={"success": [0],
                                                                          "failure": [1]}),
     "/jobs/hello/executable/returnCodeMeaning", '{"success": [codes]}'),
])
def test_schema_names_the_offending_field(mutate, pointer: str, words: str) -> None:
    document = workflow()
    mutate(document)
    with pytest.raises(ValidationError) as caught:
        validate(W, document)
    message = str(caught.value)
    assert f"{pointer}" in message and words in message, message


def test_valid_objects_pass_and_job_resource_errors_have_paths() -> None:
    validate(W, workflow())
    validate(J, jobresource())
    with pytest.raises(ValidationError, match=r"/env/MAIL_HOST \(null\): must be an expression"):
        validate(J, {**jobresource(), "env": {"MAIL_HOST": None}})


# -- create, read, update ----------------------------------------------------------------
def test_create_show_update_with_revision_and_audit(console: Console, root: Session) -> None:
    obj = console.inventory.create(root, W, "/reports/daily", text(workflow()), meta=META)
    assert (obj.folder, obj.name, obj.revision) == ("/reports", "daily", 1)
    shown = console.inventory.get(root, "/reports/daily")
    assert shown.document()["path"] == "daily" and "path" not in shown.content
    assert [f.path for f in console.inventory.folders(root)] == ["/", "/reports"]

    changed = workflow(script="echo changed")
    updated = console.inventory.update(root, "/reports/daily", text(changed),
                                       expected_revision=1, meta=META)
    assert updated.revision == 2
    assert updated.content["jobs"]["hello"]["executable"]["script"] == "echo changed"
    with pytest.raises(Conflict, match=r"changed by root .* \(revision 2, you edited 1\)"):
        console.inventory.update(root, "/reports/daily", text(workflow()), expected_revision=1,
                                 meta=META)
    entries = audit(console, root, categories=("INVENTORY",))
    assert [(e.request, e.path, e.object_type) for e in entries][:2] == [
        ("./inventory/store", "/reports/daily", "WORKFLOW"),
        ("./inventory/store", "/reports/daily", "WORKFLOW")]
    assert json.loads(entries[0].parameters)["revision"] == 2
    assert "echo" not in entries[0].parameters  # content is hashed, not copied


def test_invalid_objects_leave_the_store_unchanged(console: Console, root: Session) -> None:
    console.inventory.create(root, W, "/a/good", text(workflow()), meta=META)
    before = rows(console)
    bad = workflow()
    bad["jobs"]["hello"]["timeout"] = 0
    with pytest.raises(ValidationError, match="/jobs/hello/timeout"):
        console.inventory.create(root, W, "/b/bad", text(bad), meta=META)
    with pytest.raises(ValidationError, match="/jobs/hello/timeout"):
        console.inventory.update(root, "/a/good", text(bad), meta=META)
    with pytest.raises(ValidationError, match=r"not valid JSON: .* line 1 column"):
        console.inventory.create(root, W, "/b/bad", "{nope", meta=META)
    with pytest.raises(ValidationError, match="is a job resource, not a workflow"):
        console.inventory.create(root, W, "/b/bad", text(jobresource()), meta=META)
    with pytest.raises(ValidationError, match=r"/path says 'other'.*inventory rename"):
        console.inventory.update(root, "/a/good", text({**workflow(), "path": "other"}),
                                 meta=META)
    assert rows(console) == before


def test_names_unique_per_type_across_folders(console: Console, root: Session) -> None:
    console.inventory.create(root, W, "/a/job1", text(workflow()), meta=META)
    with pytest.raises(Conflict, match="unique across folders"):
        console.inventory.create(root, W, "/b/job1", text(workflow()), meta=META)
    console.inventory.create(root, J, "/a/job1", text(jobresource()), meta=META)
    with pytest.raises(ValidationError, match="both a workflow and a job resource"):
        console.inventory.get(root, "/a/job1")
    assert console.inventory.get(root, "/a/job1", J).object_type is J
    with pytest.raises(ValidationError, match="object name"):
        console.inventory.create(root, W, "/a/bad name", text(workflow()), meta=META)
    with pytest.raises(ValidationError, match="folder name"):
        console.inventory.create(root, W, "/a b/x", text(workflow()), meta=META)


def test_import_files_all_or_nothing(console: Console, root: Session) -> None:
    files = [ImportFile("daily.workflow.json", text(workflow()).encode()),
             ImportFile("mail.jobresource.json", text(jobresource()).encode()),
             ImportFile("x.json", text({**workflow(), "path": "weekly"}).encode())]
    made = console.inventory.import_files(root, "/imp", files, meta=META)
    assert sorted(str(o.path) for o in made) == ["/imp/daily", "/imp/mail", "/imp/weekly"]
    before = rows(console)
    bad = [ImportFile("new.workflow.json", text(workflow()).encode()),
           ImportFile("broken.workflow.json", b'{"TYPE": "Workflow"}')]
    with pytest.raises(ValidationError, match=r"broken .* /instructions: is required"):
        console.inventory.import_files(root, "/imp", bad, meta=META)
    with pytest.raises(Conflict, match="already exists"):
        console.inventory.import_files(root, "/imp", files[:1], meta=META)
    assert rows(console) == before
    changed = ImportFile("daily.workflow.json", text(workflow(script="echo 2")).encode())
    (replaced,) = console.inventory.import_files(root, "/imp", [changed], replace=True,
                                                 meta=META)
    assert replaced.revision == 2


def test_rename_move_delete_and_folders(console: Console, root: Session) -> None:
    inv = console.inventory
    inv.create(root, W, "/a/one", text(workflow()), meta=META)
    inv.create(root, J, "/a/sub/mail", text(jobresource()), meta=META)
    assert inv.rename(root, "/a/one", "two", meta=META).path.name == "two"
    assert str(inv.move(root, "/a/two", "/b/c", meta=META).path) == "/b/c/two"
    with pytest.raises(Conflict, match="not empty"):
        inv.delete_folder(root, "/a", meta=META)
    inv.rename_folder(root, "/a", "/x/y", meta=META)
    assert str(inv.get(root, "/x/y/sub/mail").path) == "/x/y/sub/mail"
    with pytest.raises(ValidationError, match="into itself"):
        inv.rename_folder(root, "/x", "/x/y/z", meta=META)
    with pytest.raises(NotFound):
        inv.get(root, "/a/sub/mail")
    assert inv.delete_folder(root, "/x", recursive=True, meta=META) == 1
    assert [str(o.path) for o in inv.list(root)] == ["/b/c/two"]
    inv.delete(root, ["/b/c/two"], meta=META)
    assert inv.list(root) == []
    with pytest.raises(ValidationError, match="root folder"):
        inv.delete_folder(root, "/", recursive=True, meta=META)


def test_select_objects_and_folders(console: Console, root: Session) -> None:
    inv = console.inventory
    inv.create(root, W, "/a/w1", text(workflow()), meta=META)
    inv.create(root, W, "/a/b/w2", text(workflow()), meta=META)
    inv.create(root, J, "/c/mail", text(jobresource()), meta=META)
    names = lambda objs: [str(o.path) for o in objs]  # noqa: E731
    assert names(inv.select(root, ["/a"])) == ["/a/b/w2", "/a/w1"]
    assert names(inv.select(root, ["/a/"], recursive=False)) == ["/a/w1"]
    assert names(inv.select(root, ["/"])) == ["/c/mail", "/a/b/w2", "/a/w1"]
    assert names(inv.select(root, ["/c/mail", "/c"])) == ["/c/mail"]


# -- permissions -------------------------------------------------------------------------
def test_folder_permissions_apply_to_every_read_and_change(console: Console,
                                                           root: Session) -> None:
    inv = console.inventory
    inv.create(root, W, "/team-a/w1", text(workflow()), meta=META)
    inv.create(root, W, "/team-a/deep/w2", text(workflow()), meta=META)
    inv.create(root, W, "/team-b/w3", text(workflow()), meta=META)
    inv.create(root, W, "/top", text(workflow()), meta=META)
    alice = folder_account(console, root, "alice", ["/team-a"])
    assert sorted(str(o.path) for o in inv.list(alice)) == ["/team-a/deep/w2", "/team-a/w1"]
    views = {f.path: f.permitted for f in inv.folders(alice)}
    assert views == {"/": False, "/team-a": True, "/team-a/deep": True}
    before = rows(console)
    for attempt in (
        lambda: inv.get(alice, "/team-b/w3"),
        lambda: inv.get(alice, "/team-b/does-not-exist"),
        lambda: inv.get(alice, "/top"),
        lambda: inv.list(alice, "/team-b"),
        lambda: inv.select(alice, ["/team-b"]),
        lambda: inv.create(alice, W, "/team-b/w9", text(workflow()), meta=META),
        lambda: inv.update(alice, "/team-b/w3", text(workflow()), meta=META),
        lambda: inv.rename(alice, "/team-b/w3", "w4", meta=META),
        lambda: inv.move(alice, "/team-a/w1", "/team-b", meta=META),
        lambda: inv.move(alice, "/team-b/w3", "/team-a", meta=META),
        lambda: inv.delete(alice, ["/team-a/w1", "/team-b/w3"], meta=META),
        lambda: inv.delete_folder(alice, "/team-b", recursive=True, meta=META),
        lambda: inv.rename_folder(alice, "/team-a", "/team-c", meta=META),
        lambda: inv.create_folder(alice, "/elsewhere", meta=META),
        lambda: inv.import_files(alice, "/team-b", [ImportFile(
            "x.workflow.json", text(workflow()).encode())], meta=META),
    ):
        with pytest.raises(PermissionDenied, match="not permitted"):
            attempt()
    assert rows(console) == before
    # An existing folder and a missing one outside the account's folders look the same.
    inv.create_folder(root, "/team-b/sub", meta=META)
    for hidden in ("/team-b/sub", "/team-b/nothing-here"):
        with pytest.raises(PermissionDenied, match="folder /team-b is not permitted"):
            inv.select(alice, [hidden])
    refused = audit(console, root, outcome="REFUSED", account="alice")
    assert len(refused) == 17
    assert all(e.category == "INVENTORY" for e in refused)
    # Inside its folder the account works normally, including the subfolder.
    inv.update(alice, "/team-a/deep/w2", text(workflow(script="echo a")), meta=META)
    inv.create_folder(alice, "/team-a/new", meta=META)
    # The whole-folder selection only returns what is permitted.
    assert sorted(str(o.path) for o in inv.select(alice, ["/team-a"])) == [
        "/team-a/deep/w2", "/team-a/w1"]


def test_non_recursive_folder_entry(console: Console, root: Session) -> None:
    inv = console.inventory
    inv.create(root, W, "/a/w1", text(workflow()), meta=META)
    inv.create(root, W, "/a/b/w2", text(workflow()), meta=META)
    bob = folder_account(console, root, "bob", ["/a"], recursive=False)
    assert [str(o.path) for o in inv.list(bob)] == ["/a/w1"]
    with pytest.raises(PermissionDenied):
        inv.delete_folder(bob, "/a", recursive=True, meta=META)
    assert len(inv.list(root)) == 2


def test_view_and_manage_permissions(console: Console, root: Session) -> None:
    inv = console.inventory
    inv.create(root, W, "/a/w1", text(workflow()), meta=META)
    viewer = folder_account(console, root, "viewer", [], permissions=(INVENTORY_VIEW,))
    assert len(inv.list(viewer)) == 1
    with pytest.raises(PermissionDenied, match="inventory:manage"):
        inv.update(viewer, "/a/w1", text(workflow()), meta=META)
    nobody = folder_account(console, root, "nobody", [], permissions=())
    with pytest.raises(PermissionDenied, match="inventory:view"):
        inv.list(nobody)
