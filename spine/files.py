"""Writing files so that a power cut or a pulled SD card leaves the old version or the new, never half.

A bundle on a Pi's boot partition (FAT) or a broker's password file must be
whole or absent: write beside the target, fsync, rename over it, fsync the
directory. A directory of files is built aside and swapped in by renames,
with a manifest written last that readers check before trusting anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "MANIFEST.json"

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


@dataclass(frozen=True)
class FileEntry:
    """One file of a bundle: its bytes and whether it is a secret (mode 0600)."""

    data: bytes
    secret: bool = False


def _fsync_dir(path: Path) -> None:
    # Not every filesystem lets a directory be opened for fsync (FAT on some kernels).
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_file_atomic(path: Path, data: bytes, *, secret: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, SECRET_MODE if secret else PUBLIC_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_directory_atomic(target: Path, files: Mapping[str, FileEntry]) -> None:
    """Replace `target` with exactly `files` (relative paths), all or nothing.

    The manifest, written last, lists every file's SHA-256; `verify_directory`
    refuses a directory whose manifest is missing or does not match.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    try:
        for name, entry in files.items():
            write_file_atomic(staging / name, entry.data, secret=entry.secret)
        manifest = {name: _digest(entry.data) for name, entry in sorted(files.items())}
        write_file_atomic(staging / MANIFEST, json.dumps(manifest, indent=1).encode())
        old: Path | None = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
        os.replace(staging, target)
        _fsync_dir(target.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class IncompleteBundle(Exception):
    """A bundle directory that must not be used: missing manifest, missing or altered file."""


def verify_directory(target: Path) -> dict[str, str]:
    """The manifest of a complete directory, or IncompleteBundle saying what is wrong."""
    manifest_path = Path(target) / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise IncompleteBundle(f"{target}: no {MANIFEST}; the bundle was not completely written") from None
    except ValueError:
        raise IncompleteBundle(f"{target}: {MANIFEST} is damaged") from None
    for name, digest in manifest.items():
        path = Path(target) / name
        if not path.is_file():
            raise IncompleteBundle(f"{target}: {name} is missing")
        if _digest(path.read_bytes()) != digest:
            raise IncompleteBundle(f"{target}: {name} does not match the manifest")
    return dict(manifest)
