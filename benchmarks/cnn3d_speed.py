"""3D CNN system: parameter counts vs the paper, per-epoch time and peak memory, extraction throughput.

Run:  .venv/bin/python benchmarks/cnn3d_speed.py [--quick] [--threads 2] [--minutes 60]

1. Parameter counts of every Table 4 model beside the paper's column (Kim et al., ACII 2017).
2. One training epoch (Adam 3e-3, batch 128, cross-entropy; ELM systems: one network epoch
   plus the ELM fit) on generated input equivalent to ``--minutes`` of pooled audio
   (60 = one hour = 1800 two-second segments; LLD models get 1800 sequences of 200 frames).
   Every model runs in a fresh spawned process; peak memory is that process's peak RSS
   (``ru_maxrss``) and the growth over its RSS after the data was generated. The 1D-CNN-LSTM
   (a 40 x 40 x 800 convolution on raw audio, ~20 GMAC per segment forward) is timed on
   ``--cnn1d-segments`` segments and the epoch time extrapolated linearly (marked "extrap.").
3. Throughput of segment extraction: gain normalisation + 2 s segmentation + log-spectrogram
   volumes, and of the 32 IS09 LLDs (openSMILE), in seconds of audio per second.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emoconv.models import build_model  # noqa: E402
from emoconv.models.baselines3d import PAPER_TABLE4_K, table4_models  # noqa: E402
from emoconv.models.cnn3d import count_parameters  # noqa: E402

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

SHAPES = {"lld": (32,), "waveform": (1, 32000), "volume": (1, 10, 10, 256)}
EPOCH_MODELS = [  # (label, registry name, feature, params)
    ("3D-CNN-DNN 3x(2x2x128)", "cnn3d.dnn", "volume", {"kernel": (2, 2, 128)}),
    ("3D-CNN-DNN-ELM 3x(2x2x32)", "cnn3d.dnn_elm", "volume", {"kernel": (2, 2, 32)}),
    ("2D-CNN-LSTM (2x32)", "cnn3d.base.cnn2d_lstm", "volume", {"kernel": (2, 32)}),
    ("2D-CNN-LSTM-DNN (2x32)", "cnn3d.base.cnn2d_lstm_dnn", "volume", {"kernel": (2, 32)}),
    ("DNN-ELM", "cnn3d.base.dnn_elm", "lld", {}),
    ("LSTM-ELM", "cnn3d.base.lstm_elm", "lld", {}),
    ("1D-CNN-LSTM (128)", "cnn3d.base.cnn1d_lstm", "waveform", {"cells": 128}),
]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _epoch(args: tuple) -> dict:
    name, feature, params, n_segments, threads, timed, device = args
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, n_segments)
    if feature == "lld":
        feats = [torch.from_numpy(rng.standard_normal((200, 32), dtype=np.float32)) for _ in range(n_segments)]
    else:
        x = torch.from_numpy(rng.standard_normal((timed, *SHAPES[feature]), dtype=np.float32))
    base = _current_rss_mb()
    model = build_model(name, 4, SHAPES[feature], **params)
    t0 = time.perf_counter()
    if isinstance(model, torch.nn.Module):
        model.to(device)
        x = x.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        model.train()
        yt = torch.from_numpy(y[:timed]).to(device)
        for s in range(0, timed, 128):
            loss = torch.nn.functional.cross_entropy(model(x[s:s + 128]), yt[s:s + 128])
            opt.zero_grad()
            loss.backward()
            opt.step()
    else:
        model.epochs, model.device = 1, torch.device(device)
        if feature == "lld":
            model.fit(feats, y)
        else:
            model.fit(list(x), y[:timed])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - t0) * (n_segments / timed)
    gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else float("nan")
    return {"seconds": seconds, "extrapolated": timed < n_segments, "peak_mb": _rss_mb(), "gpu_mb": gpu,
            "growth_mb": _rss_mb() - base, "params": count_parameters(model)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 minutes of audio instead of 60")
    ap.add_argument("--minutes", type=float, default=None, help="pooled audio to simulate (default 60, quick 5)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu (the issue's setting) or cuda")
    ap.add_argument("--cnn1d-segments", type=int, default=None, help="segments timed for the 1D-CNN-LSTM")
    add_json_flag(ap)
    args = ap.parse_args()
    fig = Figures("cnn3d_speed", args)
    minutes = args.minutes or (5.0 if args.quick else 60.0)
    n_seg = int(round(minutes * 60 / 2))
    cnn1d = args.cnn1d_segments or (4 if args.quick else 16)
    torch.set_num_threads(args.threads)

    print("== Parameter counts (4 classes) vs the paper's Table 4 ==")
    print(f"{'model':38s} {'ours':>10s} {'paper':>8s} {'ours/paper':>10s}")
    for row in table4_models():
        m = build_model(row["name"], 4, SHAPES[row["feature"]], **row["params"])
        n, paper = count_parameters(m), PAPER_TABLE4_K[row["key"]] * 1000
        print(f"{row['key']:38s} {n:>10,d} {paper:>8,.0f} {n / paper:>10.3f}")
        fig.add(f"params_over_paper_{_tag(row['key'])}", n / paper)
    m = build_model("cnn3d.base.dnn_elm", 4, (32,), context=1)
    print(f"{'cnn3d.base.dnn_elm (context=1)':38s} {count_parameters(m):>10,d} {141000:>8,d} "
          f"{count_parameters(m) / 141000:>10.3f}")

    print(f"\n== One training epoch on {minutes:g} min of pooled audio ({n_seg} segments of 2 s), "
          f"{args.threads} threads, {args.device} ==")
    print(f"{'model':28s} {'params':>10s} {'epoch s':>10s} {'peak RSS MB':>12s} {'growth MB':>10s} "
          f"{'GPU peak MB':>12s}")
    ctx = mp.get_context("spawn")
    for label, name, feature, params in EPOCH_MODELS:
        timed = min(cnn1d, n_seg) if feature == "waveform" else n_seg
        with ctx.Pool(1) as pool:
            r = pool.apply(_epoch, ((name, feature, params, n_seg, args.threads, timed, args.device),))
        note = " (extrap.)" if r["extrapolated"] else ""
        print(f"{label:28s} {r['params']:>10,d} {r['seconds']:>10.1f} {r['peak_mb']:>12.0f} "
              f"{r['growth_mb']:>10.0f} {r['gpu_mb']:>12.0f}{note}", flush=True)
        fig.add(f"epoch_s_{_tag(label)}", r["seconds"])
        fig.add(f"peak_rss_mb_{_tag(label)}", r["peak_mb"])

    print("\n== Segment extraction throughput (generated audio, in memory) ==")
    from emoconv.features.lld import lld_of_signal
    from emoconv.features.volumes import VolumeConfig, compute_volumes

    rng = np.random.default_rng(1)
    n_utt = max(10, int(minutes * 60 / 3))
    waves = [(0.1 * rng.standard_normal(int(16000 * rng.uniform(1.0, 5.0)))).astype(np.float32)
             for _ in range(n_utt)]
    audio_s = sum(len(w) for w in waves) / 16000
    speakers = [f"c/{i % 20}" for i in range(n_utt)]
    for mode in ("trim", "split"):
        cfg = VolumeConfig(long_utterances=mode)
        t0 = time.perf_counter()
        vols = compute_volumes(cfg, waves, speakers)
        dt = time.perf_counter() - t0
        print(f"volumes ({mode:5s}): {audio_s:8.0f} s of audio -> {sum(len(v) for v in vols):5d} volumes in "
              f"{dt:6.2f} s = {audio_s / dt:8.0f} x real time")
        fig.add(f"volumes_{mode}_x_real_time", audio_s / dt)
    sub = waves[: max(5, n_utt // 10)]
    sub_s = sum(len(w) for w in sub) / 16000
    t0 = time.perf_counter()
    for w in sub:
        lld_of_signal(w)
    dt = time.perf_counter() - t0
    print(f"IS09 LLDs (openSMILE): {sub_s:8.0f} s of audio in {dt:6.2f} s = {sub_s / dt:8.0f} x real time")
    fig.add("is09_lld_x_real_time", sub_s / dt)
    fig.emit(args.json)


def _tag(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label.lower()).strip("_")


if __name__ == "__main__":
    main()
