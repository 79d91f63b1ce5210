"""FeatureCache keys, hits/misses, corruption, atomicity, concurrency; extract_features."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from testaudio import tone

import emoconv
from emoconv.audio import load_audio
from emoconv.errors import AudioError
from emoconv.features import FeatureCache, FeatureConfig, compute_features, default_cache_dir, extract_features

CFG = FeatureConfig(deltas=1)


def _corpus(root: Path, n: int = 3, sr: int = 16000) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = root / f"utt{i}.wav"
        sf.write(p, tone(0.2 + 0.1 * i, sr, 200.0 + 50 * i, seed=i), sr)
        paths.append(p)
    return paths


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("EMOCONV_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "emoconv"


def test_extract_matches_compute_and_second_run_hits(tmp_path):
    paths = _corpus(tmp_path / "audio")
    cache = FeatureCache(tmp_path / "cache")
    first = extract_features(CFG, paths, cache)
    assert cache.stats() == {"hits": 0, "misses": 3, "corrupt": 0}
    ref = compute_features(CFG, [load_audio(p) for p in paths])
    for a, b in zip(first, ref):
        torch.testing.assert_close(a, b)
    second = FeatureCache(tmp_path / "cache")
    again = extract_features(CFG, paths, second)
    assert second.stats() == {"hits": 3, "misses": 0, "corrupt": 0}
    for a, b in zip(again, first):
        assert a.equal(b)
    assert len(list((tmp_path / "cache").rglob("*.safetensors"))) == 3
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_extract_without_cache_and_resampling(tmp_path):
    (p,) = _corpus(tmp_path, n=1, sr=8000)
    (f,) = extract_features(CFG, [p])
    assert f.shape == (2, 1 + 3200 // 160, 40)  # 0.2 s resampled to 16 kHz


def test_key_depends_on_config_file_and_version(tmp_path, monkeypatch):
    (p,) = _corpus(tmp_path, n=1)
    cache = FeatureCache(tmp_path / "cache")
    k = cache.key(CFG, p)
    assert cache.key(FeatureConfig(deltas=1), p) == k  # equal configs, equal keys
    assert cache.key(FeatureConfig(deltas=2), p) != k
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    k2 = cache.key(CFG, p)
    assert k2 != k
    monkeypatch.setattr(emoconv, "__version__", "99.0")
    assert cache.key(CFG, p) != k2


def test_changed_file_is_recomputed(tmp_path):
    (p,) = _corpus(tmp_path, n=1)
    cache = FeatureCache(tmp_path / "cache")
    (old,) = extract_features(CFG, [p], cache)
    sf.write(p, tone(0.5, 16000, 900.0, seed=9), 16000)
    os.utime(p, ns=(1, p.stat().st_mtime_ns + 5_000_000))
    (new,) = extract_features(CFG, [p], cache)
    assert cache.misses == 2 and new.shape[1] == 51 and old.shape[1] == 21


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_corrupt_entry_is_recomputed_not_trusted(tmp_path, damage):
    (p,) = _corpus(tmp_path, n=1)
    cache = FeatureCache(tmp_path / "cache")
    (good,) = extract_features(CFG, [p], cache)
    entry = cache.entry_path(cache.key(CFG, p))
    data = bytearray(entry.read_bytes())
    if damage == "flip":
        data[-7] ^= 0xFF  # inside the tensor bytes: only the checksum notices
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray(b"not a safetensors file")
    entry.write_bytes(bytes(data))
    fresh = FeatureCache(tmp_path / "cache")
    (again,) = extract_features(CFG, [p], fresh)
    assert fresh.stats() == {"hits": 0, "misses": 1, "corrupt": 1}
    assert again.equal(good)
    last = FeatureCache(tmp_path / "cache")  # the entry was rewritten
    extract_features(CFG, [p], last)
    assert last.stats() == {"hits": 1, "misses": 0, "corrupt": 0}


def test_readers_never_see_a_partial_entry(tmp_path):
    (p,) = _corpus(tmp_path, n=1)
    cache = FeatureCache(tmp_path / "cache")
    big = torch.randn(3, 2000, 64)
    cache.put(CFG, p, big)
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            cache.put(CFG, p, big)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        reader = FeatureCache(tmp_path / "cache")
        for _ in range(30):
            got = reader.get(CFG, p)
            assert got is not None and got.equal(big)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert reader.corrupt == 0
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def _fill(args):
    torch.set_num_threads(1)
    root, paths = args
    feats = extract_features(CFG, [Path(x) for x in paths], FeatureCache(Path(root)))
    return [f.sum().item() for f in feats]


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_processes_filling_the_same_entries_at_once(tmp_path):
    paths = [str(p) for p in _corpus(tmp_path / "audio", n=4)]
    with mp.get_context("fork").Pool(3) as pool:
        sums = pool.map(_fill, [(str(tmp_path / "cache"), paths)] * 3)
    assert sums[0] == sums[1] == sums[2]
    check = FeatureCache(tmp_path / "cache")
    extract_features(CFG, [Path(x) for x in paths], check)
    assert check.stats() == {"hits": 4, "misses": 0, "corrupt": 0}
    assert len(list((tmp_path / "cache").rglob("*.safetensors"))) == 4


def test_bad_files_raise_audio_error_naming_them(tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match="nope.wav"):
        extract_features(CFG, [missing], FeatureCache(tmp_path / "cache"))
    short = tmp_path / "short.wav"
    sf.write(short, np.full(100, 0.1, np.float32), 16000)
    with pytest.raises(AudioError, match="short.wav.*too short"):
        extract_features(CFG, [short])
