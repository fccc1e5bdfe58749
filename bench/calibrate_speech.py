"""Calibrate the certainty thresholds of spoken ratings on the espeak-ng corpus.

Every utterance of ``bench/corpus.py`` is decoded once (n-best under the pack's
grammar); then each combination of thresholds on a grid is applied to those n-best
lists with the recogniser's own ``decide``. Outcome of an utterance:

- ``direct``: certain, right level (stored at once);
- ``readback``: not certain, right level (read back, the caller presses 1);
- ``readback_other``: not certain, another level (the caller presses 2: not stored);
- ``wrong``: certain, and not the level said (for a negative: any level) — never allowed;
- ``unrecognised``: no level (asked again, then keys), incl. refused audio.

Resolved right = direct + readback. Thresholds only move utterances between direct and
the read-backs; the choice is: zero ``wrong`` on the calibration split (voices at even
positions of the pack's variants), also with any one threshold a grid step looser (a
guard band), the most ``direct``, then the strictest such thresholds. The held-out
split (the other voices) is reported with the chosen thresholds as a check against
overfitting.

Writes ``workers/speech/thresholds.toml`` (other languages' tables are kept).
Run: ``.venv/bin/python bench/calibrate_speech.py [--lang ko-KR] [--dir DIR] [--dry-run]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import sys
import time
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import Utterance, build_corpus

from prompts.speech import load_speech_pack
from workers.speech.audio import (
    RATE,
    BadAudio,
    prepare_audio,
    seconds_of,
    sounds_like_speech,
    trim_silence,
)
from workers.speech.models import load_model
from workers.speech.recognize import (
    THRESHOLDS_PATH,
    Evidence,
    Thresholds,
    _grammar,
    decode_nbest,
    evidence,
    judge,
)

CONFIDENCES = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0]
MARGINS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0]
GRID_FIELDS = (
    ("min_confidence", CONFIDENCES),
    ("min_margin", MARGINS),
    ("negation_confidence", CONFIDENCES),
    ("negation_margin", MARGINS),
)
OUTCOMES = ("direct", "readback", "readback_other", "wrong", "unrecognised")


@dataclass
class Decoded:
    """One utterance decoded: its n-best (empty if refused) and what it cost."""

    utterance: Utterance
    nbest: list[tuple[str, float]]
    evidence: Evidence
    refused: str | None
    audio_seconds: float
    decode_seconds: float


def decode_corpus(lang: str, corpus: list[Utterance], rate: int = RATE) -> list[Decoded]:
    """Decode every utterance once (the model must be loadable)."""
    pack = load_speech_pack(lang)
    model = load_model(lang)
    grammar = _grammar(pack, model)
    decoded = []
    for u in corpus:
        try:
            pcm = prepare_audio(u.path, rate)
        except BadAudio as error:
            decoded.append(Decoded(u, [], evidence(pack, []), error.reason, 0.0, 0.0))
            continue
        start = time.perf_counter()
        if sounds_like_speech(pcm, rate):
            nbest = decode_nbest(model, trim_silence(pcm, rate), rate, grammar)
        else:
            nbest = []
        seconds = time.perf_counter() - start
        decoded.append(
            Decoded(u, nbest, evidence(pack, nbest), None, seconds_of(pcm, rate), seconds)
        )
    return decoded


def outcome(d: Decoded, limits: Thresholds) -> str:
    """What the service would do with this utterance under ``limits``."""
    level = d.evidence.level
    if d.refused or level is None:
        return "unrecognised"
    if judge(d.evidence, limits) == "ok":
        return "direct" if level == d.utterance.level else "wrong"
    return "readback" if level == d.utterance.level else "readback_other"


def tally(decoded: list[Decoded], limits: Thresholds) -> Counter:
    return Counter(outcome(d, limits) for d in decoded)


def rates(counts: Counter) -> str:
    """``counts`` as percentages of their total."""
    n = sum(counts.values()) or 1
    right = counts["direct"] + counts["readback"]
    parts = [f"resolved right {100 * right / n:5.1f} %"]
    parts += [f"{k} {100 * counts[k] / n:5.1f} %" for k in OUTCOMES]
    return f"n={n:4d}  " + "  ".join(parts)


def grid() -> list[Thresholds]:
    return [
        Thresholds(c, m, nc, nm)
        for c, m, nc, nm in itertools.product(CONFIDENCES, MARGINS, CONFIDENCES, MARGINS)
        if nc >= c and nm >= m
    ]


def _looser(limits: Thresholds) -> list[Thresholds]:
    """``limits`` with each threshold in turn one grid step looser (where there is one)."""
    found = []
    for field, values in GRID_FIELDS:
        value = getattr(limits, field)
        if value in values and values.index(value) > 0:
            found.append(Thresholds(**{**asdict(limits), field: values[values.index(value) - 1]}))
    return found


def choose(decoded: list[Decoded]) -> Thresholds:
    """Zero wrong, also one grid step looser on each threshold (a guard band: the choice
    does not sit on the edge of the wrong-free region), then most direct, then the
    strictest thresholds."""
    wrong: dict[Thresholds, int] = {}

    def wrong_of(limits: Thresholds) -> int:
        if limits not in wrong:
            wrong[limits] = tally(decoded, limits)["wrong"]
        return wrong[limits]

    best, best_key = Thresholds(), None
    for limits in grid():
        if wrong_of(limits) or any(wrong_of(other) for other in _looser(limits)):
            continue
        counts = tally(decoded, limits)
        key = (
            counts["direct"],
            limits.min_margin + limits.negation_margin,
            limits.min_confidence + limits.negation_confidence,
        )
        if best_key is None or key > best_key:
            best, best_key = limits, key
    return best


def _toml_value(value: object) -> str:
    if isinstance(value, float):
        return "inf" if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_thresholds(lang: str, limits: Thresholds, meta: dict[str, object], path: Path) -> None:
    """Replace ``lang``'s table in ``path``, keeping the other languages' tables."""
    tables = {}
    if path.is_file():
        with path.open("rb") as f:
            tables = tomllib.load(f)
    tables[lang] = {**asdict(limits), **meta}
    lines = [
        "# Certainty thresholds of spoken ratings, per language. Written by",
        "# bench/calibrate_speech.py: recalibrate rather than edit. A language without a",
        "# table here is never certain (every spoken rating is read back).",
    ]
    for name in sorted(tables):
        table = tables[name]
        lines += ["", f"# {table.get('corpus', '')}, calibrated {table.get('calibrated', '')}"]
        if table.get("note"):
            lines.append(f"# {table['note']}")
        lines.append(f'["{name}"]')
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def sweep(decoded: list[Decoded], chosen: Thresholds) -> None:
    """Print the outcome rates as each threshold moves around the chosen ones."""
    for field, values in GRID_FIELDS:
        print(f"\n  {field} (others as chosen):")
        for value in values:
            limits = Thresholds(**{**asdict(chosen), field: value})
            print(f"    {value:6g}  {rates(tally(decoded, limits))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="ko-KR")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--dry-run", action="store_true", help="do not write thresholds.toml")
    args = parser.parse_args()
    corpus = build_corpus(args.lang, args.dir)
    print(f"decoding {len(corpus)} utterances of {args.lang} ...", flush=True)
    decoded = decode_corpus(args.lang, corpus)
    calibration = [d for d in decoded if d.utterance.split == "calibration"]
    heldout = [d for d in decoded if d.utterance.split == "heldout"]
    chosen = choose(calibration)
    strictest = Thresholds(CONFIDENCES[-1], MARGINS[-1], CONFIDENCES[-1], MARGINS[-1])
    print(f"\nstrictest on the grid, {strictest}:\n  {rates(tally(calibration, strictest))}")
    print(f"chosen: {chosen}")
    sweep(calibration, chosen)
    for name, part in (("calibration", calibration), ("held-out", heldout), ("all", decoded)):
        print(
            f"\n{name}:\n  phrases   {rates(tally([d for d in part if d.utterance.level], chosen))}"
        )
        print(f"  negatives {rates(tally([d for d in part if not d.utterance.level], chosen))}")
    phrases = sum(1 for u in corpus if u.level)
    meta = {
        "corpus": f"espeak-ng corpus of {len(corpus)} utterances ({phrases} phrases, "
        f"{len(corpus) - phrases} negatives), fitted on the {len(calibration)} of the "
        f"calibration split; held-out: {tally(heldout, chosen)['wrong']} wrong",
        "calibrated": dt.date.today().isoformat(),
    }
    if chosen == Thresholds():
        meta["note"] = (
            "no thresholds on the grid kept the calibration split free of wrong ratings: "
            "never certain, every spoken rating is read back"
        )
    if not args.dry_run:
        write_thresholds(args.lang, chosen, meta, THRESHOLDS_PATH)
        print(f"\nwrote {THRESHOLDS_PATH}")


if __name__ == "__main__":
    main()
