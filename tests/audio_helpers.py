"""Audio made for the tests with sox and espeak-ng, at telephone quality as Twilio records."""

from __future__ import annotations

import subprocess
from pathlib import Path

TELEPHONE = ("-r", "8000", "-c", "1", "-b", "16")  # 8 kHz, mono, 16-bit


def sox(*args: str) -> None:
    """Run sox (repeatable dither), failing the test on an error."""
    subprocess.run(["sox", "-R", *args], check=True, capture_output=True)


def spoken_wav(text: str, out: Path, voice: str = "ko", *effects: str) -> Path:
    """`text` spoken by espeak-ng, as a telephone line carries it (300-3400 Hz), with
    further sox `effects` (e.g. "pad", "0.2", "0"), written to `out`."""
    raw = out.with_name(f"{out.stem}.raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(raw), text], check=True)
    sox(str(raw), *TELEPHONE, str(out), "sinc", "300-3400", *effects)
    return out
