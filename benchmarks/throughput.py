"""Training throughput of every system as achieved multiply-adds per second against this machine's peak.

1. Peak: a large convolution (64 -> 64 channels, 3 x 3, batch 16 of 64 x 64 maps; 2.4 G multiply-adds)
   timed forward, the best of ``--repeats``: what this CPU reaches on the operation CNNs are made of.
2. Each system: one training step (forward, backward, Adam update) on a batch of EMODB-sized inputs (3 s
   of 40 log-mel bands at a 10 ms hop, A2 on 161 STFT bins, the 3D CNN on its volumes); multiply-adds
   counted by ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2, forward and backward), time the
   median of ``--steps`` steps (LSTM layers counted from their sizes: their fused CPU kernel is invisible to
   the counter). Printed: G multiply-adds per step, ms per step, achieved G MAC/s and the
   share of the peak. A share far below the others marks a system whose time goes to something other than
   arithmetic (memory-bound layers, Python overhead per batch, small kernels).

    python benchmarks/throughput.py [--threads 2] [--batch 16] [--steps 5] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

# (label, registered model, params, example shape without the batch axis)
SYSTEMS = [
    ("A1 standard", "mts.a1", {"conv": "standard"}, (1, 300, 40)),
    ("A1 MTS", "mts.a1", {"conv": "mts", "scales": [0.5, 1, 2]}, (1, 300, 40)),
    ("A2 standard (STFT 161)", "mts.a2", {"conv": "standard"}, (1, 300, 161)),
    ("A3 standard", "mts.a3", {"conv": "standard"}, (1, 300, 40)),
    ("A3 MTS", "mts.a3", {"conv": "mts", "scales": [0.5, 1, 2]}, (1, 300, 40)),
    ("A4 standard", "mts.a4", {"conv": "standard"}, (1, 300, 40)),
    ("multi-dilated CNN", "mdcnn", {}, (3, 300, 40)),
    ("CLDNN", "cldnn", {}, (1, 300, 40)),
    ("ST-CLDNN", "cldnn", {"conv": "ST", "kernel1": [6, 5], "kernel2": [3, 2]}, (1, 300, 40)),
    ("ST-CLDNN (per-patch convs)", "cldnn", {"conv": "ST", "kernel1": [6, 5], "kernel2": [3, 2], "compute": "patches"},
     (1, 300, 40)),
    ("T-CLDNN", "cldnn", {"conv": "T", "kernel1": [1, 5], "kernel2": [1, 2]}, (1, 300, 40)),
    ("3D-CNN-DNN", "cnn3d.dnn", {}, (1, 10, 10, 256)),
    ("ECNet", "ecnet", {}, (1, 300, 40)),
]
PEAK_SHAPE, PEAK_CH = (16, 64, 64, 64), 64


def _time(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def peak_macs(repeats: int) -> float:
    """Multiply-adds per second of a large 3 x 3 convolution (best of ``repeats``)."""
    x = torch.randn(*PEAK_SHAPE)
    conv = torch.nn.Conv2d(PEAK_CH, PEAK_CH, 3, padding=1, bias=False)
    b, c, h, w = PEAK_SHAPE
    macs = b * h * w * c * PEAK_CH * 9
    with torch.no_grad():
        best = min(_time(lambda: conv(x), repeats))
    return macs / best


def _lstm_macs(lstm: torch.nn.LSTM, inputs: tuple) -> int:
    """Forward + backward multiply-adds of one ``nn.LSTM`` call, counted from its sizes: the fused CPU kernel
    (``mkldnn_rnn_layer``, which emoconv.layers.rnn reaches) is invisible to ``FlopCounterMode``. Per step,
    layer and direction the forward pass is ``4 H (D + H)`` multiply-adds; backward is twice that."""
    x = inputs[0]
    if isinstance(x, torch.nn.utils.rnn.PackedSequence):
        return 0  # the packed CPU path runs per-step matmuls, which the counter sees
    steps = x.shape[0] * x.shape[1]
    dirs = 2 if lstm.bidirectional else 1
    h, total, d = lstm.hidden_size, 0, lstm.input_size
    for _ in range(lstm.num_layers):
        total += dirs * 4 * h * (d + h) * steps
        d = dirs * h
    return 3 * total


def system_step(name: str, params: dict, shape: tuple, batch: int, steps: int) -> dict:
    """G multiply-adds and seconds of one training step of ``name`` on a random batch."""
    from torch.utils.flop_counter import FlopCounterMode

    from emoconv.models import build_model
    from emoconv.training import adam

    torch.manual_seed(0)
    model = build_model(name, n_classes=7, input_shape=shape, **params)
    opt = adam(model.parameters(), lr=1e-4)  # as the trainer builds it (fused where PyTorch has the kernel)
    x, y = torch.randn(batch, *shape), torch.randint(0, 7, (batch,))
    kw = {"lengths": torch.full((batch,), shape[1])} if getattr(model, "variable_length", False) else {}
    if getattr(model, "needs_labels", False):
        kw["labels"] = y
    model.train()

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x, **kw), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    counter = FlopCounterMode(display=False)
    lstm_macs = [0]

    def count(mod: torch.nn.Module, inp: tuple) -> None:  # every LSTM call, also emoconv.layers.rnn's per-direction ones
        if isinstance(mod, torch.nn.LSTM):
            lstm_macs[0] += _lstm_macs(mod, inp)

    hook = torch.nn.modules.module.register_module_forward_pre_hook(count)
    try:
        with counter:
            step()
    finally:
        hook.remove()
    macs = counter.get_total_flops() / 2 + lstm_macs[0]
    times = _time(step, steps)
    return {"gmacs": macs / 1e9, "step_s": statistics.median(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--systems", default="", help="comma-separated labels to run (default: all)")
    ap.add_argument("--quick", action="store_true", help="batch 4, 2 steps, 3 peak repeats")
    add_json_flag(ap)
    args = ap.parse_args()
    if args.quick:
        args.batch, args.steps, args.repeats = 4, 2, 3
    fig = Figures("throughput", args)
    torch.set_num_threads(args.threads)
    peak = peak_macs(args.repeats)
    fig.add("peak_gmacs_per_s", peak / 1e9)
    print(f"peak: {peak / 1e9:.1f} G multiply-adds/s (3 x 3 conv, 64 -> 64 channels, {args.threads} threads)")
    print("| system | input | G MAC / step | ms / step | G MAC/s | share of peak |")
    print("|---|---|---|---|---|---|")
    wanted = {s.strip() for s in args.systems.split(",") if s.strip()}
    for label, name, params, shape in SYSTEMS:
        if wanted and label not in wanted:
            continue
        r = system_step(name, params, shape, args.batch, args.steps)
        rate = r["gmacs"] / r["step_s"]
        key = label.split(" (")[0].lower().replace(" ", "_").replace("-", "_")
        fig.add(f"{key}_gmacs_per_s", rate)
        fig.add(f"{key}_share_of_peak", rate / (peak / 1e9))
        print(f"| {label} | {args.batch} x {tuple(shape)} | {r['gmacs']:.2f} | {1000 * r['step_s']:.0f} | "
              f"{rate:.1f} | {100 * rate / (peak / 1e9):.0f} % |")
    fig.emit(args.json)


if __name__ == "__main__":
    main()
