"""MTS branch resampling on the CPU: ``F.interpolate`` against ``emoconv.layers.mts_fast.resize_bilinear``.

The MTS branches change a map's length along time only; ``resize_bilinear`` resamples such a map through the
channels-last ``(B*C, F, T, 1)`` view of its own memory. On the map sizes A4 and A3 resample (one 161-bin STFT
clip, a batch of 32), forward and forward + backward, best of ``--repeats``, the two timed call by call.
Printed: ms with ``F.interpolate``, ms with ``resize_bilinear``, their ratio (> 1: faster), the largest
difference of the values.

    python benchmarks/resize_speed.py [--threads 2] [--repeats 30] [--quick] [--json]

Target: ``resize_bilinear`` not slower in any row (speed-up >= 1.0).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

from emoconv.layers.mts_fast import resize_bilinear

# (label, map shape, output time length)
CASES = [
    ("A4 conv1 branch, one clip (1, 16, 146, 81) -> 150", (1, 16, 146, 81), 150),
    ("A4 conv2 branch, one clip (1, 32, 75, 40) -> 73", (1, 32, 75, 40), 73),
    ("A4 conv1 branch, batch 32 -> 150", (32, 16, 146, 81), 150),
    ("A3 log-mel branch, batch 32 (32, 10, 300, 36) -> 291", (32, 10, 300, 36), 291),
]


def _best(fns, repeats: int) -> list[float]:
    best = [float("inf")] * len(fns)
    for f in fns:
        f()
    for _ in range(repeats):
        for i, f in enumerate(fns):
            t0 = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="5 repeats")
    add_json_flag(ap)
    args = ap.parse_args()
    if args.quick:
        args.repeats = 5
    torch.set_num_threads(args.threads)
    fig = Figures("resize_speed", args)
    print(f"time-only bilinear resize, torch {torch.__version__}, {args.threads} threads; ms (best of runs)")
    print(f"{'case':56s} {'fwd interp':>10s} {'emoconv':>8s} {'x':>5s} {'f+b interp':>10s} {'emoconv':>8s} "
          f"{'x':>5s} {'max diff':>9s}")
    for i, (label, shape, t_out) in enumerate(CASES):
        y = torch.randn(*shape, requires_grad=True)
        out_hw = (t_out, shape[-1])
        plain = lambda: F.interpolate(y, size=out_hw, mode="bilinear", align_corners=False)  # noqa: E731
        fast = lambda: resize_bilinear(y, out_hw)  # noqa: E731
        with torch.no_grad():
            a, b = _best([plain, fast], args.repeats)
            diff = float((plain() - fast()).abs().max())
        g = torch.randn(shape[0], shape[1], *out_hw)
        c, d = _best([lambda: plain().backward(g), lambda: fast().backward(g)], args.repeats)
        print(f"{label:56s} {1e3 * a:10.3f} {1e3 * b:8.3f} {a / b:5.2f} {1e3 * c:10.3f} {1e3 * d:8.3f} {c / d:5.2f} "
              f"{diff:9.1e}")
        fig.add(f"case_{i}_forward_speedup", a / b, 1.0, ">=")
        fig.add(f"case_{i}_train_speedup", c / d, 1.0, ">=")
        fig.add(f"case_{i}_max_abs_diff", diff)
    fig.emit(args.json)


if __name__ == "__main__":
    main()
