"""Speech benchmark: spoken ratings on the espeak-ng corpus, through the public API.

What it measures
    Every utterance of ``bench/corpus.py`` (phrases of every level in several voices,
    speeds and pitches, over three telephone channels; and negatives: out-of-grammar
    sentences, silence, noise, a tone) goes through ``recognize_rating`` exactly as the
    RQ job calls it, with the committed ``thresholds.toml``. Outcomes, as in
    ``bench/calibrate_speech.py``: resolved right (stored at once, or read back with the
    right level so the caller presses 1), wrong (stored, not what was said; for a
    negative: any level stored), read back with another level (the caller presses 2),
    unrecognised (asked again, then keys): these are single attempts. Then per call:
    the flow engine replays the call with the caller repeating the phrase (another
    speed) after a read-back they reject or a re-ask (``speech_calls.py``). Then: time
    per utterance (the whole call: decoding the file and recognising) and real-time
    factor (time / audio duration), model load time and the process's memory. Time is
    wall-clock (what a caller waits) and this process's CPU time (what a dedicated core
    takes: on a shared machine the wall time includes waiting for a core; the load
    average is printed).

Baseline in the same run
    The same utterances (a subset) transcribed with the full vocabulary, as
    ``transcribe`` does for a caller's reason: how much the grammar saves.
    ``--compare-rates`` also decodes every phrase at 8 kHz and at 16 kHz (upsampled by
    ffmpeg) to compare the input rates (``workers/speech/audio.py`` quotes the result).

Run: ``.venv/bin/python bench/speech.py [--lang ko-KR] [--dir DIR] [--compare-rates]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import Utterance, build_corpus
from speech_calls import per_call

from prompts.speech import load_speech_pack
from workers.speech.audio import BadAudio, prepare_audio, seconds_of, trim_silence
from workers.speech.models import load_model
from workers.speech.recognize import (
    _grammar,
    decode_nbest,
    recognize_rating,
    thresholds,
    transcribe,
)

BASELINE_N = 24


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def outcome(u: Utterance, level: str | None, certain: bool) -> str:
    if level is None:
        return "unrecognised"
    if certain:
        return "right_direct" if level == u.level else "wrong"
    return "right_readback" if level == u.level else "readback_other"


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "  n/a"


def report(title: str, outcomes: list[str]) -> None:
    c, n = Counter(outcomes), len(outcomes)
    right = c["right_direct"] + c["right_readback"]
    print(
        f"  {title:<22} n={n:4d}  resolved right {pct(right, n)} "
        f"(direct {pct(c['right_direct'], n)}, read back {pct(c['right_readback'], n)})  "
        f"wrong {pct(c['wrong'], n)}  read back other {pct(c['readback_other'], n)}  "
        f"unrecognised {pct(c['unrecognised'], n)}"
    )


def calls(phrase_results: list) -> None:
    """Per call, as the flow runs it: the caller repeats after a read-back or a re-ask."""
    heard = {u.path: (r.level, r.certain) for u, r in phrase_results}
    print("  per call (the flow's read-back and re-asks; the caller repeats the phrase):")
    for split in ("all", "calibration", "heldout"):
        mine = [u for u, _ in phrase_results if split in ("all", u.split)]
        c, n = per_call(mine, lambda u: heard[u.path]), len(mine)
        spoke = ", ".join(
            f"{k[6:]}x {pct(v, n).strip()}" for k, v in sorted(c.items()) if k[:6] == "spoke_"
        )
        print(
            f"    calls, {split:<12} n={n:4d}  speech stored the level said {pct(c['right'], n)}"
            f"  wrong {pct(c['wrong'], n)}  fell back to keys {pct(c['keys'], n)}  (spoke {spoke})"
        )


def times(title: str, seconds: list[float], audio: list[float]) -> None:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    rtf = sorted(s / a for s, a in zip(seconds, audio, strict=True))
    print(
        f"  {title:<28} mean {1000 * statistics.mean(seconds):6.1f} ms  p95 {1000 * p95:6.1f} ms"
        f"  RTF total {sum(seconds) / sum(audio):.4f}  RTF p95 {rtf[int(0.95 * len(rtf))]:.4f}"
        f"  (mean audio {statistics.mean(audio):.2f} s)"
    )


def compare_rates(lang: str, corpus: list[Utterance]) -> None:
    """Top-hypothesis level accuracy and decoding time at 8 and 16 kHz."""
    pack, model = load_speech_pack(lang), load_model(lang)
    grammar = _grammar(pack, model)
    phrases = [u for u in corpus if u.level]
    print(f"\ninput rate ({len(phrases)} phrase utterances, top hypothesis):")
    for rate in (8000, 16000):
        right = 0
        spent = audio = 0.0
        for u in phrases:
            pcm = trim_silence(prepare_audio(u.path, rate), rate)
            start = time.perf_counter()
            nbest = decode_nbest(model, pcm, rate, grammar)
            spent += time.perf_counter() - start
            audio += seconds_of(pcm, rate)
            right += bool(nbest) and pack.level_of(nbest[0][0]) == u.level
        share = pct(right, len(phrases))
        print(f"  {rate:5d} Hz: right level {right} ({share})  RTF {spent / audio:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default="ko-KR")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--compare-rates", action="store_true")
    args = parser.parse_args()
    corpus = build_corpus(args.lang, args.dir)
    rss_before = rss_mb()[0]
    start = time.perf_counter()
    load_model(args.lang)
    load_s = time.perf_counter() - start
    rss_loaded = rss_mb()[0]
    print(f"{args.lang}: {len(corpus)} utterances; thresholds {thresholds(args.lang)}")
    print(f"model load {load_s:.2f} s; RSS {rss_before:.0f} MB before, {rss_loaded:.0f} MB after")

    recognize_rating(args.lang, corpus[0].path)  # warm-up, not counted
    results, cpu = [], {}
    for u in corpus:
        start = time.process_time()
        results.append((u, recognize_rating(args.lang, u.path)))
        cpu[u.path] = time.process_time() - start
    rss_recognised = rss_mb()
    print(f"RSS after recognising: {rss_recognised[0]:.0f} MB (peak {rss_recognised[1]:.0f} MB)")

    print("\noutcomes:")
    phrase_results = [(u, r) for u, r in results if u.level]
    report("phrases, all", [outcome(u, r.level, r.certain) for u, r in phrase_results])
    for channel in ("tel", "ulaw", "noisy"):
        part = [outcome(u, r.level, r.certain) for u, r in phrase_results if u.channel == channel]
        report(f"phrases, {channel}", part)
    for split in ("calibration", "heldout"):
        part = [outcome(u, r.level, r.certain) for u, r in phrase_results if u.split == split]
        report(f"phrases, {split}", part)
    negatives = [(u, r) for u, r in results if not u.level]
    report("negatives", [outcome(u, r.level, r.certain) for u, r in negatives])
    print("  reasons:", dict(Counter(r.reason for _, r in results)))
    calls(phrase_results)
    print("  per level (resolved right / n):", end="")
    for level in load_speech_pack(args.lang).levels:
        mine = [outcome(u, r.level, r.certain) for u, r in phrase_results if u.level == level]
        print(f" {level} {sum(o.startswith('right') for o in mine)}/{len(mine)}", end="")
    print()

    print("\ntime per utterance (decoding the file + recognising):")
    timed = [(u, r) for u, r in phrase_results if r.audio_seconds > 0]
    grammar_s = [r.recognition_seconds for _, r in timed]
    times("grammar (recognize_rating)", grammar_s, [r.audio_seconds for _, r in timed])
    cpu_s = [cpu[u.path] for u, _ in timed]
    times("  the same, CPU time", cpu_s, [r.audio_seconds for _, r in timed])
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  (load average {load} on {os.cpu_count()} cores: wall time includes waiting)")
    baseline(args.lang, timed[:: max(1, len(timed) // BASELINE_N)][:BASELINE_N])
    print(f"RSS after full-vocabulary decoding: {rss_mb()[0]:.0f} MB (peak {rss_mb()[1]:.0f} MB)")
    if args.compare_rates:
        compare_rates(args.lang, corpus)


def baseline(lang: str, subset: list) -> None:
    """Full-vocabulary decoding of the same utterances (as for a caller's reason)."""
    with contextlib.suppress(BadAudio):
        transcribe(lang, subset[0][0].path)  # warm-up: pages in the big graph
    spent, audio, grammar = [], [], []
    for u, r in subset:
        start = time.perf_counter()
        transcribe(lang, u.path)
        spent.append(time.perf_counter() - start)
        audio.append(r.audio_seconds)
        grammar.append(r.recognition_seconds)
    times(f"grammar, same {len(subset)}", grammar, audio)
    times(f"full vocabulary, same {len(subset)}", spent, audio)


if __name__ == "__main__":
    main()
