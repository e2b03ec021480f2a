"""Permission-check throughput: js7tui's evaluator against pycasbin, on one identical policy.

What it measures
    How many ``is_permitted(permission, controller)`` decisions per second one logged-in account
    gets from :class:`js7tui.permissions.evaluator.EffectivePermissions`, compared with pycasbin
    deciding the same questions from the same policy.

Why
    Every screen of the console asks dozens of permission questions per redraw (which actions
    to show, which rows to grey out), so the check must be effectively free. pycasbin is the
    obvious off-the-shelf alternative; this script shows both that the two agree decision for
    decision (so the comparison is fair) and how far apart they are in speed.

The policy
    The six default JS7 roles of reference section 1.2 (plus ``all``), written with full
    ``sos:products:...`` names, and a few extra roles with denials and Controller-specific
    sections for Controllers ``c1`` and ``c2``. The account holds several of them.
    Controllers queried: the default scope '' and ``c1``, ``c2``, ``c3`` (``c3`` has no
    section of its own, so only the default section applies to it).

The pycasbin model
    RBAC with domains, the domain being the Controller id. Role assignments are made in domain
    ``*``, which a domain-matching function lets match every Controller (JS7 roles are not
    per-Controller); permission rows of the default section also carry domain ``*`` and apply to
    every domain, including the default scope ''. Permissions match by prefix on ':' boundaries
    through a custom function (``prefixMatch``) registered with ``add_function``. Effect:
    deny-override, ``some(where (p.eft == allow)) && !some(where (p.eft == deny))``. The casbin
    policy holds the rows of *every* role (as one enforcer serving all accounts would); ours
    compiles only the roles of the logged-in account, which is how each is meant to be used.

What is timed (``time.perf_counter``)
    * ours, memoised: one compiled EffectivePermissions answering all queries; best of 3 runs
      (after the first run every distinct question is one dictionary lookup).
    * ours, cold: a fresh EffectivePermissions (compile + empty memo, and the process-wide
      ``ancestors`` cache cleared) every 1000 queries; best of 3 runs.
    * pycasbin: ``Enforcer.enforce`` on every query. pycasbin needs about a millisecond per
      check here, so the queries are split over worker processes (one per core, at most
      ``--jobs``); each worker times its own share and the rate reported is per core
      (queries / summed worker time), i.e. comparable with our single-threaded figures.

Every decision of every query is compared; any disagreement prints the first one and exits 1.
Targets: ours (memoised) >= 1,000,000 checks/s and >= 20x pycasbin.

Run: ``python benchmarks/permissions.py [--queries N] [--seed S] [--jobs J]``
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version

import casbin

from js7tui.permissions.evaluator import EffectivePermissions, PermissionEntry, ancestors
from js7tui.permissions.tree import catalogue

ACCOUNT = "alice"
CONTROLLERS = ("", "c1", "c2", "c3")
TARGET_RATE = 1_000_000
TARGET_RATIO = 20.0
COLD_BLOCK = 1000

# Reference section 1.2, with the leading "sos:products:" left off. One correction:
# application_manager's "joc:administration:controller:view" (sic, singular) is not in our
# catalogue (nor in SOSListOfPermissions); it is mapped to "joc:administration:controllers:view".
DEFAULT_ROLES: dict[str, tuple[str, ...]] = {
    "all": ("",),
    "administrator": (
        "joc:administration", "joc:auditlog:view", "joc:calendars:view", "joc:cluster:manage",
        "joc:dailyplan:view", "joc:documentations:view", "joc:filetransfer:view",
        "joc:inventory:view", "joc:notification", "joc:others",
        "controller:view", "controller:restart", "controller:terminate",
        "controller:switch_over", "controller:agents:view", "controller:deployment:view",
        "controller:locks:view", "controller:workflows:view", "controller:orders:view",
    ),
    "application_manager": (
        "joc:administration:controllers:view",  # reference: "joc:administration:controller:view"
        "joc:administration:customization", "joc:administration:settings",
        "joc:auditlog:view", "joc:calendars:view", "joc:dailyplan", "joc:documentations",
        "joc:filetransfer", "joc:inventory", "joc:notification:view",
        "controller:view", "controller:agents:view", "controller:deployment",
        "controller:locks:view", "controller:workflows:view", "controller:orders",
    ),
    "it_operator": (
        "joc:administration:customization", "joc:administration:settings:view",
        "joc:auditlog:view", "joc:calendars:view", "joc:dailyplan", "joc:documentations",
        "joc:filetransfer", "joc:inventory:view", "joc:notification:view",
        "controller:view", "controller:agents:view", "controller:deployment:view",
        "controller:locks:view", "controller:workflows:view", "controller:orders",
    ),
    "incident_manager": (
        "joc:administration:accounts", "joc:administration:customization",
        "joc:administration:settings", "joc:auditlog:view", "joc:calendars:view",
        "joc:dailyplan", "joc:documentations", "joc:filetransfer", "joc:inventory",
        "joc:notification", "joc:others",
        "controller",
    ),
    "business_user": (
        "joc:administration:customization:view", "joc:auditlog:view", "joc:calendars:view",
        "joc:dailyplan:view", "joc:documentations:view", "joc:filetransfer:view",
        "controller:view", "controller:agents:view", "controller:locks:view",
        "controller:workflows:view", "controller:orders:view",
    ),
    "api_user": (
        "joc:auditlog:view", "joc:calendars:view", "joc:dailyplan:view",
        "joc:documentations:view", "joc:filetransfer:view",
        "controller:view", "controller:agents:view", "controller:deployment:view",
        "controller:locks:view", "controller:workflows:view", "controller:orders:view",
    ),
}

# Extra roles: (permission, excluded, controller); controller '' = default section.
EXTRA_ROLES: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "no_cluster_no_accounts": (
        ("joc:cluster", True, ""),
        ("joc:administration:accounts:manage", True, ""),
        ("joc:inventory:deploy", True, ""),
    ),
    "c1_deployer": (
        ("controller:deployment:deploy", False, "c1"),
        ("controller:restart", False, "c1"),
        ("controller:switch_over", False, "c1"),
        ("controller:orders:cancel", True, "c1"),
    ),
    "c2_restricted": (
        ("controller:orders", True, "c2"),
        ("controller:deployment", True, "c2"),
        ("controller:noticeboards", False, "c2"),
        ("controller:view", False, "c2"),
    ),
    "noticeboard_guard": (
        ("controller:noticeboards:delete", True, ""),  # beats the c1 grant below
        ("controller:noticeboards", False, "c1"),
        ("controller:agents", True, "c1"),
    ),
    "auditor": (
        ("joc:reports", False, ""),
        ("joc:others:manage", True, ""),
        ("controller:get_log", False, "c2"),
    ),
}

ACCOUNT_ROLES = (
    "application_manager", "it_operator", "business_user", "api_user",
    "no_cluster_no_accounts", "c1_deployer", "c2_restricted", "noticeboard_guard",
)

CASBIN_MODEL = """
[request_definition]
r = sub, dom, obj

