"""Jobs for tests/test_worker_groups.py: each notes the process that ran it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def note_pid(path: str) -> int:
    """Write this process's id to `path`."""
    Path(path).write_text(str(os.getpid()))
    return os.getpid()


def stuck(path: str, seconds: float) -> None:
    """Stand-in for a call into C that never returns: the alarm RQ sets for the job
    timeout is blocked, as it would never reach the interpreter."""
    note_pid(path)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(seconds)
