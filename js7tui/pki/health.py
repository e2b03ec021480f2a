"""What ``js7tui doctor`` reports about the PKI: read-only checks over the store."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from js7tui.findings import PROBLEM, WARNING, Finding, problem, warning
from js7tui.pki import records
from js7tui.pki.authority import BUILT_IN
from js7tui.pki.records import CaRole, Status

EXPIRY_WARNING_DAYS = 30
CRL_WARNING_DAYS = 3


def findings(conn: sqlite3.Connection, now: datetime) -> list[Finding]:
    """One sentence per problem or warning; an empty list when all is well."""
    found: list[Finding] = []
    cas = records.authorities(conn)
    root = cas.get(CaRole.ROOT)
    if root is not None and root.key_online and root.origin == BUILT_IN:
        found.append(warning("the root CA's private key is still in the store: export it for "
                             "offline keeping with 'js7tui cert export-root-key --out FILE'"))
    soon = now + timedelta(days=EXPIRY_WARNING_DAYS)
    for role, ca in sorted(cas.items()):
        what = "root CA" if role is CaRole.ROOT else "issuing CA"
        if ca.not_after <= now:
            found.append(problem(f"the {what} '{ca.subject}' expired on "
                                 f"{ca.not_after:%Y-%m-%d}"))
        elif ca.not_after <= soon:
            found.append(warning(f"the {what} '{ca.subject}' expires "
                                 f"{records.time_left(now, ca.not_after)} "
                                 f"({ca.not_after:%Y-%m-%d %H:%M} UTC)"))
    renewed = {r.replaces_id for r in records.certificates(conn) if r.replaces_id}
    for cert in records.certificates(conn, status=Status.VALID):
        if cert.not_after is None or cert.id in renewed:
            continue
        if cert.not_after <= now:
            found.append(problem(f"the certificate of {cert.label} expired on "
                                 f"{cert.not_after:%Y-%m-%d}: issue a new one (js7tui cert "
                                 f"renew {cert.serial})"))
        elif cert.not_after <= soon:
            found.append(warning(f"the certificate of {cert.label} expires "
                                 f"{records.time_left(now, cert.not_after)} "
                                 f"({cert.not_after:%Y-%m-%d %H:%M} UTC): renew it (js7tui cert "
                                 f"renew {cert.serial})"))
    crl = records.crl(conn, CaRole.INTERMEDIATE)
    if crl is not None and crl.next_update <= now + timedelta(days=CRL_WARNING_DAYS):
        state = "is past" if crl.next_update <= now else "is near"
        when = f"{crl.next_update:%Y-%m-%d %H:%M}"
        found.append(Finding(f"the issuing CA's CRL next update {state} ({when} UTC): sign "
                             "and distribute a new one (js7tui cert crl sign, "
                             "cert crl export)",
                             PROBLEM if crl.next_update <= now else WARNING))
    return found
