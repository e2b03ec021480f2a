"""Archives for external signing (reference 4.4): writing zip / tar.gz, and a hardened reader.

The reader trusts nothing in the file. Before anything is unpacked it refuses, naming the entry
and the reason: absolute paths, ``..``, backslashes and control characters in names (checked
in the raw bytes of the headers too, before zipfile or tarfile cut a name at a NUL), symbolic
and hard links, device files, FIFOs and sockets, encrypted zip entries, duplicate entries
(after removing a leading ``./``), more entries than ``[archive] max_entries``, and more
unpacked bytes than ``max_entry_bytes`` per entry or ``max_bytes`` in all. Sizes are checked
twice: as the archive declares them, and as they really come out of the decompressor (a zip
entry that lies about its size fails its CRC; a gzip stream is counted byte by byte), so a zip
bomb is stopped before it fills memory. Nothing is ever written to disk.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from js7tui.config import ArchiveConfig
from js7tui.errors import ValidationError

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME = 1024
# Room for tar headers (512 bytes each, a pax header may add two) and padding.
_TAR_OVERHEAD_PER_ENTRY = 3 * 512 + 511


class ArchiveFormat(StrEnum):
    ZIP = "zip"
    TAR_GZ = "tar.gz"

    @classmethod
    def parse(cls, text: str) -> ArchiveFormat:
        key = text.strip().lower().lstrip(".").replace("_", ".")
        for fmt in cls:
            if key == fmt.value or (fmt is cls.TAR_GZ and key in ("tgz", "targz")):
                return fmt
        raise ValidationError(f"archive format '{text}' is not known; use zip or tar.gz")

    @classmethod
    def for_path(cls, path: Path) -> ArchiveFormat:
        name = path.name.lower()
        if name.endswith(".zip"):
            return cls.ZIP
        if name.endswith((".tar.gz", ".tgz")):
            return cls.TAR_GZ
        raise ValidationError(f"cannot tell the archive format from '{path.name}': name it "
                              "*.zip or *.tar.gz, or give --format")


class ArchiveRefused(ValidationError):
    """An archive (or one entry of it) that is not read. ``entry`` is '' for the whole file."""

    def __init__(self, archive: str, entry: str, reason: str) -> None:
        where = f" entry '{_show(entry)}':" if entry else ""
        super().__init__(f"refused the archive {archive}:{where} {reason}")
        self.entry = entry
        self.reason = reason


@dataclass(frozen=True)
class ArchiveEntry:
    name: str  # normalised: no leading './', no trailing '/'
    data: bytes


def _show(name: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", name)


# -- writing ------------------------------------------------------------------------------
def write_archive(path: Path, fmt: ArchiveFormat, entries: Sequence[ArchiveEntry]) -> None:
    """Write ``entries`` (regular files, 0644 inside) to ``path`` (0600), atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            if fmt is ArchiveFormat.ZIP:
                _write_zip(out, entries)
            else:
                _write_tar_gz(out, entries)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_zip(out: IO[bytes], entries: Sequence[ArchiveEntry]) -> None:
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=stamp)  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, entry.data)


