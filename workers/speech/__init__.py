"""Offline speech for the survey: spoken ratings (grammar) and reasons (free), with Vosk.

No web or telephony code here: the RQ jobs call these functions with a language tag
and the path of a downloaded recording.

- :func:`speech_available` — the language's pack has ``speech.toml`` and a model;
  :func:`speech_languages` — every such language.
- :func:`preload` / :func:`load_model` — load models once per process (before forking).
- :func:`recognize_rating` -> :class:`RatingResult` (``level``, ``certain``, ``reason``…).
- :func:`transcribe` -> :class:`Transcript` (free-form reason after a bad rating).
- :func:`prepare_audio` / :class:`BadAudio` — decoding and checking a recording.
"""

from prompts.speech import LEVELS, SpeechPack, load_speech_pack
from workers.speech.audio import MAX_SECONDS, RATE, BadAudio, prepare_audio
from workers.speech.models import (
    load_model,
    preload,
    speech_available,
    speech_languages,
    unknown_words,
)
from workers.speech.recognize import RatingResult, Transcript, recognize_rating, transcribe

__all__ = [
    "LEVELS",
    "MAX_SECONDS",
    "RATE",
    "BadAudio",
    "RatingResult",
    "SpeechPack",
    "Transcript",
    "load_model",
    "load_speech_pack",
    "preload",
    "prepare_audio",
    "recognize_rating",
    "speech_available",
    "speech_languages",
    "transcribe",
    "unknown_words",
]
