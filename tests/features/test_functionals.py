"""openSMILE functionals: every challenge set's size, values per file, and the atomic cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from testaudio import tone

from emoconv.errors import AudioError, ConfigError
from emoconv.features.functionals import (
    FEATURE_SETS, FunctionalsCache, FunctionalsConfig, extract_functionals, functional_names,
    functionals_of_signal,
)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("func")
    a, b = d / "a.wav", d / "b dir" / "b.ogg"
    b.parent.mkdir()
    sf.write(a, tone(0.5, 16000, freq=180, seed=1), 16000)
    sf.write(b, tone(0.5, 44100, freq=320, seed=2), 44100)  # other rate and format: resampled on load
    return [a, b]


def test_every_feature_set_has_its_documented_size():
    wav = tone(0.5, 16000)
    for name, (_, dims, _) in FEATURE_SETS.items():
        vec = functionals_of_signal(FunctionalsConfig(feature_set=name), wav, 16000)
        assert vec.shape == (dims,) and vec.dtype == np.float32 and np.all(np.isfinite(vec))
    assert len(functional_names("IS09")) == 384


def test_extract_and_cache(files: list[Path], tmp_path: Path):
    cfg = FunctionalsConfig(feature_set="IS09")
    cache = FunctionalsCache(tmp_path / "cache")
    x = extract_functionals(cfg, files, cache)
    assert x.shape == (2, 384) and not np.allclose(x[0], x[1])
    assert (cache.hits, cache.misses) == (0, 2)
    entries = sorted((tmp_path / "cache").rglob("*.npy"))
    assert len(entries) == 2 and not list((tmp_path / "cache").rglob("*.tmp"))
    again = extract_functionals(cfg, files, cache)
    assert (cache.hits, cache.misses) == (2, 2) and np.array_equal(x, again)
    # a corrupted entry is recomputed, not trusted
    entries[0].write_bytes(b"garbage")
    third = extract_functionals(cfg, files, cache)
    assert cache.misses == 3 and np.array_equal(third, x)
    # a changed file is a new key
    sf.write(files[0], tone(0.5, 16000, freq=250, seed=5), 16000)
    st = files[0].stat()
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    fourth = extract_functionals(cfg, files, cache)
    assert cache.misses == 4 and not np.allclose(fourth[0], x[0]) and np.array_equal(fourth[1], x[1])
    # another feature set never reads these entries
    assert cache.key(FunctionalsConfig(feature_set="IS10"), files[1]) != cache.key(cfg, files[1])


def test_threads_give_the_same_rows(files: list[Path]):
    cfg = FunctionalsConfig(feature_set="IS09")
    assert np.array_equal(extract_functionals(cfg, files, workers=2), extract_functionals(cfg, files))


def test_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="feature_set='IS99'"):
        FunctionalsConfig(feature_set="IS99")
    with pytest.raises(AudioError, match="missing.wav"):
        extract_functionals(FunctionalsConfig(feature_set="IS09"), [tmp_path / "missing.wav"])
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"nope")
    with pytest.raises(AudioError, match="bad.wav"):
        extract_functionals(FunctionalsConfig(feature_set="IS09"), [bad])


def test_native_rate_by_default_keeps_content_above_8k(tmp_path: Path):
    """A 44.1 kHz file with energy at 11 kHz: the default reads it at 44.1 kHz, ``sample_rate: 16000`` drops it."""
    t = np.arange(int(0.6 * 44100)) / 44100
    wav = (0.3 * np.sin(2 * np.pi * 180 * t) + 0.3 * np.sin(2 * np.pi * 11000 * t)).astype(np.float32)
    path = tmp_path / "hi.wav"
    sf.write(path, wav, 44100, subtype="FLOAT")
    native = extract_functionals(FunctionalsConfig(feature_set="IS09"), [path])[0]
    explicit = functionals_of_signal(FunctionalsConfig(feature_set="IS09"), wav, 44100)
    at16k = extract_functionals(FunctionalsConfig(feature_set="IS09", sample_rate=16000), [path])[0]
    assert FunctionalsConfig().sample_rate is None
    np.testing.assert_allclose(native, explicit, rtol=1e-5, atol=1e-5)
    assert not np.allclose(native, at16k, rtol=1e-3, atol=1e-3)
    with pytest.raises(ConfigError, match="sample_rate"):
        FunctionalsConfig(sample_rate=4000)
