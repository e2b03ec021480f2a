"""Distinguished names as administrators write them: RFC 4514, spaces around ``,`` and ``=``
tolerated (JS7 compares DNs as parsed names, not as text)."""

from __future__ import annotations

import re

from cryptography import x509

_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


def parse_dn(text: str) -> x509.Name:
    """The name of ``text``; ValueError with the reason when it is not a DN."""
    parts = [part.strip() for part in _UNESCAPED_COMMA.split(text.strip())]
    if not all(parts):
        raise ValueError(f"'{text}' has an empty part")
    tidy = []
    for part in parts:
        attribute, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"'{part}' is not ATTRIBUTE=value")
        tidy.append(f"{attribute.strip()}={value.strip()}")
    return x509.Name.from_rfc4514_string(",".join(tidy))
