"""Recognising a spoken rating (grammar-restricted) and transcribing a reason (free).

A rating is decoded with the pack's phrases as the grammar. Vosk builds from that list
a bigram model, so the decoder may output any *sequence* of the words ("매우 불만족"
has come back as "매우 오 만족"): only a hypothesis that is exactly one accepted phrase
maps to a level, anything else is "unrecognised". When the decoder's best is such a
sequence, the best of its first :data:`PHRASE_RANKS` hypotheses that is one phrase
gives the level, always read back. The pack's decoys (and ``[unk]`` where the model has
it) can soak up other speech; the Korean pack has none, as they cost more ratings than
they saved (see its ``speech.toml``). Steady noise or a tone (a level that does not rise
and fall like speech) is "no_speech" without decoding.

Confidence. Vosk reports word confidences only without alternatives; with them it
reports each hypothesis's total score. A second decode would double the cost, so the
posterior of each hypothesis is computed from the n-best scores (softmax), and the
confidence of a level is the posterior mass of the hypotheses that are phrases of that
level. A result is *certain* (stored without read-back) only if that confidence and
the score margin over the best hypothesis of another level reach the calibrated
thresholds (``thresholds.toml``, written by ``bench/calibrate_speech.py``); a phrase
that has a negation partner (만족 / 불만족) must reach the stricter negation thresholds.
A language without calibrated thresholds is never certain: every rating is read back.

Out-of-grammar words. A grammar can only answer with its own phrases, so a word that is
not one of them (a digit "삼", a level name "보통") is forced onto the nearest phrase,
sometimes with a posterior near 1 and a wide margin: the n-best alone cannot tell it
from the phrase. So a result that passes the thresholds must also survive a second,
free-vocabulary decode (the model's whole lexicon, no grammar): the phrase has to be
among the first transcripts of that pass (`free_pass.FREE_N_BEST`), else it is read back
("free_pass_disagrees"). The second decode runs only for would-be-certain results, on
recognisers kept warm (`workers.speech.free_pass`). :func:`decide` is the one place
this decision is made: recordings here, live streams in `workers.media.listener`.

Kaldi dithers the features with libc's ``rand()``; it is re-seeded before each decode
so that a recording always gives the same result, whatever was decoded before it.
"""

from __future__ import annotations

import functools
import json
import math
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import vosk

from callflows.vocabulary import OUTCOME_NO_SPEECH, OUTCOME_OK, OUTCOME_UNRECOGNISED
from prompts import PROMPTS_DIR
from prompts.speech import SpeechPack, load_speech_pack
from workers.speech.audio import (
    RATE,
    BadAudio,
    prepare_audio,
    seconds_of,
    sounds_like_speech,
    trim_silence,
)
from workers.speech.free_pass import decode_free, seed
from workers.speech.models import has_word, load_model

__all__ = [
    "THRESHOLDS_PATH",
    "Evidence",
    "RatingResult",
    "Thresholds",
    "Transcript",
    "decide",
    "decode_free",
    "decode_nbest",
    "evidence",
    "judge",
    "recognize_rating",
    "thresholds",
    "transcribe",
]

THRESHOLDS_PATH = Path(__file__).with_name("thresholds.toml")
N_BEST = 10
# A level may come from the best of this many hypotheses that is exactly one phrase
# (read back unless it is the first). On the ko-KR corpus (bench/calibrate_speech.py
# n-best lists) phrases resolved right, held-out, for 1 / 2 / 3 / 5 / 10: 79.6 / 86.4 /
# 87.7 / 89.8 / 92.6 %, read back with another level 2.5 / 4.0 / 4.6 / 4.9 / 5.6 %,
# out-of-grammar speech given a level (read back) 13.3 / 16.3 / 19.3 / 24.4 / 29.6 %.
PHRASE_RANKS = 3


