"""Hearing one caller live: where speech starts and ends, and Vosk fed as it comes.

The level of each 20 ms frame finds the start of speech (a few loud frames in a row;
the 300 ms before are kept, so the first syllable is not lost) and the end (Vosk's
own end-point, or our silence limit as a backstop). Only speech and its trailing
silence reach the recogniser: a stream costs almost nothing while the caller listens.

The recogniser is restricted to the pack's phrases, as the record-and-poll path's;
its n-best list is decided by the same function (`decide` of
`workers.speech.recognize`), so a live result is stored under the same rules: a
result the grammar evidence would store must also be heard by the free-vocabulary
pass (run on the answer's voiced audio, only for such results), else it is read back.
:meth:`Listener.accept` and :meth:`Listener.finish` block: call them from a thread pool.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import vosk

from prompts.speech import SpeechPack
from workers.media.audio import RATE, level
from workers.speech.audio import sounds_like_speech, trim_silence
from workers.speech.recognize import N_BEST, Thresholds, decide

SPEECH_LEVEL = 600  # RMS (about -35 dBFS): a frame this loud may be speech
SPEECH_FRAMES = 3  # this many loud frames in a row start an answer (60 ms)
QUIET_LEVEL = 300  # below this (about -40 dBFS) a frame is silence
END_SILENCE_FRAMES = 25  # 500 ms of silence ends an answer if Vosk has not
PRE_ROLL_FRAMES = 15  # 300 ms kept before the start of speech


@dataclass(frozen=True)
class Spoken:
    """What was heard in one answer, judged as the record-and-poll path judges it."""

    level: str | None
    certain: bool
    text: str
    confidence: float
    reason: str  # "ok", a read-back reason, or "no_speech"
    seconds: float


class VoiceGate:
    """Frame by frame: has speech started, and has it stopped? (no Vosk here)"""

    def __init__(self) -> None:
        self.pre_roll: deque[bytes] = deque(maxlen=PRE_ROLL_FRAMES)
        self.loud_run = 0
        self.quiet_run = 0
        self.started = False

    def push(self, pcm: bytes) -> tuple[bool, bytes]:
        """Take one frame; return (speech just started, audio to hand to the recogniser)."""
        loudness = level(pcm)
        loud = loudness >= SPEECH_LEVEL
        if not self.started:
            self.pre_roll.append(pcm)
            self.loud_run = self.loud_run + 1 if loud else 0
            if self.loud_run < SPEECH_FRAMES:
                return False, b""
            self.started = True
            audio = b"".join(self.pre_roll)
            self.pre_roll.clear()
            return True, audio
        self.quiet_run = 0 if loudness >= QUIET_LEVEL else self.quiet_run + 1
        return False, pcm

    @property
    def ended(self) -> bool:
        """Speech started and has been followed by enough silence."""
        return self.started and self.quiet_run >= END_SILENCE_FRAMES


class Listener:
    """One answer's recogniser (grammar-restricted, n-best) and its audio.

    ``free_pass(pcm)``: the free-vocabulary transcripts of ``pcm`` (the guard's
    second opinion, asked only for a result that would be stored)."""

    def __init__(
        self,
        model: vosk.Model,
        pack: SpeechPack,
        grammar: str,
        limits: Thresholds,
        free_pass: Callable[[bytes], list[str]],
    ) -> None:
        self.model, self.pack, self.grammar, self.limits = model, pack, grammar, limits
        self.free_pass = free_pass
        self.recognizer: vosk.KaldiRecognizer | None = None
        self.audio = bytearray()
        self.nbest: list[tuple[str, float]] | None = None
        # A recogniser used by two threads at once crashes the process: never let it.
        self.lock = threading.Lock()

    def accept(self, pcm: bytes) -> bool:
        """Decode `pcm`; True once Vosk has found the end of the utterance."""
        with self.lock:
            return self._accept(pcm)

    def _accept(self, pcm: bytes) -> bool:
        if self.nbest is not None:
            return True
        if self.recognizer is None:
            self.recognizer = vosk.KaldiRecognizer(self.model, RATE, self.grammar)
            self.recognizer.SetMaxAlternatives(N_BEST)
        self.audio += pcm
        if self.recognizer.AcceptWaveform(pcm):
            self.nbest = _nbest(self.recognizer.Result())
            return True
        return False

    def finish(self, rest: bytes = b"") -> Spoken:
        """The answer as heard, with `rest` (audio not fed yet) decoded first (Vosk's
        final result if it had not ended)."""
        with self.lock:
            if rest and self.nbest is None:
                self._accept(rest)
            return self._finish()

    def _finish(self) -> Spoken:
        if self.nbest is None:
            final = self.recognizer.FinalResult() if self.recognizer is not None else "{}"
            self.nbest = _nbest(final)
        pcm = bytes(self.audio)
        seconds = len(pcm) / (2 * RATE)
        nbest = self.nbest if sounds_like_speech(pcm, RATE) else []
        found, reason = decide(
            self.pack, nbest, self.limits, lambda: self.free_pass(trim_silence(pcm, RATE))
        )
        return Spoken(found.level, reason == "ok", found.text, found.confidence, reason, seconds)


def _nbest(raw: str) -> list[tuple[str, float]]:
    alternatives = json.loads(raw).get("alternatives", [])
    return [(a.get("text", "").strip(), float(a.get("confidence", 0.0))) for a in alternatives]
