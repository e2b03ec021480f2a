"""Real JS7 artifacts (tests/data/js7/, sources in SOURCES.md): each is imported as JS7 wrote it
and runs against real Controller/Agent processes, or is refused naming every unsupported part;
a signed item with one unsupported field is refused by the console, the Controller and the
Agent; orderPreparation, failOnErrWritten and JS7's expression forms as the engines run them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.client import ControllerClient, ControllerRefused
from js7tui.engine.shapes import (
    ShapeError,
    item_problems,
    parse_expression,
    parse_item,
    return_codes,
    update_items_body,
)
from js7tui.errors import ValidationError
from js7tui.inventory import ImportFile, ObjectType, validate
from js7tui.inventory.joc import from_js7
from tests.estate import Estate, running_estate, wait_attached, wait_order, workflow

DATA = Path(__file__).parent / "data" / "js7"
# file -> None (runs as written) or the pointers its refusal must name
EXPECTED: dict[str, list[str] | None] = {
    "MY-JOB-RESOURCE.jobresource.json": None,
    "WORKFLOW-ENV.workflow.json": None,
    "MY-WORKFLOW.workflow.json": ["/orderRequirements"],
    "PARAMETERIZED-WORKFLOW.workflow.json": ["/orderRequirements"],
    "path-executable.workflow.json": ["/instructions/0/job/executable/TYPE",
                                      "/instructions/0/job/executable/file"],
    "მაგალითად.workflow.json": ["/jobs/JOB-1/agentRefPath", "/jobs/JOB-1/executablePath",
                                "/jobs/JOB-2/agentRefPath", "/jobs/JOB-2/agentPath"],
    "test.workflow.json": ["/statements", "/instructions"],
}


def _load(name: str) -> tuple[ObjectType, dict]:
    kind, document, _ = from_js7(json.loads((DATA / name).read_text("utf-8")), name)
    assert kind is not None
    return kind, document


def test_the_corpus_is_all_there() -> None:
    assert sorted(p.name for p in DATA.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_artifact_runs_as_written_or_is_refused_naming_every_unsupported_part(
        name: str) -> None:
    _, document = _load(name)
    document.setdefault("path", name.split(".")[0])
    problems = item_problems(document)
    if EXPECTED[name] is None:
        assert problems == []
        parse_item(document)
        return
    for where in EXPECTED[name]:
        assert any(p.startswith(where + ":") or p.startswith(where + " ") for p in problems), (
            where, problems)
    with pytest.raises(ShapeError, match="refused"):
        parse_item(document)


def test_inventory_import_takes_the_files_as_they_are(console, root) -> None:
    good = ["MY-JOB-RESOURCE.jobresource.json", "WORKFLOW-ENV.workflow.json"]
    notes: list[str] = []
    made = console.inventory.import_files(
        root, "/js7", [ImportFile(n, (DATA / n).read_bytes()) for n in good], notes=notes)
    assert {(o.object_type, o.name) for o in made} == {
        (ObjectType.JOBRESOURCE, "MY-JOB-RESOURCE"), (ObjectType.WORKFLOW, "WORKFLOW-ENV")}
    assert any("versionId" in n for n in notes)
    # no TYPE (JS7's file-based items): from the file name; every unsupported field at once
    with pytest.raises(ValidationError) as refused:
        console.inventory.import_files(root, "/js7", [ImportFile(
            "მაგალითად.workflow.json", (DATA / "მაგალითად.workflow.json").read_bytes())])
    message = str(refused.value)
    assert "has TYPE None" not in message
    assert "/jobs/JOB-1/agentRefPath" in message and "/jobs/JOB-2/executablePath" in message
    # JOC's simple items are refused saying what they are
    with pytest.raises(ValidationError, match="a JOC resource lock"):
        console.inventory.import_files(root, "/js7", [ImportFile("x.lock.json", b"{}")])


def test_joc_names_are_mapped_and_reported() -> None:
    kind, document, notes = from_js7({
        "TYPE": "Workflow", "version": "1.7.2", "jobResourceNames": ["r"],
        "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}],
        "jobs": {"j": {"agentName": "a", "jobResourceNames": ["s"],
                       "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}}},
        "x.workflow.json")
    assert kind is ObjectType.WORKFLOW and "version" not in document
    assert document["jobs"]["j"]["agentPath"] == "a"
    assert document["jobResourcePaths"] == ["r"] and document["jobs"]["j"][
        "jobResourcePaths"] == ["s"]
    assert len(notes) == 4
    kind, document, notes = from_js7({"TYPE": "JobResource", "arguments": {"a": "'b'"}},
                                     "r.jobresource.json")
    assert document == {"TYPE": "JobResource", "variables": {"a": "'b'"}} and notes


def test_js7_expression_and_return_code_forms() -> None:
    assert parse_expression('"/bin:" ++ env("PATH")').evaluate({}).startswith("/bin:")
    assert parse_expression("env('NOT_SET_HERE_H12', 'x')").evaluate({}) == "x"
    assert len(parse_expression("now(format='yyyy-MM-dd', timezone='Antarctica/Troll')")
               .evaluate({})) == 10
    assert parse_expression("$js7OrderId").evaluate({"js7OrderId": "o"}) == "o"
    assert parse_expression("${any name}").evaluate({"any name": "v"}) == "v"
    for bad in ("$a + 1", "replaceAll($a, 'x', 'y')", "$returnCode", "now(format='QQ')",
                "now(timezone='Nowhere/City')"):
        with pytest.raises(ShapeError):
            parse_expression(bad)
    assert return_codes("0,3") == {0, 3} and return_codes("1,3..5") == {1, 3, 4, 5}
    assert return_codes(0) == {0}


UNSUPPORTED = {"admissionTimeScheme": {"periods": []}}


def test_one_unsupported_field_is_refused_by_the_console() -> None:
    document = workflow("w", {"j": ("agent-1", "true")})
    document["jobs"]["j"].update(UNSUPPORTED)
    document.pop("path"), document.pop("versionId")
    with pytest.raises(ValidationError, match="/jobs/j/admissionTimeScheme: unknown field, "
                                              "not supported by this engine"):
        validate(ObjectType.WORKFLOW, document)


def test_names_js7_allows_and_look_alikes() -> None:
    from js7tui.engine.shapes import check_name
    assert check_name("workflow", "მაგალითად") == "მაგალითად"
    for bad in ("pаypal", "a b", ".hidden", "e\u0301"):  # Cyrillic а; a space; NFD
        with pytest.raises(ShapeError):
            check_name("workflow", bad)


# -- against real Controller and Agent processes ------------------------------------------
@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    with running_estate(tmp_path_factory.mktemp("estate"), ["AGENT"]) as estate:
        yield estate


@pytest.fixture
def ctl(estate: Estate) -> Iterator[ControllerClient]:
    with estate.client() as client:
        yield client


def test_the_supported_artifacts_deploy_and_run(estate: Estate, ctl: ControllerClient) -> None:
    items = [_load(n)[1] for n in ("MY-JOB-RESOURCE.jobresource.json",
                                   "WORKFLOW-ENV.workflow.json")]
    ctl.deploy([estate.sign(i) for i in items])
    wait_attached(ctl, "WORKFLOW-ENV")
    ctl.add_order("env-1", "WORKFLOW-ENV")
    order = wait_order(ctl, "env-1")
    assert order.state == "finished", order
    assert order.steps[0].stdout == "MYENV=/VALUE/\n"


def test_unsupported_field_is_refused_by_the_controller_and_the_agent(
        estate: Estate, ctl: ControllerClient) -> None:
    document = workflow("not-run", {"j": ("AGENT", "true")})
    document["jobs"]["j"].update(UNSUPPORTED)
    with pytest.raises(ControllerRefused, match="admissionTimeScheme"):
        ctl.deploy([estate.sign(document)])
    with estate.as_controller("AGENT") as agent, pytest.raises(
            ControllerRefused, match="admissionTimeScheme"):
        agent.call("POST", "/api/item",
                   json=update_items_body([estate.sign(document).to_wire()]))


def test_order_preparation_and_fail_on_stderr(estate: Estate, ctl: ControllerClient) -> None:
    document = workflow("prepared", {"j": ("AGENT", 'echo "$WHO $N $WHEN"; echo x >&2')},
                        executable={"env": {"WHO": "$who", "N": "$n", "WHEN": "$day"}},
                        failOnErrWritten=True)
    document["orderPreparation"] = {"parameters": {
        "who": {"type": "String"}, "n": {"type": "Number", "default": "7"},
        "day": {"type": "String", "final": "now(format='yyyy')"}}}
    ctl.deploy([estate.sign(document)])
    wait_attached(ctl, "prepared")
    for arguments, words in (({}, "required argument"), ({"who": "a", "n": "x"}, "Number"),
                             ({"who": "a", "other": 1}, "not a parameter"),
                             ({"who": "a", "day": "1999"}, "final")):
        with pytest.raises(ControllerRefused, match=words):
            ctl.add_order(f"p-{len(words)}", "prepared", arguments)
    ctl.add_order("p-ok", "prepared", {"who": "world"})
    order = wait_order(ctl, "p-ok")
    assert order.state == "failed" and "failOnErrWritten" in order.message, order
    assert order.steps[0].stdout.startswith("world 7 2")
