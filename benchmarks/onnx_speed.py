"""The exported ONNX model against `emoconv predict`, side by side in one run: cold start and per-clip time.

Builds a bundle of the demo's model (A2 with MTS (0.5, 1, 2), 40 log-mel bands, 20 ms hop; random weights),
exports it with `emoconv export --onnx`, writes a 3 s clip, and measures
1. cold start: wall time of a fresh process scoring the clip, `python emoconv_onnx.py OUT clip.wav` against
   `emoconv predict BUNDLE clip.wav` (median of ``--repeats``); target ONNX < 0.5 s;
2. per clip, warm: `OnnxModel.predict_file` against `Bundle.predict_files`, each in a process of its own (as
   deployed: no PyTorch in the ONNX process), two alternating rounds, median of 20; target: ONNX at least 2x
   faster. (Timed in one process, the two libraries' spinning thread pools share two cores and slow each other.)

    python benchmarks/onnx_speed.py [--repeats 5] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)


def warm_child(kind: str, model_path: str, clip: str, n: int) -> None:
    """Time ``n`` warm predictions of ``clip`` in this process (after one untimed call); print the seconds."""
    if kind == "onnx":
        sys.path.insert(0, model_path)
        from emoconv_onnx import OnnxModel

        model = OnnxModel(model_path)

        def predict() -> None:
            model.predict_file(clip)
    else:
        import torch

        torch.set_num_threads(2)
        from emoconv.bundle import load_bundle

        bundle = load_bundle(model_path)

        def predict() -> None:
            bundle.predict_files([clip])
    predict()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        predict()
        times.append(time.perf_counter() - t0)
    print(" ".join(f"{t:.6f}" for t in times))


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--warm-child":
        warm_child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 cold starts, 10 warm clips")
    add_json_flag(ap)
    args = ap.parse_args()
    fig = Figures("onnx_speed", args)
    cold_n, warm_n = (3, 10) if args.quick else (args.repeats, 20)
    import torch

    torch.set_num_threads(2)
    from emoconv.bundle import load_bundle, save_bundle
    from emoconv.export import export_onnx
    from emoconv.features import FeatureConfig, Normalizer
    from emoconv.features.inputs import InputConfig
    from emoconv.models import build_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        feats = FeatureConfig(kind="logmel", n_mels=40, win_ms=25, hop_ms=20)
        params = {"conv": "mts", "scales": [0.5, 1, 2]}
        model = build_model("mts.a2", n_classes=4, input_shape=(1, 126, 40), **params)
        norm = Normalizer("global").fit([torch.randn(1, 100, 40)])
        bundle = save_bundle(root / "bundle", model=model, model_name="mts.a2", model_params=params,
                             input_shape=(1, 126, 40), labels=["neutral", "anger", "happiness", "sadness"],
                             features=feats, input_cfg=InputConfig(length="pad"), frames=126, normalizer=norm)
        t0 = time.perf_counter()
        out = export_onnx(load_bundle(bundle), root / "onnx")
        export_s = time.perf_counter() - t0
        clip = root / "clip.wav"
        t = np.arange(3 * 16000) / 16000
        sf.write(clip, (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 16000)
        exe = Path(sys.executable).with_name("emoconv")
        cmds = {"onnx": [sys.executable, str(out / "emoconv_onnx.py"), str(out), str(clip)],
                "predict": [str(exe), "predict", str(bundle), str(clip)]}
        cold: dict[str, list[float]] = {k: [] for k in cmds}
        for _ in range(cold_n):  # interleaved, so that machine load affects both
            for k, cmd in cmds.items():
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                cold[k].append(time.perf_counter() - t0)
        # warm: each side in its own process, as deployed (an ONNX process has no PyTorch in it; in one process
        # the two libraries' spinning thread pools steal the two cores from each other), rounds alternating
        warm: dict[str, list[float]] = {"onnx": [], "predict": []}
        per_round = max(1, warm_n // 2)
        for _ in range(2):
            for k in warm:
                # the ONNX child runs with one BLAS thread, as emoconv_onnx.py sets for itself when it is the program
                # (this benchmark file loads numpy before the runner module could)
                env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"} if k == "onnx" else None
                res = subprocess.run([sys.executable, __file__, "--warm-child", k, str(out if k == "onnx" else bundle),
                                      str(clip), str(per_round)], check=True, capture_output=True, text=True, env=env)
                warm[k] += [float(v) for v in res.stdout.split()[-per_round:]]
    med = {k: statistics.median(v) for k, v in cold.items()}
    wmed = {k: statistics.median(v) for k, v in warm.items()}
    print(f"export of A2 MTS: {export_s:.1f} s")
    print(f"cold start, one 3 s clip (median of {cold_n}): onnx {med['onnx']:.2f} s, emoconv predict "
          f"{med['predict']:.2f} s; target onnx < 0.5 s: {'met' if med['onnx'] < 0.5 else 'NOT met'}")
    print(f"warm, per clip (median of {warm_n}): onnx {1000 * wmed['onnx']:.1f} ms, torch {1000 * wmed['predict']:.1f} ms"
          f" = {wmed['predict'] / wmed['onnx']:.2f}x; target >= 2x: "
          f"{'met' if wmed['predict'] / wmed['onnx'] >= 2 else 'NOT met'}")
    fig.add("export_s", export_s)
    fig.add("onnx_cold_s", med["onnx"], 0.5, "<")
    fig.add("predict_cold_s", med["predict"])
    fig.add("onnx_warm_ms", 1000 * wmed["onnx"])
    fig.add("predict_warm_ms", 1000 * wmed["predict"])
    fig.add("warm_speedup", wmed["predict"] / wmed["onnx"], 2.0, ">=")
    fig.emit(args.json)


if __name__ == "__main__":
    main()
