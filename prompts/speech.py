"""The speech part of a language pack: ``prompts/<lang>/speech.toml``; where its model is.

Parsing only: nothing here loads Vosk. The web process asks `speech_available` whether
a call may speak; the workers load the model (`workers.speech.models`).

The pack names the Vosk model (``model_package``; ``VOSK_MODEL_<LANG>`` overrides it),
the phrases accepted for each level (model words separated by spaces), yes/no words,
decoys (out-of-grammar words that soak up other speech, since not every model has
``[unk]``), negation markers, and how ``bench/corpus.py`` speaks the pack with espeak-ng.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from callflows.vocabulary import LEVELS
from prompts import PROMPTS_DIR, PackError, UnknownLanguage, is_valid_lang

log = logging.getLogger(__name__)

__all__ = [
    "LEVELS",
    "SpeechPack",
    "load_speech_pack",
    "model_dir",
    "speech_available",
    "speech_languages",
    "speech_pack_path",
]

FILENAME = "speech.toml"


def _norm(phrase: str) -> str:
    """A phrase as the recogniser writes it: words separated by single spaces."""
    return " ".join(phrase.split())


@dataclass(frozen=True)
class SpeechPack:
    """One language's spoken-rating vocabulary (immutable, shared: do not mutate)."""

    lang: str
    model_package: str | None
    levels: dict[str, tuple[str, ...]]
    yes: tuple[str, ...] = ()
    no: tuple[str, ...] = ()
    decoys: tuple[str, ...] = ()
    negations: tuple[str, ...] = ()
    corpus: dict[str, object] = field(default_factory=dict)

    @functools.cached_property
    def phrase_levels(self) -> dict[str, str]:
        """Accepted phrase -> level."""
        return {p: level for level, phrases in self.levels.items() for p in phrases}

    @staticmethod
    def phrase_of(text: str) -> str:
        """``text`` with its words separated by single spaces, as phrases are kept."""
        return _norm(text)

    def level_of(self, text: str) -> str | None:
        """The level of ``text`` if it is exactly one accepted phrase, else None."""
        return self.phrase_levels.get(_norm(text))

    @functools.cached_property
    def negation_partners(self) -> dict[str, frozenset[str]]:
        """Phrase -> phrases of another level that differ from it only by a negation."""
        squeezed = {p: p.replace(" ", "") for p in self.phrase_levels}
        partners: dict[str, set[str]] = {p: set() for p in squeezed}
        for a, sa in squeezed.items():
            for b, sb in squeezed.items():
                if self.phrase_levels[a] == self.phrase_levels[b]:
                    continue
                if any(sa.replace(mark, "", 1) == sb for mark in self.negations if mark in sa):
                    partners[a].add(b)
                    partners[b].add(a)
        return {p: frozenset(s) for p, s in partners.items()}

    def grammar(self, extra: tuple[str, ...] = ()) -> str:
        """The JSON phrase list for ``KaldiRecognizer`` (phrases, decoys, ``extra``)."""
        phrases = [*self.phrase_levels, *self.decoys, *extra]
        return json.dumps(phrases, ensure_ascii=False)

    def vocabulary(self) -> list[str]:
        """Every model word the pack uses, sorted."""
        texts = [*self.phrase_levels, *self.yes, *self.no, *self.decoys]
        return sorted({word for text in texts for word in text.split()})


def speech_pack_path(lang: str, root: Path = PROMPTS_DIR) -> Path | None:
    """``<root>/<lang>/speech.toml`` if it exists (``lang`` validated first)."""
    if not is_valid_lang(lang):
        return None
    path = root / lang / FILENAME
    return path if path.is_file() else None


def _strings(data: dict, key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PackError(f"{path}: {key} must be a list of non-empty strings")
    return tuple(_norm(v) for v in value)


def _levels(data: dict, path: Path) -> dict[str, tuple[str, ...]]:
    table = data.get("levels")
    if not isinstance(table, dict) or set(table) != set(LEVELS):
        raise PackError(f"{path}: [levels] must have exactly the keys {', '.join(LEVELS)}")
    levels = {level: _strings(table, level, path) for level in LEVELS}
    seen: dict[str, str] = {}
    for level, phrases in levels.items():
        if not phrases:
            raise PackError(f"{path}: level {level} has no phrase")
        for phrase in phrases:
            if seen.setdefault(phrase, level) != level:
                raise PackError(f"{path}: phrase {phrase!r} is in {seen[phrase]} and {level}")
    return levels


def read_speech_pack(lang: str, root: Path = PROMPTS_DIR) -> SpeechPack:
    """Read and check ``speech.toml`` of ``lang`` (uncached)."""
    path = speech_pack_path(lang, root)
    if path is None:
        raise UnknownLanguage(lang)
    with path.open("rb") as f:
        data = tomllib.load(f)
    words = data.get("words", {})
    package = data.get("model_package")
    if package is not None and not (isinstance(package, str) and package.isidentifier()):
        raise PackError(f"{path}: model_package must be a Python package name")
    levels = _levels(data, path)
    decoys = _strings(words, "decoys", path)
    clash = set(decoys) & {p for phrases in levels.values() for p in phrases}
    if clash:
        raise PackError(f"{path}: decoys are also phrases: {', '.join(sorted(clash))}")
    return SpeechPack(
        lang=lang,
        model_package=package,
        levels=levels,
        yes=_strings(words, "yes", path),
        no=_strings(words, "no", path),
        decoys=decoys,
        negations=_strings(data, "negations", path),
        corpus=dict(data.get("corpus", {})),
    )


@functools.cache
def load_speech_pack(lang: str, root: Path = PROMPTS_DIR) -> SpeechPack:
    """The speech pack of ``lang`` under ``root`` (cached); raises UnknownLanguage."""
    return read_speech_pack(lang, root)


def model_dir(lang: str, root: Path = PROMPTS_DIR) -> Path | None:
    """Folder of the model for ``lang`` (it may not exist), or None if none is named.

    ``VOSK_MODEL_<LANG>`` first, else the pack's ``model_package`` (``<package>/model``),
    found without importing it."""
    from storage.settings import settings

    override = settings().vosk_models.get(lang)
    if override:
        return override
    if speech_pack_path(lang, root) is None:
        return None
    package = load_speech_pack(lang, root).model_package
    if not package:
        return None
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@functools.cache
def speech_available(lang: str, root: Path = PROMPTS_DIR) -> bool:
    """The pack has ``speech.toml`` and its model folder exists (no model load)."""
    try:
        if speech_pack_path(lang, root) is None:
            return False
        load_speech_pack(lang, root)
        path = model_dir(lang, root)
    except Exception:
        log.exception("speech pack of %s is unusable", lang)
        return False
    return path is not None and (path / "am").is_dir()


def speech_languages(root: Path = PROMPTS_DIR) -> list[str]:
    """Sorted tags of the packs under ``root`` that have speech and a model."""
    found = (d.name for d in root.iterdir() if d.is_dir() and (d / "speech.toml").is_file())
    return sorted(lang for lang in found if speech_available(lang, root))
