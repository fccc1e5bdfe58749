"""The simulator's side of a `<Connect><Stream>`: a caller on a Twilio media stream.

It speaks Twilio's protocol: `connected`, `start` (with the `<Parameter>`s), the
caller's audio as 20 ms μ-law `media` frames sent in real time, `dtmf`, and `stop`
when the caller hangs up. It plays back what the service sends in real time: the
outbound `media` is queued and played at 8000 samples a second, each `mark` is
echoed when the audio before it has played, `clear` drops the queue and echoes the
marks left. When the service closes the stream, the `<Connect action>` is next.

Every stream of a process runs on one asyncio loop in a background thread (the
"line"), paced by one 20 ms clock: a hundred callers cost a hundred small sends per
tick, with their frames encoded before the call starts. `run_stream` blocks the
calling thread until its stream ends. How late the clock ever ran is kept
(`line_lag()`), so a load test can show that its callers kept real time.

Answers: a key (pressed once the prompt has played), `say:FILE` (spoken then),
`silence`, `hangup`; prefixed with `early:` they happen once one second of the prompt
has played (barge-in; however late the service starts playing).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

FRAME_S = 0.02
FRAME_BYTES = 160
VOICED_RMS = 600  # a frame of the caller's audio this loud counts as voiced
SILENT_PAYLOAD = base64.b64encode(b"\xff" * FRAME_BYTES).decode()  # μ-law silence
EARLY = "early:"
THEN_HANG_UP = "then-hangup:"  # hang up right after the answer (Twilio's `stop` comes first)
BARGE_IN_AFTER_S = 1.0  # of the prompt heard
NO_PROMPT_S = 10.0  # a barge-in with no prompt played by then happens anyway
MAX_STREAM_S = 180.0  # a stream this long is given up (Twilio itself has no limit)
CLOSE_WAIT_S = 5.0  # after the caller's part, how long the service has to close
PROMPT_END = "prompt_end"
# A `media` message exactly as Twilio sends it (the payload is base64: nothing to escape).
MEDIA = (
    '{{"event":"media","sequenceNumber":"{seq}","media":{{"track":"inbound",'
    '"chunk":"{chunk}","timestamp":"{ms}","payload":"{payload}"}},"streamSid":"{sid}"}}'
)


@dataclass
class StreamResult:
    """What happened on one stream."""

    closed_by: str  # "service", "caller" (hung up), "failed" (could not connect), "timeout"
    heard: list[str] = field(default_factory=list)  # prompts that started playing
    cleared: bool = False  # the service stopped the prompt (barge-in)
    played_seconds: float = 0.0  # audio the caller heard
    received: bytearray = field(default_factory=bytearray)  # that audio (μ-law)
    last_voice_at: float = 0.0  # wall time of the caller's last voiced frame
    closed_at: float = 0.0


class _Caller:
    """One stream: Twilio's playback of the outbound track, and the caller's frames."""

    def __init__(self, ws: ClientConnection, stream_sid: str, answer: str, say) -> None:
        self.ws, self.stream_sid, self.say = ws, stream_sid, say
        self.result = StreamResult(closed_by="service")
        self.then_hang_up = answer.startswith(THEN_HANG_UP)
        answer = answer.removeprefix(THEN_HANG_UP)
        self.early = answer.startswith(EARLY)
        self.answer = answer.removeprefix(EARLY)
        spoken = self.answer.removeprefix("say:")
        self.frames = _frames_of(spoken) if self.answer.startswith("say:") else ()
        self.spoken = 0  # frames of it sent
        self.queue = bytearray()  # outbound audio received
        self.played = 0  # how much of it has played
        self.marks: list[tuple[int, str]] = []  # (position in the queue, name)
        self.prompt_over = False
        self.acted = False
        self.done = asyncio.Event()  # the caller's part is over (hung up, or the service closed)
        self.started = 0.0
        self.sequence = 0
        self.chunk = 0

    def take(self, message: dict) -> list[str]:
        """A message from the service; the mark echoes it causes at once."""
        event = message.get("event")
        if event == "media":
            self.queue += base64.b64decode(message["media"]["payload"])
        elif event == "mark":
            self.marks.append((len(self.queue), message["mark"]["name"]))
        elif event == "clear":
            self.result.cleared = True
            self.played = len(self.queue)
            left, self.marks = self.marks, []
            self.say("   ⏹ the service stops the prompt (clear)")
            return [self._echo(name) for _, name in left]
        return []

    def tick(self, now: float) -> list[str]:
        """20 ms: play a frame (echoing the marks it reaches), then the caller's frame."""
        out = []
        while self.marks and self.marks[0][0] <= self.played:
            _, name = self.marks.pop(0)
            if name != PROMPT_END:
                self.result.heard.append(name)
            out.append(self._echo(name))
        frame = self.queue[self.played : self.played + FRAME_BYTES]
        if frame:
            self.played += len(frame)
            self.result.received += frame
            self.result.played_seconds += len(frame) / 8000
        return out + self._act(now)

    def _act(self, now: float) -> list[str]:
        if self.early:
            heard = self.result.played_seconds >= BARGE_IN_AFTER_S
            due = heard or now - self.started >= NO_PROMPT_S
        else:
            due = self.prompt_over
        out = []
        if due and not self.acted:
            self.acted = True
            if self.answer == "hangup":
                self.say("   ✆ the caller hangs up during the stream")
                return [self._hang_up()]
            if len(self.answer) == 1:
                self.say(f"   ⌨ the caller presses {self.answer!r}")
                dtmf = {"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": self.answer}}
                out.append(self._message(dtmf))
            elif self.frames:
                self.say(f"   🗣 the caller says {Path(self.answer[4:]).name}")
        speaking = self.acted and self.spoken < len(self.frames)
        if self.acted and self.then_hang_up and not speaking:
            self.say("   ✆ the caller hangs up at once")
            return [*out, self._hang_up()]
        payload = SILENT_PAYLOAD
        if speaking:
            payload, voiced = self.frames[self.spoken]
            self.spoken += 1
            if voiced:
                self.result.last_voice_at = time.time()
        self.sequence += 1
        self.chunk += 1
        ms = int((now - self.started) * 1000)
        seq, chunk, sid = self.sequence, self.chunk, self.stream_sid
        return [*out, MEDIA.format(seq=seq, chunk=chunk, ms=ms, payload=payload, sid=sid)]

    def _hang_up(self) -> str:
        self.result.closed_by = "caller"
        self.result.closed_at = time.time()
        self.done.set()
        return self._message({"event": "stop", "stop": {"accountSid": "", "callSid": ""}})

    def _echo(self, name: str) -> str:
        if name == PROMPT_END:
            self.prompt_over = True
        return self._message({"event": "mark", "mark": {"name": name}})

    def _message(self, message: dict) -> str:
        self.sequence += 1
        message |= {"sequenceNumber": str(self.sequence), "streamSid": self.stream_sid}
        return json.dumps(message)


