"""The `media` process: a WebSocket server for Twilio's bidirectional media streams.

Built on `websockets` (asyncio): a maintained, dependency-free implementation of RFC
6455 with back-pressure, keep-alive pings, size limits and a plain-HTTP hook that
serves `/healthz` on the same port. One event loop holds every stream; the blocking
work runs in two thread pools, so the loop never waits on it: decoding (Vosk releases
the GIL) in `MEDIA_THREADS` threads (default: one per core, more only queue for the
same cores), and what a caller is waiting for (claiming the stream, the final result,
storing the decision) in a pool of its own that never queues behind decoding. One Vosk
model per process is shared by every stream (each stream has its own recogniser).
Messages are not compressed (`permessage-deflate` is declined): base64 μ-law barely
shrinks, and deflating 50 frames a second per stream would cost more than the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http
import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

import prompts
from prompts.speech import load_speech_pack, speech_languages
from storage.db import database_url, make_engine, make_session_factory
from workers.context import connect_redis
from workers.media import availability
from workers.media.audio import RATE, read_pcm
from workers.media.listener import Listener
from workers.media.session import StreamSession
from workers.queues import send_after_commit
from workers.speech.free_pass import free_decoders
from workers.speech.models import has_word, load_model
from workers.speech.recognize import thresholds

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 1024  # Twilio's inbound frames are about 300 bytes
URGENT_THREADS = 4  # mostly waiting on the database and the disk
WARM_PROMPT = "speak_after_tone"  # speech of the language the free pass warms up on
WARM_SECONDS = 4  # of it


class Hub:
    """What every stream of this process shares: models, thread pool, database, places."""

    def __init__(self, capacity: int, threads: int) -> None:
        self.capacity = capacity
        self.open_streams = 0
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="media")
        # Claiming a stream, finishing an answer and storing a decision never wait
        # behind other streams' decoding: the caller is waiting for exactly that.
        self.urgent = ThreadPoolExecutor(URGENT_THREADS, thread_name_prefix="media-decide")
        redis = connect_redis()

        def send_jobs(jobs) -> None:  # a rating stored here queues its jobs, as the web's
            send_after_commit(self.sessions, redis, jobs)

        self.sessions = make_session_factory(make_engine(database_url()), send_jobs)
        self.grammars: dict[str, str] = {}
        self.decisions = 0

    def load(self) -> list[str]:
        """Load the model of every language with speech (once, before serving)."""
        langs = speech_languages()
        for lang in langs:
            model = load_model(lang, streaming=True)
            extra = ("[unk]",) if has_word(model, "[unk]") else ()
            self.grammars[lang] = load_speech_pack(lang).grammar(extra)
        return langs

    def warm(self) -> None:
        """Warm each language's free-vocabulary recognisers on its own prompt (blocking:
        run it beside serving; a free pass asked meanwhile is only slower)."""
        started = time.perf_counter()
        for lang in self.grammars:
            prompt = prompts.audio_path(lang, WARM_PROMPT)
            if prompt is not None:
                pcm = read_pcm(prompt)[: WARM_SECONDS * 2 * RATE]
                free_decoders(load_model(lang, streaming=True), RATE).warm(pcm)
        log.info("media: free-vocabulary pass warmed in %.1f s", time.perf_counter() - started)

    def listener(self, lang: str) -> Listener:
        model = load_model(lang, streaming=True)
        pack, limits = load_speech_pack(lang), thresholds(lang)
        return Listener(
            model, pack, self.grammars[lang], limits, free_decoders(model, RATE).transcripts
        )

    async def urgently(self, function, *args):
        """Run a blocking function in the pool kept for decisions."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.urgent, functools.partial(function, *args))

    def take_place(self) -> bool:
        if self.open_streams >= self.capacity:
            return False
        self.open_streams += 1
        return True

    def give_place(self) -> None:
        self.open_streams = max(0, self.open_streams - 1)

    def decided(self, session: StreamSession, heard) -> None:
        self.decisions += 1
        if heard is not None and session.last_voice_at:
            start = session.last_voice_at
            steps = {"end found": session.end_heard_at, **session.marks, "stored": time.time()}
            log.info(
                "stream %s: after the last voiced frame, %s",
                session.stream_sid,
                ", ".join(f"{name} {(at - start) * 1000:.0f} ms" for name, at in steps.items()),
            )


def _health(hub: Hub):
    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            full = hub.open_streams >= hub.capacity
            status = http.HTTPStatus.SERVICE_UNAVAILABLE if full else http.HTTPStatus.OK
            body = f"streams {hub.open_streams}/{hub.capacity}\n"
            return connection.respond(status, body)
        return None

    return process_request


async def _heartbeat(hub: Hub, name: str, stop: asyncio.Event) -> None:
    redis = connect_redis()
    try:
        while not stop.is_set():
            try:
                await asyncio.to_thread(
                    availability.beat, redis, name, hub.open_streams, hub.capacity
                )
            except Exception as error:  # Redis down: the web falls back by itself
                log.warning("media heartbeat not written: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), availability.HEARTBEAT_EVERY_S)
    finally:
        with contextlib.suppress(Exception):
            availability.leave(redis, name)


async def serve_forever(host: str, port: int, capacity: int, threads: int) -> None:
    """Serve streams on `host:port` until SIGTERM or SIGINT."""
    hub = Hub(capacity, threads)
    started = time.perf_counter()
    langs = hub.load()
    log.info("media: models of %s loaded in %.1f s", langs, time.perf_counter() - started)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def handler(ws: ServerConnection) -> None:
        await StreamSession(ws, hub).run()

    name = f"{socket.gethostname()}:{os.getpid()}:{port}"
    async with serve(
        handler,
        host,
        port,
        process_request=_health(hub),
        max_size=MAX_MESSAGE_BYTES,
        compression=None,
        ping_interval=None,  # Twilio does not answer our pings; its frames keep it alive
    ):
        log.info("media: listening on ws://%s:%d (capacity %d)", host, port, capacity)
        beat = asyncio.create_task(_heartbeat(hub, name, stop))
        # A daemon thread: a stop during the warming does not wait for it.
        threading.Thread(target=hub.warm, name="media-warm", daemon=True).start()
        await stop.wait()
        await beat
    hub.pool.shutdown(wait=False, cancel_futures=True)
    hub.urgent.shutdown(wait=False, cancel_futures=True)


def main(host: str, port: int, capacity: int, threads: int) -> None:
    asyncio.run(serve_forever(host, port, capacity, threads))