[policy_definition]
p = sub, dom, obj, eft

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = (p.dom == "*" || p.dom == r.dom) && prefixMatch(r.obj, p.obj) && g(r.sub, p.sub, r.dom)
"""


def full_name(short: str) -> str:
    return "sos:products" + (":" + short if short else "")


def role_rows() -> dict[str, list[PermissionEntry]]:
    """Every role as PermissionEntry rows, names checked against the catalogue."""
    cat = catalogue()
    roles: dict[str, list[PermissionEntry]] = {}
    for role, names in DEFAULT_ROLES.items():
        roles[role] = [PermissionEntry(cat.canonical(full_name(n)), role=role) for n in names]
    for role, rows in EXTRA_ROLES.items():
        roles[role] = [
            PermissionEntry(cat.canonical(full_name(n)), excluded, controller, role=role)
            for n, excluded, controller in rows
        ]
    return roles


def account_entries() -> list[PermissionEntry]:
    roles = role_rows()
    return [entry for role in ACCOUNT_ROLES for entry in roles[role]]


def prefix_match(requested: str, granted: str) -> bool:
    """JS7's rule: ``granted`` matches ``requested`` by prefix on ':' boundaries."""
    return (requested + ":").startswith(granted + ":")


def _any_domain(request_domain: str, rule_domain: str) -> bool:
    return rule_domain == "*" or request_domain == rule_domain


def casbin_enforcer() -> casbin.Enforcer:
    model = casbin.model.Model()
    model.load_model_from_text(CASBIN_MODEL)
    enforcer = casbin.Enforcer(model)
    enforcer.add_function("prefixMatch", prefix_match)
    enforcer.add_named_domain_matching_func("g", _any_domain)
    policy = [
        [role, e.controller or "*", e.permission, "deny" if e.excluded else "allow"]
        for role, entries in role_rows().items()
        for e in entries
    ]
    enforcer.add_policies(policy)
    enforcer.add_grouping_policies([[ACCOUNT, role, "*"] for role in ACCOUNT_ROLES])
    return enforcer