def _write_tar_gz(out: IO[bytes], entries: Sequence[ArchiveEntry]) -> None:
    now = int(time.time())
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=now) as compressed, tarfile.open(
            fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.size, info.mode, info.mtime = len(entry.data), 0o644, now
            archive.addfile(info, io.BytesIO(entry.data))


# -- reading ------------------------------------------------------------------------------
class _Reader:
    """One pass over one archive with its limits, its duplicate set and its byte count."""

    def __init__(self, label: str, limits: ArchiveConfig) -> None:
        self.label = label
        self.limits = limits
        self.seen: set[str] = set()
        self.total = 0
        self.current = ""

    def refuse(self, entry: str, reason: str) -> ArchiveRefused:
        return ArchiveRefused(self.label, entry, reason)

    def name(self, raw: str) -> str | None:
        """The normalised entry name, None for the archive's own '.' directory."""
        if len(raw) > MAX_NAME:
            raise self.refuse(raw[:80] + "...", f"the name is longer than {MAX_NAME} characters")
        if _CONTROL.search(raw):
            raise self.refuse(raw, "the name contains a control character")
        if "\\" in raw:
            raise self.refuse(raw, "the name contains a backslash")
        if raw.startswith("/") or _DRIVE.match(raw):
            raise self.refuse(raw, "absolute paths are not allowed")
        name = raw
        while name.startswith("./"):
            name = name[2:]
        name = name.rstrip("/")
        if name in ("", "."):
            return None
        parts = name.split("/")
        if ".." in parts:
            raise self.refuse(raw, "'..' would lead out of the archive")
        if "" in parts or "." in parts:
            raise self.refuse(raw, "the name has an empty or '.' path segment")
        return name

    def count(self, index: int) -> None:
        if index > self.limits.max_entries:
            raise self.refuse("", f"it holds more than {self.limits.max_entries} entries "
                                  "(limit [archive] max_entries)")

    def claim(self, raw: str, name: str, size: int) -> None:
        """Before reading an entry: duplicates and the declared size."""
        if name in self.seen:
            raise self.refuse(raw, "a second entry with the same name (duplicate)")
        self.seen.add(name)
        self.add(raw, size)

    def add(self, raw: str, size: int) -> None:
        if size > self.limits.max_entry_bytes:
            raise self.refuse(raw, f"it unpacks to {size} bytes, more than "
                                   f"{self.limits.max_entry_bytes} (limit [archive] "
                                   "max_entry_bytes)")
        self.total += size
        if self.total > self.limits.max_bytes:
            raise self.refuse(raw, "the archive would unpack to more than "
                                   f"{self.limits.max_bytes} bytes (limit [archive] max_bytes)")

    def read_bounded(self, raw: str, stream: IO[bytes], declared: int) -> bytes:
        """Exactly the declared size, never more than the limits allow."""
        data = stream.read(min(declared, self.limits.max_entry_bytes) + 1)
        if len(data) != declared:
            raise self.refuse(raw, f"it holds {len(data)} bytes, not the {declared} its header "
                                   "declares")
        return data


class _RawName(Exception):
    """A name whose raw header bytes hold a NUL or a control character."""

    def __init__(self, raw: bytes, what: str) -> None:
        super().__init__(what)
        self.raw = raw.decode("utf-8", "replace")
        self.what = what


def _check_raw_name(field: bytes, what: str = "the name") -> None:
    """A NUL-terminated header field: nothing but NUL padding may follow its first NUL, and
    no control byte may be in it (tarfile's ``nts`` would cut the name at the NUL)."""
    value = field.rstrip(b"\0")
    if b"\0" in value:
        raise _RawName(value, f"{what} contains a NUL byte")
    if _CONTROL_BYTES.search(value):
        raise _RawName(value, f"{what} contains a control character")


class _CheckedTarInfo(tarfile.TarInfo):
    """Checks the raw name fields of each header before tarfile decodes (and cuts) them."""

    @classmethod
    def frombuf(cls, buf: bytes, encoding: str, errors: str) -> tarfile.TarInfo:
        if len(buf) == tarfile.BLOCKSIZE and buf.count(0) != tarfile.BLOCKSIZE:
            _check_raw_name(buf[0:100])
            _check_raw_name(buf[157:257], "the link name")
            if buf[257:265] == b"ustar\x0000":  # POSIX: the prefix field is part of the name
                _check_raw_name(buf[345:500])
        return super().frombuf(buf, encoding, errors)  # type: ignore[misc]

    def _proc_gnulong(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        """A GNU long name or link: its data block is checked as it is read."""
        fileobj = tarfile.fileobj
        read = fileobj.read  # type: ignore[union-attr]
        pending = [True]

        def checked(*args: object) -> bytes:
            data = read(*args)
            if pending:
                pending.clear()
                _check_raw_name(data, "the long name")
            return data

        fileobj.read = checked  # type: ignore[union-attr,method-assign]
        try:
            return super()._proc_gnulong(tarfile)  # type: ignore[misc]
        finally:
            del fileobj.read  # type: ignore[union-attr]


def _kind_refusal(mode: int) -> str | None:
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "symbolic links are not allowed"
    if kind in (stat.S_IFCHR, stat.S_IFBLK):
        return "device files are not allowed"
    if kind == stat.S_IFIFO:
        return "FIFOs (named pipes) are not allowed"
    if kind == stat.S_IFSOCK:
        return "sockets are not allowed"
    return None


def _read_zip(path: Path, reader: _Reader) -> list[ArchiveEntry]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise reader.refuse("", f"not a readable zip file ({exc})") from None
    with archive:
        infos = archive.infolist()
        reader.count(len(infos))
        wanted: list[tuple[zipfile.ZipInfo, str]] = []
        for info in infos:
            # orig_filename: the name as stored, before zipfile cut it at a NUL byte.
            if "\0" in info.orig_filename:
                raise reader.refuse(info.orig_filename, "the name contains a NUL byte")
            raw = info.orig_filename
            name = reader.name(raw)
            mode = info.external_attr >> 16
            refusal = _kind_refusal(mode)
            if refusal:
                raise reader.refuse(raw, refusal)
            if name is None or info.is_dir() or stat.S_ISDIR(mode):
                continue
            if info.flag_bits & 0x1:
                raise reader.refuse(raw, "encrypted entries are not supported")
            reader.claim(raw, name, info.file_size)
            wanted.append((info, name))
        entries = []
        for info, name in wanted:
            try:
                with archive.open(info) as stream:
                    data = reader.read_bounded(info.filename, stream, info.file_size)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                    OSError) as exc:
                raise reader.refuse(info.filename, f"it cannot be unpacked ({exc})") from None
            entries.append(ArchiveEntry(name, data))
        return entries


class _CountingStream(io.RawIOBase):
    """The decompressed tar stream, refused once it grows past what the limits allow."""

    def __init__(self, source: IO[bytes], reader: _Reader, ceiling: int) -> None:
        self.source = source
        self.reader = reader
        self.ceiling = ceiling
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.source.read(len(buffer))
        self.consumed += len(data)
        if self.consumed > self.ceiling:
            raise self.reader.refuse(self.reader.current, "the archive would unpack to more than "
                                     f"{self.reader.limits.max_bytes} bytes (limit [archive] "
                                     "max_bytes)")
        buffer[: len(data)] = data
        return len(data)


def _read_tar_gz(path: Path, reader: _Reader) -> list[ArchiveEntry]:
    limits = reader.limits
    ceiling = limits.max_bytes + (limits.max_entries + 2) * _TAR_OVERHEAD_PER_ENTRY + 10240
    entries = []
    try:
        with open(path, "rb") as raw_file, gzip.GzipFile(fileobj=raw_file) as unzipped:
            stream = io.BufferedReader(_CountingStream(unzipped, reader, ceiling))
            with tarfile.open(fileobj=stream, mode="r|", tarinfo=_CheckedTarInfo) as archive:
                for index, member in enumerate(archive, start=1):
                    reader.count(index)
                    raw = member.name
                    reader.current = raw
                    name = reader.name(raw)
                    if member.issym():
                        raise reader.refuse(raw, "symbolic links are not allowed")
                    if member.islnk():
                        raise reader.refuse(raw, "hard links are not allowed")
                    if member.ischr() or member.isblk():
                        raise reader.refuse(raw, "device files are not allowed")
                    if member.isfifo():
                        raise reader.refuse(raw, "FIFOs (named pipes) are not allowed")
                    if member.isdir() or name is None:
                        continue
                    if not member.isreg():
                        raise reader.refuse(raw, "only regular files are allowed")
                    reader.claim(raw, name, member.size)
                    extracted = archive.extractfile(member)
                    assert extracted is not None  # a regular file always has content
                    entries.append(ArchiveEntry(name, reader.read_bounded(raw, extracted,
                                                                          member.size)))
    except ArchiveRefused:
        raise
    except _RawName as exc:
        raise reader.refuse(exc.raw, exc.what) from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise reader.refuse(reader.current, f"not a readable tar.gz file ({exc})") from None
    return entries


def read_archive(path: Path, limits: ArchiveConfig | None = None) -> list[ArchiveEntry]:
    """The regular-file entries of a zip or tar.gz file (told apart by content, not name),
    or :class:`ArchiveRefused` naming the first entry that breaks a rule."""
    reader = _Reader(path.name, limits or ArchiveConfig())
    try:
        with open(path, "rb") as probe:
            head = probe.read(4)
    except OSError as exc:
        raise ValidationError(f"cannot read the archive {path}: {exc.strerror}") from None
    if head.startswith(b"PK"):
        return _read_zip(path, reader)
    if head.startswith(b"\x1f\x8b"):
        return _read_tar_gz(path, reader)
    raise reader.refuse("", "it is neither a zip nor a tar.gz file")
