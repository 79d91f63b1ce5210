"""Every benchmark script takes ``--json`` and ends with one JSON object (benchmarks/_figures.py)."""

from __future__ import annotations

import ast
import json
import sys
from argparse import Namespace
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_benchmark_has_the_json_flag_and_emits_once(script):
    tree = ast.parse(script.read_text())
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    names = [f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "" for f in calls]
    assert names.count("add_json_flag") == 1, f"{script.name}: add_json_flag(parser) missing"
    assert names.count("emit") >= 1, f"{script.name}: Figures.emit(args.json) missing"


def test_figures_print_one_json_line_with_targets(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("_figures", None)
    from _figures import Figures

    args = Namespace(quick=True, json=True)
    fig = Figures("demo", args)
    fig.add("ratio", 3.14159265, 3.6)
    fig.add("speedup", 4.0, 5.0, ">=")
    fig.add("count", 7)
    fig.emit(False)
    assert capsys.readouterr().out == ""
    fig.emit(True)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    obj = json.loads(out[0])
    assert obj["benchmark"] == "demo" and obj["args"] == {"quick": True, "json": True}
    assert obj["figures"] == {"ratio": 3.142, "speedup": 4.0, "count": 7}
    assert obj["targets"]["ratio"] == {"op": "<=", "value": 3.6, "met": True}
    assert obj["targets"]["speedup"]["met"] is False


def test_gpu_check_without_cuda_is_one_line_and_exit_0():
    import subprocess

    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the check would run")
    out = subprocess.run([sys.executable, str(BENCH / "gpu_check.py")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert out.stdout.strip().splitlines() == [out.stdout.strip()] and "no CUDA device" in out.stdout


def test_gpu_check_compares_devices_end_to_end_on_cpu(tmp_path):
    """The comparison itself, CPU against CPU (same seed: identical first-epoch loss)."""
    import subprocess

    cmd = [sys.executable, str(BENCH / "gpu_check.py"), "--devices", "cpu,cpu", "--systems", "mts", "--variants", "1",
           "--max-epochs", "1", "--cache", str(tmp_path / "cache"), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    obj = json.loads(out.stdout.strip().splitlines()[-1])
    diffs = {k: v for k, v in obj["figures"].items() if k.endswith("_loss0_rel_diff")}
    assert len(diffs) == 2 and all(v == 0.0 for v in diffs.values())
    assert obj["figures"]["failed_checks"] == 0