class _Line:
    """The process's callers on one asyncio loop, paced by one 20 ms clock."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.callers: set[_Caller] = set()
        self.lag_s = 0.0  # the latest the clock ever ticked
        threading.Thread(target=self.loop.run_forever, name="stream-line", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._clock(), self.loop)

    def run(self, coroutine) -> StreamResult:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def _clock(self) -> None:
        next_at = time.monotonic()
        while True:
            now = time.monotonic()
            self.lag_s = max(self.lag_s, now - next_at) if self.callers else self.lag_s
            for caller in list(self.callers):
                try:
                    messages = caller.tick(now)
                except Exception as error:  # one broken caller never stops the others
                    caller.say(f"   ✗ the simulated caller failed: {error!r}")
                    caller.result.closed_by = "failed"
                    caller.done.set()
                    continue
                await self._send(caller, messages)
            next_at += FRAME_S
            if next_at < now - 1.0:  # idle or stalled: start a fresh schedule
                next_at = now + FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _send(self, caller: _Caller, messages: list[str]) -> None:
        try:
            for text in messages:
                await caller.ws.send(text)
        except ConnectionClosed:
            caller.done.set()

    async def stream(self, url, parameters, call_sid, account_sid, answer, say) -> StreamResult:
        stream_sid = "MZ" + secrets.token_hex(16)
        try:
            ws = await connect(url, open_timeout=5, max_size=2**22, ping_interval=None)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as error:
            say(f"   ✗ stream to {url} failed: {type(error).__name__}")
            return StreamResult(closed_by="failed")
        async with ws:
            say(f"   ⇄ media stream {stream_sid} open")
            caller = _Caller(ws, stream_sid, answer, say)
            start = {
                "accountSid": account_sid,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            }
            hello = {"event": "connected", "protocol": "Call", "version": "1.0.0"}
            opening = [json.dumps(hello), caller._message({"event": "start", "start": start})]
            await self._send(caller, opening)
            reader = asyncio.create_task(self._read(caller))
            caller.started = time.monotonic()
            self.callers.add(caller)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(caller.done.wait(), MAX_STREAM_S)
                if not caller.done.is_set():
                    caller.result.closed_by = "timeout"
                    caller.done.set()
            finally:
                self.callers.discard(caller)
            if caller.result.closed_by != "caller":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), CLOSE_WAIT_S)
            reader.cancel()
        caller.result.closed_at = caller.result.closed_at or time.time()
        return caller.result

    async def _read(self, caller: _Caller) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in caller.ws:
                await self._send(caller, caller.take(json.loads(raw)))
        caller.result.closed_at = caller.result.closed_at or time.time()
        caller.done.set()


_line: _Line | None = None
_line_lock = threading.Lock()


def _the_line() -> _Line:
    global _line
    with _line_lock:
        if _line is None:
            _line = _Line()
        return _line


def line_lag(reset: bool = False) -> float:
    """The latest (seconds) this process's 20 ms clock ticked while callers were on
    (since the last reset): above 0.02 s, a caller's frames went out late."""
    if _line is None:
        return 0.0
    lag = _line.lag_s
    if reset:
        _line.lag_s = 0.0
    return lag


