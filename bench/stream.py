"""Streamed spoken ratings: N concurrent callers on media streams, real-time audio,
beside today's record-and-poll path in the same run.

What it runs
    A throwaway PostgreSQL cluster, a private Redis, and the Procfile's `web` (gunicorn,
    loopback), `media` (`ivr media`, the real Vosk Korean model) and `worker` (for the
    record-and-poll baseline). Callers are simulated with `ivr.simulate` speaking
    Twilio's media-stream protocol: 20 ms μ-law frames, in real time, each caller in
    its own thread.

The calls
    For each N (default 10, 50, 100), N callers (started within `--spread` seconds,
    default 20: the prompt lasts 38 s, so all N streams are open at once) each say one
    phrase of the Korean pack (espeak-ng, telephone band, two voices) after the
    question (`--barge-in`: one second into it) and confirm a read-back by key if it
    names what they said, else hang up. Then the media process
    is stopped and `--baseline` callers do the same over the record-and-poll path
    (which the web falls back to by itself).

What it prints
    Per N: the time from the caller's last voiced frame to the stored decision
    (`media_streams.decided_at`) and to the stored rating, p50/p95/p99; streams
    dropped (no decision stored, or the caller never got the stream); wrong ratings;
    CPU seconds of the media process per stream; its peak RSS. For the baseline: from
    the recording reported to the recogniser's result stored, and to the rating stored
    (Twilio's own 2 s end-of-speech silence and upload come on top in real life).

Run: `.venv/bin/python bench/stream.py [--sizes 10,50,100] [--baseline 10]`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus import build_corpus  # noqa: E402
from load import procfile_process, recognition_seconds  # noqa: E402
from services import (  # noqa: E402
    AUTH_TOKEN,
    free_port,
    gunicorn,
    procfile_web_command,
    redis_server,
    service_env,
    stop,
)
from timing import percentile  # noqa: E402

from ivr.simulate import CallScript, Simulator  # noqa: E402
from ivr.simulate_http import http_transport  # noqa: E402
from ivr.simulate_media import MediaHost  # noqa: E402
from prompts.speech import load_speech_pack  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Call, Rating, Recording  # noqa: E402
from storage.records.media_streams import MediaStream  # noqa: E402
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

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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


def place(simulator: Simulator, utterances: list, n: int, spread: float, barge_in: bool):
    """N callers at once; returns [(script, utterance, outcome or None)]."""
    chosen = [random.choice(utterances) for _ in range(n)]
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


def _ms(values: list[float]) -> str:
    if not values:
        return "none"
    p = [percentile(sorted(values), q) * 1000 for q in (0.5, 0.95, 0.99)]
    return f"p50 {p[0]:.0f} ms, p95 {p[1]:.0f} ms, p99 {p[2]:.0f} ms (n={len(values)})"


def stream_figures(factory, calls) -> dict:
    decided, rated, dropped, wrong, stored = [], [], 0, 0, 0
    with factory() as session:
        for script, utterance, outcome in calls:
            call = session.scalars(select(Call).where(Call.call_sid == script.call_sid)).first()
            streams = (
                list(session.scalars(select(MediaStream).where(MediaStream.call_id == call.id)))
                if call
                else []
            )
            voiced = outcome.streams[0].last_voice_at if outcome and outcome.streams else 0
            if not streams or streams[0].decided_at is None or not voiced:
                dropped += 1
                continue
            decided.append(streams[0].decided_at.timestamp() - voiced)
            rating = session.scalars(select(Rating).where(Rating.call_id == call.id)).first()
            if rating is not None:
                stored += 1
                rated.append(rating.rated_at.timestamp() - voiced)
                wrong += rating.level != utterance.level
    return {
        "decided": decided,
        "rated": rated,
        "dropped": dropped,
        "wrong": wrong,
        "stored": stored,
    }


def poll_figures(factory, database_url: str, calls) -> dict:
    decided, rated, wrong, stored, missing = recognition_seconds(database_url), [], 0, 0, 0
    with factory() as session:
        for script, utterance, _ in calls:
            call = session.scalars(select(Call).where(Call.call_sid == script.call_sid)).first()
            recording = (
                session.scalars(select(Recording).where(Recording.call_id == call.id)).first()
                if call
                else None
            )
            if recording is None:
                missing += 1
                continue
            rating = session.scalars(select(Rating).where(Rating.call_id == call.id)).first()
            if rating is not None:
                stored += 1
                rated.append((rating.rated_at - recording.created_at).total_seconds())
                wrong += rating.level != utterance.level
    return {
        "decided": decided,
        "rated": rated,
        "dropped": missing,
        "wrong": wrong,
        "stored": stored,
    }


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
            "RECORDING_HOSTS": host.netloc,
            "MEDIA_STREAM_URL": f"ws://127.0.0.1:{media_port}",
            "MEDIA_PORT": str(media_port),
            "MEDIA_HOST": "127.0.0.1",
            "MEDIA_MAX_STREAMS": str(max(args.sizes) + 10),
            "RECORDINGS_DIR": str(workdir / "recordings"),
        }
        base_url = stack.enter_context(
            gunicorn(procfile_web_command(port, None, None), port, env, workdir / "web")
        )
        stack.enter_context(procfile_process("worker", env, workdir / "worker.log"))
        media = stack.enter_context(procfile_process("media", env, workdir / "media.log"))
        _wait_for_media(redis_url)
        simulator = Simulator(
            base_url, AUTH_TOKEN, http_transport(base_url), ACCOUNT_SID, media=host
        )
        for n in args.sizes:
            with ProcessMeter(media.pid) as meter:
                cpu_before = meter.cpu_seconds()
                started = time.monotonic()
                calls = place(simulator, utterances, n, args.spread, args.barge_in)
                elapsed = time.monotonic() - started
                cpu = meter.cpu_seconds() - cpu_before
            f = stream_figures(factory, calls)
            print(f"\n== {n} concurrent streams ({elapsed:.0f} s)")
            print(f"  last voiced frame → decision stored: {_ms(f['decided'])}")
            print(f"  last voiced frame → rating stored:   {_ms(f['rated'])}")
            print(
                f"  dropped {f['dropped']}, wrong ratings {f['wrong']}, "
                f"rated {f['stored']}/{n} (the rest read back, then the caller hung up)"
            )
            print(
                f"  media process: {cpu / n:.2f} CPU s per stream ({cpu:.1f} s in all), "
                f"peak RSS {meter.peak_rss_mb:.0f} MB"
            )
            ok &= f["dropped"] == 0 and f["wrong"] == 0
        stop(media)  # the web falls back to record-and-poll by itself
        time.sleep(availability.STALE_AFTER_S + 0.5)
        calls = place(simulator, utterances, args.baseline, args.spread, False)
        f = poll_figures(factory, database_url, calls)
        print(f"\n== baseline: {args.baseline} concurrent record-and-poll calls")
        print(f"  recording reported → result stored:  {_ms(f['decided'])}")
        print(f"  recording reported → rating stored:  {_ms(f['rated'])}")
        print(
            f"  without a recording {f['dropped']}, wrong ratings {f['wrong']}, "
            f"rated {f['stored']}/{args.baseline}"
        )
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
    parser.add_argument("--baseline", type=int, default=10)
    parser.add_argument(
        "--spread", type=float, default=20.0, help="seconds over which the N callers start"
    )
    parser.add_argument(
        "--barge-in", action="store_true", help="speak 1 s into the prompt (default: after it)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    random.seed(14)
    workdir = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    print(f"work folder {workdir}")
    return 0 if run(args, workdir) else 1


if __name__ == "__main__":
    sys.exit(main())
