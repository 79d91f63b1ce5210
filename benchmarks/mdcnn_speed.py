"""Training speed and memory of the full multi-dilated CNN: length buckets vs padding to the longest utterance.

An EMODB-sized set of random 3 x T x 40 inputs (utterances of 1.2-9 s, 100 frames per second) is trained
for one epoch with Adam by each pipeline, each in a fresh process so that peak memory is its own:

* ``bucketed``: :func:`emoconv.training.batching.bucket_batches` + :func:`pad_batch` (pad to the batch max);
* ``padded``: random batches, every utterance padded to the longest utterance of the set.

Both pass ``lengths`` so the two compute identical logits; only the padding differs. Then the real-time
factor of inference on one 10 s utterance (eval mode, no grad) is measured.

    .venv/bin/python benchmarks/mdcnn_speed.py --quick          # 32 utterances, a few minutes on 1 core
    .venv/bin/python benchmarks/mdcnn_speed.py                  # 535 utterances (long on CPU)
    .venv/bin/python benchmarks/mdcnn_speed.py --device cuda    # GPU peak memory from torch.cuda

Peak memory on CPU is the process's peak resident set size minus its size just before training (this
includes allocator fragmentation, which varying batch shapes make worse); "saved MiB" is the largest total of
tensors autograd saved for backward in one batch (the activation memory, independent of the allocator). Epoch time
is reported as wall time and as the process's CPU time (robust to other jobs sharing the cores); with
``--threads 1`` CPU time is the compute cost.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FULL_N = 535


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _data(n: int, seed: int):
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    frames = (rng.uniform(1.2, 9.0, size=n) * 100).astype(int)
    gen = torch.Generator().manual_seed(seed)
    xs = [torch.randn(3, int(t), 40, generator=gen) for t in frames]
    return xs, torch.from_numpy(rng.integers(0, 7, size=n))


def _epoch(pipeline: str, n: int, batch_size: int, threads: int, device: str, seed: int, queue) -> None:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from emoconv.models import build_model
    from emoconv.training.batching import bucket_batches, pad_batch

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    xs, y = _data(n, seed)
    model = build_model("mdcnn", 7, (3, 0, 40)).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    lengths = [int(x.shape[1]) for x in xs]
    if pipeline == "bucketed":
        batches = bucket_batches(lengths, batch_size, shuffle=True, seed=seed)
    else:
        order = np.random.default_rng(seed).permutation(n)
        batches = [order[i:i + batch_size].tolist() for i in range(0, n, batch_size)]
    t_max = max(lengths)
    base = _rss_mib()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    frames, saved_peak = 0, 0.0
    start, cpu0 = time.perf_counter(), time.process_time()
    for idx in batches:
        x, lens = pad_batch([xs[i] for i in idx])
        if pipeline == "padded":
            x = F.pad(x, (0, 0, 0, t_max - x.shape[2]))
        frames += x.shape[0] * x.shape[2]
        x, lens, yb = x.to(device), lens.to(device), y[idx].to(device)
        saved: dict[int, int] = {}

        def pack(t, saved=saved):
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = F.cross_entropy(model(x, lengths=lens, labels=yb), yb)
        saved_peak = max(saved_peak, sum(saved.values()) / 2**20)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device == "cuda":
        torch.cuda.synchronize()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else _rss_mib() - base
    queue.put(dict(epoch_s=elapsed, cpu_s=cpu, peak_mib=peak, saved_mib=saved_peak, frames=frames,
                   real_frames=sum(lengths)))


def _run(pipeline: str, args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_epoch, args=(pipeline, args.n, args.batch_size, args.threads, args.device,
                                            args.seed, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _rtf(args) -> tuple[float, float]:
    import torch

    from emoconv.models import build_model

    torch.set_num_threads(args.threads)
    model = build_model("mdcnn", 7, (3, 0, 40)).to(args.device).eval()
    x = torch.randn(1, 3, 1000, 40, device=args.device)
    times = []
    with torch.no_grad():
        model(x)  # warm-up
        for _ in range(args.repeats):
            if args.device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            if args.device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return med, med / 10.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="32 utterances, batch 8, 3 inference repeats")
    p.add_argument("--n", type=int, default=FULL_N, help="number of utterances (EMODB: 535)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    add_json_flag(p)
    args = p.parse_args()
    fig = Figures("mdcnn_speed", args)
    if args.quick:
        args.n, args.batch_size, args.repeats = 32, 8, 3
    print(f"full MDCNN (multidilated, SPP(1,5,10), attention, ArcFace, 128 filters), {args.n} utterances of "
          f"1.2-9 s, batch {args.batch_size}, device {args.device}, {args.threads} thread(s)")
    rows = {name: _run(name, args) for name in ("bucketed", "padded")}
    b, q = rows["bucketed"], rows["padded"]
    scale = FULL_N / args.n
    print(f"{'pipeline':<10} {'wall s':>8} {'CPU s':>8} {'CPU s @535':>11} {'peak MiB':>9} {'saved MiB':>10} "
          f"{'frames seen':>12} {'pad %':>6}")
    for name, r in rows.items():
        pad = 100.0 * (r["frames"] - r["real_frames"]) / r["frames"]
        print(f"{name:<10} {r['epoch_s']:8.1f} {r['cpu_s']:8.1f} {r['cpu_s'] * scale:11.0f} {r['peak_mib']:9.0f} "
              f"{r['saved_mib']:10.0f} {r['frames']:12d} {pad:6.1f}")
        fig.add(f"{name}_epoch_s", r["epoch_s"])
        fig.add(f"{name}_cpu_s", r["cpu_s"])
        fig.add(f"{name}_peak_mib", r["peak_mib"])
        fig.add(f"{name}_pad_percent", pad)
    print(f"padded / bucketed: wall x{q['epoch_s'] / b['epoch_s']:.2f}, CPU x{q['cpu_s'] / b['cpu_s']:.2f}, "
          f"peak memory x{q['peak_mib'] / max(b['peak_mib'], 1e-9):.2f}, saved activations "
          f"x{q['saved_mib'] / max(b['saved_mib'], 1e-9):.2f}, frames x{q['frames'] / b['frames']:.2f}")
    if scale != 1.0:
        print(f"(CPU s @535 = measured CPU time x {scale:.1f}, a linear extrapolation, not a measurement)")
    med, rtf = _rtf(args)
    print(f"inference, one 10 s utterance: {med * 1000:.0f} ms (median of {args.repeats}), real-time factor {rtf:.3f}")
    fig.add("padded_over_bucketed_cpu", q["cpu_s"] / b["cpu_s"])
    fig.add("padded_over_bucketed_peak_memory", q["peak_mib"] / max(b["peak_mib"], 1e-9))
    fig.add("inference_10s_ms", med * 1000)
    fig.add("inference_real_time_factor", rtf)
    fig.emit(args.json)


if __name__ == "__main__":
    main()
