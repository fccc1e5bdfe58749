"""What a webhook could not store because the database did not answer, kept on disk.

Each web process appends to its own file, ``<spool dir>/<pid>.jsonl``: one JSON line
per entry, written with ``O_APPEND`` and ``fsync``ed (with the folder, when the file
is new) before the webhook answers, so a kept entry survives the process being killed
and the machine losing power. :func:`drain` applies every kept entry, in the order they
happened and with their original times, as soon as the database answers (a thread of
each web process, and the sweep before its duties) and then deletes the file.

Why a file and not Redis: Redis is the other thing that can be down, hung or flushed
(the fault tests do all three), and a write to a local file with ``fsync`` takes about
a millisecond with nothing else to fail. The spool folder must be on the machine's
local disk, shared by its web processes and the ``cron`` process (the instance folder).

Claiming: a file is drained by renaming it to ``<name>.draining-<token>`` under an
exclusive ``flock``; a writer that waited for the lock sees that its path now names
another file (or none) and opens a new one. A drainer killed half-way leaves the
renamed file, which the next drain takes over (applying entries is idempotent).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from storage.db import instance_dir
from storage.settings import settings

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
DRAINING = ".draining-"


def spool_dir() -> Path:
    """The folder of this machine's spool files (``IVR_SPOOL_DIR`` or ``instance/spool``)."""
    path = settings().spool_dir or instance_dir() / "spool"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def keep(entry: dict, folder: Path | None = None) -> None:
    """Append ``entry`` to this process's spool file and fsync it; raises OSError."""
    folder = folder or spool_dir()
    path = folder / f"{os.getpid()}{SUFFIX}"
    line = (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode()
    while True:
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == path.stat().st_ino
            except FileNotFoundError:
                same = False
            if not same:  # a drainer took the file while we waited: open a new one
                continue
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(folder)
        return


def pending(folder: Path | None = None) -> list[Path]:
    """Spool files holding entries not yet applied (being written or being drained)."""
    folder = folder or spool_dir()
    if not folder.is_dir():  # removed under a running process: nothing kept there
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX) or DRAINING in p.name)


@contextmanager
def _locked(path: Path) -> Iterator[int | None]:
    """An exclusive lock on ``path`` without waiting; yields None if someone holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def _claim(path: Path) -> Path | None:
    """Rename a live spool file out of its writers' way; the renamed path, or None."""
    with _locked(path) as fd:
        if fd is None:
            return None
        claimed = path.with_name(f"{path.name}{DRAINING}{uuid.uuid4().hex[:8]}")
        path.rename(claimed)
        return claimed


def read_entries(path: Path) -> list[dict]:
    """The entries of one spool file (a line cut short by a crash is skipped)."""
    entries = []
    for number, raw in enumerate(path.read_bytes().splitlines(), 1):
        try:
            entries.append(json.loads(raw))
        except ValueError:  # a line cut short by a crash mid-write was never acknowledged
            log.warning("spool %s line %d unreadable: skipped", path.name, number)
    return entries


def drain(apply: Callable[[list[dict]], None], folder: Path | None = None) -> int:
    """Apply the entries of every spool file with ``apply`` (one call, all entries in
    the order they happened); delete the files once it returns. Returns how many
    entries were applied; an exception from ``apply`` leaves every file in place.
    Files another drainer is applying are left to it."""
    folder = folder or spool_dir()
    with ExitStack() as held:
        claimed = []
        for path in pending(folder):
            taken = _claim(path) if path.name.endswith(SUFFIX) else path
            if taken is not None and held.enter_context(_locked(taken)) is not None:
                claimed.append(taken)
        if not claimed:
            return 0
        entries = sorted(
            (e for path in claimed for e in read_entries(path)), key=lambda e: e.get("at", "")
        )
        if entries:
            apply(entries)
        for path in claimed:
            path.unlink(missing_ok=True)
    log.info("spool: %d kept entr(ies) applied from %d file(s)", len(entries), len(claimed))
    return len(entries)
