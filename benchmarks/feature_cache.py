"""First (compute + store) vs second (cache read) run of extract_features.

Generates a corpus of WAV files (1-5 s), then calls extract_features twice with a
fresh cache folder. Both runs include everything extract_features does: the first
reads and resamples the audio, computes log-mel + delta + delta-delta in torch
batches and writes the cache entries; the second hashes each file's identity and
reads and verifies its entry.

    .venv/bin/python benchmarks/feature_cache.py            # 100 files at 16 kHz and 48 kHz
    .venv/bin/python benchmarks/feature_cache.py --quick    # 20 files at 16 kHz
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from emoconv.features import FeatureCache, FeatureConfig, extract_features

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)


def make_corpus(root: Path, n: int, sr: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        t = np.arange(int(rng.uniform(1.0, 5.0) * sr)) / sr
        f0 = rng.uniform(100, 300)
        x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8)) + 0.05 * rng.standard_normal(t.shape)
        p = root / f"utt{i:04d}.wav"
        sf.write(p, (0.3 * x / np.abs(x).max()).astype(np.float32), sr, subtype="PCM_16")
        paths.append(p)
    return paths


def run(n: int, sr: int, work: Path) -> tuple[float, float, dict]:
    cfg = FeatureConfig(kind="logmel", deltas=2)
    paths = make_corpus(work / f"audio{sr}", n, sr)
    cache_dir = work / f"cache{sr}"
    extract_features(cfg, paths[:1])  # warm-up imports/kernels, no cache
    first_cache = FeatureCache(cache_dir)
    t0 = time.perf_counter()
    first = extract_features(cfg, paths, first_cache)
    t1 = time.perf_counter()
    second_cache = FeatureCache(cache_dir)
    second = extract_features(cfg, paths, second_cache)
    t2 = time.perf_counter()
    assert all(a.equal(b) for a, b in zip(first, second)), "cached features differ"
    assert second_cache.hits == n and first_cache.misses == n
    return t1 - t0, t2 - t1, {"first": first_cache.stats(), "second": second_cache.stats()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 files, 16 kHz only")
    ap.add_argument("--n", type=int, default=None, help="files per corpus (default 100)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    add_json_flag(ap)
    args = ap.parse_args()
    fig = Figures("feature_cache", args)
    torch.set_num_threads(args.threads)
    n = args.n or (20 if args.quick else 100)
    rates = [16000] if args.quick else [16000, 48000]
    print(f"{n} generated WAV files of 1-5 s per corpus; log-mel 40 + delta + delta-delta; "
          f"{args.threads} torch threads; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for sr in rates:
            first, second, stats = run(n, sr, Path(tmp))
            print(f"{sr // 1000} kHz files: first run {first * 1000:8.1f} ms (load+compute+store), "
                  f"second run {second * 1000:7.1f} ms (cache), ratio {first / second:5.1f}x (target >= 20x); "
                  f"{stats['second']}")
            fig.add(f"cache_speedup_{sr // 1000}khz", first / second, 20.0, ">=")
            fig.add(f"first_run_ms_{sr // 1000}khz", first * 1000)
            fig.add(f"second_run_ms_{sr // 1000}khz", second * 1000)
    fig.emit(args.json)


if __name__ == "__main__":
    main()
