"""Language packs of the survey's spoken prompts.

A pack is a folder ``prompts/<lang>/`` holding ``pack.toml`` (its metadata) and one
UTF-8 ``<name>.txt`` per prompt. ``python -m prompts.build`` turns each prompt into
telephone-ready audio at ``prompts/<lang>/audio/<name>.wav`` (8 kHz, mono, 16-bit).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PROMPTS_DIR",
    "Pack",
    "PackError",
    "UnknownLanguage",
    "audio_path",
    "available_languages",
    "is_valid_lang",
    "is_valid_prompt_name",
    "load_pack",
    "load_sms",
    "read_pack",
]

PROMPTS_DIR: Path = Path(__file__).resolve().parent

_LANG_RE = re.compile(r"[a-z]{2,3}(-[A-Z][a-zA-Z]{1,3})?")
_NAME_RE = re.compile(r"[a-z0-9_]+")
_PACK_KEYS = ("lang", "name", "espeak_voice", "say_language")


class UnknownLanguage(KeyError):
    """No language pack exists for the requested tag (or the tag is malformed)."""


class PackError(ValueError):
    """A language pack exists but its files are invalid."""


@dataclass(frozen=True)
class Pack:
    """One language's prompts and voice settings.

    ``prompts`` is shared by every caller of :func:`load_pack`: do not mutate it.
    """

    lang: str
    name: str
    espeak_voice: str
    say_language: str
    prompts: dict[str, str]


def is_valid_lang(lang: object) -> bool:
    """True if ``lang`` has the shape of a pack tag such as ``zh-CN``."""
    return isinstance(lang, str) and _LANG_RE.fullmatch(lang) is not None


def is_valid_prompt_name(name: object) -> bool:
    """True if ``name`` is a safe prompt name (``[a-z0-9_]+``)."""
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


def available_languages(root: Path = PROMPTS_DIR) -> list[str]:
    """Sorted tags of the packs under ``root`` (folders holding a ``pack.toml``)."""
    return sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir() and is_valid_lang(d.name) and (d / "pack.toml").is_file()
    )


def _pack_dir(lang: str, root: Path) -> Path:
    """Folder of the pack for ``lang``, validated before touching the filesystem."""
    if not is_valid_lang(lang):
        raise UnknownLanguage(lang)
    directory = root / lang
    if not (directory / "pack.toml").is_file():
        raise UnknownLanguage(lang)
    return directory


def _read_meta(directory: Path) -> dict[str, str]:
    """The four string keys of ``pack.toml``, checked."""
    path = directory / "pack.toml"
    with path.open("rb") as f:
        data = tomllib.load(f)
    meta = {k: v for k, v in data.items() if k in _PACK_KEYS and isinstance(v, str) and v}
    bad = [key for key in _PACK_KEYS if key not in meta]
    if bad:
        raise PackError(f"{path}: missing or non-string keys: {', '.join(bad)}")
    if meta["lang"] != directory.name:
        raise PackError(f"{path}: lang {meta['lang']!r} differs from folder name")
    return meta


def _read_prompts(directory: Path) -> dict[str, str]:
    """Prompt name -> stripped text, from every ``*.txt`` of the pack."""
    prompts: dict[str, str] = {}
    for path in sorted(directory.glob("*.txt")):
        if not is_valid_prompt_name(path.stem):
            raise PackError(f"{path}: prompt names must match [a-z0-9_]+")
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise PackError(f"{path}: empty prompt")
        prompts[path.stem] = text
    return prompts


def read_pack(lang: str, root: Path = PROMPTS_DIR) -> Pack:
    """Read the pack for ``lang`` under ``root`` from disk (uncached)."""
    directory = _pack_dir(lang, root)
    meta = _read_meta(directory)
    return Pack(prompts=_read_prompts(directory), **meta)


@functools.cache  # = lru_cache(maxsize=None); load_pack.cache_clear() resets it
def load_pack(lang: str) -> Pack:
    """The installed pack for ``lang`` (cached); raises :class:`UnknownLanguage`."""
    return read_pack(lang)


def audio_path(lang: str, name: str) -> Path | None:
    """Built telephone-ready audio of prompt ``name`` in ``lang``, or None."""
    if not is_valid_lang(lang) or not is_valid_prompt_name(name):
        return None
    path = PROMPTS_DIR / lang / "audio" / f"{name}.wav"
    return path if path.is_file() else None


@functools.cache
def load_sms(lang: str) -> dict[str, str]:
    """The pack's text messages (``sms.toml``: reminder, opted_out, opted_in, day_format)."""
    directory = _pack_dir(lang, PROMPTS_DIR)
    with (directory / "sms.toml").open("rb") as f:
        data = tomllib.load(f)
    return {key: value for key, value in data.items() if isinstance(value, str)}
