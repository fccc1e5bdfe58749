"""Out-of-grammar speech is never stored unconfirmed (issue 11, item 0).

A grammar can only answer with its phrases, so "삼" or "오" (the keypad prompt's
digits) or a level name like "보통" is forced onto the nearest phrase, at times with a
posterior near 1: a Korean caller who said "오" once had 엉망 (非常不满意) stored. The
guard: a would-be-certain result must also be heard by a free-vocabulary pass.
"""

from __future__ import annotations

import pytest
from speech_fixtures import corpus_module, ko_model  # noqa: F401  (fixtures)

from prompts.speech import load_speech_pack
from workers.speech import recognize_rating
from workers.speech.recognize import Thresholds, decide, free_pass_agrees

pytestmark = pytest.mark.any_database

LOOSE = Thresholds(0.5, 1.0, 0.9, 3.0)


def test_a_forced_phrase_the_free_pass_did_not_hear_is_read_back():
    pack = load_speech_pack("ko-KR")
    nbest = [("엉망", 80.0), ("좋아요", 40.0)]  # the grammar is sure: posterior ~1
    found, reason = decide(pack, nbest, LOOSE, lambda: ["오", "오후", "[5]"])
    assert (found.level, reason) == ("very_dissatisfied", "free_pass_disagrees")
    found, reason = decide(pack, nbest, LOOSE, lambda: ["엉망 이에요"])
    assert (found.level, reason) == ("very_dissatisfied", "ok")


def test_the_free_pass_runs_only_when_the_grammar_would_store():
    pack = load_speech_pack("ko-KR")

    def never() -> list[str]:
        raise AssertionError("free pass decoded for a result that is read back anyway")

    assert decide(pack, [("엉망", 50.0), ("별로 예요", 49.8)], LOOSE, never)[1] != "ok"
    assert decide(pack, [], LOOSE, never)[1] == "no_speech"


def test_phrase_matching_ignores_spaces_only():
    assert free_pass_agrees("평범 해요", ["평범해요"])
    assert free_pass_agrees("최고 예요", ["음 최고 예요"])
    assert not free_pass_agrees("엉망", ["엉", "망"])
    assert not free_pass_agrees("", ["엉망"])


def test_every_pack_lists_words_that_must_be_confirmed():
    for lang in ("ko-KR", "en-US", "zh-CN"):
        pack = load_speech_pack(lang)
        words = pack.corpus.get("must_confirm", [])
        assert len(words) >= 10, lang
        phrases = [w for w in words if pack.level_of(w)]
        assert not phrases, f"{lang}: must_confirm words that are phrases: {phrases}"


@pytest.mark.slow
def test_level_names_digits_and_non_answers_are_never_stored(ko_model, tmp_path):
    """Every must_confirm word of the Korean pack, in six voices at two speeds."""
    corpus = corpus_module.must_confirm_corpus(
        "ko-KR", tmp_path, variants=["", "f2", "f4", "m3", "m7", "f5"], speeds=[120, 180]
    )
    assert len(corpus) >= 300
    stored = []
    for u in corpus:
        result = recognize_rating("ko-KR", u.path)
        if result.certain:
            stored.append((u.text, u.voice, u.speed, result.level))
    assert stored == [], f"stored without read-back: {stored}"
