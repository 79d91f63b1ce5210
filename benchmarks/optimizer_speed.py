"""One training step with fused Adam (the default, ``train.fused_optimizer``) against the per-operation update.

For the MTS paper's A2 and A3 (standard convolution) on its 161-bin STFT input (530 frames: RAVDESS's padded
length) and ECNet on 40 log-mels, one step (forward, backward, Adam with weight decay) on a batch of
``--batch``, both optimisers timed side by side in one run, alternating, median of ``--repeats``; also the
optimiser's step alone, and the largest weight difference between the two after the timed steps.

    python benchmarks/optimizer_speed.py [--batch 32] [--repeats 3] [--threads 2] [--models a2,a3,ecnet] [--json]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

from emoconv.models import build_model
from emoconv.training import adam

MODELS = {"a2": ("mts.a2", (1, 530, 161), {"conv": "standard"}), "a3": ("mts.a3", (1, 530, 161), {"conv": "standard"}),
          "ecnet": ("ecnet", (1, 300, 40), {})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="a2,a3,ecnet")
    add_json_flag(ap)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    fig = Figures("optimizer_speed", args)
    for key in args.models.split(","):
        name, shape, params = MODELS[key]
        torch.manual_seed(0)
        base = build_model(name, n_classes=8, input_shape=shape, **params)
        nets = {"per-op": copy.deepcopy(base), "fused": copy.deepcopy(base)}
        opts = {k: adam(m.parameters(), 1e-3, 1e-3, fused=(k == "fused")) for k, m in nets.items()}
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(args.batch, *shape, generator=g), torch.randint(0, 8, (args.batch,), generator=g)
        step_t: dict[str, list[float]] = {k: [] for k in nets}
        opt_t: dict[str, list[float]] = {k: [] for k in nets}
        for r in range(args.repeats + 1):  # the first round warms up, untimed
            for k, m in nets.items():
                torch.manual_seed(r)  # the same dropout masks for both
                t0 = time.perf_counter()
                opts[k].zero_grad()
                torch.nn.functional.cross_entropy(m(x), y).backward()
                t1 = time.perf_counter()
                opts[k].step()
                t2 = time.perf_counter()
                if r:
                    step_t[k].append(t2 - t0)
                    opt_t[k].append(t2 - t1)
        med = {k: statistics.median(v) for k, v in step_t.items()}
        omed = {k: statistics.median(v) for k, v in opt_t.items()}
        diff = max((a - b).abs().max().item() for a, b in zip(nets["per-op"].parameters(), nets["fused"].parameters()))
        n = sum(p.numel() for p in base.parameters())
        print(f"{key} ({n / 1e6:.2f} M weights), batch {args.batch}: step {med['per-op']:.3f} s per-op, "
              f"{med['fused']:.3f} s fused = {med['per-op'] / med['fused']:.2f}x; Adam alone {omed['per-op']:.3f} "
              f"-> {omed['fused']:.3f} s ({omed['per-op'] / omed['fused']:.1f}x); weights differ by {diff:.1e}")
        fig.add(f"{key}_step_speedup", med["per-op"] / med["fused"])
        fig.add(f"{key}_adam_speedup", omed["per-op"] / omed["fused"])
        fig.add(f"{key}_step_s_fused", med["fused"])
        fig.add(f"{key}_weight_diff", diff)
    fig.emit(args.json)


if __name__ == "__main__":
    main()
