"""Who used the machine's cores while the answers were decided (for `bench/stream.py`).

Every second: the machine's busy CPU time (`/proc/stat`), and that of the bench's own
process tree (the services it started and the simulated callers) and of the media
process. :meth:`CpuSampler.window` sums them between two wall times, so the CPU the
service needed while the callers were waiting can be set against the cores there are
and against what the rest of the machine took.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, all processes)."""
    with open("/proc/stat") as stat:
        fields = [int(f) for f in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICK


def _processes() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds with its waited-for children, command line)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        cpu = sum(int(x) for x in fields[11:15]) / TICK
        found[int(entry.name)] = (int(fields[1]), cpu, command)
    return found


def _tree(processes: dict, root: int) -> float:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in processes:
            total += processes[pid][1]
        todo += children.get(pid, [])
    return total


def split_bench_cpu(
    extra_service_roots: tuple[int, ...] = (),
) -> tuple[float, dict[int, float]]:
    """CPU seconds of this bench's process tree: the services' (its children other than
    the callers: web, worker, media, Redis, and `extra_service_roots`, PostgreSQL's
    postmaster, which daemonises) and each simulated caller process's (its
    `multiprocessing` children), by pid."""
    processes = _processes()
    service, callers = 0.0, {}
    for pid, (parent, _, command) in processes.items():
        if parent != os.getpid():
            continue
        if "multiprocessing" in command:
            callers[pid] = _tree(processes, pid)
        else:
            service += _tree(processes, pid)
    service += sum(_tree(processes, root) for root in extra_service_roots)
    return service, callers


@dataclass(frozen=True)
class Window:
    """CPU seconds spent between two times, by whom."""

    seconds: float  # wall time
    machine: float
    service: float  # web, worker, media, Redis, PostgreSQL
    callers: float  # the simulated callers
    media: float

    def describe(self, cores: int) -> str:
        others = max(0.0, self.machine - self.service - self.callers)
        per_s = {
            "machine": self.machine,
            "service": self.service,
            "of it media": self.media,
            "callers": self.callers,
            "other processes": others,
        }
        rates = ", ".join(f"{k} {v / self.seconds:.2f}" for k, v in per_s.items())
        return f"{self.seconds:.0f} s, CPU s per wall s (of {cores} cores): {rates}"


class CpuSampler:
    """Samples CPU seconds once a second in a background thread."""

    def __init__(self, media: Callable[[], float], postmaster: int | None) -> None:
        self.media, self.roots = media, (postmaster,) if postmaster else ()
        self.samples: list[tuple[float, ...]] = []
        # A caller process that has ended keeps the CPU it was last seen with.
        self._callers_seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            media = self.media()
        except (OSError, ValueError, IndexError):  # ended
            media = self.samples[-1][4] if self.samples else 0.0
        service, callers = split_bench_cpu(self.roots)
        self._callers_seen.update(callers)
        callers_cpu = sum(self._callers_seen.values())
        self.samples.append((time.time(), machine_busy_seconds(), service, callers_cpu, media))

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def window(self, start: float, end: float) -> Window | None:
        """CPU between the samples nearest before `start` and after `end`."""
        before = [s for s in self.samples if s[0] <= start]
        after = [s for s in self.samples if s[0] >= end]
        if not before or not after:
            return None
        a, b = before[-1], after[0]
        return Window(b[0] - a[0], *(b[i] - a[i] for i in range(1, 5)))
