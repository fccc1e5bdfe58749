"""The `ivr worker` process: one RQ worker per queue group, each in a supervised child.

Spoken ratings run in a worker that does not fork per job (:class:`SpeechWorker`):
``bench/speech_jobs.py`` measured RQ's default worker at 2.6 jobs/s, because the
work-horse it forks for each job from the ~550 MB process spends ~250 ms of its
~325 ms per job on importing the job code, opening database connections and faulting
in the model's copy-on-write pages; the same job takes ~80 ms in a process that stays.
Transcriptions (seconds each) keep RQ's forking worker.

What forking protected against is kept another way:

- a job that raises: RQ records it as failed and the worker carries on (as before);
- a job that overruns its timeout in Python: RQ's SIGALRM stops it (as before);
- a job stuck in C (Vosk) past its timeout + :data:`HANG_GRACE_S`: a watchdog thread
  ends the child process (cffi releases the GIL, so the thread runs meanwhile);
- a child that dies (crash, watchdog, OOM kill): the parent starts another after
  :data:`RESTART_DELAY_S`; its unfinished job is sent again by the outbox sweep.

The parent loads the speech models and imports the job code before forking, so the
children (and the transcribe worker's work-horses) share them copy-on-write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from redis import Redis
from rq import SimpleWorker, Worker
from rq.job import Job
from rq.queue import Queue

from storage.outbox import SPEECH_QUEUE
from workers.queues import JOB_TIMEOUT_S

log = logging.getLogger(__name__)

HANG_GRACE_S = 30
HUNG_EXIT_CODE = 70
RESTART_DELAY_S = 1.0


@contextlib.contextmanager
def hang_guard(seconds: float, describe: str) -> Iterator[None]:
    """End this process if the block is still running after `seconds`."""

    def give_up() -> None:
        log.error("%s still running after %.0f s: ending the worker process", describe, seconds)
        logging.shutdown()
        os._exit(HUNG_EXIT_CODE)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class SpeechWorker(SimpleWorker):
    """Runs jobs in its own process (no fork per job), guarded against hangs in C."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        limit = (job.timeout if job.timeout and job.timeout > 0 else JOB_TIMEOUT_S) + HANG_GRACE_S
        with hang_guard(limit, f"job {job.id}"):
            super().execute_job(job, queue)


def worker_class(queues: Sequence[str]) -> type[Worker] | type[SimpleWorker]:
    """SpeechWorker for the group that serves spoken ratings, RQ's forking Worker otherwise."""
    return SpeechWorker if SPEECH_QUEUE in queues else Worker


def preload_job_code() -> None:
    """Import what jobs run, once, in the parent (not in every child or work-horse)."""
    import workers.jobs
    import workers.runner  # noqa: F401


def run_groups(groups: Sequence[Sequence[str]], connect: Callable[[], Redis]) -> None:
    """Serve each queue group in a child process; restart a child that dies; on SIGTERM
    or SIGINT stop them (RQ's warm shutdown: the current job finishes) and return."""
    stopping = False
    children: dict[int, tuple[str, ...]] = {}

    def stop(signum: int, _frame) -> None:
        nonlocal stopping
        stopping = True
        if signum == signal.SIGTERM:  # SIGINT from a terminal reaches the children itself
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for group in groups:
        children[_start(tuple(group), connect)] = tuple(group)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        group = children.pop(pid, None)
        if group is None or stopping:
            continue
        log.warning("worker for %s ended (%s): starting another", group, _describe(status))
        time.sleep(RESTART_DELAY_S)
        if not stopping:
            children[_start(group, connect)] = group


def _start(group: tuple[str, ...], connect: Callable[[], Redis]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        worker_class(group)(list(group), connection=connect()).work()
        code = 0
    except BaseException:
        log.exception("worker for %s failed", group)
    finally:
        os._exit(code)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
