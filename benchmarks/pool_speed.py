"""Max pooling on the CPU: torch's ``max_pool2d`` against ``emoconv.layers.max_pool2d`` (channels-last forward).

1. The layer alone, on the shapes the models pool (A3's first pool on a batch of 40-band log-mel, A4's on one
   161-bin STFT clip, ECNet's and the multi-dilated CNN's stems, a convolution-type block): forward without
   gradients and forward + backward, best of ``--repeats``, the two timed call by call.
2. Whole models, the same network with its ``emoconv.layers.MaxPool2d`` modules and with ``torch.nn.MaxPool2d``
   in their place: single-clip inference (3 s, no gradients) and one training step (forward, backward, Adam)
   on a batch of ``--batch``. Printed: ms with torch's pool, ms with emoconv's, and torch / emoconv (> 1: faster).

    python benchmarks/pool_speed.py [--threads 2] [--repeats 20] [--batch 16] [--quick] [--json]

Target: emoconv's pool not slower than torch's in any row (speed-up >= 1.0). The multi-dilated CNN's stem
(128 channels) missed it when measured (layer 0.37x forward, the model 0.97x), so that model keeps
``torch.nn.MaxPool2d``; its layer row stays here, without a target, as the measured reason.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

# (label, input shape, kernel, stride, padding, ceil_mode)
LAYER_CASES = [
    ("A3 pool 1, batch 32 x 10 x 291 x 36", (32, 10, 291, 36), 2, None, 0, False),
    ("A4 pool 1, one clip 16 x 150 x 81", (1, 16, 150, 81), 2, None, 0, True),
    ("ECNet stem, batch 16 x 32 x 300 x 40", (16, 32, 300, 40), 2, None, 0, True),
    ("multi-dilated stem (keeps torch's pool), 16 x 128 x 300 x 40", (16, 128, 300, 40), 2, None, 0, True),
    ("conv-type block 3 / 2, batch 16 x 32 x 300 x 36", (16, 32, 300, 36), 3, 2, 0, True),
]
# (label, registered model, params, example shape without the batch axis)
MODEL_CASES = [
    ("A3 standard", "mts.a3", {"conv": "standard"}, (1, 300, 40)),
    ("A3 MTS", "mts.a3", {"conv": "mts", "scales": [0.5, 1, 2]}, (1, 300, 40)),
    ("A4 standard (STFT 161)", "mts.a4", {"conv": "standard"}, (1, 300, 161)),
    ("A4 MTS auto (STFT 161)", "mts.a4", {"conv": "mts", "scales": [0.5, 1, 2], "strategy": "auto"}, (1, 300, 161)),
    ("ECNet", "ecnet", {}, (1, 300, 40)),
    ("CLDNN", "cldnn", {}, (1, 300, 40)),
]


def _best_pair(fa, fb, repeats: int) -> tuple[float, float]:
    """Best seconds of ``fa`` and ``fb``, timed alternately (one warm-up each)."""
    fa(), fb()
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for i, f in enumerate((fa, fb)):
            t0 = time.perf_counter()
            f()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best[0], best[1]


def layer_rows(repeats: int) -> list[dict]:
    from emoconv.layers import max_pool2d

    rows = []
    for label, shape, k, s, p, ceil in LAYER_CASES:
        x = torch.randn(*shape)
        xr = x.clone().requires_grad_()
        with torch.no_grad():
            fwd = _best_pair(lambda: F.max_pool2d(x, k, s, p, ceil_mode=ceil),
                             lambda: max_pool2d(x, k, s, p, ceil_mode=ceil), repeats)
        both = _best_pair(lambda: F.max_pool2d(xr, k, s, p, ceil_mode=ceil).sum().backward(),
                          lambda: max_pool2d(xr, k, s, p, ceil_mode=ceil).sum().backward(), max(3, repeats // 2))
        rows.append({"label": label, "fwd": fwd, "train": both})
    return rows


def with_torch_pools(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose ``emoconv.layers.MaxPool2d`` modules are ``torch.nn.MaxPool2d`` again."""
    from emoconv.layers import MaxPool2d

    other = copy.deepcopy(model)
    for name, mod in list(other.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, MaxPool2d):
                setattr(mod, child_name, torch.nn.MaxPool2d(child.kernel_size, child.stride, child.padding,
                                                            child.dilation, ceil_mode=child.ceil_mode))
    return other