@dataclass(frozen=True)
class RatingResult:
    """What was heard. ``level`` None: nothing usable; ``certain`` False: read it back."""

    level: str | None
    certain: bool
    text: str
    confidence: float
    alternatives: list[tuple[str, float]]
    reason: str
    audio_seconds: float
    recognition_seconds: float


@dataclass(frozen=True)
class Transcript:
    """Free-form speech with the mean word confidence."""

    text: str
    confidence: float
    audio_seconds: float


@dataclass(frozen=True)
class Thresholds:
    """Evidence needed to store a spoken rating without reading it back."""

    min_confidence: float = math.inf  # uncalibrated: never certain
    min_margin: float = math.inf
    negation_confidence: float = math.inf
    negation_margin: float = math.inf


@functools.cache
def thresholds(lang: str, path: Path = THRESHOLDS_PATH) -> Thresholds:
    """The calibrated thresholds of ``lang`` (never certain if it has none)."""
    if not path.is_file():
        return Thresholds()
    with path.open("rb") as f:
        table = tomllib.load(f).get(lang)
    if not isinstance(table, dict):
        return Thresholds()
    names = Thresholds.__dataclass_fields__
    return Thresholds(**{k: float(v) for k, v in table.items() if k in names})


def decode_nbest(model: vosk.Model, pcm: bytes, rate: int, grammar: str) -> list[tuple[str, float]]:
    """The decoder's n-best ``(text, score)`` for ``pcm`` under ``grammar``, best first."""
    seed()
    recognizer = vosk.KaldiRecognizer(model, rate, grammar)
    recognizer.SetMaxAlternatives(N_BEST)
    recognizer.AcceptWaveform(pcm)
    result = json.loads(recognizer.FinalResult())
    alternatives = result.get("alternatives", [])
    return [(a.get("text", "").strip(), float(a.get("confidence", 0.0))) for a in alternatives]


def _posteriors(scores: list[float]) -> list[float]:
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


@dataclass(frozen=True)
class Evidence:
    """What the n-best says: the level of the best phrase hypothesis and how sure it is."""

    text: str
    level: str | None
    confidence: float  # posterior mass of the hypotheses that are phrases of ``level``
    margin: float  # score above the best hypothesis of another level (inf: none)
    negated: bool  # the phrase has a negation partner in the pack
    alternatives: list[tuple[str, float]]
    rank: int = 0  # position of ``text`` in the n-best (0: the decoder's best)


def evidence(pack: SpeechPack, nbest: list[tuple[str, float]]) -> Evidence:
    """Sum up the n-best list ``(text, score)``, best first.

    The level comes from the best of the first :data:`PHRASE_RANKS` hypotheses that is
    exactly one phrase (a lower one is never certain: it is read back)."""
    if not nbest or not nbest[0][0]:
        return Evidence("", None, 0.0, 0.0, False, [])
    texts = [t for t, _ in nbest]
    alternatives = list(zip(texts, _posteriors([s for _, s in nbest]), strict=True))
    rank = next((i for i, t in enumerate(texts[:PHRASE_RANKS]) if pack.level_of(t)), None)
    if rank is None:
        return Evidence(texts[0], None, alternatives[0][1], 0.0, False, alternatives)
    text, best = nbest[rank]
    level = pack.level_of(text)
    confidence = sum(p for t, p in alternatives if pack.level_of(t) == level)
    rivals = [
        s for i, (t, s) in enumerate(nbest) if i != rank and pack.level_of(t) not in (None, level)
    ]
    margin = best - max(rivals) if rivals else math.inf
    negated = bool(pack.negation_partners.get(pack.phrase_of(text)))
    return Evidence(text, level, confidence, margin, negated, alternatives, rank)


