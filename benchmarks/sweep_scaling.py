"""Sweep scaling: the same sweep on 1 and 2 worker processes, and the per-run overhead of Ray.

Runs a small sweep (builtin corpus, a small CNN, N runs of about a second each) with

* the ``processes`` executor and 1 worker (it gets every core and as many threads),
* the ``processes`` executor and 1 worker with 1 thread,
* the ``processes`` executor and 2 workers (one core and one thread each),
* the ``ray`` executor with 2 slots (when Ray is installed),

after a warm-up sweep that starts the worker forkserver / the Ray workers (their
start-up is reported separately), and prints wall times, the 2-vs-1-worker speedup
(target >= 1.7x on a 2-core machine) and the ray-vs-processes overhead per run
(target < 0.5 s). The load average is printed too: other processes on the machine
distort every figure.

    .venv/bin/python benchmarks/sweep_scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

PLUGIN = '''
from torch import nn
from emoconv.models import MODELS

if "bench.cnn" not in MODELS:
    @MODELS.register("bench.cnn")
    def build(n_classes, input_shape, width=16):
        c = input_shape[0]
        return nn.Sequential(nn.Conv2d(c, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d((4, 4)),
                             nn.Flatten(), nn.Linear(width * 16, n_classes))
'''


def tree(seeds: int, epochs: int) -> dict:
    return {
        "name": "scaling",
        "corpora": {"builtin": {"builtin": {"n_speakers": 4, "utterances_per_class": 4, "min_duration_s": 1.0,
                                           "max_duration_s": 1.2}}},
        "features": {"kind": "logmel", "n_mels": 40},
        "input": {"frames": 100},
        "protocol": {"kind": "kfold", "folds": 4},
        "models": [{"name": "bench.cnn"}],
        "train": {"max_epochs": epochs, "patience": epochs, "batch_size": 8, "progress": False, "device": "cpu"},
        "seeds": list(range(seeds)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 runs of 4 epochs instead of 16 runs of 8 epochs")
    add_json_flag(ap)
    args = ap.parse_args()
    fig = Figures("sweep_scaling", args)
    load_before = os.getloadavg()[0]
    seeds, epochs = (2, 4) if args.quick else (4, 8)
    work = Path(tempfile.mkdtemp(prefix="emoconv-scaling-"))
    os.environ["EMOCONV_CACHE"] = str(work / "cache")
    plugin = work / "bench_plugin.py"
    plugin.write_text(PLUGIN)
    os.environ["EMOCONV_PLUGINS"] = str(plugin)

    from emoconv.experiments import run_sweep
    from emoconv.experiments.recipe import build_recipe
    from emoconv.experiments.workers import import_plugins

    import_plugins([str(plugin)])
    recipe = build_recipe(tree(seeds, epochs))
    warm = build_recipe({**tree(1, 1), "name": "warm"})
    n_runs = 4 * seeds

    def timed(name: str, executor: str, rundir: str, **opts) -> float:
        t0 = time.perf_counter()
        res = run_sweep(recipe if rundir != "warm" else warm, work / f"{rundir}-{name}", executor=executor,
                        progress=False, cache_dir=work / "cache", **opts)
        dt = time.perf_counter() - t0
        assert not res.outcome.failed, res.outcome.failed
        if rundir != "warm":  # how busy the workers were: run time inside workers / (workers x wall time)
            from emoconv.experiments import ResultsStore

            inside = sum(r["duration_s"] for r in ResultsStore(res.rundir).records())
            busy[name] = inside / (opts.get("workers", 1) * dt)
        return dt

    rows = []
    busy: dict[str, float] = {}
    t_first = timed("proc", "processes", "warm", workers=2)  # corpus, features, forkserver start
    rows.append(("processes warm-up (corpus, features, forkserver)", t_first))
    t1 = timed("p1", "processes", "run", workers=1)
    rows.append(("processes, 1 worker (all cores' threads)", t1))
    t1t = timed("p1t", "processes", "run", workers=1, threads=1)
    rows.append(("processes, 1 worker, 1 thread", t1t))
    t2 = timed("p2", "processes", "run", workers=2)
    rows.append(("processes, 2 workers (1 core, 1 thread each)", t2))
    t_ray = None
    try:
        import ray
    except ImportError:
        ray = None
    if ray is not None:
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        rows.append(("ray.init (embedded, 2 CPUs)", time.perf_counter() - t0))
        rows.append(("ray warm-up sweep (worker processes import torch)",
                     timed("ray", "ray", "warm", workers=2)))
        t_ray = timed("ray", "ray", "run", workers=2)
        rows.append(("ray, 2 slots", t_ray))
        ray.shutdown()
    print(f"sweep: {n_runs} runs x {epochs} epochs; load average before: {load_before:.2f}; cores: "
          f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}")
    for name, secs in rows:
        print(f"  {name:<55s} {secs:7.2f} s")
    print("workers busy (run time inside workers / (workers x wall)): "
          + ", ".join(f"{k} {v:.0%}" for k, v in busy.items()))
    print(f"speedup 2 workers vs 1 worker:            {t1 / t2:5.2f}x (target >= 1.7x)")
    print(f"speedup 2 workers vs 1 worker, 1 thread:  {t1t / t2:5.2f}x")
    if t_ray is not None:
        print(f"ray overhead per run vs processes (2 workers): {(t_ray - t2) / n_runs:+.3f} s (target < 0.5 s)")
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    fig.add("speedup_2_workers", t1 / t2, 1.7, ">=")
    fig.add("speedup_2_workers_1_thread", t1t / t2)
    fig.add("sweep_1_worker_s", t1)
    fig.add("sweep_2_workers_s", t2)
    if t_ray is not None:
        fig.add("ray_overhead_per_run_s", (t_ray - t2) / n_runs, 0.5, "<")
    fig.emit(args.json)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