def run_stream(
    url: str,
    parameters: dict[str, str],
    call_sid: str,
    account_sid: str,
    answer: str,
    say: Callable[[str], None],
) -> StreamResult:
    """Open the stream at `url`, act out `answer`, return what happened (blocks)."""
    line = _the_line()
    return line.run(line.stream(url, parameters, call_sid, account_sid, answer, say))


@functools.lru_cache(maxsize=512)
def _frames_of(path: str) -> tuple[tuple[str, bool], ...]:
    """The caller's audio file as 20 ms μ-law frames: (base64 payload, voiced)."""
    from workers.media.audio import level, pcm_to_ulaw, read_pcm, ulaw_to_pcm

    ulaw = pcm_to_ulaw(read_pcm(Path(path)))
    frames = []
    for i in range(0, len(ulaw), FRAME_BYTES):
        frame = ulaw[i : i + FRAME_BYTES].ljust(FRAME_BYTES, b"\xff")
        voiced = level(ulaw_to_pcm(frame)) >= VOICED_RMS
        frames.append((base64.b64encode(frame).decode(), voiced))
    return tuple(frames)


def write_playback(results: list[StreamResult], path: str) -> None:
    """What the caller heard on the streams, as one 8 kHz WAV file."""
    from workers.media.audio import ulaw_to_pcm, wav_bytes

    audio = b"".join(bytes(r.received) for r in results)
    Path(path).write_bytes(wav_bytes(ulaw_to_pcm(audio)))