def judge(e: Evidence, limits: Thresholds) -> str:
    """The reason of the decision: "ok" (certain) or why it must be read back."""
    if not e.text:
        return OUTCOME_NO_SPEECH
    if e.level is None:
        return OUTCOME_UNRECOGNISED
    if e.rank > 0:
        return "not_best_hypothesis"
    if e.margin < limits.min_margin:
        return "competing_alternative"
    if e.confidence < limits.min_confidence:
        return "low_confidence"
    if e.negated and (
        e.confidence < limits.negation_confidence or e.margin < limits.negation_margin
    ):
        return "negation_pair"
    return OUTCOME_OK


def _squashed(text: str) -> str:
    return "".join(text.split())


def free_pass_agrees(phrase: str, free_texts: list[str]) -> bool:
    """Did the free-vocabulary pass hear ``phrase`` too (spaces aside)?"""
    wanted = _squashed(phrase)
    return bool(wanted) and any(wanted in _squashed(t) for t in free_texts)


def decide(
    pack: SpeechPack,
    nbest: list[tuple[str, float]],
    limits: Thresholds,
    free_pass: Callable[[], list[str]],
) -> tuple[Evidence, str]:
    """The decision on a spoken rating: its evidence, and "ok" (store it) or why it
    must be read back or turned away. ``free_pass`` (the free-vocabulary transcripts
    of the same audio) is called only when the grammar evidence alone would store it."""
    found = evidence(pack, nbest)
    reason = judge(found, limits)
    if reason == "ok" and not free_pass_agrees(found.text, free_pass()):
        reason = "free_pass_disagrees"
    return found, reason


def _grammar(pack: SpeechPack, model: vosk.Model) -> str:
    return pack.grammar(("[unk]",) if has_word(model, "[unk]") else ())


def recognize_rating(lang: str, path: Path, *, root: Path = PROMPTS_DIR) -> RatingResult:
    """The rating spoken in the recording at ``path``.

    Bad audio is a result (``reason`` = the BadAudio reason), not an exception; a
    language without a model raises LookupError (check :func:`speech_available`)."""
    pack = load_speech_pack(lang, root)
    model = load_model(lang, root)
    start = time.perf_counter()
    try:
        pcm = prepare_audio(path, RATE)
    except BadAudio as error:
        elapsed = time.perf_counter() - start
        return RatingResult(None, False, "", 0.0, [], error.reason, 0.0, elapsed)
    speech = sounds_like_speech(pcm, RATE)
    voiced = trim_silence(pcm, RATE) if speech else b""
    nbest = decode_nbest(model, voiced, RATE, _grammar(pack, model)) if speech else []
    found, reason = decide(pack, nbest, thresholds(lang), lambda: decode_free(model, voiced, RATE))
    return RatingResult(
        level=found.level,
        certain=reason == OUTCOME_OK,
        text=found.text,
        confidence=found.confidence,
        alternatives=found.alternatives,
        reason=reason,
        audio_seconds=seconds_of(pcm, RATE),
        recognition_seconds=time.perf_counter() - start,
    )


def transcribe(lang: str, path: Path, *, root: Path = PROMPTS_DIR) -> Transcript:
    """Free-form transcript (full vocabulary) of ``path``; raises BadAudio."""
    model = load_model(lang, root)
    pcm = prepare_audio(path, RATE)
    seed()
    recognizer = vosk.KaldiRecognizer(model, RATE)
    recognizer.SetWords(True)
    words: list[dict] = []
    step = RATE * 2  # one second per call: Vosk closes a segment at each pause
    for offset in range(0, len(pcm), step):
        if recognizer.AcceptWaveform(pcm[offset : offset + step]):
            words += json.loads(recognizer.Result()).get("result", [])
    words += json.loads(recognizer.FinalResult()).get("result", [])
    words = [w for w in words if w.get("word") and w["word"] != "[unk]"]
    text = " ".join(w["word"] for w in words)
    confidence = sum(float(w.get("conf", 0.0)) for w in words) / len(words) if words else 0.0
    return Transcript(text=text, confidence=confidence, audio_seconds=seconds_of(pcm, RATE))
