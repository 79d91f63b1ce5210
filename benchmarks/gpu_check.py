"""GPU readiness: each system's quick recipe trained on CUDA, with and without mixed precision, against CPU.

For each system (mts, mdcnn, cldnn, cnn3d) the script takes the quick recipe under ``recipes/SYSTEM/``,
picks up to two of its model variants (``--variants``), and trains the first fold of each three times
with the same seed: on the CPU (float32, the reference), on CUDA (float32) and on CUDA with
``train.amp: true`` (float16 autocast and a gradient scaler). It prints per-epoch times and checks:

* the first epoch's mean training loss, relative to the CPU's: within ``--tol-fp32`` (default 2 %) on
  CUDA float32, within ``--tol-amp`` (default 5 %) with mixed precision; the first epoch starts from the
  same weights and batches, so this catches wrong device placement, broken kernels and overflow;
* the test UA difference is printed, not checked: after several epochs nondeterministic CUDA kernels
  and float16 rounding move a tiny corpus's UA by whole utterances.

On a machine without CUDA it prints one line saying so and exits 0 (with ``--json``: that line is the
JSON object, ``"cuda": false``). ``--devices cpu,cpu`` runs the whole comparison on the CPU, to check the
script itself. Target: the whole check under 3 minutes on one GPU (``total_s`` in the output).

    python benchmarks/gpu_check.py [--json] [--systems mts,mdcnn] [--max-epochs 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emoconv.experiments.recipe import load_recipe  # noqa: E402
from emoconv.experiments.runner import execute_run, plan_runs  # noqa: E402
from emoconv.experiments.workspace import Workspace  # noqa: E402

from _figures import Figures, add_json_flag  # noqa: E402  benchmarks/_figures.py

SYSTEMS = ("mts", "mdcnn", "cldnn", "cnn3d")
EXTRA = {"cldnn": ["augment.conditions=[none]"]}  # clean speech: no noise folder needed
BUDGET_S = 180.0


def _first_runs(recipe, ws, variants: int) -> list:
    """Fold 0, first seed, of the first ``variants`` model variants trained by the neural trainer."""
    seen, out = set(), []
    runs = sorted(plan_runs(recipe, ws), key=lambda r: ".base." in r.model.name)  # the system's own models first
    for run in runs:
        if run.fold != 0 or run.seed != recipe.seeds[0] or run.variant in seen:
            continue
        if run.model.name in ("svm",) or run.model.name.endswith("_elm"):
            continue  # not trained by the torch trainer on a device
        seen.add(run.variant)
        out.append(run)
        if len(out) == variants:
            break
    return out


def check_system(system: str, devices: list[str], args, fig: Figures) -> list[dict]:
    overrides = [f"train.max_epochs={args.max_epochs}", "train.progress=false", *EXTRA.get(system, [])]
    recipe = load_recipe(ROOT / "recipes" / system / "quick.yaml", overrides)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(recipe, cache_dir=Path(args.cache) if args.cache else Path(tmp) / "cache")
        rows = []
        for run in _first_runs(recipe, ws, args.variants):
            res = {}
            for role, dev, amp in [("reference", devices[0], False), ("fp32", devices[1], False),
                                   ("amp", devices[1], True)]:
                r = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, device=dev, amp=amp))
                t0 = time.perf_counter()
                rec = execute_run(r, run, ws, None)
                res[role] = {"dev": dev, "amp": amp, "ua": rec["metrics"]["ua"],
                             "loss0": rec["history"][0]["train_loss"], "epoch_s": rec["epoch_time_mean_s"],
                             "wall_s": time.perf_counter() - t0}
            ref = res["reference"]
            for role, v in res.items():
                dev, amp = v["dev"], v["amp"]
                name = f"{dev}{'+amp' if amp else ''}"
                rel = abs(v["loss0"] - ref["loss0"]) / max(abs(ref["loss0"]), 1e-12)
                tol = args.tol_amp if amp else args.tol_fp32
                tag = "".join(c if c.isalnum() else "_" for c in f"{system}_{run.variant}_{role}".lower())
                fig.add(f"{tag}_epoch_s", v["epoch_s"])
                if role != "reference":
                    fig.add(f"{tag}_loss0_rel_diff", rel, tol)
                    fig.add(f"{tag}_ua_diff", v["ua"] - ref["ua"])
                rows.append({"system": system, "variant": run.variant, "device": name, "epoch_s": v["epoch_s"],
                             "ua": v["ua"], "loss0": v["loss0"], "rel": rel, "tol": tol,
                             "ref": role == "reference"})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--variants", type=int, default=2, help="model variants per system (default 2)")
    ap.add_argument("--max-epochs", type=int, default=4, help="epochs per training (default 4)")
    ap.add_argument("--tol-fp32", type=float, default=0.02)
    ap.add_argument("--tol-amp", type=float, default=0.05)
    ap.add_argument("--devices", default="cpu,cuda", help="reference,device (cpu,cpu checks the script itself)")
    ap.add_argument("--cache", default=None, help="feature cache folder (default: a temporary one)")
    ap.add_argument("--quick", action="store_true", help="one variant per system, 2 epochs")
    add_json_flag(ap)
    args = ap.parse_args()
    if args.quick:
        args.variants, args.max_epochs = 1, 2
    fig = Figures("gpu_check", args)
    devices = [d.strip() for d in args.devices.split(",")]
    if len(devices) != 2:
        raise SystemExit("--devices: give two, e.g. cpu,cuda")
    if any(d.startswith("cuda") for d in devices) and not torch.cuda.is_available():
        msg = "gpu_check: no CUDA device on this machine (torch.cuda.is_available() is False); nothing checked"
        if args.json:
            fig.add("cuda", False)
            fig.add("reason", msg)
            fig.emit(True)
        else:
            print(msg)
        return
    if devices[1].startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    fig.add("cuda", devices[1].startswith("cuda"))
    t0 = time.perf_counter()
    rows = []
    for system in [s.strip() for s in args.systems.split(",") if s.strip()]:
        if system not in SYSTEMS:
            raise SystemExit(f"--systems: unknown system {system!r}; choose from {', '.join(SYSTEMS)}")
        rows += check_system(system, devices, args, fig)
    total = time.perf_counter() - t0
    print(f"{'system':<7} {'variant':<34} {'device':<10} {'epoch s':>8} {'UA':>6} {'loss ep1':>9} {'rel diff':>9}  check")
    failed = 0
    for r in rows:
        ok = r["ref"] or r["rel"] <= r["tol"]
        failed += not ok
        check = "reference" if r["ref"] else f"{'ok' if ok else 'FAILED'} (tol {r['tol']:.0%})"
        print(f"{r['system']:<7} {r['variant'][:34]:<34} {r['device']:<10} {r['epoch_s']:>8.3f} {r['ua']:>6.3f} "
              f"{r['loss0']:>9.4f} {r['rel']:>9.2%}  {check}")
    print(f"total {total:.0f} s (target < {BUDGET_S:.0f} s on one GPU); {failed} check(s) failed")
    fig.add("total_s", total, BUDGET_S, "<")
    fig.add("failed_checks", failed, 0, "<=")
    fig.emit(args.json)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
