"""Batched torch features vs librosa file by file: log-mel + delta + delta-delta.

Both paths start from the same in-memory waveforms (audio loading is excluded from
both timings) and produce the same (3, T, 40) features: 16 kHz, 25 ms Hamming
window, 10 ms hop, 40 Slaney mel bands on the power spectrogram, log(x + 1e-6),
deltas with a 9-frame window (librosa.feature.delta(width=9, mode="interp")).

    .venv/bin/python benchmarks/features_speed.py            # 100 utterances of 1-5 s, best of 5
    .venv/bin/python benchmarks/features_speed.py --quick    # 20 utterances, best of 2

The torch path is timed with --threads (default 2) and with 1 thread. For each thread count,
two rounds run each path `--repeats` times back to back (rounds alternate the paths, so a busy
shared machine affects both) and the best time is kept. The thread count is set once per block,
because changing it rebuilds torch's thread pool, and calls of one path are not interleaved with
the other's one by one, because OpenBLAS threads left spinning by librosa's matrix products then
steal the cores from torch's first milliseconds.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

import librosa
import numpy as np
import torch

from emoconv.features import FeatureConfig, compute_features

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

SR = 16000


def make_waves(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    waves = []
    for _ in range(n):
        t = np.arange(int(rng.uniform(1.0, 5.0) * SR)) / SR
        f0 = rng.uniform(100, 300) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        x = sum(np.sin(k * phase) / k for k in range(1, 8)) + 0.05 * rng.standard_normal(t.shape)
        waves.append((0.3 * x / np.abs(x).max()).astype(np.float32))
    return waves


def librosa_features(cfg: FeatureConfig, y: np.ndarray) -> np.ndarray:
    mel = librosa.feature.melspectrogram(
        y=y, sr=cfg.sample_rate, n_fft=cfg.fft_size, hop_length=cfg.hop_length,
        win_length=cfg.win_length, window=cfg.window, center=True, pad_mode="reflect",
        n_mels=cfg.n_mels, power=2.0,
    )
    static = np.log(mel + cfg.log_offset)
    d1 = librosa.feature.delta(static, width=cfg.delta_width, order=1, mode="interp")
    d2 = librosa.feature.delta(static, width=cfg.delta_width, order=2, mode="interp")
    return np.stack([static, d1, d2]).transpose(0, 2, 1)  # (3, T, F)


def blockwise_best(fns: dict[str, Callable[[], object]], repeats: int, rounds: int = 2,
                   per_round: dict[str, list[float]] | None = None) -> tuple[dict[str, float], dict]:
    """Best time of each function over ``rounds`` rounds of ``repeats`` back-to-back calls per function.

    Calls of one path run back to back within a round (alternating every call lets one library's
    spinning worker threads, e.g. OpenBLAS after librosa's matrix products, steal the cores from the
    other's first milliseconds); rounds alternate the paths, so a changing machine load affects both.
    ``per_round`` (if given) receives each round's best time per function, for the spread.
    """
    best = {k: float("inf") for k in fns}
    outs: dict[str, object] = {}
    for _ in range(rounds):
        for name, fn in fns.items():
            round_best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                outs[name] = fn()
                round_best = min(round_best, time.perf_counter() - t0)
            best[name] = min(best[name], round_best)
            if per_round is not None:
                per_round.setdefault(name, []).append(round_best)
    return best, outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 utterances, 2 repeats")
    ap.add_argument("--n", type=int, default=None, help="number of utterances (default 100)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for the batched path")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats; the best is reported")
    ap.add_argument("--device", default="cpu", help="torch device for the batched path")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per thread count (default 4; quick 2)")
    add_json_flag(ap)
    args = ap.parse_args()
    fig = Figures("features_speed", args)
    rounds = args.rounds or (2 if args.quick else 4)
    n = args.n or (20 if args.quick else 100)
    repeats = args.repeats or (2 if args.quick else 5)
    cfg = FeatureConfig(kind="logmel", deltas=2)
    waves = make_waves(n)
    seconds = sum(len(w) for w in waves) / SR

    def torch_path() -> list:
        return compute_features(cfg, waves, device=args.device)

    def librosa_path() -> list:
        return [librosa_features(cfg, w) for w in waves]

    # torch.set_num_threads rebuilds the thread pool, so each thread count gets its own block of rounds
    # instead of switching the count before every call.
    load = os.getloadavg()[0]
    times: dict[str, float] = {}
    outs: dict[str, object] = {}
    spread: dict[str, list[float]] = {}  # per-round speedup of each torch setting over librosa
    for threads in dict.fromkeys([args.threads, 1]):
        torch.set_num_threads(threads)
        compute_features(cfg, waves[:2], device=args.device)  # warm-up (filterbank, kernels, thread pool)
        librosa_features(cfg, waves[0])
        name = f"torch batched ({args.device}, {threads} thread{'s' if threads > 1 else ''})"
        rounds_t: dict[str, list[float]] = {}
        block, block_outs = blockwise_best({name: torch_path, "librosa file by file": librosa_path}, repeats,
                                           rounds, rounds_t)
        spread[name] = [lib / t for lib, t in zip(rounds_t["librosa file by file"], rounds_t[name])]
        times[name] = block[name]
        times["librosa file by file"] = min(times.get("librosa file by file", float("inf")),
                                            block["librosa file by file"])
        outs.update(block_outs)
    fns = dict.fromkeys([k for k in times if k != "librosa file by file"] + ["librosa file by file"])
    names = list(fns)
    refs = outs[names[-1]]
    diff = max(float(np.max(np.abs(o.numpy() - r))) for o, r in zip(outs[names[0]], refs))
    scale = max(float(np.max(np.abs(r))) for r in refs)
    print(f"utterances: {n}, audio: {seconds:.1f} s, features: log-mel 40 + delta + delta-delta (3, T, 40)")
    print("audio loading: excluded from both paths (same in-memory waveforms)")
    print(f"best of {rounds} rounds x {repeats} back-to-back repeats per path; {os.cpu_count()} CPUs, load average {load:.1f} at start")
    for name in names:
        print(f"{name:<36} {times[name] * 1000:8.1f} ms")
    for i, name in enumerate(names[:-1]):
        speed = times[names[-1]] / times[name]
        lo, hi, med = min(spread[name]), max(spread[name]), float(np.median(spread[name]))
        print(f"speedup of {name}: {speed:.1f}x (target >= 5x); per round {lo:.1f}-{hi:.1f}x, median {med:.1f}x")
        tag = "batched" if i == 0 else "batched_1thread"
        fig.add(f"speedup_{tag}", speed, 5.0 if i == 0 else None, ">=")
        fig.add(f"speedup_{tag}_round_min", lo)
        fig.add(f"speedup_{tag}_round_max", hi)
        fig.add(f"speedup_{tag}_round_median", med)
    for name in names:
        fig.add("ms_" + "".join(c if c.isalnum() else "_" for c in name).strip("_"), times[name] * 1000)
    print(f"max abs difference torch vs librosa: {diff:.2e} (largest |feature| {scale:.1f})")
    fig.add("max_abs_difference", diff)
    fig.emit(args.json)


if __name__ == "__main__":
    main()
