"""Cost of MTS convolution vs standard convolution, measured side by side in one run.

Measures on this machine (CPU, ``torch.set_num_threads(2)``), on an EMODB-sized input (535 utterances of
magnitude STFT, 16 kHz, 20 ms windows / 10 ms hop -> 161 bins, ``--frames`` frames each; random values, since
cost does not depend on them):

1. per-epoch training time of A1-A3, standard vs MTS with 3 branches (0.5, 1, 2) and 5 branches
   (0.25, 0.5, 1, 2, 4); the paper reports A2 at 1.30x (3) and 1.52x (5);
2. the A2 conv layer alone (forward + backward) against its arithmetic lower bound: the sum over branches
   of the branch's multiply-adds relative to one branch (``floor(k*s)/k`` for a stretched kernel, ``1/s``
   for an input-compressed branch); target: within 1.5x of the bound;
3. single-clip inference time of A1-A4, MTS vs standard, with the chosen strategy and with ``auto`` (target:
   within 2x);
4. peak memory (resident-set high-water mark ``VmHWM`` from ``/proc/self/status``; ``ru_maxrss`` is not
   used because Linux carries it over from the parent across fork/exec) of one training step, each
   configuration in its own subprocess, with the bare-interpreter baseline subtracted.

Timings interleave the configurations and keep the minimum over ``--repeats`` rounds, to damp noise from
other processes. Run: ``.venv/bin/python benchmarks/mts_cost.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from emoconv.layers.mts import MTSConv2d
from emoconv.models import build_model

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

SCALES = {"standard": None, "mts3": (0.5, 1.0, 2.0), "mts5": (0.25, 0.5, 1.0, 2.0, 4.0)}
TARGETS = {("mts.a2", "mts3"): 1.30, ("mts.a2", "mts5"): 1.52}
N_BINS = 161  # 20 ms window at 16 kHz -> n_fft 320 -> 161 bins
LOGMEL_BINS = 40
A3_TARGETS = {"kernel_3": 3.6, "auto_3": 2.2}  # issue targets; 5 branches: 1.1x the layer bound


def _model(name: str, kind: str, frames: int, strategy: str):
    """``kind``: standard, mts3, mts5, or mts3-plain/mts5-plain (the unfused stack+max graph, as before)."""
    if kind == "standard":
        return build_model(name, 7, (1, frames, N_BINS), conv="standard")
    base, _, plain = kind.partition("-")
    model = build_model(name, 7, (1, frames, N_BINS), conv="mts", scales=SCALES[base], strategy=strategy)
    for m in model.modules():
        if isinstance(m, MTSConv2d):
            m.fused = not plain
    return model


def _kinds(args) -> list[str]:
    return [*SCALES, *(("mts3-plain", "mts5-plain") if args.plain else ())]


def _epoch(model, x, y, batch: int) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()
    t0 = time.perf_counter()
    for i in range(0, len(x), batch):
        loss = F.cross_entropy(model(x[i:i + batch]), y[i:i + batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def epoch_times(args) -> dict:
    x = torch.randn(args.utterances, 1, args.frames, N_BINS)
    y = torch.randint(0, 7, (args.utterances,))
    out = {}
    for name in args.models:
        models = {k: _model(name, k, args.frames, args.strategy) for k in _kinds(args)}
        for m in models.values():  # warm-up: one batch each
            _epoch(m, x[: args.batch], y[: args.batch], args.batch)
        best = {k: math.inf for k in models}
        for _ in range(args.repeats):
            for k, m in models.items():
                best[k] = min(best[k], _epoch(m, x, y, args.batch))
        out[name] = best
        print(f"  {name}: " + ", ".join(f"{k} {v:.2f}s" for k, v in best.items()), flush=True)
    return out


def _fwd_bwd(layer, x) -> float:
    t0 = time.perf_counter()
    layer(x).sum().backward()
    return time.perf_counter() - t0


def layer_times(args) -> list[dict]:
    x = torch.randn(args.batch, 1, args.frames, N_BINS)
    rows = []
    std = torch.nn.Conv2d(1, 10, (10, 5))
    configs = [(k, s) for k in ("mts3", "mts5") for s in ("kernel", "auto", "kernel-plain", "auto-plain")]
    layers = {c: MTSConv2d(1, 10, (10, 5), scales=SCALES[c[0]], strategy=c[1].split("-")[0]) for c in configs}
    for (_, s), layer in layers.items():
        layer.fused = not s.endswith("-plain")
    best = {c: math.inf for c in [*configs, "standard"]}
    for layer in [std, *layers.values()]:
        _fwd_bwd(layer, x)
    for _ in range(args.repeats * 3):
        best["standard"] = min(best["standard"], _fwd_bwd(std, x))
        for c, layer in layers.items():
            best[c] = min(best[c], _fwd_bwd(layer, x))
    for (kind, strategy), layer in layers.items():
        bound = 0.0
        for s in layer.scales:
            if layer._use_input(s, x):
                bound += 1.0 / s
            else:
                bound += math.floor(10 * s + 1e-9) / 10
        ratio = best[(kind, strategy)] / best["standard"]
        rows.append({"scales": kind, "strategy": strategy, "ms": 1000 * best[(kind, strategy)],
                     "std_ms": 1000 * best["standard"], "ratio": ratio, "bound": bound, "vs_bound": ratio / bound})
    return rows


INFER_MODELS = ("mts.a1", "mts.a2", "mts.a3", "mts.a4")


def inference_kinds(args) -> dict[str, tuple[str, str]]:
    """Inference variants: name -> (scales kind, strategy); the MTS ones with the chosen strategy and ``auto``."""
    kinds = {k: (k, args.strategy) for k in _kinds(args)}
    if args.strategy != "auto":
        kinds.update({f"{k}-auto": (k, "auto") for k in SCALES if k != "standard"})
    return kinds


def inference_times(args) -> dict:
    """Best single-clip forward time of A1-A4, standard and each MTS variant, interleaved call by call."""
    clip = torch.randn(1, 1, args.frames, N_BINS)
    out = {}
    for name in INFER_MODELS:
        models = {k: _model(name, kind, args.frames, strategy).eval()
                  for k, (kind, strategy) in inference_kinds(args).items()}
        best = {k: math.inf for k in models}
        with torch.no_grad():
            for m in models.values():
                m(clip)
            for _ in range(args.repeats * 10):
                for k, m in models.items():
                    t0 = time.perf_counter()
                    m(clip)
                    best[k] = min(best[k], time.perf_counter() - t0)
        out[name] = best
    return out


def _layer_bound(layer: MTSConv2d, x: torch.Tensor) -> float:
    """Arithmetic lower bound of one MTS layer, in units of its unscaled convolution."""
    kt = layer.kernel_size[0]
    return sum(1.0 / s if layer._use_input(s, x) else math.floor(kt * s + 1e-9) / kt for s in layer.scales)


def a3_logmel_times(args) -> dict:
    """A3 on 40 log-mel bands (issue targets): standard vs MTS kernel/auto at 3 and 5 branches, per epoch."""
    frames = args.frames
    x = torch.randn(args.utterances, 1, frames, LOGMEL_BINS)
    y = torch.randint(0, 7, (args.utterances,))
    configs = {"standard": {"conv": "standard"}}
    for n, kind in ((3, "mts3"), (5, "mts5")):
        for strategy in ("kernel", "auto"):
            configs[f"{strategy}_{n}"] = {"conv": "mts", "scales": SCALES[kind], "strategy": strategy}
    models = {k: build_model("mts.a3", 7, (1, frames, LOGMEL_BINS), **kw) for k, kw in configs.items()}
    bounds = {}
    for k, m in models.items():
        seen: list[float] = []
        hooks = [mod.register_forward_pre_hook(lambda mod, inp: seen.append(_layer_bound(mod, inp[0])))
                 for mod in m.modules() if isinstance(mod, MTSConv2d)]
        _epoch(m, x[: args.batch], y[: args.batch], args.batch)  # warm-up batch; hooks read the layer inputs
        for h in hooks:
            h.remove()
        if seen:
            bounds[k] = seen[0]  # the first MTS layer (A3's layers share the kernel length)
    best = {k: math.inf for k in models}
    for _ in range(args.repeats):
        for k, m in models.items():
            best[k] = min(best[k], _epoch(m, x, y, args.batch))
    return {"seconds": best, "bounds": bounds}


def _peak_child(spec: str) -> None:
    """Subprocess body: one training step of the given configuration, then print ru_maxrss (MiB)."""
    cfg = json.loads(spec)
    torch.set_num_threads(2)
    if cfg["kind"] != "baseline":
        model = _model(cfg["name"], cfg["kind"], cfg["frames"], cfg["strategy"])
        x = torch.randn(cfg["batch"], 1, cfg["frames"], N_BINS)
        _epoch(model, x, torch.randint(0, 7, (cfg["batch"],)), cfg["batch"])
    with open("/proc/self/status") as fh:  # VmHWM: peak resident set of this process image
        hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print(hwm / 1024)


def peak_memory(args) -> dict:
    out = {}
    for kind in ("baseline", *_kinds(args)):
        spec = json.dumps({"name": "mts.a2", "kind": kind, "frames": args.frames, "batch": args.batch,
                           "strategy": args.strategy})
        res = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True, check=True)
        out[kind] = float(res.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="32 utterances, 150 frames, one round")
    p.add_argument("--frames", type=int, default=300, help="STFT frames per utterance (300 = 3 s; EMODB max ~898)")
    p.add_argument("--utterances", type=int, default=535)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--strategy", default="kernel", choices=("kernel", "input", "auto"),
                   help="MTS strategy for the model timings")
    p.add_argument("--malloc", default="tuned", choices=("tuned", "default"),
                   help="tuned: re-run with glibc MALLOC_MMAP_THRESHOLD_/TRIM_THRESHOLD_/TOP_PAD_ raised so "
                        "large buffers are reused instead of being unmapped and page-faulted in again")
    p.add_argument("--models", default="a1,a2,a3", help="comma-separated subset of a1,a2,a3")
    p.add_argument("--plain", action="store_true",
                   help="also time the unfused stack+max graph (layer.fused = False) side by side")
    p.add_argument("--skip", default="",
                   help="comma-separated sections to skip: epoch,layer,inference,memory,a3logmel")
    p.add_argument("--child", help=argparse.SUPPRESS)
    add_json_flag(p)
    args = p.parse_args()
    fig = Figures("mts_cost", args)
    args.models = [f"mts.{m.strip()}" for m in args.models.split(",") if m.strip()]
    skip = set(args.skip.split(","))
    if args.malloc == "tuned" and not args.child and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(2**30), MALLOC_TRIM_THRESHOLD_=str(2**30),
                   MALLOC_TOP_PAD_=str(2**27))
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)
    if args.child:
        _peak_child(args.child)
        return
    if args.quick:
        args.utterances, args.frames, args.repeats = 32, 150, 1
    torch.set_num_threads(2)
    torch.manual_seed(0)
    print(f"MTS cost on {args.utterances} x (1, {args.frames}, {N_BINS}) inputs, batch {args.batch}, "
          f"torch {torch.__version__}, 2 threads, model strategy {args.strategy!r}, malloc {args.malloc} "
          f"(MALLOC_MMAP_THRESHOLD_={os.environ.get('MALLOC_MMAP_THRESHOLD_', 'unset')})")

    mem = peak_memory(args) if "memory" not in skip else None  # first: subprocesses, before models exist
    if "epoch" not in skip:
        print("\n1. Per-epoch training time (min over rounds); ratio = MTS / standard")
        ep = epoch_times(args)
        kinds = [k for k in _kinds(args) if k != "standard"]
        print(f"{'model':<8} {'standard s':>10} " + " ".join(f"{k + ' s':>13} {'ratio':>6}" for k in kinds)
              + "   targets (A2): mts3 <= 1.30, mts5 <= 1.52")
        for name, t in ep.items():
            print(f"{name:<8} {t['standard']:>10.2f} "
                  + " ".join(f"{t[k]:>13.2f} {t[k] / t['standard']:>6.2f}" for k in kinds))
            for k in kinds:
                target = TARGETS.get((name, k))
                fig.add(f"{name.split('.')[-1]}_stft_epoch_ratio_{args.strategy}_{k}", t[k] / t["standard"], target)
    if "layer" not in skip:
        print("\n2. A2 conv layer alone (1->10 ch, [10,5]), forward+backward, batch of "
              f"{args.batch}; bound = arithmetic lower bound (x one branch); target ratio/bound <= 1.5")
        print(f"{'scales':<6} {'strategy':<12} {'std ms':>8} {'mts ms':>8} {'ratio':>6} {'bound':>6} "
              f"{'ratio/bound':>11}")
        for r in layer_times(args):
            print(f"{r['scales']:<6} {r['strategy']:<12} {r['std_ms']:>8.1f} {r['ms']:>8.1f} {r['ratio']:>6.2f} "
                  f"{r['bound']:>6.2f} {r['vs_bound']:>11.2f}")
            tag = f"layer_{r['scales']}_{r['strategy'].replace('-', '_')}"
            fig.add(f"{tag}_ratio", r["ratio"])
            fig.add(f"{tag}_ratio_over_bound", r["vs_bound"], 1.5)
    if "inference" not in skip:
        print("\n3. Single-clip inference, A1-A4 (min over runs); target MTS/standard <= 2.0 "
              f"(strategy {args.strategy}, and auto)")
        kinds = [k for k in inference_kinds(args) if k != "standard"]
        print(f"{'model':<8} {'standard ms':>11} " + " ".join(f"{k + ' ms':>13} {'ratio':>6}" for k in kinds))
        for name, t in inference_times(args).items():
            print(f"{name:<8} {1000 * t['standard']:>11.2f} "
                  + " ".join(f"{1000 * t[k]:>13.2f} {t[k] / t['standard']:>6.2f}" for k in kinds))
            for k in kinds:
                fig.add(f"{name.split('.')[-1]}_inference_ratio_{k.replace('-', '_')}", t[k] / t["standard"], 2.0)
    if mem is not None:
        print("\n4. Peak memory, A2 one training step (VmHWM of a fresh subprocess, MiB; minus baseline)")
        base = mem.pop("baseline")
        print(f"baseline (import torch + emoconv): {base:.0f} MiB")
        for k, v in mem.items():
            print(f"{k:<11} {v:>7.0f} MiB  (+{v - base:.0f} MiB, x{(v - base) / max(mem['standard'] - base, 1):.2f} "
                  "of standard's increment)")
            fig.add(f"a2_peak_memory_increment_ratio_{k}", (v - base) / max(mem["standard"] - base, 1))
    if "a3logmel" not in skip:
        print(f"\n5. A3 on {LOGMEL_BINS} log-mel bands, {args.utterances} x {args.frames} frames, per epoch (min over "
              "rounds); targets: 3 branches kernel <= 3.6x, auto <= 2.2x; 5 branches <= 1.1x the layer bound")
        res = a3_logmel_times(args)
        sec, bounds = res["seconds"], res["bounds"]
        print(f"{'config':<10} {'epoch s':>8} {'ratio':>6} {'bound':>6} {'ratio/bound':>11}")
        print(f"{'standard':<10} {sec['standard']:>8.2f}")
        for k in [k for k in sec if k != "standard"]:
            ratio = sec[k] / sec["standard"]
            print(f"{k:<10} {sec[k]:>8.2f} {ratio:>6.2f} {bounds[k]:>6.2f} {ratio / bounds[k]:>11.2f}")
            fig.add(f"a3_epoch_ratio_{k}", ratio, A3_TARGETS.get(k))
            fig.add(f"a3_bound_{k}", bounds[k])
            fig.add(f"a3_epoch_ratio_over_bound_{k}", ratio / bounds[k], 1.1 if k.endswith("_5") else None)
    fig.emit(args.json)

if __name__ == "__main__":
    main()
