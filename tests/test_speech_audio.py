"""Decoding and checking recordings before recognition (no model needed)."""

from __future__ import annotations

import math
import struct
import subprocess
import time
import wave
from array import array
from pathlib import Path

import pytest

from workers.speech.audio import BadAudio, _decode, prepare_audio, seconds_of, trim_silence

pytestmark = pytest.mark.any_database


def sox(*args: str) -> None:
    subprocess.run(["sox", "-R", *args], check=True, capture_output=True)


def tone(path: Path, seconds: float, *, rate: int = 8000, extra: tuple[str, ...] = ()) -> Path:
    sox(
        "-n",
        "-r",
        str(rate),
        "-c",
        "1",
        "-b",
        "16",
        *extra,
        str(path),
        "synth",
        str(seconds),
        "sine",
        "440",
        "vol",
        "0.5",
    )
    return path


def reason_of(path: Path) -> str:
    with pytest.raises(BadAudio) as caught:
        prepare_audio(path)
    assert isinstance(caught.value, ValueError)
    return caught.value.reason


def test_plain_wav_is_mono_16_bit_at_the_rate(tmp_path):
    pcm = prepare_audio(tone(tmp_path / "a.wav", 1.0))
    assert seconds_of(pcm, 8000) == pytest.approx(1.0, abs=0.01)
    assert max(array("h", pcm)) > 10000


def test_any_wav_is_converted(tmp_path):
    path = tmp_path / "hifi.wav"
    sox("-n", "-r", "44100", "-c", "2", "-b", "24", str(path), "synth", "1.5", "sine", "440")
    pcm = prepare_audio(path, 8000)
    assert seconds_of(pcm, 8000) == pytest.approx(1.5, abs=0.01)
    assert seconds_of(prepare_audio(path, 16000), 16000) == pytest.approx(1.5, abs=0.01)


def test_mulaw_wav_reads_like_ffmpeg(tmp_path):
    path = tone(tmp_path / "ulaw.wav", 0.8, extra=("-e", "u-law"))
    with wave.open(str(tone(tmp_path / "pcm.wav", 0.8))) as f:
        assert f.getsampwidth() == 2
    fast = array("h", prepare_audio(path))
    slow = array("h", _decode(path, 8000, 5))
    assert len(fast) == len(slow) and fast == slow


def test_mp3_named_wav_is_decoded(tmp_path):
    source = tone(tmp_path / "src.wav", 2.0)
    path = tmp_path / "recording.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(source), "-f", "mp3", str(path)], check=True)
    assert path.read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")
    assert seconds_of(prepare_audio(path), 8000) == pytest.approx(2.0, abs=0.1)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert reason_of(path) == "empty"
    assert reason_of(tmp_path / "missing.wav") == "empty"


def wav_header(data_size: int) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_size)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
    )


def test_header_only_wav(tmp_path):
    empty = tmp_path / "header0.wav"
    empty.write_bytes(wav_header(0))
    assert reason_of(empty) == "empty"
    promised = tmp_path / "header.wav"
    promised.write_bytes(wav_header(32000))
    assert reason_of(promised) == "truncated"


def test_wav_cut_mid_data(tmp_path):
    whole = tone(tmp_path / "whole.wav", 2.0).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) // 2 + 1])
    assert reason_of(cut) == "truncated"


def test_text_named_wav_is_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is not a recording\n" * 20)
    assert reason_of(path) == "not_audio"


def test_ten_minute_files_are_refused_fast(tmp_path):
    wav = tone(tmp_path / "long.wav", 600)
    mp3 = tmp_path / "long.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), str(mp3)], check=True)
    for path in (wav, mp3):
        start = time.perf_counter()
        assert reason_of(path) == "too_long"
        assert time.perf_counter() - start < 2.0


def test_sixty_seconds_is_accepted(tmp_path):
    assert seconds_of(prepare_audio(tone(tmp_path / "a.wav", 59.5)), 8000) == pytest.approx(59.5)


def test_too_short_and_silent(tmp_path):
    assert reason_of(tone(tmp_path / "blip.wav", 0.1)) == "too_short"
    silent = tmp_path / "silence.wav"
    sox("-n", "-r", "8000", "-c", "1", "-b", "16", str(silent), "trim", "0", "2")
    assert reason_of(silent) == "silent"
    hiss = tmp_path / "hiss.wav"
    sox(
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        str(hiss),
        "synth",
        "2",
        "whitenoise",
        "vol",
        "0.001",
    )
    assert reason_of(hiss) == "silent"


def test_trim_silence_keeps_the_speech(tmp_path):
    path = tmp_path / "padded.wav"
    sox(str(tone(tmp_path / "t.wav", 1.0)), str(path), "pad", "2", "3")
    pcm = prepare_audio(path)
    trimmed = trim_silence(pcm, 8000, pad_s=0.3)
    assert seconds_of(trimmed, 8000) == pytest.approx(1.6, abs=0.05)
    peak = max(abs(s) for s in array("h", trimmed))
    assert math.isclose(peak, max(abs(s) for s in array("h", pcm)))


def test_trim_silence_on_a_noisy_line(tmp_path):
    """Line noise 20 dB below the speech is cut too (less audio to decode)."""
    padded, noise, noisy = (tmp_path / n for n in ("padded.wav", "noise.wav", "noisy.wav"))
    sox(str(tone(tmp_path / "t.wav", 1.0)), str(padded), "pad", "1", "1")
    sox("-n", "-r", "8000", "-c", "1", "-b", "16", str(noise), "synth", "3", "whitenoise")
    sox("-m", str(padded), "-v", "0.03", str(noise), str(noisy))
    trimmed = trim_silence(prepare_audio(noisy), 8000, pad_s=0.15)
    assert seconds_of(trimmed, 8000) == pytest.approx(1.3, abs=0.1)


def test_trim_silence_keeps_speech_that_fills_the_recording(tmp_path):
    """No pause to take the noise floor from: a word that swells from quiet (a 1 s
    fade-in) keeps its quiet start (without the cap, 0.24 s of it was cut)."""
    path = tmp_path / "swelling.wav"
    sox(str(tone(tmp_path / "t.wav", 2.0)), str(path), "fade", "t", "1.0")
    pcm = prepare_audio(path)
    assert seconds_of(trim_silence(pcm, 8000), 8000) >= 1.9
