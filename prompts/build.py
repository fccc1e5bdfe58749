"""Build telephone-ready prompt audio: ``python -m prompts.build [--lang L ...] [--force]``.

For each prompt of each pack, writes ``<lang>/audio/<name>.wav`` (8 kHz, mono,
16-bit PCM). The source is the studio recording ``<lang>/recorded/<name>.<ext>``
when one exists, else the prompt text spoken by espeak-ng. A hidden sidecar
``<lang>/audio/.<name>.sig`` remembers what each output was built from, so that
re-running skips up-to-date prompts (unless ``--force``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydub import AudioSegment
from pydub.effects import normalize
from pydub.silence import detect_leading_silence

from prompts import PROMPTS_DIR, Pack, UnknownLanguage, available_languages, read_pack

SAMPLE_RATE = 8000
RECORDED_EXTS = ("wav", "mp3", "ogg", "flac")
REQUIRED_TOOLS = ("espeak-ng", "ffmpeg")
ESPEAK_SPEED = 150
HEADROOM_DB = 1.0
SILENCE_DBFS = -50.0
KEEP_LEAD_MS = 100
KEEP_TRAIL_MS = 200


class BuildError(RuntimeError):
    """A prompt could not be built (missing tool, failing converter...)."""


@dataclass(frozen=True)
class Result:
    """What happened to one prompt."""

    lang: str
    name: str
    action: str  # "built" or "skipped"
    source: str  # "tts" or "recorded"
    path: Path
    duration_s: float | None = None


def missing_tools() -> list[str]:
    """External programs the build needs but cannot find on PATH."""
    return [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]


def recorded_source(pack_dir: Path, name: str) -> Path | None:
    """The operator's studio recording for ``name``, if any."""
    for ext in RECORDED_EXTS:
        path = pack_dir / "recorded" / f"{name}.{ext}"
        if path.is_file():
            return path
    return None


def signature(pack: Pack, name: str, recorded: Path | None) -> str:
    """Digest of everything the output of ``name`` is made from.

    Covers this builder's code, the voice and the text, or the recording's bytes.
    Content rather than mtimes decides staleness: file timestamps can be coarse
    (a source changed right after a build may carry the output's very mtime), and
    deleting a recording makes nothing newer.
    """
    digest = hashlib.sha256(Path(__file__).read_bytes())
    if recorded is None:
        parts = ["tts", pack.espeak_voice, str(ESPEAK_SPEED), pack.prompts[name]]
    else:
        parts = ["recorded", recorded.name, hashlib.sha256(recorded.read_bytes()).hexdigest()]
    for part in parts:
        digest.update(b"\0" + part.encode("utf-8"))
    return digest.hexdigest()


def stamp_path(output: Path) -> Path:
    """Where the signature of ``output``'s sources is kept (a hidden sidecar)."""
    return output.with_name(f".{output.stem}.sig")


def is_up_to_date(output: Path, sig: str) -> bool:
    """True if ``output`` exists and was built from sources with signature ``sig``."""
    stamp = stamp_path(output)
    if not (output.is_file() and stamp.is_file()):
        return False
    return stamp.read_text(encoding="ascii").strip() == sig


