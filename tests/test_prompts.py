"""Tests of the prompt language packs and of the audio builder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydub import AudioSegment
from pydub.generators import Sine

import prompts
from prompts import (
    PROMPTS_DIR,
    UnknownLanguage,
    audio_path,
    available_languages,
    load_pack,
    read_pack,
)
from prompts import build as builder

pytestmark = pytest.mark.any_database

LEVELS = [
    ("very_satisfied", "非常满意"),
    ("satisfied", "满意"),
    ("basically_satisfied", "基本满意"),
    ("dissatisfied", "不满意"),
    ("very_dissatisfied", "非常不满意"),
]
REQUIRED = {
    "ask_rating",
    "invalid_key",
    "no_input",
    "thanks",
    "thanks_bad",
    "goodbye",
    "already_rated",
    "system_busy",
    "recording_notice",
} | {f"level_{level}" for level, _ in LEVELS}

needs_tools = pytest.mark.skipif(
    bool(builder.missing_tools()), reason="espeak-ng and ffmpeg are needed to build audio"
)


# --- the zh-CN pack -------------------------------------------------------------


def test_zh_cn_is_available() -> None:
    assert "zh-CN" in available_languages()


def test_zh_cn_metadata() -> None:
    pack = load_pack("zh-CN")
    assert pack.lang == "zh-CN"
    assert pack.name == "普通话"
    assert pack.say_language == "cmn-CN"
    assert pack.espeak_voice.startswith("cmn")


def test_zh_cn_has_every_prompt_non_empty() -> None:
    pack = load_pack("zh-CN")
    assert set(pack.prompts) >= REQUIRED
    assert all(text.strip() == text and text for text in pack.prompts.values())


@pytest.mark.parametrize(("level", "words"), LEVELS)
def test_level_prompts_name_the_level(level: str, words: str) -> None:
    assert load_pack("zh-CN").prompts[f"level_{level}"] == words


def test_ask_rating_offers_keys_in_domain_order() -> None:
    text = load_pack("zh-CN").prompts["ask_rating"]
    positions = []
    for key, (_, words) in enumerate(LEVELS, start=1):
        offer = f"{words}请按{key}"
        assert offer in text
        positions.append(text.index(offer))
    assert positions == sorted(positions)
    assert "按6" not in text and "按0" not in text
    assert "星号" in text  # '*' repeats the prompt


def test_bad_rating_thanks_promises_callback() -> None:
    assert "回访" in load_pack("zh-CN").prompts["thanks_bad"]


def test_recording_notice_mentions_recording() -> None:
    assert "录音" in load_pack("zh-CN").prompts["recording_notice"]


def test_load_pack_is_cached() -> None:
    assert load_pack("zh-CN") is load_pack("zh-CN")


# --- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang",
    [
        "../etc",
        "zh-CN/../x",
        "zh-CN/../zh-CN",  # exists once resolved: only the tag check can refuse it
        "zh-CN/.",
        "zh-CN/..",
        "..",
        "",
        "/etc",
        "zh-CN\n",
        "zh_CN",
        "ZH-cn",
        "zh-CN/audio",
        "xx-YY",
        "fr",
    ],
)
def test_load_pack_rejects_bad_or_unknown_langs(lang: str) -> None:
    with pytest.raises(UnknownLanguage):
        load_pack(lang)


def test_unknown_language_is_a_key_error() -> None:
    assert issubclass(UnknownLanguage, KeyError)


def test_bad_lang_never_reaches_the_filesystem(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> bool:
        raise AssertionError("filesystem touched")

    monkeypatch.setattr(Path, "is_file", forbidden)
    monkeypatch.setattr(Path, "is_dir", forbidden)
    with pytest.raises(UnknownLanguage):
        read_pack("../../etc")
    with pytest.raises(UnknownLanguage):
        read_pack("zh-CN/../zh-CN")
    assert audio_path("../etc", "thanks") is None


@pytest.mark.parametrize(
    "name", ["../thanks", "thanks.wav", "Thanks", "", "a/b", "thanks\n", "..", "thanks "]
)
def test_audio_path_rejects_bad_names(name: str) -> None:
    assert audio_path("zh-CN", name) is None


def test_audio_path_none_for_unknown_prompt_or_lang() -> None:
    assert audio_path("zh-CN", "no_such_prompt") is None
    assert audio_path("xx-YY", "thanks") is None


def test_audio_path_finds_built_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zh-CN" / "audio").mkdir(parents=True)
    wav = tmp_path / "zh-CN" / "audio" / "thanks.wav"
    wav.write_bytes(b"RIFF")
    monkeypatch.setattr(prompts, "PROMPTS_DIR", tmp_path)
    assert audio_path("zh-CN", "thanks") == wav


def test_pack_toml_lang_must_match_folder(tmp_path: Path) -> None:
    pack_dir = copy_pack(tmp_path)
    toml = pack_dir / "pack.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('"zh-CN"', '"en-US"', 1), "utf-8")
    with pytest.raises(ValueError, match="folder"):
        read_pack("zh-CN", tmp_path)


def test_empty_prompt_is_an_error(tmp_path: Path) -> None:
    pack_dir = copy_pack(tmp_path)
    (pack_dir / "thanks.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        read_pack("zh-CN", tmp_path)


# --- building audio ---------------------------------------------------------------


def copy_pack(root: Path, lang: str = "zh-CN") -> Path:
    """Copy the pack's sources (not its audio or recordings) under ``root``."""
    ignore = shutil.ignore_patterns("audio", "recorded")
    return Path(shutil.copytree(PROMPTS_DIR / lang, root / lang, ignore=ignore))


