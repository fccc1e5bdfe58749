"""Telephone audio on a stream: μ-law 8 kHz frames, prompts as frames, WAV files.

Twilio's media payloads are base64 μ-law, 8000 Hz, mono, without headers; the inbound
frames carry 20 ms (160 bytes). The prompts are built as 8 kHz 16-bit WAV files
(`prompts/build.py`) and converted to μ-law once per process.
"""

from __future__ import annotations

import audioop
import functools
import io
import wave
from pathlib import Path

import prompts

RATE = 8000
FRAME_BYTES = 160  # 20 ms of μ-law
SAMPLE_WIDTH = 2  # 16-bit PCM for the recogniser and the recordings store


def ulaw_to_pcm(ulaw: bytes) -> bytes:
    """μ-law bytes → 16-bit little-endian PCM."""
    return audioop.ulaw2lin(ulaw, SAMPLE_WIDTH)


def pcm_to_ulaw(pcm: bytes) -> bytes:
    """16-bit PCM → μ-law bytes."""
    return audioop.lin2ulaw(pcm, SAMPLE_WIDTH)


def level(pcm: bytes) -> int:
    """RMS level of a PCM frame (0 … 32767)."""
    return audioop.rms(pcm, SAMPLE_WIDTH) if pcm else 0


def read_pcm(path: Path) -> bytes:
    """16-bit mono 8 kHz PCM of a WAV file (other rates and widths converted)."""
    with wave.open(str(path), "rb") as wav:
        width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
        data = wav.readframes(wav.getnframes())
    if channels == 2:
        data = audioop.tomono(data, width, 0.5, 0.5)
    if width != SAMPLE_WIDTH:
        data = audioop.lin2lin(data, width, SAMPLE_WIDTH)
    if rate != RATE:
        data, _ = audioop.ratecv(data, SAMPLE_WIDTH, 1, rate, RATE, None)
    return data


def wav_bytes(pcm: bytes) -> bytes:
    """A WAV file (8 kHz mono 16-bit) of `pcm`."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(RATE)
        wav.writeframes(pcm)
    return out.getvalue()


@functools.cache
def prompt_ulaw(lang: str, name: str) -> bytes:
    """The prompt's audio as μ-law (empty if it was never built)."""
    path = prompts.audio_path(lang, name)
    return pcm_to_ulaw(read_pcm(path)) if path is not None else b""


def chunks(data: bytes, size: int) -> list[bytes]:
    """`data` cut into pieces of `size` bytes (the last may be shorter)."""
    return [data[i : i + size] for i in range(0, len(data), size)]
