"""A labelled corpus of real audio for the speech benchmarks, made with espeak-ng and sox.

For every phrase of a language's ``speech.toml``: each espeak-ng voice variant, speed
and pitch of its ``[corpus]`` table, through three telephone channels:

- ``tel``: band-limited to 300-3400 Hz (``sinc``), 8 kHz, 16-bit PCM WAV;
- ``ulaw``: the same, μ-law encoded (as telephone networks carry it);
- ``noisy``: white noise mixed in (about 20 dB SNR) before the band limit, μ-law.

Each has 0.2 s of silence before and 0.3 s after the speech, like a trimmed recording.
Negatives, labelled with no level: the out-of-grammar sentences of ``[corpus]`` in the
same voices and channels, silence, faint line noise, loud white noise and a 1 kHz tone.

Utterances are split by voice variant (even positions: ``calibration``, odd:
``heldout``) so that thresholds can be checked on voices they were not fitted to.

Files are named by a hash of what they contain and kept in the folder given (default:
``$IVR_CACHE_DIR`` or ``~/.cache/ivr-haochaping``, ``speech-corpus``), so a second
build only checks that they exist. espeak-ng and sox run with fixed settings and
``sox -R``: the same corpus is made every time.

Run: ``.venv/bin/python bench/corpus.py [--lang ko-KR] [--dir DIR]`` prints a summary.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import wave
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from prompts import PROMPTS_DIR  # noqa: E402
from prompts.speech import load_speech_pack  # noqa: E402

CHANNELS = ("tel", "ulaw", "noisy")
VERSION = 2
NOISE_VOL = 0.02  # white noise amplitude before the band limit: ~20 dB below espeak speech
PAD = ("0.2", "0.3")  # seconds of silence before and after the speech


@dataclass(frozen=True)
class Utterance:
    """One labelled recording. ``level`` None: nothing may be stored from it."""

    path: Path
    lang: str
    text: str
    level: str | None
    voice: str
    speed: int
    pitch: int
    channel: str
    split: str

    @property
    def kind(self) -> str:
        return "phrase" if self.level is not None else "negative"


def default_dir() -> Path:
    """``$IVR_CACHE_DIR/speech-corpus`` or ``~/.cache/ivr-haochaping/speech-corpus``."""
    from storage.settings import settings

    return settings().speech_cache_dir / "speech-corpus"


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def _duration(path: Path) -> float:
    with wave.open(str(path)) as f:
        return f.getnframes() / f.getframerate()


def _channel(raw: Path, out: Path, channel: str, work: Path) -> None:
    """Write ``raw`` (espeak-ng's WAV) through telephone ``channel`` to ``out``."""
    tail = ["-r", "8000", "-c", "1"]
    tail += ["-b", "16", "-e", "signed-integer"] if channel == "tel" else ["-b", "8", "-e", "u-law"]
    tail += [str(out), "sinc", "300-3400"]
    if channel != "noisy":
        _run(["sox", "-R", str(raw), *tail])
        return
    noise = work / f"{out.stem}.noise.wav"
    with wave.open(str(raw)) as f:
        rate = f.getframerate()
    _run(
        [
            "sox",
            "-R",
            "-n",
            "-r",
            str(rate),
            "-c",
            "1",
            "-b",
            "16",
            str(noise),
            "synth",
            f"{_duration(raw):.3f}",
            "whitenoise",
            "vol",
            str(NOISE_VOL),
        ]
    )
    _run(["sox", "-R", "-m", "-v", "1", str(raw), "-v", "1", str(noise), *tail])
    noise.unlink()


def _speak(u: Utterance, voice: str, channels: Iterable[str], out_dir: Path) -> None:
    """Synthesise ``u.text`` once and write every missing channel file."""
    missing = [c for c in channels if not _path(out_dir, u, c).is_file()]
    if not missing:
        return
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        work = Path(tmp)
        spoken, raw = work / "spoken.wav", work / "raw.wav"
        _run(
            [
                "espeak-ng",
                "-v",
                voice,
                "-s",
                str(u.speed),
                "-p",
                str(u.pitch),
                "-w",
                str(spoken),
                u.text,
            ]
        )
        _run(["sox", "-R", str(spoken), str(raw), "pad", *PAD])
        for channel in missing:
            part = work / f"{channel}.wav"
            _channel(raw, part, channel, work)
            part.replace(_path(out_dir, u, channel))


def _path(out_dir: Path, u: Utterance, channel: str) -> Path:
    key = f"{VERSION}|{u.lang}|{u.text}|{u.voice}|{u.speed}|{u.pitch}"
    return out_dir / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}-{channel}.wav"


