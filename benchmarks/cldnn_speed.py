"""Speed and memory of the convolution-type study's pieces.

1. Splicing memory: strided-view splicing (emoconv.features.splice) and the in-model per-batch
   gather against a copying splice, on a generated corpus of ``--hours`` of 40 log-mels.
2. Per-epoch training time of the eight models (LDNN / T / FST on 13 MFCCs; LDNN / S / T / ST /
   FST on 40 log-mels) on generated input equivalent to ``--hours`` of audio (eNTERFACE-like
   utterances of 1.5-4 s, mini-batch 10, Adam, length-sorted batches). By default
   ``--batches`` randomly drawn batches of the epoch are timed and the epoch time is extrapolated
   from their frames (printed as such); ``--full`` times whole epochs. Each CLDNN is timed with both ways
   of computing its conv layers (``compute: patches``, per spliced frame, as the paper describes, and
   ``compute: sequence``, once per utterance: emoconv.layers.convseq) on the same batches, side by side.
3. openSMILE functional extraction rate (files/s) with a cold cache on 1 and 2 threads and a warm cache.

Usage: ``python benchmarks/cldnn_speed.py [--quick] [--full] [--hours 1.0] [--batches 6]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emoconv.features import splice  # noqa: E402
from emoconv.models import build_model  # noqa: E402
from emoconv.models.cldnn import splice_batch  # noqa: E402

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

MODELS = [("LDNN (MFCCs)", "none", 13), ("T-CLDNN (MFCCs)", "T", 13), ("FST-CLDNN (MFCCs)", "FST", 13),
          ("LDNN (log-Mels)", "none", 40), ("T-CLDNN (log-Mels)", "T", 40), ("S-CLDNN (log-Mels)", "S", 40),
          ("ST-CLDNN (log-Mels)", "ST", 40), ("FST-CLDNN (log-Mels)", "FST", 40)]


def corpus_lengths(hours: float, seed: int = 0) -> list[int]:
    """Frame counts (10 ms hop) of utterances of 1.5-4 s summing to about ``hours``."""
    rng = np.random.default_rng(seed)
    total, out = int(hours * 360_000), []
    while sum(out) < total:
        out.append(int(rng.integers(150, 401)))
    return out


def splice_memory(fig: Figures, lengths: list[int], n_bins: int = 40) -> None:
    feats = [torch.randn(t, n_bins) for t in lengths]
    feat_bytes = sum(f.numel() * 4 for f in feats)
    views = [splice(f, 10, 5) for f in feats]
    view_bytes = sum(v.untyped_storage().nbytes() for v in views)
    copy_bytes = sum(v.numel() * 4 for v in views)
    order = np.argsort(lengths)
    batch_peak = 0
    for s in range(0, len(order), 10):
        idx = order[s:s + 10]
        tmax = max(lengths[i] for i in idx)
        x = torch.zeros(len(idx), 1, tmax, n_bins)
        for j, i in enumerate(idx):
            x[j, 0, :lengths[i]] = feats[i]
        patches, _, _ = splice_batch(x, torch.tensor([lengths[i] for i in idx]), 10, 5)
        batch_peak = max(batch_peak, patches.numel() * 4)
    mb = 1 / 2**20
    print(f"\n== splicing memory: {len(lengths)} utterances, {sum(lengths)} frames x {n_bins} bins ==")
    print(f"features                         {feat_bytes * mb:9.1f} MiB")
    print(f"strided-view splice (allocated)  {view_bytes * mb:9.1f} MiB   ({view_bytes / feat_bytes:.2f}x the features)")
    print(f"copying splice (would allocate)  {copy_bytes * mb:9.1f} MiB   ({copy_bytes / view_bytes:.1f}x the views)")
    print(f"in-model gather, largest batch   {batch_peak * mb:9.1f} MiB   (batch of 10, freed after the step)")
    fig.add("splice_view_over_features", view_bytes / feat_bytes)
    fig.add("splice_copy_over_view", copy_bytes / view_bytes)
    fig.add("splice_batch_peak_mib", batch_peak * mb)


def epoch_times(fig: Figures, lengths: list[int], batches: int, full: bool, names: list[str], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    order = np.argsort(lengths, kind="stable")
    all_batches = [order[s:s + 10] for s in range(0, len(order), 10)]
    total_frames = sum(lengths)
    chosen = all_batches if full else [all_batches[i] for i in rng.choice(len(all_batches),
                                                                              min(batches, len(all_batches)), False)]
    print(f"\n== per-epoch training time: {total_frames / 360000:.2f} h of audio, {len(lengths)} utterances, "
          f"{len(all_batches)} batches of 10 ==")
    print("   (whole epochs)" if full else f"   (timed {len(chosen)} random batches per model, extrapolated by frames)")
    print(f"{'model':34s} {'params':>10s} {'s/batch':>9s} {'epoch s':>9s} {'vs LDNN':>8s}")
    ldnn: dict[int, float] = {}
    runs = [(label, conv, n_bins, mode) for label, conv, n_bins in MODELS
            for mode in (("patches", "sequence") if conv != "none" else ("sequence",))]
    patch_epoch: dict[str, float] = {}
    for label, conv, n_bins, mode in runs:
        if names and label not in names and conv not in names:
            continue
        torch.manual_seed(0)
        model = build_model("cldnn", 6, (1, 300, n_bins), conv=conv, compute=mode)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        # warm-up step (allocator, oneDNN kernels)
        x = torch.randn(2, 1, 50, n_bins)
        torch.nn.functional.cross_entropy(model(x, torch.tensor([50, 40])), torch.tensor([0, 1])).backward()
        spent, frames = 0.0, 0
        for idx in chosen:
            lens = torch.tensor([lengths[i] for i in idx])
            x = torch.randn(len(idx), 1, int(lens.max()), n_bins)
            y = torch.randint(0, 6, (len(idx),))
            t0 = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(model(x, lens), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            spent += time.perf_counter() - t0
            frames += int(lens.sum())
        epoch = spent * total_frames / frames
        if conv == "none":
            ldnn[n_bins] = epoch
        ratio = f"{epoch / ldnn[n_bins]:.2f}x" if n_bins in ldnn else "-"
        params = sum(p.numel() for p in model.parameters())
        shown = label if conv == "none" else f"{label}, {mode}"
        print(f"{shown:34s} {params:10d} {spent / len(chosen):9.3f} {epoch:9.1f} {ratio:>8s}", flush=True)
        tag = "".join(c if c.isalnum() else "_" for c in label.lower()).strip("_")
        if mode == "patches":
            patch_epoch[tag] = epoch
            fig.add(f"epoch_s_{tag}_patches", epoch)
            continue
        fig.add(f"epoch_s_{tag}", epoch)
        if n_bins in ldnn and conv != "none":
            fig.add(f"epoch_ratio_vs_ldnn_{tag}", epoch / ldnn[n_bins])
        if tag in patch_epoch:
            print(f"{'':34s} sequence {patch_epoch[tag] / epoch:.2f}x faster than patches")
            fig.add(f"sequence_speedup_{tag}", patch_epoch[tag] / epoch)


def opensmile_rate(fig: Figures, n_files: int, feature_set: str) -> None:
    import soundfile as sf

    from emoconv.features.functionals import FunctionalsCache, FunctionalsConfig, extract_functionals

    cfg = FunctionalsConfig(feature_set=feature_set)
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        paths = []
        for i in range(n_files):
            t = np.arange(int(2.78 * 16000)) / 16000
            wav = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 300) * t) + 0.01 * rng.standard_normal(t.shape)
            p = Path(tmp) / "audio" / f"u{i:04d}.wav"
            p.parent.mkdir(exist_ok=True)
            sf.write(p, wav.astype(np.float32), 16000)
            paths.append(p)
        extract_functionals(cfg, paths[:1])  # load the library and config once
        rows = []
        for workers in (1, 2):
            cache = FunctionalsCache(Path(tmp) / f"cache{workers}")
            t0 = time.perf_counter()
            extract_functionals(cfg, paths, cache, workers=workers)
            rows.append((f"cold cache, {workers} thread(s)", n_files / (time.perf_counter() - t0)))
        t0 = time.perf_counter()
        extract_functionals(cfg, paths, cache, workers=1)
        rows.append(("warm cache", n_files / (time.perf_counter() - t0)))
    print(f"\n== openSMILE {feature_set} functionals: {n_files} files of 2.78 s (16 kHz WAV) ==")
    for name, rate in rows:
        print(f"{name:28s} {rate:9.1f} files/s   ({rate / rows[0][1]:.1f}x cold 1 thread)")
        tag = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
        fig.add(f"opensmile_{feature_set.lower()}_files_per_s_{tag}", rate)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="0.05 h corpus, 2 batches per model, 20 openSMILE files")
    ap.add_argument("--hours", type=float, default=None)
    ap.add_argument("--batches", type=int, default=None, help="batches timed per model (default 6; quick 2)")
    ap.add_argument("--full", action="store_true", help="time whole epochs instead of extrapolating")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a shared, loaded machine 2 OpenMP threads oversubscribe)")
    ap.add_argument("--models", nargs="*", default=[], help="labels or conv kinds to run (default: all eight)")
    ap.add_argument("--opensmile-files", type=int, default=None)
    ap.add_argument("--feature-sets", nargs="*", default=["IS09", "ComParE"])
    add_json_flag(ap)
    args = ap.parse_args()
    fig = Figures("cldnn_speed", args)
    hours = args.hours if args.hours is not None else (0.05 if args.quick else 1.0)
    batches = args.batches if args.batches is not None else (2 if args.quick else 6)
    n_files = args.opensmile_files if args.opensmile_files is not None else (20 if args.quick else 100)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    lengths = corpus_lengths(hours)
    splice_memory(fig, lengths)
    epoch_times(fig, lengths, batches, args.full, args.models)
    for fs in args.feature_sets:
        opensmile_rate(fig, n_files, fs)
    fig.emit(args.json)


if __name__ == "__main__":
    main()
