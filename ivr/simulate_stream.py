"""The simulator's side of a `<Connect><Stream>`: a caller on a Twilio media stream.

It speaks Twilio's protocol: `connected`, `start` (with the `<Parameter>`s), the
caller's audio as 20 ms μ-law `media` frames sent in real time, `dtmf`, and `stop`
when the caller hangs up. It plays back what the service sends in real time: the
outbound `media` is queued and drained at 8000 samples a second, each `mark` is
echoed when the audio before it has played, `clear` drops the queue and echoes the
marks left. When the service closes the stream, the `<Connect action>` is next.

Answers: a key (pressed once the prompt has played), `say:FILE` (spoken then),
`silence`, `hangup`; prefixed with `early:` they happen one second into the prompt
(barge-in).
"""

from __future__ import annotations

import audioop
import base64
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import connect

FRAME_S = 0.02
FRAME_BYTES = 160
SILENT_FRAME = b"\xff" * FRAME_BYTES  # μ-law silence
VOICED_RMS = 600  # a frame of the caller's audio this loud counts as voiced
EARLY = "early:"
THEN_HANG_UP = "then-hangup:"  # hang up right after the answer (Twilio's `stop` comes first)
BARGE_IN_AFTER_S = 1.0
MAX_STREAM_S = 180.0  # a stream this long is given up (Twilio itself has no limit)
PROMPT_END = "prompt_end"


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


class _Player:
    """Twilio's playback of the outbound track, in real time."""

    def __init__(self, ws, stream_sid: str, result: StreamResult, say) -> None:
        self.ws, self.stream_sid, self.result, self.say = ws, stream_sid, result, say
        self.queue = bytearray()
        self.marks: list[tuple[int, str]] = []  # (offset in the queue, name)
        self.lock = threading.Lock()
        self.prompt_over = threading.Event()

    def take(self, message: dict) -> None:
        event = message.get("event")
        with self.lock:
            if event == "media":
                self.queue += base64.b64decode(message["media"]["payload"])
            elif event == "mark":
                self.marks.append((len(self.queue), message["mark"]["name"]))
            elif event == "clear":
                self.result.cleared = True
                self.queue.clear()
                left, self.marks = self.marks, []
                self.say("   ⏹ the service stops the prompt (clear)")
                for _, name in left:
                    self._echo(name)

    def tick(self) -> None:
        """20 ms of playback: play a frame, echo the marks it reached."""
        with self.lock:
            while self.marks and self.marks[0][0] <= 0:
                _, name = self.marks.pop(0)
                if name != PROMPT_END:
                    self.result.heard.append(name)
                self._echo(name)
            frame = bytes(self.queue[:FRAME_BYTES])
            del self.queue[:FRAME_BYTES]
            self.marks = [(offset - len(frame), name) for offset, name in self.marks]
            if frame:
                self.result.received += frame
                self.result.played_seconds += len(frame) / 8000

    def _echo(self, name: str) -> None:
        if name == PROMPT_END:
            self.prompt_over.set()
        with contextlib.suppress(ConnectionClosed):
            self.ws.send(
                json.dumps({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})
            )


def run_stream(
    url: str,
    parameters: dict[str, str],
    call_sid: str,
    account_sid: str,
    answer: str,
    say: Callable[[str], None],
) -> StreamResult:
    """Open the stream at `url`, act out `answer`, return what happened."""
    stream_sid = "MZ" + secrets.token_hex(16)
    result = StreamResult(closed_by="service")
    try:
        ws = connect(url, open_timeout=5, max_size=2**22, ping_interval=None)
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as error:
        say(f"   ✗ stream to {url} failed: {type(error).__name__}")
        result.closed_by = "failed"
        return result
    say(f"   ⇄ media stream {stream_sid} open")
    player = _Player(ws, stream_sid, result, say)
    closed = threading.Event()

    def receive() -> None:
        try:
            for raw in ws:
                player.take(json.loads(raw))
        except ConnectionClosed:
            pass
        result.closed_at = result.closed_at or time.time()
        closed.set()

    sequence = iter(range(1, 10**9))

    def send(message: dict) -> None:
        message |= {"sequenceNumber": str(next(sequence)), "streamSid": stream_sid}
        ws.send(json.dumps(message))

    try:
        ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        send(
            {
                "event": "start",
                "start": {
                    "accountSid": account_sid,
                    "streamSid": stream_sid,
                    "callSid": call_sid,
                    "tracks": ["inbound"],
                    "customParameters": parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )
        threading.Thread(target=receive, daemon=True).start()
        _act(answer, send, player, closed, result, say)
    except ConnectionClosed:
        closed.set()
    if result.closed_by != "caller":
        closed.wait(5)
    result.closed_at = result.closed_at or time.time()
    ws.close()
    return result


def _act(answer: str, send, player: _Player, closed: threading.Event, result, say) -> None:
    """The caller's side, frame by frame in real time, until the service closes."""
    then_hang_up = answer.startswith(THEN_HANG_UP)
    answer = answer.removeprefix(THEN_HANG_UP)
    early = answer.startswith(EARLY)
    answer = answer.removeprefix(EARLY)
    speech = _ulaw_of(Path(answer.removeprefix("say:"))) if answer.startswith("say:") else b""
    frames = [speech[i : i + FRAME_BYTES] for i in range(0, len(speech), FRAME_BYTES)]
    started = time.monotonic()
    next_at = started
    acted = False
    chunk = 0
    while not closed.is_set():
        now = time.monotonic()
        if now - started > MAX_STREAM_S:
            result.closed_by = "timeout"
            return
        player.tick()
        due = (now - started >= BARGE_IN_AFTER_S) if early else player.prompt_over.is_set()
        frame = SILENT_FRAME
        if due and not acted:
            acted = True
            if answer == "hangup":
                say("   ✆ the caller hangs up during the stream")
                send({"event": "stop", "stop": {"accountSid": "", "callSid": ""}})
                result.closed_by = "caller"
                result.closed_at = time.time()
                return
            if len(answer) == 1:
                say(f"   ⌨ the caller presses {answer!r}")
                send({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": answer}})
            elif frames:
                say(f"   🗣 the caller says {Path(answer[4:]).name}")
        if acted and then_hang_up and not frames:
            say("   ✆ the caller hangs up at once")
            send({"event": "stop", "stop": {"accountSid": "", "callSid": ""}})
            result.closed_by = "caller"
            result.closed_at = time.time()
            return
        if acted and frames:
            frame = frames.pop(0).ljust(FRAME_BYTES, b"\xff")
            if audioop.rms(audioop.ulaw2lin(frame, 2), 2) >= VOICED_RMS:
                result.last_voice_at = time.time()
        chunk += 1
        send(
            {
                "event": "media",
                "media": {
                    "track": "inbound",
                    "chunk": str(chunk),
                    "timestamp": str(int((now - started) * 1000)),
                    "payload": base64.b64encode(frame).decode(),
                },
            }
        )
        next_at += FRAME_S
        time.sleep(max(0.0, next_at - time.monotonic()))
    result.closed_at = time.time()


def _ulaw_of(path: Path) -> bytes:
    """The caller's audio file as 8 kHz μ-law."""
    from workers.media.audio import pcm_to_ulaw, read_pcm

    return pcm_to_ulaw(read_pcm(path))


def write_playback(results: list[StreamResult], path: str) -> None:
    """What the caller heard on the streams, as one 8 kHz WAV file."""
    from workers.media.audio import ulaw_to_pcm, wav_bytes

    audio = b"".join(bytes(r.received) for r in results)
    Path(path).write_bytes(wav_bytes(ulaw_to_pcm(audio)))