def _signals(lang: str, out_dir: Path) -> list[Utterance]:
    """Negatives without speech: silence, line noise, white noise, a 1 kHz tone."""
    specs = {
        "silence": ["trim", "0", "2"],
        "line_noise": ["synth", "2", "whitenoise", "vol", "0.002"],
        "white_noise": ["synth", "2", "whitenoise", "vol", "0.3"],
        "tone_1khz": ["synth", "2", "sine", "1000", "vol", "0.3"],
    }
    found = []
    for name, effect in specs.items():
        path = out_dir / f"signal-{VERSION}-{name}.wav"
        if not path.is_file():
            _run(["sox", "-R", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), *effect])
        found.append(Utterance(path, lang, f"<{name}>", None, "", 0, 0, "tel", "calibration"))
    return found


def build_corpus(
    lang: str,
    out_dir: Path | None = None,
    *,
    variants: list[str] | None = None,
    speeds: list[int] | None = None,
    pitches: list[int] | None = None,
    channels: Iterable[str] = CHANNELS,
    negatives: bool = True,
    root: Path = PROMPTS_DIR,
    jobs: int | None = None,
) -> list[Utterance]:
    """Make (or find) the corpus of ``lang`` in ``out_dir``; its utterances."""
    out_dir = Path(out_dir or default_dir())
    out_dir.mkdir(parents=True, exist_ok=True)
    pack = load_speech_pack(lang, root)
    table = pack.corpus
    base = str(table.get("voice", lang.split("-")[0].lower()))
    variants = list(table.get("variants", [""]) if variants is None else variants)
    speeds = list(table.get("speeds", [150]) if speeds is None else speeds)
    pitches = list(table.get("pitches", [50]) if pitches is None else pitches)
    channels = tuple(channels)
    texts = [(p, level) for level, phrases in pack.levels.items() for p in phrases]
    if negatives:
        texts += [(str(s), None) for s in table.get("negatives", [])]
    todo: list[tuple[Utterance, str]] = []
    for i, variant in enumerate(variants):
        voice = f"{base}+{variant}" if variant else base
        split = "calibration" if i % 2 == 0 else "heldout"
        for speed in speeds:
            for pitch in pitches:
                for text, level in texts:
                    u = Utterance(out_dir, lang, text, level, voice, speed, pitch, "", split)
                    todo.append((u, voice))
    with ThreadPoolExecutor(jobs or os.cpu_count() or 2) as pool:
        list(pool.map(lambda item: _speak(item[0], item[1], channels, out_dir), todo))
    corpus = [
        Utterance(
            _path(out_dir, u, c), u.lang, u.text, u.level, u.voice, u.speed, u.pitch, c, u.split
        )
        for u, _ in todo
        for c in channels
    ]
    return corpus + (_signals(lang, out_dir) if negatives else [])


def small_corpus(lang: str, out_dir: Path, *, root: Path = PROMPTS_DIR) -> list[Utterance]:
    """A few seconds' worth for tests: two voices, one speed, ``tel`` and ``ulaw``."""
    variants = list(load_speech_pack(lang, root).corpus.get("variants", [""]))[:2]
    return build_corpus(
        lang,
        out_dir,
        variants=variants,
        speeds=[150],
        pitches=[50],
        channels=("tel", "ulaw"),
        root=root,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="ko-KR")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    corpus = build_corpus(args.lang, args.dir)
    print(f"{len(corpus)} utterances in {args.dir or default_dir()}")
    print(Counter((u.kind, u.channel, u.split) for u in corpus))


if __name__ == "__main__":
    main()
