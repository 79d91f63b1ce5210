"""Cold-start time of `emoconv predict` on one 3 s clip (target: under 3 s wall).

Trains nothing: it builds a bundle of the demo's model (A2 with MTS, log-mel 40 bands, 20 ms hop) with random
weights, writes a 3 s clip, then runs the `emoconv` command in fresh processes and reports wall times.

    python benchmarks/predict_cold.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 repeats")
    add_json_flag(ap)
    args = ap.parse_args()
    fig = Figures("predict_cold", args)
    repeats = 3 if args.quick else args.repeats

    from emoconv.bundle import save_bundle
    from emoconv.features import FeatureConfig, Normalizer
    from emoconv.features.inputs import InputConfig
    from emoconv.models import build_model

    feats = FeatureConfig(kind="logmel", n_mels=40, win_ms=25, hop_ms=20)
    frames = 126
    params = {"conv": "mts", "scales": [0.5, 1, 2]}
    model = build_model("mts.a2", n_classes=4, input_shape=(1, frames, 40), **params)
    norm = Normalizer("global").fit([torch.randn(1, 100, 40)])
    with tempfile.TemporaryDirectory() as tmp:
        bundle = save_bundle(Path(tmp) / "bundle", model=model, model_name="mts.a2", model_params=params,
                             input_shape=(1, frames, 40), labels=["neutral", "anger", "happiness", "sadness"],
                             features=feats, input_cfg=InputConfig(length="pad"), frames=frames, normalizer=norm)
        clip = Path(tmp) / "clip.wav"
        t = np.arange(3 * 16000) / 16000
        sf.write(clip, (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 16000)
        exe = Path(sys.executable).with_name("emoconv")
        cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "emoconv.cli"]),
               "predict", str(bundle), str(clip)]
        walls = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
    print(f"emoconv predict, one 3 s clip, cold process: median {statistics.median(walls):.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f}, {repeats} runs); target < 3 s: "
          f"{'met' if statistics.median(walls) < 3 else 'NOT met'}")
    fig.add("predict_cold_median_s", statistics.median(walls), 3.0, "<")
    fig.add("predict_cold_min_s", min(walls))
    fig.add("predict_cold_max_s", max(walls))
    fig.emit(args.json)


if __name__ == "__main__":
    main()
