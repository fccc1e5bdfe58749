"""The local file store: round trips, atomic writes, and keys that cannot escape the root."""

from __future__ import annotations

import stat

import pytest

from storage.records import files
from storage.records.files import FileStore, InvalidKey, LocalFileStore, file_store, validate_key


@pytest.fixture
def store(tmp_path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "store")


def all_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_round_trip(store):
    store.put("calls/CA1/RE1.wav", b"RIFF-data")
    assert store.exists("calls/CA1/RE1.wav")
    assert store.size("calls/CA1/RE1.wav") == 9
    with store.open("calls/CA1/RE1.wav") as handle:
        assert handle.read() == b"RIFF-data"
    path = store.path("calls/CA1/RE1.wav")
    assert path.read_bytes() == b"RIFF-data"
    assert path.is_relative_to(store.root)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert all_files(store.root) == ["calls/CA1/RE1.wav"]


def test_is_a_file_store(store):
    assert isinstance(store, FileStore)


def test_put_file_copies(store, tmp_path):
    source = tmp_path / "download.wav"
    source.write_bytes(b"x" * 100_000)
    store.put_file("a.wav", source)
    assert store.path("a.wav").read_bytes() == b"x" * 100_000
    assert source.exists()
    assert stat.S_IMODE(store.path("a.wav").stat().st_mode) == 0o600


def test_overwrite_is_atomic(store):
    store.put("a.wav", b"old")
    with store.open("a.wav") as reader:
        store.put("a.wav", b"new content")
        assert reader.read() == b"old"  # a reader keeps the file it opened
    assert store.path("a.wav").read_bytes() == b"new content"
    assert all_files(store.root) == ["a.wav"]


def test_failed_write_keeps_old_content_and_no_temp(store, monkeypatch):
    store.put("a.wav", b"old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put("a.wav", b"new")
    assert store.path("a.wav").read_bytes() == b"old"
    assert all_files(store.root) == ["a.wav"]


def test_missing_key(store):
    assert not store.exists("nope.wav")
    assert store.delete("nope.wav") is False
    with pytest.raises(FileNotFoundError):
        store.open("nope.wav")
    with pytest.raises(FileNotFoundError):
        store.size("nope.wav")


def test_delete(store):
    store.put("x/y.wav", b"1")
    assert store.delete("x/y.wav") is True
    assert not store.exists("x/y.wav")
    assert store.delete("x/y.wav") is False


BAD_KEYS = [
    "../x",
    "/etc/passwd",
    "a/../../b",
    "a/..",
    "..",
    ".",
    "",
    "x" * 202,
    "a//b",
    "a/",
    "./a",
    ".hidden",
    "a/.a.wav.tmp",
    "a\\b",
    "a b",
    "a\nb",
    "ä.wav",
    "C:x",
    None,
    b"bytes",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_rejected_everywhere(store, tmp_path, key):
    for call in (
        lambda: store.put(key, b"x"),
        lambda: store.open(key),
        lambda: store.path(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.size(key),
    ):
        with pytest.raises(InvalidKey):
            call()
    assert all_files(tmp_path) == []


@pytest.mark.parametrize("key", ["a", "CA1/RE1.wav", "a-b_c.d/e", "x" * 201, "0/1/2/3.mp3"])
def test_good_keys(store, key):
    assert validate_key(key) == key
    store.put(key, b"ok")
    assert store.path(key).is_relative_to(store.root)
    assert store.path(key).read_bytes() == b"ok"


def test_symlink_out_of_the_root_is_refused(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    store.root.mkdir(parents=True)
    (store.root / "link").symlink_to(outside)
    with pytest.raises(InvalidKey):
        store.put("link/x.wav", b"x")
    assert list(outside.iterdir()) == []


def test_file_store_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RECORDINGS_DIR", str(tmp_path / "recs"))
    store = file_store()
    store.put("a.wav", b"1")
    assert (tmp_path / "recs" / "a.wav").read_bytes() == b"1"


def test_file_store_default_is_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("RECORDINGS_DIR", raising=False)
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(tmp_path / "instance"))
    store = file_store()
    store.put("a.wav", b"1")
    assert (tmp_path / "instance" / "recordings" / "a.wav").read_bytes() == b"1"


def test_root_is_resolved(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    store = LocalFileStore(tmp_path / "alias" / "s")
    store.put("a", b"1")
    assert store.root == tmp_path.resolve() / "real" / "s"
    assert (tmp_path / "real" / "s" / "a").read_bytes() == b"1"