def write_atomic(data: bytes, path: Path) -> None:
    """Write ``data`` to a temp file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        tmp.chmod(0o644)  # mkstemp makes 0600; the web server must read it
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _run(cmd: Sequence[str], stdin: bytes | None = None) -> None:
    """Run a command (argument list, no shell); raise BuildError on failure."""
    proc = subprocess.run(list(cmd), input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise BuildError(f"{cmd[0]} failed ({proc.returncode}): {err}")


def speak(text: str, voice: str, out: Path) -> None:
    """Synthesize ``text`` with espeak-ng into the WAV file ``out``.

    The text goes through stdin so that it can never be read as an option.
    """
    cmd = ["espeak-ng", "-v", voice, "-s", str(ESPEAK_SPEED), "-b", "1"]
    _run([*cmd, "-w", str(out), "--stdin"], stdin=text.encode("utf-8"))


def to_telephone_rate(src: Path, out: Path) -> None:
    """Decode any audio file to 8 kHz mono 16-bit WAV with ffmpeg.

    ffmpeg's resampler low-passes before decimating; pydub's ``set_frame_rate``
    does not, and would fold sibilants above 4 kHz back into the speech band.
    """
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    fmt = ["-ac", "1", "-ar", str(SAMPLE_RATE), "-acodec", "pcm_s16le", "-f", "wav"]
    _run([*cmd, "-i", str(src), "-vn", *fmt, str(out)])


def trim_silence(seg: AudioSegment) -> AudioSegment:
    """Shorten leading/trailing silence to a short, even margin."""
    lead = detect_leading_silence(seg, silence_threshold=SILENCE_DBFS)
    trail = detect_leading_silence(seg.reverse(), silence_threshold=SILENCE_DBFS)
    if lead + trail >= len(seg):  # all silence: leave it alone
        return seg
    start = max(0, lead - KEEP_LEAD_MS)
    end = len(seg) - max(0, trail - KEEP_TRAIL_MS)
    return seg[start:end]


def finish(seg: AudioSegment) -> AudioSegment:
    """Normalise and force the telephone format (8 kHz, mono, 16-bit)."""
    seg = normalize(trim_silence(seg), headroom=HEADROOM_DB)
    return seg.set_channels(1).set_frame_rate(SAMPLE_RATE).set_sample_width(2)


def export_wav(seg: AudioSegment) -> bytes:
    """``seg`` as the bytes of a WAV file."""
    buf = io.BytesIO()
    seg.export(buf, format="wav")
    return buf.getvalue()


def render(pack: Pack, name: str, recorded: Path | None, output: Path) -> float:
    """Produce ``output`` for prompt ``name``; return its duration in seconds."""
    with tempfile.TemporaryDirectory(prefix="prompt-") as tmpdir:
        work = Path(tmpdir)
        src = recorded
        if src is None:
            src = work / "tts.wav"
            speak(pack.prompts[name], pack.espeak_voice, src)
        to_telephone_rate(src, work / "8k.wav")
        seg = finish(AudioSegment.from_wav(work / "8k.wav"))
    if seg.max == 0:
        raise BuildError(f"{pack.lang}/{name}: {src.name} gives no sound")
    write_atomic(export_wav(seg), output)
    return seg.duration_seconds


def build_prompt(pack: Pack, pack_dir: Path, name: str, force: bool) -> Result:
    """Build (or skip) one prompt of ``pack``."""
    recorded = recorded_source(pack_dir, name)
    source = "tts" if recorded is None else "recorded"
    output = pack_dir / "audio" / f"{name}.wav"
    sig = signature(pack, name, recorded)
    if not force and is_up_to_date(output, sig):
        return Result(pack.lang, name, "skipped", source, output)
    duration = render(pack, name, recorded, output)
    write_atomic(f"{sig}\n".encode("ascii"), stamp_path(output))
    return Result(pack.lang, name, "built", source, output, duration)


def _describe(result: Result) -> str:
    where = f"{result.lang}/{result.name}"
    if result.action == "skipped":
        return f"skipped {where:40} up to date"
    return f"built   {where:40} {result.source:8} {result.duration_s:5.1f} s"


def build(
    langs: Iterable[str] | None = None,
    *,
    force: bool = False,
    root: Path = PROMPTS_DIR,
    log: Callable[[str], None] = print,
) -> list[Result]:
    """Build the audio of every prompt of ``langs`` (default: all packs under ``root``)."""
    missing = missing_tools()
    if missing:
        raise BuildError(f"missing required program(s): {', '.join(missing)}")
    results: list[Result] = []
    for lang in available_languages(root) if langs is None else langs:
        pack = read_pack(lang, root)
        for name in sorted(pack.prompts):
            result = build_prompt(pack, root / lang, name, force)
            log(_describe(result))
            results.append(result)
    return results


def summary(results: Sequence[Result]) -> str:
    """One line: how many prompts were built and skipped."""
    built = sum(r.action == "built" for r in results)
    recorded = sum(r.action == "built" and r.source == "recorded" for r in results)
    return f"{built} built ({recorded} from recordings), {len(results) - built} up to date"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m prompts.build", description=__doc__)
    parser.add_argument(
        "--lang", action="append", metavar="LANG", help="pack to build (repeatable; default all)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    args = parse_args(argv)
    try:
        results = build(args.lang, force=args.force)
    except UnknownLanguage as exc:
        known = ", ".join(available_languages()) or "none"
        print(f"error: unknown language pack {exc.args[0]!r} (known: {known})", file=sys.stderr)
        return 2
    except (BuildError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
