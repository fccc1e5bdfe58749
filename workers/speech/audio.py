"""Turning a recording into what the recogniser takes: mono 16-bit PCM at one rate.

Any audio ffmpeg reads is accepted whatever its name says (WAV of any rate or width,
μ-law WAV, an MP3 named ``.wav``). Refused with :class:`BadAudio`: an empty file, a WAV
cut short, a file that is not audio, one longer than ``max_seconds`` (ffmpeg reads at
most ``max_seconds`` + 0.5 s of it, so a 10-minute file is refused in milliseconds),
one too short to hold a word, and silence.

Input rate. Telephone audio arrives at 8 kHz; the Korean model is a 16 kHz model whose
``mfcc.conf`` allows upsampling, so it takes 8 kHz audio (Kaldi resamples it) as well
as audio we upsample first. ``bench/speech.py --compare-rates`` on the telephone-band
espeak-ng corpus (1620 rating utterances: 15 phrases x 6 voices x 3 speeds x 2 pitches x
3 channels), top hypothesis of the right level: 8 kHz 523 (32.3 %), decoding RTF
0.041; upsampled to 16 kHz by ffmpeg 480 (29.6 %), RTF 0.045. An earlier exploration
on 840 other utterances agreed (8 kHz 305, 16 kHz 276, 16 kHz with the empty
4-8 kHz band filled with faint noise 277). So :data:`RATE` is 8000.

Trimming. Leading and trailing silence is cut before decoding, keeping 0.15 s around
the speech: on 540 utterances the right level was heard for 169 / 171 / 168 with
0.3 / 0.15 / 0.1 s kept, at decoding RTF 0.032 / 0.027 / 0.026. On a noisy line
(the corpus's ``noisy`` channel, ~20 dB SNR) nothing was below the 35 dB floor; a
floor 6 dB above the noise cut those recordings from 1.61 to 1.16 s of 1.81 s, decoding
CPU RTF 0.0387 -> 0.0277, right level 97 -> 99 of 108.
"""

from __future__ import annotations

import math
import operator
import shutil
import subprocess
import sys
from array import array
from pathlib import Path

from callflows.vocabulary import (
    OUTCOME_EMPTY,
    OUTCOME_NOT_AUDIO,
    OUTCOME_SILENT,
    OUTCOME_TOO_LONG,
    OUTCOME_TOO_SHORT,
    OUTCOME_TRUNCATED,
)

__all__ = [
    "MAX_SECONDS",
    "MIN_SECONDS",
    "RATE",
    "BadAudio",
    "prepare_audio",
    "seconds_of",
    "sounds_like_speech",
    "trim_silence",
]

RATE = 8000
MAX_SECONDS = 60.0
MIN_SECONDS = 0.2
SILENT_DBFS = -50.0  # loudest 20 ms frame quieter than this: silence
SPEECH_BELOW_PEAK_DB = 35.0  # trim_silence: frames this far below the loudest are silence,
ABOVE_NOISE_DB = 6.0  # and so are frames less than this above the noise floor,
NOISE_CAP_BELOW_PEAK_DB = 15.0  # a floor never closer than this to the loudest frame
MIN_DYNAMICS_DB = 12.0  # speech rises and falls: steady noise or a tone spans less
FFMPEG_TIMEOUT_S = 30
_FRAME_S = 0.02


class BadAudio(ValueError):
    """Unusable audio; ``reason`` is one of empty, truncated, not_audio, too_long,
    too_short, silent."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def seconds_of(pcm: bytes, rate: int) -> float:
    """Duration of mono 16-bit PCM."""
    return len(pcm) / (2 * rate)


def _wav_truncated(path: Path) -> bool:
    """A RIFF/WAVE file whose ``data`` chunk claims more bytes than the file holds."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return False
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return True  # no data chunk at all
            size = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                if size in (0, 0xFFFFFFFF):  # written while streaming: size unknown
                    return False
                return f.tell() + size > path.stat().st_size
            f.seek(size + (size & 1), 1)


def _ulaw_table() -> list[bytes]:
    """G.711 μ-law byte -> 16-bit little-endian sample."""
    table = []
    for byte in range(256):
        u = ~byte & 0xFF
        magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
        sample = (0x84 - magnitude) if u & 0x80 else (magnitude - 0x84)
        table.append(sample.to_bytes(2, "little", signed=True))
    return table


_ULAW = _ulaw_table()


