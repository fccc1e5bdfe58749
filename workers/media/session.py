"""One Twilio media stream, from `connected` to our close.

1. `connected`, then `start`: the token in the custom parameters is checked and its
   stream key claimed; anything wrong closes the stream (Twilio then asks the
   `<Connect action>`, which falls back to the record-and-poll path).
2. The prompts are sent as outbound `media`, each preceded by a `mark` with its name
   and followed by the mark `prompt_end`; Twilio echoes a mark once what came before
   it has played.
3. A key or the start of speech stops the prompt (`clear`). A key decides at once;
   speech is decoded live until it ends. Nothing within the timeout after the
   prompt: silence. Twilio's `stop` (the caller hung up) decides "hung up", or, if
   the caller was speaking, what was heard so far.
4. The decision is stored, then the stream is closed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING

from websockets.exceptions import ConnectionClosed

from workers.media import store
from workers.media.audio import chunks, prompt_ulaw, ulaw_to_pcm
from workers.media.listener import Listener, VoiceGate
from workers.media.tokens import BadToken, StreamTicket, verify

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from workers.media.server import Hub

log = logging.getLogger(__name__)

START_TIMEOUT_S = 5  # `connected` and `start` must come this soon
PROMPT_END = "prompt_end"
SEND_BYTES = 8000  # outbound media in pieces of one second
FEED_BYTES = 1600  # speech reaches the recogniser in pieces of 100 ms (16-bit PCM)
KEYS = set("0123456789*#")
MEDIA_MESSAGE = '{"event":"media"'  # how Twilio's media messages begin


class StreamSession:
    """The state of one stream; `run()` drives it to its end."""

    def __init__(self, ws: ServerConnection, hub: Hub) -> None:
        self.ws, self.hub = ws, hub
        self.ticket: StreamTicket | None = None
        self.stream_sid = ""
        self.stream_id = 0
        self.gate = VoiceGate()
        self.listener: Listener | None = None
        self.pending = bytearray()  # speech waiting for the recogniser
        self.decoding: asyncio.Task | None = None
        self.feed: Future | None = None  # the piece of speech in the decoding pool
        self.feeding = b""  # that piece
        self.playing = False
        self.decided = asyncio.Event()
        self.timers: list[asyncio.Task] = []
        self.last_voice_at = 0.0
        self.placed = False
        self.finishing = False
        self.end_heard_at = 0.0  # when the end of the answer was found
        self.marks: dict[str, float] = {}  # when the answer was decoded and judged
        self.closing: asyncio.Task | None = None
        self.finisher: asyncio.Task | None = None

    async def run(self) -> None:
        try:
            if await self._begin():
                await self._listen()
        except (ConnectionClosed, TimeoutError) as error:
            log.info("stream %s ended: %s", self.stream_sid or "?", type(error).__name__)
        except Exception:  # a bad message or a failing store: closed, the call falls back
            log.exception("stream %s failed: closed", self.stream_sid or "?")
        finally:
            for task in self.timers:
                task.cancel()
            if self.stream_id and not self.decided.is_set():
                await self._caller_left()
            if self.placed:
                self.hub.give_place()
            await self.ws.close()

    async def _begin(self) -> bool:
        """Read `connected` and `start`; check the token; start the prompt."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("stream closed: no start message within %d s", START_TIMEOUT_S)
                return False
            message = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if message.get("event") == "start":
                break
        start = message.get("start") or {}
        self.stream_sid = str(message.get("streamSid") or start.get("streamSid") or "")[:64]
        token = (start.get("customParameters") or {}).get("token", "")
        try:
            self.ticket = verify(token, str(start.get("callSid") or ""))
            self.placed = self.hub.take_place()
            if not self.placed:
                raise store.Refused("media process full")
            self.stream_id = await self.hub.urgently(
                store.claim, self.hub.sessions, self.ticket, self.stream_sid
            )
        except (BadToken, store.Refused) as error:
            reason = error.reason if isinstance(error, BadToken) else str(error)
            log.warning("stream %s refused: %s", self.stream_sid or "?", reason)
            self.ticket = None
            await self.ws.close(1008, reason[:100])
            return False
        self.listener = self.hub.listener(self.ticket.lang)
        await self._play(self.ticket.prompts)
        return True

    async def _listen(self) -> None:
        async for raw in self.ws:
            if self.decided.is_set() and isinstance(raw, str) and raw.startswith(MEDIA_MESSAGE):
                continue  # decided: the caller's audio is no longer needed
            message = json.loads(raw)
            event = message.get("event")
            if event == "media" and not self.decided.is_set():
                await self._media(message.get("media") or {})
            elif event == "dtmf" and not self.decided.is_set():
                digit = str((message.get("dtmf") or {}).get("digit", ""))[:1]
                if digit in KEYS:
                    await self._stop_prompt()
                    await self._decide(store.store_key, digit)
            elif event == "mark" and (message.get("mark") or {}).get("name") == PROMPT_END:
                self._prompt_played()
            elif event == "stop":
                log.info("stream %s: Twilio stopped it", self.stream_sid)
                await self._caller_left()
                await self._rate_after_hang_up()
            # Once decided, frames are still read (and dropped) until the close is
            # confirmed: a reader that stopped would never see Twilio's close frame.

    async def _play(self, names: tuple[str, ...]) -> None:
        """Send the prompts, each after a mark with its name, then `prompt_end`."""
        self.playing = True
        for name in names:
            await self._send({"event": "mark", "mark": {"name": name}})
            for piece in chunks(prompt_ulaw(self.ticket.lang, name), SEND_BYTES):
                payload = base64.b64encode(piece).decode()
                await self._send({"event": "media", "media": {"payload": payload}})
        await self._send({"event": "mark", "mark": {"name": PROMPT_END}})

    def _prompt_played(self) -> None:
        """The prompt has played to its end: the caller has `no_input_s` to answer."""
        self.playing = False
        if not self.gate.started:
            self.timers.append(asyncio.create_task(self._no_input_timer()))

    async def _stop_prompt(self) -> None:
        if self.playing:
            self.playing = False
            await self._send({"event": "clear"})
            log.info("stream %s: barge-in, prompt cleared", self.stream_sid)

    async def _media(self, media: dict) -> None:
        if media.get("track", "inbound") != "inbound":
            return
        try:
            pcm = ulaw_to_pcm(base64.b64decode(media.get("payload", ""), validate=True))
        except ValueError:
            return
        started, audio = self.gate.push(pcm)
        if started:
            await self._stop_prompt()
            self.timers.append(asyncio.create_task(self._answer_timer()))
        if audio and not self.finishing:  # once finishing, the recogniser is not fed
            self.pending += audio
            if self.gate.quiet_run == 0:
                self.last_voice_at = time.time()
            idle = self.decoding is None or self.decoding.done()
            if idle and len(self.pending) >= FEED_BYTES:
                self.decoding = asyncio.create_task(self._decode())
        if self.gate.ended:
            self._finish_soon()

    async def _decode(self) -> None:
        """Feed what is pending to the recogniser, in the pool, until it ends the answer
        (what is left when the answer ends is fed by `_finish_speech`, in the urgent pool)."""
        while len(self.pending) >= FEED_BYTES and not (self.finishing or self.decided.is_set()):
            self.feeding, self.pending = bytes(self.pending), bytearray()
            self.feed = self.hub.pool.submit(self.listener.accept, self.feeding)
            try:
                ended = await asyncio.wrap_future(self.feed)
            except asyncio.CancelledError:  # the answer ended first: its finisher feeds it
                return
            if ended:
                await self._finish_speech()
                return

    async def _finish_speech(self) -> None:
        if self.decided.is_set() or self.finishing:
            return
        self.finishing = True
        self.end_heard_at = time.time()
        rest = b""
        if self.feed is not None and self.feed.cancel():
            rest = self.feeding  # still queued behind other streams' decoding: jump the queue
        elif self.decoding is not None and self.decoding is not asyncio.current_task():
            await asyncio.shield(self.decoding)  # being decoded: its end is near
        if self.decided.is_set():
            return
        self.marks["decoded"] = time.time()
        heard = await self.hub.urgently(self.listener.finish, rest + bytes(self.pending))
        self.marks["judged"] = time.time()
        await self._decide(
            store.store_spoken, self.ticket, heard, bytes(self.listener.audio), heard=heard
        )

    async def _caller_left(self) -> None:
        if self.decided.is_set():
            return
        if self.gate.started:  # what was said before the hang-up still counts
            self._finish_soon()
            await asyncio.shield(self.finisher)
        else:
            await self._decide_hung_up("stop")

    async def _rate_after_hang_up(self) -> None:
        """The caller hung up: no action will come to apply what they answered."""
        try:
            await self.hub.urgently(store.rate_after_hang_up, self.hub.sessions, self.stream_id)
        except Exception:
            log.exception("stream %s: rating after the hang-up not stored", self.stream_sid)

    async def _decide_hung_up(self, why: str) -> None:
        log.info("stream %s: caller gone (%s)", self.stream_sid, why)
        await self._decide(store.store_hung_up)

    async def _decide(self, write, *args, heard=None) -> None:
        """Store the decision once, then close the stream."""
        if self.decided.is_set():
            return
        self.decided.set()
        for task in self.timers:
            if task is not asyncio.current_task():
                task.cancel()
        try:
            await self.hub.urgently(write, self.hub.sessions, self.stream_id, *args)
            self.hub.decided(self, heard)
        except Exception:  # nothing stored: the action falls back to record-and-poll
            log.exception("stream %s: decision not stored", self.stream_sid)
        self.closing = asyncio.create_task(self.ws.close(1000, "decided"))

    async def _no_input_timer(self) -> None:
        await asyncio.sleep(self.ticket.no_input_s)
        if not self.gate.started:
            await self._decide(store.store_silent)

    async def _answer_timer(self) -> None:
        await asyncio.sleep(self.ticket.listen_s)
        self._finish_soon()

    def _finish_soon(self) -> None:
        """Finish the answer in a task of its own: the reader goes on reading meanwhile."""
        if self.finisher is None:
            self.finisher = asyncio.create_task(self._finish_speech())

    async def _send(self, message: dict) -> None:
        """Send to Twilio; a caller already gone hears nothing, and what they did counts."""
        message["streamSid"] = self.stream_sid
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(message))
