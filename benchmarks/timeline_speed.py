"""`emoconv predict --timeline` on a long recording: speed (x real time) and peak memory.

Builds a bundle of the demo's model (A2 with MTS (0.5, 1, 2), 40 log-mel bands, 20 ms hop, 2.5 s input;
random weights: cost does not depend on them), writes a generated recording of ``--minutes`` minutes
(16 kHz, 16-bit WAV: tones with pauses), then times the timeline (the model's own
2.52 s windows, 1 s hop, batches of 32) in a fresh subprocess, once with the energy gate (pauses
not classified) and once with every window classified, and reads its peak resident memory (``VmHWM``).
Targets: one hour at >= 50x real time and < 2 GiB peak on the 2-core machine.

    python benchmarks/timeline_speed.py [--minutes 60] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

CHILD = r"""
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
from emoconv.bundle import load_bundle
from emoconv.timeline import timeline
b = load_bundle(sys.argv[1])
t0 = time.perf_counter()
res = timeline(b, sys.argv[2], hop_s=1.0, batch=32, vad_db=None if sys.argv[4] == "off" else -50.0)
wall = time.perf_counter() - t0
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
print(json.dumps({"wall_s": wall, "rows": len(res["rows"]), "voiced": sum(r["voiced"] for r in res["rows"]), "peak_mib": hwm, "duration_s": res["duration_s"]}))
"""


def make_bundle(root: Path) -> Path:
    import torch

    from emoconv.bundle import save_bundle
    from emoconv.features import FeatureConfig, Normalizer
    from emoconv.features.inputs import InputConfig
    from emoconv.models import build_model

    feats = FeatureConfig(kind="logmel", n_mels=40, win_ms=25, hop_ms=20)
    frames, params = 126, {"conv": "mts", "scales": [0.5, 1, 2]}
    model = build_model("mts.a2", n_classes=4, input_shape=(1, frames, 40), **params)
    norm = Normalizer("global").fit([torch.randn(1, 100, 40)])
    return save_bundle(root / "bundle", model=model, model_name="mts.a2", model_params=params,
                       input_shape=(1, frames, 40), labels=["neutral", "anger", "happiness", "sadness"],
                       features=feats, input_cfg=InputConfig(length="pad"), frames=frames, normalizer=norm)


def write_recording(path: Path, minutes: float, sr: int = 16000) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", sr, 1, "PCM_16") as f:
        for _ in range(int(np.ceil(minutes * 6))):  # 10 s chunks: 7 s of tones, 3 s of pause
            t = np.arange(7 * sr) / sr
            f0 = rng.uniform(100, 300)
            tone = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
            f.write(np.concatenate([tone, 0.001 * rng.standard_normal(3 * sr)]).astype(np.float32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--quick", action="store_true", help="5 minutes of audio")
    ap.add_argument("--threads", type=int, default=2)
    add_json_flag(ap)
    args = ap.parse_args()
    if args.quick:
        args.minutes = 5.0
    fig = Figures("timeline_speed", args)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bundle = make_bundle(root)
        rec = root / "recording.wav"
        t0 = time.perf_counter()
        write_recording(rec, args.minutes)
        print(f"recording: {args.minutes:g} min generated in {time.perf_counter() - t0:.1f} s "
              f"({rec.stat().st_size / 2**20:.0f} MiB WAV)")
        runs = {}
        for vad in ("on", "off"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(bundle), str(rec), str(args.threads), vad],
                                 capture_output=True, text=True, check=True)
            runs[vad] = json.loads(out.stdout.strip().splitlines()[-1])
    for vad, r in runs.items():
        speed = r["duration_s"] / r["wall_s"]
        what = (f"energy gate on: {r['voiced']} of {r['rows']} windows classified" if vad == "on"
                else f"gate off: all {r['rows']} windows classified")
        print(f"timeline of {r['duration_s'] / 60:.1f} min (windows of 2.52 s, 1 s hop, batch 32, {args.threads} "
              f"threads; {what}): {r['wall_s']:.1f} s = {speed:.1f}x real time (target >= 50x); peak memory "
              f"{r['peak_mib']:.0f} MiB (target < 2048 MiB)")
        suffix = "" if vad == "on" else "_all_windows"
        fig.add(f"x_real_time{suffix}", speed, 50.0, ">=")
        fig.add(f"peak_mib{suffix}", r["peak_mib"], 2048.0, "<")
        fig.add(f"wall_s{suffix}", r["wall_s"])
    fig.add("windows", runs["on"]["rows"])
    fig.add("voiced_windows", runs["on"]["voiced"])
    fig.emit(args.json)


if __name__ == "__main__":
    main()