def quiet_build(root: Path, **kwargs: object) -> list[builder.Result]:
    return builder.build(["zh-CN"], root=root, log=lambda line: None, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[builder.Result]]:
    """The whole zh-CN pack built once into a temporary root."""
    root = tmp_path_factory.mktemp("prompts")
    copy_pack(root)
    return root, quiet_build(root)


def assert_telephone_ready(path: Path) -> AudioSegment:
    seg = AudioSegment.from_wav(path)
    assert (seg.frame_rate, seg.channels, seg.sample_width) == (8000, 1, 2)
    assert seg.dBFS > -40
    assert seg.max_dBFS <= -0.5  # normalised with headroom, not clipped
    return seg


@needs_tools
def test_build_writes_every_prompt(built: tuple[Path, list[builder.Result]]) -> None:
    root, results = built
    assert {r.name for r in results} == set(read_pack("zh-CN", root).prompts)
    assert all(r.action == "built" and r.source == "tts" for r in results)
    for r in results:
        assert r.path == root / "zh-CN" / "audio" / f"{r.name}.wav"
        assert_telephone_ready(r.path)


@needs_tools
def test_build_durations_fit_the_text(built: tuple[Path, list[builder.Result]]) -> None:
    root, _ = built
    pack = read_pack("zh-CN", root)
    for name, text in pack.prompts.items():
        seconds = AudioSegment.from_wav(root / "zh-CN" / "audio" / f"{name}.wav").duration_seconds
        assert seconds > 0.5, name
        assert seconds < 0.6 * len(text) + 2, name  # no runaway or garbage speech
    audio = root / "zh-CN" / "audio"
    ask = AudioSegment.from_wav(audio / "ask_rating.wav").duration_seconds
    assert ask > 3 * AudioSegment.from_wav(audio / "thanks.wav").duration_seconds


@needs_tools
def test_build_leaves_no_temp_files(built: tuple[Path, list[builder.Result]]) -> None:
    root, results = built
    audio = root / "zh-CN" / "audio"
    wavs = {f"{r.name}.wav" for r in results}
    stamps = {f".{r.name}.sig" for r in results}
    assert {p.name for p in audio.iterdir()} == wavs | stamps


