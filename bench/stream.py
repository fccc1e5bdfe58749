"""Streamed spoken ratings: N concurrent callers on media streams, real-time audio,
beside today's record-and-poll path in the same run.

What it runs
    A throwaway PostgreSQL cluster, a private Redis, and the Procfile's `web` (gunicorn,
    loopback), `media` (`ivr media`, the real Vosk Korean model) and `worker` (for the
    record-and-poll baseline). Callers are simulated with `ivr.simulate` speaking
    Twilio's media-stream protocol: 20 ms μ-law frames, in real time. The streamed
    callers are shared out among `--callers` processes (default 2); in each, every
    stream runs on one asyncio loop paced by one 20 ms clock, its frames encoded
    before the call (`ivr/simulate_stream.py`), so the callers keep real time without
    taking the server's CPU; how late that clock ever ran is printed.

The calls
    For each N (default 10, 50, 100), N callers (started within `--spread` seconds,
    default 20: the prompt lasts 38 s, so all N streams are open at once) each say one
    phrase of the Korean pack (espeak-ng, telephone band, two voices) after the
    question (`--barge-in`: one second into it) and confirm a read-back by key if it
    names what they said, else hang up. Then the media process
    is stopped and, for each size of `--baseline`, as many callers do the same over the
    record-and-poll path
    (which the web falls back to by itself).

What it prints
    Per N: the time from the caller's last voiced frame to the stored decision
    (`media_streams.decided_at`) and to the stored rating, p50/p95/p99; streams
    dropped (no decision stored, or the caller never got the stream); wrong ratings;
    CPU seconds of the media process per stream; its peak RSS; the callers' own CPU
    per stream and their clock's worst lateness; the load average; who used the cores
    (machine, service, media, callers, other processes: `bench/cpu_window.py`) over
    the round and over the answer window. For the baseline:
    the worker's CPU per call (its jobs included), and from
    the recording reported to the recogniser's result stored, and to the rating stored
    (Twilio's own 2 s end-of-speech silence and upload come on top in real life).

Run: `.venv/bin/python bench/stream.py [--sizes 10,50,100] [--baseline 10,50,100]`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus import build_corpus  # noqa: E402
from cpu_window import CpuSampler  # noqa: E402
from load import procfile_process  # noqa: E402
from services import (  # noqa: E402
    AUTH_TOKEN,
    free_port,
    gunicorn,
    procfile_web_command,
    redis_server,
    service_env,
    stop,
)
from stream_figures import ms, poll_figures, stream_figures  # noqa: E402

from ivr.simulate import CallScript, Simulator  # noqa: E402
from ivr.simulate_http import http_transport  # noqa: E402
from ivr.simulate_media import MediaHost  # noqa: E402
from ivr.simulate_stream import line_lag  # noqa: E402
from prompts.speech import load_speech_pack  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.postgres_cluster import PostgresCluster  # noqa: E402
from workers.media import availability  # noqa: E402

ACCOUNT_SID = "AC" + "7" * 32
KO = "ko-KR"


def phrases(folder: Path) -> list:
    """Labelled telephone-band utterances of every phrase (two voices)."""
    voices = list(load_speech_pack(KO).corpus.get("variants", [""]))[:2]
    corpus = build_corpus(
        KO, folder, variants=voices, speeds=[150], pitches=[50], channels=("tel",), negatives=False
    )
    return [u for u in corpus if u.level is not None]


class ProcessMeter:
    """CPU seconds and peak RSS of one process, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def cpu_seconds(self, stat: str = "stat") -> float:
        """CPU seconds of the process, with its children that have ended (RQ's jobs)."""
        fields = Path(f"/proc/{self.pid}/{stat}").read_text().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def tree_cpu_seconds(self) -> float:
        """CPU seconds of the process and every process under it (`ivr worker`'s RQ
        workers and their work-horses)."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(stat.parent.name))
        total, todo = 0.0, [self.pid]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                total += ProcessMeter(pid).cpu_seconds()
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile: counted in its parent's children
        return total

    def loop_cpu_seconds(self) -> float:
        """CPU seconds of the main thread alone (the event loop: what holds the GIL)."""
        return self.cpu_seconds(f"task/{self.pid}/stat")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_rss_mb = max(self.peak_rss_mb, self.rss_mb())

    def __enter__(self):
        self.peak_rss_mb = self.rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def place(
    simulator: Simulator,
    utterances: list,
    n: int,
    spread: float,
    barge_in: bool,
    chosen: list | None = None,
):
    """N callers at once; returns [(script, utterance, outcome or None)]."""
    chosen = chosen or [random.choice(utterances) for _ in range(n)]
    scripts = []
    for utterance in chosen:
        first = f"early:say:{utterance.path}" if barge_in else f"say:{utterance.path}"
        answers = [first, f"confirm:{utterance.level}", "hangup"]
        scripts.append(CallScript(answers=answers, lang=KO))

    def one(script: CallScript):
        time.sleep(random.uniform(0, spread))
        try:
            return simulator.call(script)
        except Exception as error:
            print(f"  caller crashed: {type(error).__name__}: {error}")
            return None

    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(one, scripts))
    return list(zip(scripts, chosen, outcomes, strict=True))


@dataclass(frozen=True)
class Placed:
    """One streamed caller, as a caller process reports it."""

    call_sid: str
    level: str  # what the caller said
    last_voice_at: float  # 0 if the caller never got a stream


def _callers_process(base_url: str, utterances: list, spread: float, barge_in: bool, seed: int):
    """In a caller process: place these callers; (placed, CPU seconds, clock lag)."""
    random.seed(seed)
    simulator = Simulator(base_url, AUTH_TOKEN, http_transport(base_url), ACCOUNT_SID)
    started = time.process_time()
    calls = place(simulator, utterances, len(utterances), spread, barge_in, chosen=utterances)
    placed = [
        Placed(
            script.call_sid,
            utterance.level,
            outcome.streams[0].last_voice_at if outcome and outcome.streams else 0.0,
        )
        for script, utterance, outcome in calls
    ]
    return placed, time.process_time() - started, line_lag()


def place_streams(base_url: str, utterances: list, args) -> tuple[list[Placed], float, float]:
    """N streamed callers shared out among `args.callers` processes; (placed, their
    CPU seconds, the worst lateness of their 20 ms clocks)."""
    chosen = [random.choice(utterances) for _ in range(args.n)]
    shares = [chosen[i :: args.callers] for i in range(args.callers)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.callers, mp_context=context) as pool:
        jobs = [
            pool.submit(_callers_process, base_url, share, args.spread, args.barge_in, i)
            for i, share in enumerate(shares)
            if share
        ]
        results = [job.result() for job in jobs]
    placed = [p for share, _, _ in results for p in share]
    return placed, sum(cpu for _, cpu, _ in results), max(lag for _, _, lag in results)


def run(args: argparse.Namespace, workdir: Path) -> bool:
    utterances = phrases(workdir / "corpus")
    print(f"{len(utterances)} phrase utterances (espeak-ng, telephone band)")
    ok = True
    with ExitStack() as stack:
        cluster = stack.enter_context(PostgresCluster(durable=True))
        database_url = cluster.url.rsplit("/", 1)[0] + "/postgres"
        upgrade(database_url)
        factory = make_session_factory(make_engine(database_url))
        redis_url = stack.enter_context(redis_server(workdir / "redis"))
        host = MediaHost(ACCOUNT_SID, AUTH_TOKEN)
        stack.callback(host.close)
        port, media_port = free_port(), free_port()
        env = service_env(workdir, database_url, redis_url, port)
        env |= {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "RECORDING_HOSTS": f"http://{host.netloc}",
            "MEDIA_STREAM_URL": f"ws://127.0.0.1:{media_port}",
            "MEDIA_PORT": str(media_port),
            "MEDIA_HOST": "127.0.0.1",
            "MEDIA_MAX_STREAMS": str(max(args.sizes, default=0) + 10),
            "RECORDINGS_DIR": str(workdir / "recordings"),
        }
        base_url = stack.enter_context(
            gunicorn(procfile_web_command(port, None, None), port, env, workdir / "web")
        )
        worker = stack.enter_context(procfile_process("worker", env, workdir / "worker.log"))
        media = stack.enter_context(procfile_process("media", env, workdir / "media.log"))
        _wait_for_media(redis_url)
        print(f"media process pid {media.pid}")
        for n in args.sizes:
            args.n = n
            load = os.getloadavg()[0]
            postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
            with (
                ProcessMeter(media.pid) as meter,
                CpuSampler(meter.cpu_seconds, postmaster) as sampler,
            ):
                cpu_before, loop_before = meter.cpu_seconds(), meter.loop_cpu_seconds()
                started = time.monotonic()
                placed, own, lag = place_streams(base_url, utterances, args)
                elapsed = time.monotonic() - started
                cpu = meter.cpu_seconds() - cpu_before
                loop_cpu = meter.loop_cpu_seconds() - loop_before
            f = stream_figures(factory, placed)
            print(f"\n== {n} concurrent streams ({elapsed:.0f} s)")
            print(f"  last voiced frame → decision stored: {ms(f['decided'])}")
            print(f"  last voiced frame → rating stored:   {ms(f['rated'])}")
            print(
                f"  dropped {f['dropped']}, wrong ratings {f['wrong']}, "
                f"rated {f['stored']}/{n} (the rest read back, then the caller hung up)"
            )
            print(
                f"  media process: {cpu / n:.2f} CPU s per stream ({cpu:.1f} s in all; "
                f"its event loop {loop_cpu:.1f} s), peak RSS {meter.peak_rss_mb:.0f} MB"
            )
            print(
                f"  simulated callers ({args.callers} processes): {own / n:.2f} CPU s per "
                f"stream, their 20 ms clock at most {lag * 1000:.0f} ms late"
            )
            print(f"  load average (1 min) before {load:.2f}, after {os.getloadavg()[0]:.2f}")
            whole = sampler.window(sampler.samples[0][0], sampler.samples[-1][0])
            window = sampler.window(*f["window"])
            parts = (("the whole round", whole), ("first voiced → last decided", window))
            for label, part in parts:
                if part is not None:
                    print(f"  {label}: {part.describe(os.cpu_count())}")
            ok &= f["dropped"] == 0 and f["wrong"] == 0
        stop(media)  # the web falls back to record-and-poll by itself
        if not args.baseline:
            return ok
        time.sleep(availability.STALE_AFTER_S + 0.5)
        simulator = Simulator(
            base_url, AUTH_TOKEN, http_transport(base_url), ACCOUNT_SID, media=host
        )
        for n in args.baseline:
            load, since = os.getloadavg()[0], datetime.now(UTC)
            with ProcessMeter(worker.pid) as meter:
                cpu_before = meter.tree_cpu_seconds()
                calls = place(simulator, utterances, n, args.spread, False)
                cpu = meter.tree_cpu_seconds() - cpu_before
            f = poll_figures(factory, calls, since)
            print(f"\n== baseline: {n} concurrent record-and-poll calls")
            print(f"  recording reported → result stored:  {ms(f['decided'])}")
            print(f"  recording reported → rating stored:  {ms(f['rated'])}")
            print(
                f"  without a recording {f['dropped']}, wrong ratings {f['wrong']}, "
                f"rated {f['stored']}/{n}"
            )
            print(f"  worker (with its jobs): {cpu / n:.2f} CPU s per call")
            print(f"  load average (1 min) before {load:.2f}, after {os.getloadavg()[0]:.2f}")
            ok &= f["wrong"] == 0
    return ok


def _wait_for_media(redis_url: str, timeout_s: float = 120) -> None:
    from redis import Redis

    redis = Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout_s
    while not availability.has_room(redis):
        if time.monotonic() > deadline:
            raise RuntimeError("ivr media did not start")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument(
        "--baseline", default="10", help="record-and-poll sizes after the streams (0: none)"
    )
    parser.add_argument(
        "--spread", type=float, default=20.0, help="seconds over which the N callers start"
    )
    parser.add_argument(
        "--barge-in", action="store_true", help="speak 1 s into the prompt (default: after it)"
    )
    parser.add_argument(
        "--callers", type=int, default=2, help="processes the streamed callers are shared among"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.baseline = [int(s) for s in args.baseline.split(",") if s and int(s)]
    random.seed(14)
    workdir = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    print(f"work folder {workdir}")
    return 0 if run(args, workdir) else 1


if __name__ == "__main__":
    sys.exit(main())