def model_rows(repeats: int, batch: int) -> list[dict]:
    from emoconv.layers import MaxPool2d
    from emoconv.models import build_model
    from emoconv.training import adam

    rows = []
    for label, name, params, shape in MODEL_CASES:
        torch.manual_seed(0)
        ours = build_model(name, n_classes=7, input_shape=shape, **params)
        if not any(isinstance(m, MaxPool2d) for m in ours.modules()):
            continue
        theirs = with_torch_pools(ours)
        clip = torch.randn(1, *shape)
        x, y = torch.randn(batch, *shape), torch.randint(0, 7, (batch,))

        def call(model, inp):
            kw = {"lengths": torch.full((inp.shape[0],), shape[1])} if getattr(model, "variable_length", False) else {}
            if getattr(model, "needs_labels", False) and model.training:
                kw["labels"] = y
            return model(inp, **kw)

        for m in (ours, theirs):
            m.eval()
        with torch.no_grad():
            infer = _best_pair(lambda: call(theirs, clip), lambda: call(ours, clip), repeats)
        steps = []
        for m in (theirs, ours):
            m.train()
            opt = adam(m.parameters(), lr=1e-5)

            def step(m=m, opt=opt) -> None:
                loss = F.cross_entropy(call(m, x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            steps.append(step)
        train = _best_pair(*steps, max(3, repeats // 4))
        rows.append({"label": label, "infer": infer, "train": train})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, batch 8")
    add_json_flag(ap)
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.batch = 5, 8
    torch.set_num_threads(args.threads)
    fig = Figures("pool_speed", args)
    print(f"max pooling, torch {torch.__version__}, {args.threads} threads; ms (best of runs), torch / emoconv")
    print("\n1. The layer alone")
    print(f"{'shape':48s} {'fwd torch':>10s} {'emoconv':>8s} {'x':>5s} {'f+b torch':>10s} {'emoconv':>8s} {'x':>5s}")
    for i, r in enumerate(layer_rows(args.repeats)):
        (a, b), (c, d) = r["fwd"], r["train"]
        print(f"{r['label']:48s} {1e3 * a:10.2f} {1e3 * b:8.2f} {a / b:5.2f} "
              f"{1e3 * c:10.2f} {1e3 * d:8.2f} {c / d:5.2f}")
        target = None if "keeps torch" in r["label"] else 1.0  # informational: the reason that model keeps it
        fig.add(f"layer_{i}_forward_speedup", a / b, target, ">=")
        fig.add(f"layer_{i}_train_speedup", c / d, target, ">=")
    print(f"\n2. Whole models: single-clip inference and one training step (batch {args.batch})")
    print(f"{'model':28s} {'infer torch':>12s} {'emoconv':>8s} {'x':>5s} {'step torch':>11s} {'emoconv':>8s} {'x':>5s}")
    for r in model_rows(args.repeats, args.batch):
        (a, b), (c, d) = r["infer"], r["train"]
        print(f"{r['label']:28s} {1e3 * a:12.2f} {1e3 * b:8.2f} {a / b:5.2f} "
              f"{1e3 * c:11.1f} {1e3 * d:8.1f} {c / d:5.2f}")
        key = r["label"].split(" (")[0].lower().replace(" ", "_").replace("-", "_")
        fig.add(f"{key}_inference_speedup", a / b, 1.0, ">=")
        fig.add(f"{key}_train_step_speedup", c / d, 1.0, ">=")
    fig.emit(args.json)


if __name__ == "__main__":
    main()
