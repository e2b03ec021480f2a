"""Real hostile archives, built byte by byte with zipfile and tarfile: each breaks one rule."""

from __future__ import annotations

import io
import stat
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

GOOD = b'{"TYPE": "Workflow"}'
SIG = b"c2lnbmF0dXJl"  # base64 of "signature"


def zip_with(path: Path, entries: list[tuple[str, bytes] | zipfile.ZipInfo | tuple[
        zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; we want them
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for item in entries:
                if isinstance(item, tuple) and isinstance(item[0], zipfile.ZipInfo):
                    archive.writestr(item[0], item[1])
                else:
                    name, data = item  # type: ignore[misc]
                    archive.writestr(name, data)
    return path


def zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.create_system = 3
    return info


def tar_with(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]],
             pax_headers: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT,
                      pax_headers=pax_headers or {}) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return path


def zip_raw_name(path: Path, placeholder: str, raw: bytes) -> Path:
    """A zip whose stored name is ``raw`` (e.g. with a NUL byte, which zipfile would cut when
    writing): written with a placeholder of the same length, then patched in both headers."""
    assert len(placeholder.encode()) == len(raw)
    zip_with(path, [(placeholder, GOOD), (placeholder + ".sig", SIG)])
    data = path.read_bytes()
    assert data.count(placeholder.encode()) == 4  # local and central header of both entries
    path.write_bytes(data.replace(placeholder.encode(), raw))
    return path


def tar_gnu_with(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    """GNU format: names over 100 bytes go into a ././@LongLink block (NUL-terminated)."""
    with tarfile.open(path, "w:gz", format=tarfile.GNU_FORMAT) as archive:
        for info, data in members:
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


def signed_pair(name: str) -> list[tuple[str, bytes]]:
    return [(name, GOOD), (name + ".sig", SIG)]


# (id, builder(tmp_path) -> archive, entry named in the refusal, words of the reason)
Case = tuple[str, Callable[[Path], Path], str, str]

CASES: list[Case] = [
    ("zip-absolute", lambda d: zip_with(d / "a.zip", [("/etc/x.workflow.json", GOOD)]),
     "/etc/x.workflow.json", "absolute paths are not allowed"),
    ("tar-absolute", lambda d: tar_with(d / "a.tar.gz", [(member("/etc/x.workflow.json"), GOOD)]),
     "/etc/x.workflow.json", "absolute paths are not allowed"),
    ("zip-dotdot", lambda d: zip_with(d / "a.zip", [("a/../../x.workflow.json", GOOD)]),
     "a/../../x.workflow.json", "'..' would lead out of the archive"),
    ("tar-dotdot", lambda d: tar_with(d / "a.tar.gz", [(member("../x.workflow.json"), GOOD)]),
     "../x.workflow.json", "'..' would lead out of the archive"),
    ("zip-symlink", lambda d: zip_with(d / "a.zip", [
        (zip_info("x.workflow.json", stat.S_IFLNK | 0o777), b"/etc/passwd")]),
     "x.workflow.json", "symbolic links are not allowed"),
    ("tar-symlink", lambda d: tar_with(d / "a.tar.gz", [
        (member("x.workflow.json", tarfile.SYMTYPE, "/etc/passwd"), None)]),
     "x.workflow.json", "symbolic links are not allowed"),
    ("tar-hardlink", lambda d: tar_with(d / "a.tar.gz", [
        (member("x.workflow.json", tarfile.LNKTYPE, "/etc/shadow"), None)]),
     "x.workflow.json", "hard links are not allowed"),
    ("tar-device", lambda d: tar_with(d / "a.tar.gz", [(member("dev", tarfile.CHRTYPE), None)]),
     "dev", "device files are not allowed"),
    ("tar-block-device", lambda d: tar_with(d / "a.tar.gz", [
        (member("disk", tarfile.BLKTYPE), None)]), "disk", "device files are not allowed"),
    ("tar-fifo", lambda d: tar_with(d / "a.tar.gz", [(member("pipe", tarfile.FIFOTYPE), None)]),
     "pipe", "FIFOs"),
    ("zip-device", lambda d: zip_with(d / "a.zip", [
        (zip_info("dev", stat.S_IFCHR | 0o600), b"")]), "dev", "device files are not allowed"),
    ("zip-duplicate", lambda d: zip_with(d / "a.zip", [
        *signed_pair("x.workflow.json"), ("x.workflow.json", GOOD)]),
     "x.workflow.json", "duplicate"),
    ("tar-duplicate-dot-slash", lambda d: tar_with(d / "a.tar.gz", [
        (member("x.workflow.json"), GOOD), (member("./x.workflow.json"), GOOD)]),
     "./x.workflow.json", "duplicate"),
    ("zip-backslash", lambda d: zip_with(d / "a.zip", [
        (zip_info("..\\..\\x.workflow.json", stat.S_IFREG | 0o644), GOOD)]),
     "..\\..\\x.workflow.json", "backslash"),
    ("tar-control-character", lambda d: tar_with(d / "a.tar.gz", [
        (member("x\n.workflow.json"), GOOD)]), "x\\x0a.workflow.json", "control character"),
    # A NUL inside a stored name: zipfile and tarfile would cut the name there, and the
    # shortened name would deploy. The raw bytes are checked first.
    ("zip-nul-in-name", lambda d: zip_raw_name(d / "a.zip", "x.workflow.json@junk",
                                               b"x.workflow.json\0junk"),
     "x.workflow.json\\x00junk", "the name contains a NUL byte"),
    ("tar-nul-in-name", lambda d: tar_with(d / "a.tar.gz", [
        (member("x.workflow.json\0junk"), GOOD)]),
     "x.workflow.json\\x00junk", "the name contains a NUL byte"),
    ("tar-nul-in-gnu-long-name", lambda d: tar_gnu_with(d / "a.tar.gz", [
        (member("a" * 110 + "/x.workflow.json\0.txt"), GOOD)]),
     "a" * 110 + "/x.workflow.json\\x00.txt", "the long name contains a NUL byte"),
    ("tar-nul-in-pax-path", lambda d: tar_with(d / "a.tar.gz", [
        (member("x.workflow.json"), GOOD)], pax_headers={"path": "y.workflow.json\0z"}),
     "y.workflow.json\\x00z", "control character"),
    ("tar-escape-in-name", lambda d: tar_with(d / "a.tar.gz", [
        (member("x\x1b[2J.workflow.json"), GOOD)]),
     "x\\x1b[2J.workflow.json", "control character"),
    ("zip-too-many-entries", lambda d: zip_with(d / "a.zip", [
        (f"w{i}.workflow.json", GOOD) for i in range(11)]), "", "more than 10 entries"),
    ("tar-too-many-entries", lambda d: tar_with(d / "a.tar.gz", [
        (member(f"w{i}.workflow.json"), GOOD) for i in range(11)]), "", "more than 10 entries"),
    ("zip-bomb", lambda d: zip_with(d / "a.zip", [("x.workflow.json", bytes(3 * 2**20))]),
     "x.workflow.json", "max_entry_bytes"),
    ("zip-bomb-in-total", lambda d: zip_with(d / "a.zip", [
        (f"w{i}.workflow.json", bytes(300_000)) for i in range(5)]),
     "w3.workflow.json", "max_bytes"),
    ("tar-bomb", lambda d: tar_with(d / "a.tar.gz", [(member("x.workflow.json"),
                                                     bytes(3 * 2**20))]),
     "x.workflow.json", "max_entry_bytes"),
    ("tar-pax-header-bomb", lambda d: tar_with(d / "a.tar.gz", [(member("x.workflow.json"), GOOD)],
                                               pax_headers={"comment": "z" * (3 * 2**20)}),
     "", "max_bytes"),
    ("not-an-archive", lambda d: _write(d / "a.zip", b"just text, not an archive"),
     "", "neither a zip nor a tar.gz"),
    ("truncated-zip", lambda d: _truncate(zip_with(d / "a.zip", signed_pair("x.workflow.json"))),
     "", "not a readable zip file"),
    ("truncated-tar-gz", lambda d: _truncate(tar_with(d / "a.tar.gz", [
        (member("x.workflow.json"), bytes(range(256)) * 64)])), "", "not a readable tar.gz"),
]

# Archives that unpack fine but do not belong: refused when sorting the entries.
CONTENT_CASES: list[tuple[str, list[tuple[str, bytes]], str, str]] = [
    ("unknown-entry", [*signed_pair("a/x.workflow.json"), ("notes.txt", b"hi")],
     "notes.txt", "unknown entry"),
    ("unknown-object-kind", [("a/x.thing.json", GOOD)], "a/x.thing.json", "unknown entry"),
    ("joc-simple-item", [("a/x.lock.json", GOOD)], "a/x.lock.json", "a JOC resource lock"),
    ("pgp-signature", [("x.workflow.json", GOOD), ("x.workflow.json.asc", b"-----BEGIN PGP")],
     "x.workflow.json.asc", "PGP signatures are not supported"),
    ("unsigned-object", [*signed_pair("a/x.workflow.json"), ("a/y.jobresource.json", GOOD)],
     "a/y.jobresource.json", "unsigned"),
    ("orphan-signature", [*signed_pair("x.workflow.json"), ("y.workflow.json.sig", SIG)],
     "y.workflow.json.sig", "which is not in the archive"),
    ("orphan-certificate", [*signed_pair("x.workflow.json"), ("z.workflow.json.pem", b"--")],
     "z.workflow.json.pem", "which is not in the archive"),
    ("empty-signature", [("x.workflow.json", GOOD), ("x.workflow.json.sig", b" \n")],
     "x.workflow.json.sig", "empty"),
    ("same-name-two-folders", [*signed_pair("a/x.workflow.json"),
                               *signed_pair("b/x.workflow.json")],
     "b/x.workflow.json", "a second workflow named 'x'"),
    ("bad-object-name", [*signed_pair("a/-x.workflow.json")], "a/-x.workflow.json",
     "not a valid object path"),
    ("meta-inf-not-json", [*signed_pair("x.workflow.json"), ("meta_inf", b"versionId=1")],
     "meta_inf", "meta_inf is not JSON"),
    ("nothing-inside", [("meta_inf", b"{}")], "", "holds no workflow or job resource"),
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path
