"""The free-vocabulary pass of the out-of-grammar guard, on recognisers kept warm.

A free-vocabulary recogniser of the Korean model decodes through a graph composed on
the fly (``HCLr.fst`` with ``Gr.fst``, Vosk's lookahead graph), and each new
recogniser composes its own from nothing: a fresh one spent 1.2 CPU s per second of
audio (2.3 s for a 1.4 s word), where one kept and reset between decodes spends 0.2 s
per second, with the same transcripts (60 words of the must-confirm corpus: the same
n-best lists as fresh recognisers). So recognisers are kept per model and reused, at
most :data:`KEPT` of them (a caller of a busy pool waits for one: a warm recogniser
free in a moment is faster than a cold new one), and :meth:`FreeDecoders.warm`
prepares them before the first caller needs them (4 s of a prompt: 4.4 CPU s each;
then a word costs 0.1-0.6 CPU s, mean 0.28 s, against 1.8 s for the first decode of
a cold one).
"""

from __future__ import annotations

import ctypes
import functools
import json
import queue
import threading

import vosk

FREE_N_BEST = 5  # transcripts searched for the phrase
KEPT = 2  # recognisers kept per model (one per core: more would only queue for them)
_SEED = 20240613

try:
    _srand = ctypes.CDLL(None).srand
except (OSError, AttributeError):  # pragma: no cover - not a POSIX libc
    _srand = None


def seed() -> None:
    """Re-seed libc's ``rand()`` (Kaldi's dither): a recording always decodes the same."""
    if _srand is not None:
        _srand(_SEED)


class FreeDecoders:
    """Free-vocabulary recognisers of one model at one rate, lent one decode at a time."""

    def __init__(self, model: vosk.Model, rate: int, kept: int = KEPT) -> None:
        self.model, self.rate, self.kept = model, rate, kept
        self._idle: queue.LifoQueue[vosk.KaldiRecognizer] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()

    def _new(self) -> vosk.KaldiRecognizer:
        recognizer = vosk.KaldiRecognizer(self.model, self.rate)
        recognizer.SetMaxAlternatives(FREE_N_BEST)
        return recognizer

    def _may_make(self) -> bool:
        with self._lock:
            make = self._made < self.kept
            self._made += make
        return make

    def _borrow(self) -> vosk.KaldiRecognizer:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        if self._may_make():
            return self._new()
        return self._idle.get()  # the warmest one back first (LIFO)

    def transcripts(self, pcm: bytes) -> list[str]:
        """The n-best transcripts of ``pcm``, best first."""
        recognizer = self._borrow()
        try:
            seed()
            recognizer.AcceptWaveform(pcm)
            result = json.loads(recognizer.FinalResult())
        finally:
            recognizer.Reset()
            self._idle.put(recognizer)
        return [a.get("text", "").strip() for a in result.get("alternatives", [])]

    def warm(self, pcm: bytes) -> None:
        """Make the recognisers not made yet, one by one, each warmed by decoding ``pcm``
        (speech of the language); a caller meanwhile gets one already made, or a new one."""
        while self._may_make():
            recognizer = self._new()
            recognizer.AcceptWaveform(pcm)
            recognizer.FinalResult()
            recognizer.Reset()
            self._idle.put(recognizer)


@functools.cache
def free_decoders(model: vosk.Model, rate: int) -> FreeDecoders:
    """The kept recognisers of ``model`` (one set per model and rate, per process)."""
    return FreeDecoders(model, rate)


def decode_free(model: vosk.Model, pcm: bytes, rate: int) -> list[str]:
    """The free-vocabulary (no grammar) n-best transcripts of ``pcm``, best first."""
    return free_decoders(model, rate).transcripts(pcm)
