"""The permission catalogue against reference section 1.1: every leaf present, a description for
every node, a consistent tree, typos refused with a suggestion, the JS7 alias, default roles."""

from __future__ import annotations

import pytest

from js7tui.errors import ValidationError
from js7tui.identity.defaults import DEFAULT_ROLES
from js7tui.permissions import CONTROLLER, JOC, ROOT, catalogue

# Reference 1.1, every leaf written out in full (the reference abbreviates some with '...').
REFERENCE_LEAVES = frozenset({
    "sos:products:joc:get_log",
    "sos:products:joc:administration:accounts:view",
    "sos:products:joc:administration:accounts:manage",
    "sos:products:joc:administration:settings:view",
    "sos:products:joc:administration:settings:manage",
    "sos:products:joc:administration:controllers:view",
    "sos:products:joc:administration:controllers:manage",
    "sos:products:joc:administration:certificates:view",
    "sos:products:joc:administration:certificates:manage",
    "sos:products:joc:administration:customization:view",
    "sos:products:joc:administration:customization:manage",
    "sos:products:joc:administration:customization:share",
    "sos:products:joc:cluster:manage",
    "sos:products:joc:inventory:view",
    "sos:products:joc:inventory:manage",
    "sos:products:joc:inventory:deploy",
    "sos:products:joc:calendars:view",
    "sos:products:joc:documentations:view",
    "sos:products:joc:documentations:manage",
    "sos:products:joc:auditlog:view",
    "sos:products:joc:dailyplan:view",
    "sos:products:joc:dailyplan:manage",
    "sos:products:joc:filetransfer:view",
    "sos:products:joc:filetransfer:manage",
    "sos:products:joc:notification:view",
    "sos:products:joc:notification:manage",
    "sos:products:joc:encipherment:encrypt",
    "sos:products:joc:reports:view",
    "sos:products:joc:reports:manage",
    "sos:products:joc:others:view",
    "sos:products:joc:others:manage",
    "sos:products:controller:view",
    "sos:products:controller:restart",
    "sos:products:controller:terminate",
    "sos:products:controller:switch_over",
    "sos:products:controller:get_log",
    "sos:products:controller:agents:view",
    "sos:products:controller:deployment:view",
    "sos:products:controller:deployment:deploy",
    "sos:products:controller:locks:view",
    "sos:products:controller:workflows:view",
    "sos:products:controller:noticeboards:view",
    "sos:products:controller:noticeboards:post",
    "sos:products:controller:noticeboards:delete",
    "sos:products:controller:orders:view",
    "sos:products:controller:orders:create",
    "sos:products:controller:orders:cancel",
    "sos:products:controller:orders:modify",
    "sos:products:controller:orders:suspend_resume",
    "sos:products:controller:orders:resume_failed",
    "sos:products:controller:orders:confirm",
    "sos:products:controller:orders:manage_positions",
})


def test_the_reference_list_is_written_out_completely():
    assert len(REFERENCE_LEAVES) == 52


@pytest.mark.parametrize("leaf", sorted(REFERENCE_LEAVES))
def test_every_reference_leaf_is_a_leaf_of_the_catalogue(leaf):
    assert leaf in catalogue()
    assert catalogue().nodes[leaf].is_leaf


# Leaves js7tui adds where JS7 has none (each one documented in the catalogue).
JS7TUI_LEAVES = frozenset({"sos:products:joc:administration:approvals:approve"})


def test_the_catalogue_invents_no_leaves_beyond_the_reference():
    assert set(catalogue().leaves()) == REFERENCE_LEAVES | JS7TUI_LEAVES


def test_every_node_has_a_description():
    blank = [name for name, node in catalogue().nodes.items() if not node.description.strip()]
    assert blank == []


def test_root_joc_and_controller_scopes_are_nodes():
    nodes = catalogue().nodes
    assert {ROOT, JOC, CONTROLLER} <= set(nodes)
    assert set(nodes[ROOT].children) == {JOC, CONTROLLER}


def test_every_node_is_listed_as_a_child_of_its_parent():
    nodes = catalogue().nodes
    for name, node in nodes.items():
        if name == ROOT:
            continue
        parent = name.rsplit(":", 1)[0]
        assert parent in nodes, name
        assert name in nodes[parent].children, name
        assert node.depth == nodes[parent].depth + 1


def test_every_child_names_an_existing_node_below_its_parent():
    nodes = catalogue().nodes
    for name, node in nodes.items():
        for child in node.children:
            assert child in nodes
            assert child.rsplit(":", 1)[0] == name


def test_walking_from_the_root_visits_every_node_once():
    walked = [node.name for node in catalogue().walk()]
    assert walked[0] == ROOT
    assert len(walked) == len(set(walked)) == len(catalogue())


def test_walk_lists_a_parent_before_its_children():
    position = {node.name: i for i, node in enumerate(catalogue().walk())}
    for name in position:
        if name != ROOT:
            assert position[name.rsplit(":", 1)[0]] < position[name]


@pytest.mark.parametrize("typo, suggestion", [
    ("sos:products:controller:order:view", "sos:products:controller:orders:view"),
    ("sos:products:joc:administration:account:manage",
     "sos:products:joc:administration:accounts:manage"),
    ("sos:products:controller:deployments:deploy", "sos:products:controller:deployment:deploy"),
])
def test_an_unknown_name_is_refused_with_a_did_you_mean(typo, suggestion):
    with pytest.raises(ValidationError) as refused:
        catalogue().canonical(typo)
    assert f"unknown permission '{typo}'" in str(refused.value)
    assert f"did you mean '{suggestion}'" in str(refused.value)


def test_a_name_far_from_any_node_points_to_the_tree():
    with pytest.raises(ValidationError, match="permissions tree"):
        catalogue().canonical("completely:different")


def test_a_partial_segment_is_not_a_permission():
    with pytest.raises(ValidationError):
        catalogue().canonical("sos:products:cont")


def test_the_misspelled_administration_alias_maps_to_the_correct_spelling():
    assert (catalogue().canonical("sos:products:joc:adminstration:accounts:view")
            == "sos:products:joc:administration:accounts:view")
    assert (catalogue().canonical("sos:products:joc:adminstration")
            == "sos:products:joc:administration")


def test_canonical_keeps_a_correct_name_and_trims_blanks():
    assert catalogue().canonical("  sos:products:joc  ") == JOC


@pytest.mark.parametrize("role", sorted(DEFAULT_ROLES))
def test_default_roles_use_only_catalogue_names(role):
    unknown = [name for name in DEFAULT_ROLES[role] if name not in catalogue()]
    assert unknown == []


def test_the_all_role_is_exactly_the_root():
    assert DEFAULT_ROLES["all"] == [ROOT]


def test_the_six_default_roles_of_the_reference_are_defined():
    assert set(DEFAULT_ROLES) == {"all", "administrator", "application_manager", "it_operator",
                                  "incident_manager", "business_user", "api_user"}
