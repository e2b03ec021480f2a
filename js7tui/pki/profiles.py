"""What each purpose's certificate looks like: subject DN scheme, SANs, key usages, EKUs.

DN scheme (documented in the README): ``CN=<name>,OU=<purpose>,O=js7tui``, e.g.
``CN=primary,OU=controller,O=js7tui``. Servers map client DNs to users by exact match, so the
scheme is fixed and predictable. Every leaf carries a SAN (the webpki policy of
``cryptography.x509.verification`` requires one): DNS names and IPs for servers, an e-mail
address or a ``urn:js7tui:...`` URI for the others.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from js7tui.errors import ValidationError
from js7tui.text import unsafe_character

ORGANIZATION = "js7tui"
DEFAULT_SERVER_SAN = ("DNS:localhost", "IP:127.0.0.1")
_COMPONENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DNS_NAME = re.compile(r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class Purpose(StrEnum):
    CONSOLE = "console"
    CONTROLLER = "controller"
    AGENT = "agent"
    USER = "user"
    SIGNING = "signing"
    ENCIPHERMENT = "encipherment"

    @classmethod
    def parse(cls, text: str) -> Purpose:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValidationError(f"unknown certificate purpose '{text}'; choose one of "
                                  + ", ".join(p.value for p in cls)) from None

    @property
    def profile(self) -> Profile:
        return PROFILES[self]


@dataclass(frozen=True)
class Profile:
    ekus: tuple[x509.ObjectIdentifier, ...]
    server: bool          # carries DNS/IP SANs, defaults localhost/127.0.0.1
    key_held: bool        # the console keeps this key (its own client certificate)
    what: str


PROFILES: dict[Purpose, Profile] = {
    Purpose.CONSOLE: Profile((ExtendedKeyUsageOID.CLIENT_AUTH,), False, True,
                             "the console's client certificate"),
    Purpose.CONTROLLER: Profile((ExtendedKeyUsageOID.SERVER_AUTH,
                                 ExtendedKeyUsageOID.CLIENT_AUTH), True, False,
                                "a Controller (server, and client of its Agents)"),
    Purpose.AGENT: Profile((ExtendedKeyUsageOID.SERVER_AUTH,), True, False, "an Agent (server)"),
    Purpose.USER: Profile((ExtendedKeyUsageOID.CLIENT_AUTH,), False, False,
                          "a user (CERTIFICATE identity service)"),
    Purpose.SIGNING: Profile((ExtendedKeyUsageOID.CODE_SIGNING,), False, False,
                             "a signer of deployments (code signing)"),
    # Issue 21: an Agent's certificate for encrypted values, apart from its TLS certificate;
    # key usage keyEncipherment (RSA) or keyAgreement (EC) only, no EKU, never used for TLS.
    Purpose.ENCIPHERMENT: Profile((), False, False,
                                  "an Agent's encipherment certificate (encrypted secrets)"),
}
# What ``cert issue`` and the certificate forms offer: encipherment certificates are made and
# kept by ``js7tui encipherment`` (their own table, alias and Agent assignments).
ISSUABLE = tuple(p for p in Purpose if p is not Purpose.ENCIPHERMENT)


def check_name(purpose: Purpose, name: str) -> str:
    """Component names are host-like; account names may hold more, but never control chars."""
    if purpose in (Purpose.CONTROLLER, Purpose.AGENT, Purpose.CONSOLE):
        if not _COMPONENT_NAME.match(name):
            raise ValidationError(
                f"'{name}' is not a valid {purpose.value} name: use 1 to 64 letters, digits, "
                "'.', '_' or '-', starting with a letter or digit")
        return name
    if not name or len(name) > 64 or unsafe_character(name) is not None:
        raise ValidationError(f"'{name}' is not a valid account name for a certificate "
                              "(1 to 64 printable characters)")
    return name


def subject_for(purpose: Purpose, name: str) -> x509.Name:
    """``CN=<name>,OU=<purpose>,O=js7tui`` (RFC 4514 order; the DER order is O, OU, CN)."""
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, purpose.value),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
    ])


def dn_string(name: x509.Name) -> str:
    return name.rfc4514_string()


def parse_san(entries: Iterable[str]) -> list[x509.GeneralName]:
    """``DNS:host``, ``IP:addr``, ``email:a@b``, ``URI:urn:...``: checked, in the given order."""
    result: list[x509.GeneralName] = []
    for entry in entries:
        kind, _, value = entry.partition(":")
        kind = kind.strip().upper()
        value = value.strip()
        if kind == "DNS" and _DNS_NAME.match(value):
            result.append(x509.DNSName(value.lower()))
        elif kind == "IP":
            try:
                result.append(x509.IPAddress(ipaddress.ip_address(value)))
            except ValueError:
                raise ValidationError(f"'{value}' is not an IP address") from None
        elif kind == "EMAIL" and _EMAIL.match(value):
            result.append(x509.RFC822Name(value))
        elif kind == "URI" and re.match(r"^[a-z][a-z0-9+.-]*:\S+$", value, re.I):
            result.append(x509.UniformResourceIdentifier(value))
        else:
            raise ValidationError(f"'{entry}' is not a subject alternative name; write DNS:host, "
                                  "IP:address, email:user@domain or URI:scheme:...")
    return result


def san_strings(names: Sequence[x509.GeneralName]) -> list[str]:
    out = []
    for name in names:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        elif isinstance(name, x509.RFC822Name):
            out.append(f"email:{name.value}")
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
        else:
            out.append(str(name))
    return out


def default_san(purpose: Purpose, name: str, email: str | None = None) -> list[str]:
    if purpose.profile.server:
        return list(DEFAULT_SERVER_SAN)
    if email:
        return [f"email:{email}"]
    return [f"URI:urn:js7tui:{purpose.value}:{quote(name, safe='@.-_')}"]
