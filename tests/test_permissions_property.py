"""EffectivePermissions against a deliberately naive transcription of JS7's rule (reference §2).

The reference implementation below does not share code or ideas with the evaluator: it turns every
role row into the JS7 string form of reference §2.1 (``perm``, ``c1:perm``, ``-perm``,
``-c1:perm``), keeps one string set per identity service (one JS7 "subject" each, §2.3), and
decides with ``startswith`` after appending ':' to both sides, exactly as §2.2 describes:

    permitted = some subject holds a grant matching ``perm`` or ``<controllerId>:perm``
                AND NOT excluded,
    excluded  = for ``perm`` and each ancestor down to two segments, some subject holds a string
                matching ``-<ancestor>`` or ``-<controllerId>:<ancestor>``.

Folders (§2.4): any folder entry restricts the account; the list for Controller c is the default
entries plus c's (c's entry replacing a default one for the same folder), for the default
scope '' all entries; a folder is permitted if it equals a listed
folder, or a listed folder is recursive and is '/' or a prefix ``listed + '/'``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from js7tui.permissions.evaluator import EffectivePermissions, FolderEntry, PermissionEntry
from js7tui.permissions.tree import catalogue

NODES = sorted(catalogue().nodes)  # every node, not only leaves
SECTIONS = ("", "c1", "c2")
QUERY_CONTROLLERS = ("", "c1", "c2", "c3")
FOLDERS = ("/", "/a", "/a/b", "/ab", "/a/b/c", "/x")
# Not catalogue names (the catalogue would refuse them), but the evaluator must still treat them
# by ':' segments: 'sos:products:cont' is not an ancestor of 'sos:products:controller'.
PARTIAL_NAMES = (
    "sos", "sos:prod", "sos:products:cont", "sos:products:controller:order",
    "sos:products:joc:admin", "sos:products:controller:orders:view:extra",
)
P = "sos:products:"


# -- the naive reference ----------------------------------------------------------------------
def js7_strings(entries: list[PermissionEntry]) -> dict[str, set[str]]:
    """One set of JS7 permission strings per identity service (= per authenticated subject)."""
    subjects: dict[str, set[str]] = {}
    for entry in entries:
        text = entry.permission
        if entry.controller:
            text = entry.controller + ":" + text
        if entry.excluded:
            text = "-" + text
        subjects.setdefault(entry.service, set()).add(text)
    return subjects


def subject_is_permitted(strings: set[str], permission: str) -> bool:
    permission = permission + ":"
    return any(permission.startswith(held + ":") for held in strings)


def naive_excluded(subjects: dict[str, set[str]], permission: str, controller: str) -> bool:
    parts = permission.split(":")
    for length in range(len(parts), 1, -1):  # perm itself, then each ancestor down to 2 segments
        ancestor = ":".join(parts[:length])
        for strings in subjects.values():
            if subject_is_permitted(strings, "-" + ancestor):
                return True
            if subject_is_permitted(strings, "-" + controller + ":" + ancestor):
                return True
    return False


def naive_is_permitted(entries: list[PermissionEntry], permission: str, controller: str) -> bool:
    subjects = js7_strings(entries)
    excluded = naive_excluded(subjects, permission, controller)
    for strings in subjects.values():
        granted = subject_is_permitted(strings, permission) or subject_is_permitted(
            strings, controller + ":" + permission
        )
        if granted and not excluded:
            return True
    return False


def naive_folder_permitted(folders: list[FolderEntry], folder: str, controller: str) -> bool:
    if not folders:
        return True
    if controller == "":
        listed = folders
    else:
        # JS7 (SOSAuthFolderPermissions): the Controller's entry for a folder replaces the
        # default entry for the same folder.
        mine = [f for f in folders if f.controller == controller]
        listed = [f for f in folders
                  if f.controller == "" and all(m.folder != f.folder for m in mine)] + mine
    for f in listed:
        if f.folder == folder:
            return True
        if f.recursive and (f.folder == "/" or folder.startswith(f.folder + "/")):
            return True
    return False


# -- strategies -------------------------------------------------------------------------------
def entry_strategy(names: st.SearchStrategy[str]) -> st.SearchStrategy[PermissionEntry]:
    return st.builds(
        PermissionEntry,
        permission=names,
        excluded=st.booleans(),
        controller=st.sampled_from(SECTIONS),
        role=st.sampled_from(("r1", "r2", "r3")),
        service=st.sampled_from(("", "ldap")),
    )


def related(name: str, names: tuple[str, ...] | list[str]) -> list[str]:
    """Names that are a plain string prefix of ``name`` or have it as one (either direction)."""
    return [n for n in names if name.startswith(n) or n.startswith(name)]


@st.composite
def role_sets(draw: st.DrawFn, names: tuple[str, ...] | list[str] = NODES) -> list[PermissionEntry]:
    """Up to 12 role rows drawn from ``names``; half of them near one focus node, so that grants
    and denials on the same chain of ancestors (the interesting cases) are common."""
    focus = draw(st.sampled_from(NODES), label="focus")
    perm = st.one_of(st.sampled_from(names), st.sampled_from(related(focus, names)))
    return draw(st.lists(entry_strategy(perm), max_size=12), label="entries")


folder_entries_st = st.lists(
    st.builds(
        FolderEntry,
        folder=st.sampled_from(FOLDERS),
        recursive=st.booleans(),
        controller=st.sampled_from(SECTIONS),
        role=st.sampled_from(("r1", "r2")),
    ),
    max_size=5,
)


def draw_queries(data: st.DataObject, entries: list[PermissionEntry]) -> list[tuple[str, str]]:
    """Queries from all catalogue nodes, biased towards the subtrees the entries talk about."""
    near = sorted({n for e in entries for n in related(e.permission, NODES)})
    perm = st.sampled_from(NODES)
    if near:
        perm = st.one_of(perm, st.sampled_from(near))
    query = st.tuples(perm, st.sampled_from(QUERY_CONTROLLERS))
    return data.draw(st.lists(query, min_size=1, max_size=30), label="queries")


def check_against_naive(entries: list[PermissionEntry], queries: list[tuple[str, str]]) -> None:
    perms = EffectivePermissions.compile(entries)
    # twice: the second round is answered from the memo
    for _ in range(2):
        for perm, controller in queries:
            expected = naive_is_permitted(entries, perm, controller)
            assert perms.is_permitted(perm, controller) == expected, (perm, controller, entries)
    for perm, controller in queries:
        expected = naive_is_permitted(entries, perm, controller)
        assert perms.explain(perm, controller).granted == expected, (perm, controller, entries)
    # a fresh instance (empty memo) must agree as well, whatever order it is asked in
    fresh = EffectivePermissions.compile(entries)
    for perm, controller in reversed(queries):
        assert fresh.is_permitted(perm, controller) == naive_is_permitted(
            entries, perm, controller
        ), (perm, controller, entries)


# -- properties -------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(entries=role_sets(), data=st.data())
def test_is_permitted_matches_naive_js7_rule(entries, data):
    check_against_naive(entries, draw_queries(data, entries))


@settings(max_examples=300, deadline=None)
@given(entries=role_sets([*NODES, *PARTIAL_NAMES]), data=st.data())
def test_partial_segment_names_match_naive_js7_rule(entries, data):
    check_against_naive(entries, draw_queries(data, entries))


@settings(max_examples=300, deadline=None)
@given(entries=role_sets())
def test_every_catalogue_question_matches_naive_js7_rule(entries):
    perms = EffectivePermissions.compile(entries)
    for controller in QUERY_CONTROLLERS:
        for perm in NODES:
            expected = naive_is_permitted(entries, perm, controller)
            assert perms.is_permitted(perm, controller) == expected, (perm, controller, entries)


@settings(max_examples=300, deadline=None)
@given(folders=folder_entries_st)
def test_folder_permitted_matches_naive_js7_rule(folders):
    perms = EffectivePermissions.compile((), folders)
    for controller in QUERY_CONTROLLERS:
        for folder in FOLDERS:
            expected = naive_folder_permitted(folders, folder, controller)
            assert perms.folder_permitted(folder, controller) == expected, (
                folder, controller, folders,
            )
            explained = perms.explain(P + "controller:view", controller, folder)
            assert explained.folder_decision is not None
            assert explained.folder_decision.permitted == expected


# -- the headline rules, pinned ---------------------------------------------------------------
def grant(perm: str, controller: str = "", role: str = "r", service: str = "") -> PermissionEntry:
    return PermissionEntry(P + perm, False, controller, role, service)


def deny(perm: str, controller: str = "", role: str = "r", service: str = "") -> PermissionEntry:
    return PermissionEntry(P + perm, True, controller, role, service)


def test_parent_grant_covers_children_but_not_the_reverse():
    perms = EffectivePermissions.compile([grant("controller"), grant("joc:inventory:view")])
    assert perms.is_permitted(P + "controller:orders:view")
    assert perms.is_permitted(P + "controller:orders:view", "c1")
    assert perms.is_permitted(P + "joc:inventory:view")
    assert not perms.is_permitted(P + "joc:inventory")
    assert not perms.is_permitted(P + "joc:inventory:manage")


def test_denial_in_one_role_beats_grant_in_another():
    entries = [grant("controller", role="operator"), deny("controller:orders", role="no_orders")]
    perms = EffectivePermissions.compile(entries)
    assert not perms.is_permitted(P + "controller:orders:cancel")
    assert not perms.is_permitted(P + "controller:orders:cancel", "c1")
    assert perms.is_permitted(P + "controller:workflows:view", "c1")
    # also across identity services (§2.3): a denial from LDAP beats a grant from the vault
    across = [grant("controller", service="vault"), deny("controller:orders", service="ldap")]
    assert not EffectivePermissions.compile(across).is_permitted(P + "controller:orders:view")
    # and a denial of an ancestor beats a grant of the exact permission
    exact = [grant("controller:orders:view"), deny("controller")]
    assert not EffectivePermissions.compile(exact).is_permitted(P + "controller:orders:view")


def test_default_denial_beats_controller_specific_grant():
    perms = EffectivePermissions.compile(
        [deny("controller:orders:cancel"), grant("controller:orders", "c1")]
    )
    assert not perms.is_permitted(P + "controller:orders:cancel", "c1")
    assert perms.is_permitted(P + "controller:orders:view", "c1")
    assert not perms.is_permitted(P + "controller:orders:view", "c2")


def test_controller_specific_denial_only_on_that_controller():
    perms = EffectivePermissions.compile([grant("controller"), deny("controller:restart", "c1")])
    assert not perms.is_permitted(P + "controller:restart", "c1")
    assert perms.is_permitted(P + "controller:restart", "c2")
    assert perms.is_permitted(P + "controller:restart", "c3")
    assert perms.is_permitted(P + "controller:restart")  # default scope ''


def test_controller_specific_grant_only_on_that_controller():
    perms = EffectivePermissions.compile([grant("controller:deployment:deploy", "c1")])
    assert perms.is_permitted(P + "controller:deployment:deploy", "c1")
    assert not perms.is_permitted(P + "controller:deployment:deploy", "c2")
    assert not perms.is_permitted(P + "controller:deployment:deploy")


def test_partial_segment_never_matches():
    # built directly: the catalogue would refuse 'sos:products:cont'
    perms = EffectivePermissions.compile([PermissionEntry("sos:products:cont")])
    assert not perms.is_permitted(P + "controller")
    assert not perms.is_permitted(P + "controller:orders:view")
    assert not perms.is_permitted(P + "controller:orders:view", "c1")
    denied = EffectivePermissions.compile(
        [grant("controller"), PermissionEntry("sos:products:controller:order", excluded=True)]
    )
    assert denied.is_permitted(P + "controller:orders:view")
    assert naive_is_permitted([PermissionEntry("sos:products:cont")], P + "controller", "") is False


def test_no_entries_grants_nothing():
    perms = EffectivePermissions.compile([])
    assert not any(perms.is_permitted(n, c) for n in NODES for c in QUERY_CONTROLLERS)


def test_no_folder_entries_permits_every_folder():
    perms = EffectivePermissions.compile([grant("controller")])
    assert all(perms.folder_permitted(f, c) for f in FOLDERS for c in QUERY_CONTROLLERS)


def test_a_folder_entry_hides_other_folders():
    perms = EffectivePermissions.compile([], [FolderEntry("/a", recursive=True)])
    assert perms.folder_permitted("/a")
    assert perms.folder_permitted("/a/b/c", "c1")
    assert not perms.folder_permitted("/x")
    assert not perms.folder_permitted("/x", "c1")
    assert not perms.folder_permitted("/")


def test_ab_is_not_under_recursive_a():
    perms = EffectivePermissions.compile([], [FolderEntry("/a", recursive=True)])
    assert not perms.folder_permitted("/ab")
    assert perms.folder_permitted("/a/b")


def test_non_recursive_folder_covers_only_itself():
    perms = EffectivePermissions.compile([], [FolderEntry("/a", recursive=False)])
    assert perms.folder_permitted("/a")
    assert not perms.folder_permitted("/a/b")


def test_recursive_root_covers_everything():
    perms = EffectivePermissions.compile([], [FolderEntry("/", recursive=True)])
    assert all(perms.folder_permitted(f, c) for f in FOLDERS for c in QUERY_CONTROLLERS)


def test_controller_specific_folders():
    perms = EffectivePermissions.compile(
        [], [FolderEntry("/a", recursive=False), FolderEntry("/x", recursive=True, controller="c1")]
    )
    assert perms.folder_permitted("/x", "c1")
    assert not perms.folder_permitted("/x", "c2")  # c2's list: default entries only
    assert perms.folder_permitted("/a", "c2")
    assert perms.folder_permitted("/x")  # default scope '': every entry counts


def test_controller_folder_entry_replaces_default_entry_for_same_folder():
    perms = EffectivePermissions.compile((), [
        FolderEntry("/a", recursive=True, role="r1"),
        FolderEntry("/a", recursive=False, controller="c1", role="r2"),
    ])
    assert perms.folder_permitted("/a/b", "c2")      # default recursive entry applies
    assert not perms.folder_permitted("/a/b", "c1")  # c1's non-recursive entry replaces it
    assert perms.folder_permitted("/a", "c1")