def two_prompt_pack(root: Path) -> Path:
    """A copy of zh-CN reduced to the prompts thanks and goodbye (fast to build)."""
    pack_dir = copy_pack(root)
    for txt in pack_dir.glob("*.txt"):
        if txt.stem not in {"thanks", "goodbye"}:
            txt.unlink()
    return pack_dir


@needs_tools
def test_second_build_skips_up_to_date(tmp_path: Path) -> None:
    pack_dir = two_prompt_pack(tmp_path)
    assert {r.action for r in quiet_build(tmp_path)} == {"built"}
    output = pack_dir / "audio" / "thanks.wav"
    before = output.read_bytes()
    assert {r.action for r in quiet_build(tmp_path)} == {"skipped"}

    (pack_dir / "thanks.txt").write_text("谢谢，再见。\n", encoding="utf-8")
    actions = {r.name: r.action for r in quiet_build(tmp_path)}
    assert actions == {"thanks": "built", "goodbye": "skipped"}
    assert output.read_bytes() != before
    assert {r.action for r in quiet_build(tmp_path, force=True)} == {"built"}


@needs_tools
def test_lost_output_is_rebuilt(tmp_path: Path) -> None:
    pack_dir = two_prompt_pack(tmp_path)
    quiet_build(tmp_path)
    (pack_dir / "audio" / "goodbye.wav").unlink()
    actions = {r.name: r.action for r in quiet_build(tmp_path)}
    assert actions == {"thanks": "skipped", "goodbye": "built"}


@needs_tools
def test_recorded_file_overrides_tts(tmp_path: Path) -> None:
    pack_dir = two_prompt_pack(tmp_path)
    (pack_dir / "recorded").mkdir()
    recording = pack_dir / "recorded" / "thanks.wav"
    tone = Sine(440, sample_rate=44100).to_audio_segment(duration=1000, volume=-12)
    tone.set_channels(2).set_sample_width(2).export(recording, "wav")

    results = {r.name: r for r in quiet_build(tmp_path)}
    assert results["thanks"].source == "recorded"
    assert results["goodbye"].source == "tts"
    seg = assert_telephone_ready(pack_dir / "audio" / "thanks.wav")
    assert seg.duration_seconds == pytest.approx(1.0, abs=0.05)
    assert seg.max_dBFS > -2  # normalised up from -12 dBFS

    assert {r.action for r in quiet_build(tmp_path)} == {"skipped"}
    longer = Sine(440, sample_rate=44100).to_audio_segment(duration=2000, volume=-12)
    longer.export(recording, "wav")  # a new take replaces the old one
    results = {r.name: r for r in quiet_build(tmp_path)}
    assert (results["thanks"].action, results["goodbye"].action) == ("built", "skipped")
    assert results["thanks"].duration_s == pytest.approx(2.0, abs=0.05)

    recording.unlink()  # removing it rebuilds from text
    results = {r.name: r for r in quiet_build(tmp_path)}
    assert (results["thanks"].action, results["thanks"].source) == ("built", "tts")


@needs_tools
def test_silent_source_is_an_error(tmp_path: Path) -> None:
    pack_dir = two_prompt_pack(tmp_path)
    (pack_dir / "recorded").mkdir()
    AudioSegment.silent(1000).export(pack_dir / "recorded" / "thanks.wav", "wav")
    with pytest.raises(builder.BuildError, match="no sound"):
        quiet_build(tmp_path)
    assert not (pack_dir / "audio" / "thanks.wav").exists()


def test_build_refuses_without_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_pack(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(builder.BuildError, match="espeak-ng"):
        quiet_build(tmp_path)
    assert not (tmp_path / "zh-CN" / "audio").exists()


def test_cli_reports_missing_tools(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "ffmpeg" else "/bin/x")
    assert builder.main([]) == 1
    assert "ffmpeg" in capsys.readouterr().err


def test_cli_rejects_unknown_lang(capsys: pytest.CaptureFixture[str]) -> None:
    if builder.missing_tools():
        pytest.skip("tool check comes first")
    assert builder.main(["--lang", "../etc"]) == 2
    assert "unknown language" in capsys.readouterr().err
