"""Chain checks through ``cryptography.x509.verification`` (no chain logic of our own).

The EE policy starts from the webpki defaults (which require SAN and AKI) and replaces the
EKU rule with the purpose's: a Controller certificate must carry serverAuth and clientAuth, a
signing certificate codeSigning, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from js7tui.errors import ValidationError
from js7tui.pki.authority import CaChain
from js7tui.pki.profiles import Purpose


def _require_ekus(wanted: Sequence[x509.ObjectIdentifier]):  # type: ignore[no-untyped-def]
    def check(policy: object, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
        missing = [oid._name for oid in wanted if eku is None or oid not in eku]
        if missing:
            raise ValueError(f"extended key usage {', '.join(missing)} missing")
    return check


def verify_leaf(leaf: x509.Certificate, ca: CaChain, purpose: Purpose,
                now: datetime) -> list[x509.Certificate]:
    """The verified chain (leaf, intermediate, root), or a ValidationError saying why not."""
    ee = ExtensionPolicy.webpki_defaults_ee().require_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _require_ekus(purpose.profile.ekus))
    verifier = (PolicyBuilder().store(Store([ca.root])).time(now)
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ee)
                .build_client_verifier())
    try:
        return list(verifier.verify(leaf, [ca.intermediate]).chain)
    except VerificationError as exc:
        raise ValidationError(
            f"the certificate '{leaf.subject.rfc4514_string()}' does not chain to this home's CA "
            f"as a {purpose.value} certificate: {exc}") from None