def _read_plain_wav(path: Path, rate: int, limit_s: float) -> bytes | None:
    """Samples of a mono WAV at ``rate`` in 16-bit PCM or μ-law, read without ffmpeg
    (saves the ~0.1 s of starting it); None for anything else."""
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        fmt = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"fmt ":
                fmt = f.read(size + (size & 1))[:16]
            elif kind == b"data":
                break
            else:
                f.seek(size + (size & 1), 1)
        if fmt is None or len(fmt) < 16:
            return None
        tag, channels, wav_rate = (
            int.from_bytes(fmt[i:j], "little") for i, j in ((0, 2), (2, 4), (4, 8))
        )
        bits = int.from_bytes(fmt[14:16], "little")
        if channels != 1 or wav_rate != rate or (tag, bits) not in ((1, 16), (7, 8)):
            return None
        limit = int(limit_s * rate) * (2 if tag == 1 else 1)
        data = f.read(limit if size in (0, 0xFFFFFFFF) else min(size, limit))
    if tag == 7:
        return b"".join(map(_ULAW.__getitem__, data))
    return data[: len(data) // 2 * 2] if sys.byteorder == "little" else None


def _ffmpeg() -> str:
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise RuntimeError("ffmpeg is not installed")
    return binary


def _decode(path: Path, rate: int, limit_s: float) -> bytes:
    """At most ``limit_s`` seconds of ``path`` as mono s16le at ``rate`` (ffmpeg)."""
    command = [
        _ffmpeg(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "file",
        "-t",
        f"{limit_s:.3f}",
        "-i",
        f"file:{path.resolve()}",
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(rate),
        "-acodec",
        "pcm_s16le",
        "-f",
        "s16le",
        "pipe:1",
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise BadAudio(OUTCOME_NOT_AUDIO, "decoding timed out") from error
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise BadAudio(OUTCOME_NOT_AUDIO, detail[0][:200])
    return done.stdout


def _samples(pcm: bytes) -> array:
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


_last_levels: tuple[bytes, int, list[float]] | None = None  # one recording: checked 3 times


def frame_levels(pcm: bytes, rate: int) -> list[float]:
    """RMS of each 20 ms frame, in sample units (the last recording's are kept)."""
    global _last_levels
    if _last_levels is not None and _last_levels[0] is pcm and _last_levels[1] == rate:
        return _last_levels[2]
    samples = _samples(pcm)
    n = max(1, int(rate * _FRAME_S))
    levels = []
    for start in range(0, len(samples), n):
        frame = samples[start : start + n]
        levels.append(math.sqrt(sum(map(operator.mul, frame, frame)) / len(frame)))
    _last_levels = (pcm, rate, levels)
    return levels


def _dbfs(rms: float) -> float:
    return 20 * math.log10(max(rms, 1e-9) / 32768)


def prepare_audio(path: Path, rate: int = RATE, *, max_seconds: float = MAX_SECONDS) -> bytes:
    """The recording as mono 16-bit little-endian PCM at ``rate``; raises BadAudio."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as error:
        raise BadAudio(OUTCOME_EMPTY, "no such file") from error
    if size == 0:
        raise BadAudio(OUTCOME_EMPTY)
    pcm = _read_plain_wav(path, rate, max_seconds + 0.5)
    if pcm is None:
        pcm = _decode(path, rate, max_seconds + 0.5)
    seconds = seconds_of(pcm, rate)
    if seconds > max_seconds:
        raise BadAudio(OUTCOME_TOO_LONG, f"more than {max_seconds:g} s")
    if _wav_truncated(path):
        raise BadAudio(OUTCOME_TRUNCATED, "WAV data ends before its header says")
    if seconds == 0:
        raise BadAudio(OUTCOME_EMPTY, "no samples")
    if seconds < MIN_SECONDS:
        raise BadAudio(OUTCOME_TOO_SHORT, f"{seconds:.2f} s")
    if _dbfs(max(frame_levels(pcm, rate))) < SILENT_DBFS:
        raise BadAudio(OUTCOME_SILENT)
    return pcm


def sounds_like_speech(pcm: bytes, rate: int) -> bool:
    """The frame levels rise and fall like speech (the 10th to the 95th percentile span
    ``MIN_DYNAMICS_DB``), unlike steady noise or a tone, which are never a rating."""
    levels = sorted(_dbfs(level) for level in frame_levels(pcm, rate))
    if len(levels) < 5:
        return False
    return levels[int(0.95 * (len(levels) - 1))] - levels[int(0.1 * (len(levels) - 1))] >= (
        MIN_DYNAMICS_DB
    )


def trim_silence(pcm: bytes, rate: int, pad_s: float = 0.15) -> bytes:
    """``pcm`` without the leading and trailing silence, keeping ``pad_s`` around speech.

    Silence is quieter than ``SPEECH_BELOW_PEAK_DB`` below the loudest frame, or than
    ``ABOVE_NOISE_DB`` above the noise floor (the 10th percentile of the frame levels;
    capped at ``NOISE_CAP_BELOW_PEAK_DB`` below the loudest, for speech that fills the
    recording), so that a noisy line is trimmed too."""
    levels = frame_levels(pcm, rate)
    if not levels:
        return pcm
    peak = max(levels)
    noise = sorted(levels)[int(0.1 * (len(levels) - 1))]
    floor = max(
        peak * 10 ** (-SPEECH_BELOW_PEAK_DB / 20),
        min(noise * 10 ** (ABOVE_NOISE_DB / 20), peak * 10 ** (-NOISE_CAP_BELOW_PEAK_DB / 20)),
    )
    loud = [i for i, level in enumerate(levels) if level >= floor]
    frame_bytes = 2 * max(1, int(rate * _FRAME_S))
    pad = int(pad_s / _FRAME_S)
    start = max(0, loud[0] - pad) * frame_bytes
    end = min(len(levels), loud[-1] + 1 + pad) * frame_bytes
    return pcm[start:end]
