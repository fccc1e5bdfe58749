"""Where recordings and other files live: a small storage interface and a local folder.

Keys are relative, slash-separated names such as `recordings/CA123/RE456.wav`. They are
validated strictly so that no key can ever name a file outside the store's root.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from storage.db import instance_dir
from storage.settings import settings

KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,200}")
FILE_MODE = 0o600
DIR_MODE = 0o700


class InvalidKey(ValueError):
    """A key that is not a safe, relative name inside the store."""


@runtime_checkable
class FileStore(Protocol):
    """Stores blobs by key; `path()` gives a local path when the store is local."""

    def _private_root(self) -> None:
        """The store's folder exists and only this user may enter it (0700)."""
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if self.root.stat().st_mode & 0o077:
            self.root.chmod(DIR_MODE)

    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, source_path: Path | str) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def path(self, key: str) -> Path | None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...


def validate_key(key: object) -> str:
    """Return `key` if it is safe, else raise `InvalidKey`.

    Allowed: letters, digits and `_ . / -`, at most 201 characters, starting with a
    letter or digit; every `/`-separated segment is non-empty and starts with a letter
    or digit (so no `..`, no hidden or temporary names, no absolute paths).
    """
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise InvalidKey(f"invalid storage key: {key!r}")
    for segment in key.split("/"):
        if not segment or not segment[0].isalnum():
            raise InvalidKey(f"invalid storage key: {key!r}")
    return key


class LocalFileStore:
    """Files under a local folder, written atomically (temp file + rename), mode 0600."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(os.path.realpath(root if root is not None else default_root()))

    def __repr__(self) -> str:
        return f"LocalFileStore({str(self.root)!r})"

    def _target(self, key: str) -> Path:
        """The file for `key`, checked to lie inside the root even through symlinks."""
        target = self.root / validate_key(key)
        if not Path(os.path.realpath(target)).is_relative_to(self.root):
            raise InvalidKey(f"storage key leaves the store: {key!r}")
        return target

    def _write(self, key: str, fill: Callable[[BinaryIO], object]) -> None:
        """Create a temp file beside the target, let `fill` write it, then rename it."""
        target = self._target(key)
        self._private_root()
        target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, FILE_MODE)
            os.replace(temp, target)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def _private_root(self) -> None:
        """The store's folder exists and only this user may enter it (0700)."""
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if self.root.stat().st_mode & 0o077:
            self.root.chmod(DIR_MODE)

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing any previous content atomically."""
        self._write(key, lambda out: out.write(data))

    def put_file(self, key: str, source_path: Path | str) -> None:
        """Copy the file at `source_path` into the store under `key` (the source stays)."""
        with open(source_path, "rb") as source:
            self._write(key, lambda out: shutil.copyfileobj(source, out, 1024 * 1024))

    def open(self, key: str) -> BinaryIO:
        """Open the stored file for reading; `FileNotFoundError` when absent."""
        return open(self._target(key), "rb")

    def path(self, key: str) -> Path:
        """The local path of `key` (whether or not it exists yet), for ffmpeg and Vosk."""
        return self._target(key)

    def exists(self, key: str) -> bool:
        return self._target(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove `key`; True if a file was removed, False if there was none."""
        try:
            self._target(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        """Size in bytes; `FileNotFoundError` when absent."""
        return self._target(key).stat().st_size


def default_root() -> Path:
    """`RECORDINGS_DIR`, or `recordings/` under the instance folder."""
    return settings().recordings_dir or instance_dir() / "recordings"


def file_store() -> FileStore:
    """The configured store (a local folder; see `default_root`)."""
    return LocalFileStore(default_root())