def casbin_worker(queries: list[tuple[str, str]]) -> tuple[list[bool], float]:
    """Decide ``queries`` with a fresh enforcer; return decisions and the time they took."""
    enforcer = casbin_enforcer()
    enforce = enforcer.enforce
    start = time.perf_counter()
    decisions = [enforce(ACCOUNT, controller, perm) for perm, controller in queries]
    return decisions, time.perf_counter() - start


def make_queries(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    names = sorted(catalogue().nodes)
    return [(rng.choice(names), rng.choice(CONTROLLERS)) for _ in range(count)]


def run_memoised(perms: EffectivePermissions, queries: list[tuple[str, str]]) -> list[bool]:
    check = perms.is_permitted
    return [check(perm, controller) for perm, controller in queries]


def run_cold(entries: list[PermissionEntry], queries: list[tuple[str, str]]) -> list[bool]:
    out: list[bool] = []
    for start in range(0, len(queries), COLD_BLOCK):
        ancestors.cache_clear()
        check = EffectivePermissions.compile(entries).is_permitted
        block = queries[start:start + COLD_BLOCK]
        out.extend(check(perm, controller) for perm, controller in block)
    return out


def best_of(runs: int, fn, *args) -> tuple[list[bool], float]:
    best = float("inf")
    result: list[bool] = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return result, best


def casbin_all(queries: list[tuple[str, str]], jobs: int) -> tuple[list[bool], float, float]:
    """pycasbin decisions for all queries; returns (decisions, summed worker time, wall time)."""
    start = time.perf_counter()
    if jobs <= 1:
        decisions, busy = casbin_worker(queries)
        return decisions, busy, time.perf_counter() - start
    size = -(-len(queries) // jobs)
    chunks = [queries[i:i + size] for i in range(0, len(queries), size)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(casbin_worker, chunks))
    decisions = [d for chunk_decisions, _ in results for d in chunk_decisions]
    busy = sum(elapsed for _, elapsed in results)
    return decisions, busy, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--jobs", type=int, default=min(2, os.cpu_count() or 1),
        help="worker processes for pycasbin (default: min(2, cores))",
    )
    args = parser.parse_args(argv)

    queries = make_queries(args.queries, args.seed)
    entries = account_entries()
    policy_rows = sum(len(rows) for rows in role_rows().values())
    print(f"queries: {len(queries):,} (seed {args.seed}), "
          f"{len({*queries}):,} distinct (permission, controller) pairs")
    print(f"account '{ACCOUNT}': {len(ACCOUNT_ROLES)} roles, {len(entries)} entries; "
          f"pycasbin policy: {policy_rows} p rows for {len(role_rows())} roles")

    compiled = EffectivePermissions.compile(entries)
    ours, ours_time = best_of(3, run_memoised, compiled, queries)
    cold, cold_time = best_of(3, run_cold, entries, queries)
    theirs, busy, wall = casbin_all(queries, max(1, args.jobs))

    for i, (query, a, b, c) in enumerate(zip(queries, ours, cold, theirs, strict=True)):
        if not a == b == c:
            perm, controller = query
            print(f"DISAGREEMENT at query {i}: {perm!r} on controller {controller!r}: "
                  f"ours memoised={a}, ours cold={b}, pycasbin={c}")
            print(compiled.explain(perm, controller).reason)
            return 1
    granted = sum(ours)
    print(f"agreement: all {len(queries):,} decisions identical "
          f"({granted:,} granted, {len(queries) - granted:,} not)")

    n = len(queries)
    rate_ours, rate_cold, rate_casbin = n / ours_time, n / cold_time, n / busy
    ratio = rate_ours / rate_casbin
    print()
    print(f"{'':34}{'checks/s':>14}{'time for all':>16}")
    print(f"{'ours, memoised (best of 3)':34}{rate_ours:>14,.0f}{ours_time:>15.3f}s")
    print(f"{'ours, cold per 1000 (best of 3)':34}{rate_cold:>14,.0f}{cold_time:>15.3f}s")
    label = f"pycasbin {version('casbin')} (per core)"
    print(f"{label:34}{rate_casbin:>14,.0f}"
          f"{busy:>15.3f}s  ({args.jobs} process(es), {wall:.1f}s wall)")
    print(f"{'ratio ours/pycasbin':34}{ratio:>13,.0f}x   (cold: {rate_cold / rate_casbin:,.0f}x)")
    print()
    ok_rate, ok_ratio = rate_ours >= TARGET_RATE, ratio >= TARGET_RATIO
    print("targets: >= 1,000,000 checks/s and >= 20x pycasbin")
    print(f"  >= 1,000,000 checks/s: {'PASS' if ok_rate else 'FAIL'} ({rate_ours:,.0f})")
    print(f"  >= 20x pycasbin:       {'PASS' if ok_ratio else 'FAIL'} ({ratio:,.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
