"""The Agent's encipherment keys: ``CONFIG/encipherment/<fingerprint>.key.pem`` (0600) beside
``<fingerprint>.cert.pem``, written by a bundle import and never removed by one unless the
console retired the certificate (its values were encrypted again for the successor).

Values are decrypted here, on the Agent, immediately before a job starts; the clear text goes
into the job's environment and the list of values to mask in its output, nowhere else.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from js7tui.encipherment import envelope

log = logging.getLogger("js7tui.agent")
DIRECTORY = "encipherment"


def key_file(directory: Path, fp: str) -> Path:
    return directory / f"{fp}.key.pem"


def cert_file(directory: Path, fp: str) -> Path:
    return directory / f"{fp}.cert.pem"


@dataclass
class Keyring:
    directory: Path
    _keys: dict[str, object] = field(default_factory=dict, repr=False)
    _seen: tuple[tuple[str, float], ...] = ()

    def refresh(self) -> None:
        """Re-read the directory when its files changed (a bundle import while running)."""
        try:
            entries = sorted((p.name, p.stat().st_mtime) for p in self.directory.glob("*.key.pem"))
        except OSError:
            entries = []
        seen = tuple(entries)
        if seen == self._seen:
            return
        keys: dict[str, object] = {}
        for name, _ in entries:
            fp = name.removesuffix(".key.pem")
            try:
                keys[fp] = serialization.load_pem_private_key(
                    (self.directory / name).read_bytes(), password=None)
            except (OSError, ValueError, TypeError) as exc:
                log.error("cannot load the encipherment key %s: %s", name,
                          type(exc).__name__)
        self._keys, self._seen = keys, seen

    @property
    def fingerprints(self) -> list[str]:
        self.refresh()
        return sorted(self._keys)

    def decrypt(self, text: str, bound_to: str) -> str:
        self.refresh()
        if text.startswith(envelope.PREFIX):
            parsed = envelope.parse(text)
            key = self._keys.get(parsed.fingerprint)
            if key is None:
                raise envelope.DecryptionRefused(
                    f"it was encrypted for the certificate {parsed.fingerprint[:16]}…, whose "
                    "key this Agent does not hold (a value for another Agent, or a certificate "
                    "not imported here)")
            return envelope.decrypt(parsed, key, bound_to)
        log.warning("%s is in JS7's unauthenticated enc: format; encrypt it again", bound_to)
        return envelope.decrypt_js7(text, list(self._keys.values()))


def install(directory: Path, cert: x509.Certificate, key_pem: bytes | None,
            write: object) -> list[Path]:
    """Write one certificate (and key) with ``write(path, data)``; returns the paths."""
    fp = envelope.fingerprint(cert)
    written = [cert_file(directory, fp)]
    write(written[0], cert.public_bytes(serialization.Encoding.PEM))  # type: ignore[operator]
    if key_pem is not None:
        written.append(key_file(directory, fp))
        write(written[1], key_pem)  # type: ignore[operator]
    return written


def retire(directory: Path, fingerprints: list[str]) -> list[Path]:
    removed = []
    for fp in fingerprints:
        for path in (key_file(directory, fp), cert_file(directory, fp)):
            if path.exists():
                os.unlink(path)
                removed.append(path)
    return removed
