"""The CLDNN's bidirectional LSTM on CPU: packed sequences against emoconv.layers.rnn.bidirectional_lstm.

One training step (forward, backward) of the BLSTM alone at the CLDNN's size (128 cells per direction) on a
mini-batch of 10 utterances of ``--frames`` frames at most (lengths drawn down to 80 % of it), input width
``--width`` (40 log-mels x 16 context frames = 640 for the LDNN; 200 a CNN's output). Both are timed side by side
in one run, alternating, median of ``--repeats``; also printed: the largest difference of the outputs and of
the input gradients.

    python benchmarks/lstm_speed.py [--frames 300] [--width 640] [--repeats 5] [--threads 1] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

from emoconv.layers.rnn import bidirectional_lstm, packed_bidirectional_lstm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: as each sweep worker runs)")
    add_json_flag(ap)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fig = Figures("lstm_speed", args)
    lstm = nn.LSTM(args.width, 128, batch_first=True, bidirectional=True)
    T = args.frames
    lengths = torch.randint(int(0.8 * T), T + 1, (args.batch,))
    lengths[0] = T
    x = torch.randn(args.batch, T, args.width) * (torch.arange(T)[None, :, None] < lengths[:, None, None])

    def step(fn):
        xi = x.clone().requires_grad_(True)
        t0 = time.perf_counter()
        out = fn(lstm, xi, lengths)
        (gx,) = torch.autograd.grad(out.square().sum(), [xi])
        return time.perf_counter() - t0, out.detach(), gx

    times: dict[str, list[float]] = {"packed": [], "unpacked": []}
    step(packed_bidirectional_lstm), step(bidirectional_lstm)  # warm-up
    for _ in range(args.repeats):
        for name, fn in (("packed", packed_bidirectional_lstm), ("unpacked", bidirectional_lstm)):
            times[name].append(step(fn)[0])
    _, a, ga = step(packed_bidirectional_lstm)
    _, b, gb = step(bidirectional_lstm)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"BLSTM training step, batch {args.batch} x {T} frames x {args.width}, 128 cells/direction, "
          f"{args.threads} thread(s), median of {args.repeats}")
    for k, v in med.items():
        print(f"  {k:9s} {v * 1000:9.1f} ms   (rounds: {', '.join(f'{t * 1000:.0f}' for t in times[k])})")
    speedup = med["packed"] / med["unpacked"]
    print(f"  speed-up {speedup:.2f}x; max |output diff| {float((a - b).abs().max()):.2e}, "
          f"max |input-gradient diff| {float((ga - gb).abs().max()):.2e}")
    fig.add("packed_step_ms", med["packed"] * 1000)
    fig.add("unpacked_step_ms", med["unpacked"] * 1000)
    fig.add("speedup", speedup, target=2.0, op=">=")
    fig.add("max_output_diff", float((a - b).abs().max()), target=1e-4, op="<=")
    fig.emit(args.json)


if __name__ == "__main__":
    main()
