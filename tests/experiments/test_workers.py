"""The processes executor: pinning, errors inside runs, configuration errors, Ctrl-C and resume."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from emoconv.errors import ConfigError
from emoconv.experiments import ResultsStore, run_sweep
from emoconv.experiments.progress import read_status
from emoconv.experiments.recipe import build_recipe
from emoconv.experiments.workers import (FAULT_ENV, PLUGINS_ENV, _born_pinned, available_cores, core_shares,
                                         import_plugins)
from sweeptools import TINY_MODULE

PLUGIN = TINY_MODULE + '''
import json
import torch
from emoconv.errors import ConfigError


if "workers.tiny" not in MODELS:
    @MODELS.register("workers.tiny")
    def build(n_classes, input_shape, hidden=8, fail=None):
        if torch.empty(0).device.type == "meta":  # the recipe's load-time check: no side effects, no failures
            return Tiny(input_shape[0], n_classes, hidden)
        probe = os.environ.get("TINY_PROBE")
        if probe:  # what this worker process was given: threads, cores, BLAS variable
            info = {"threads": torch.get_num_threads(), "cores": sorted(os.sched_getaffinity(0)),
                    "omp": os.environ.get("OMP_NUM_THREADS")}
            with open(os.path.join(probe, f"{os.getpid()}.json"), "w") as fh:
                json.dump(info, fh)
        if fail == "value":
            raise ValueError("boom")
        if fail == "config":
            raise ConfigError("workers.tiny: fail=config is not a usable setting; remove it")
        return Tiny(input_shape[0], n_classes, hidden)
'''


def tree(**model):
    return {
        "name": "workers",
        "corpora": {"builtin": {"builtin": {"n_speakers": 4, "utterances_per_class": 2, "min_duration_s": 0.5,
                                           "max_duration_s": 0.6}}},
        "features": {"kind": "logmel", "n_mels": 16},
        "input": {"frames": 32},
        "protocol": {"kind": "kfold", "folds": 2},
        "models": [{"name": "workers.tiny", **model}],
        "train": {"max_epochs": 4, "patience": 2, "batch_size": 8, "progress": False, "device": "cpu"},
        "seeds": [0, 1],
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("workers")
    plugin = root / "tiny_plugin.py"
    plugin.write_text(PLUGIN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMOCONV_CACHE", str(root / "cache"))
        mp.setenv(PLUGINS_ENV, str(plugin))
        mp.delenv(FAULT_ENV, raising=False)
        import_plugins([str(plugin)])
        yield {"root": root, "plugin": plugin, "cache": root / "cache"}


def test_core_shares_cover_every_core_once():
    shares = core_shares(3, list(range(8)))
    assert [len(s) for s in shares] == [3, 3, 2]
    assert sorted(c for s in shares for c in s) == list(range(8))
    assert core_shares(4, [5, 7]) == [[5], [7], [5], [7]]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_child_is_born_pinned_and_parent_is_restored():
    core = available_cores()[-1]
    before = (os.sched_getaffinity(0), os.environ.get("OMP_NUM_THREADS"))
    code = "import os, json; print(json.dumps([sorted(os.sched_getaffinity(0)), os.environ['MKL_NUM_THREADS']]))"
    with _born_pinned([core], 1):
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    out, _ = child.communicate(timeout=60)
    assert json.loads(out) == [[core], "1"]
    assert (os.sched_getaffinity(0), os.environ.get("OMP_NUM_THREADS")) == before


@pytest.mark.skipif(len(available_cores()) < 2, reason="needs 2 cores to pin 2 workers apart")
def test_workers_get_their_own_core_and_one_thread_each(env, tmp_path, monkeypatch):
    probe = tmp_path / "probe"
    probe.mkdir()
    monkeypatch.setenv("TINY_PROBE", str(probe))
    monkeypatch.setenv("TINY_DELAY", "0.05")  # so both workers get runs, whichever is ready first
    recipe = build_recipe(tree())
    res = run_sweep(recipe, tmp_path / "run", executor="processes", progress=False, workers=2,
                    cache_dir=env["cache"])
    assert len(res.outcome.done) == 4
    seen = [json.loads(p.read_text()) for p in probe.iterdir()]
    assert len(seen) == 2  # two persistent workers built all 4 models
    shares = core_shares(2)
    assert sorted(tuple(s["cores"]) for s in seen) == sorted(tuple(s) for s in shares)
    for s in seen:
        assert s["threads"] == len(s["cores"]) and s["omp"] == str(len(s["cores"]))


def test_exception_in_a_run_fails_that_run_only_without_retry(env, tmp_path):
    recipe = build_recipe(tree(sweep={"fail": [None, "value"]}))
    res = run_sweep(recipe, tmp_path / "run", executor="processes", progress=False, workers=2,
                    cache_dir=env["cache"])
    assert len(res.outcome.done) == 4 and len(res.outcome.failed) == 4
    notes = ResultsStore(tmp_path / "run").failures()
    assert len(notes) == 4
    for note in notes:
        assert note["error"] == "ValueError: boom" and note["attempts"] == 1
        assert "Traceback" in note["traceback"]
    status = read_status(tmp_path / "run")
    assert (status["done"], status["failed"], status["retries"]) == (4, 4, 0)


def test_config_error_stops_the_sweep_with_its_message(env, tmp_path):
    recipe = build_recipe(tree(params={"fail": "config"}))
    with pytest.raises(ConfigError, match="fail=config is not a usable setting"):
        run_sweep(recipe, tmp_path / "run", executor="processes", progress=False, workers=2,
                  cache_dir=env["cache"])
    assert multiprocessing.active_children() == []  # workers were stopped
    assert read_status(tmp_path / "run")["state"] == "stopped"
    with pytest.raises(ConfigError, match="--workers must be >= 1"):
        run_sweep(recipe, tmp_path / "run2", executor="processes", progress=False, workers=0)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl_c", "sigterm"])
def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(env, tmp_path, how):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(tree(sweep={"hidden": [4, 8]})))  # 8 runs
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "emoconv.cli", "run", str(recipe), "--executor", "processes", "--workers", "2",
           "--plugin", str(env["plugin"]), "--out", str(out), "--quiet"]
    environ = {**os.environ, "TINY_DELAY": "0.3", PLUGINS_ENV: ""}  # runs last long enough to be caught mid-sweep
    # a terminal runs the foreground job with SIGINT at its default; a SIG_IGN inherited from the test process
    # (seen once in a full parallel run) would make the child ignore Ctrl-C, as a shell's background job does
    proc = subprocess.Popen(cmd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 180
    status: dict = {}
    while time.monotonic() < deadline and proc.poll() is None:
        status = read_status(out) or {}
        if status.get("done", 0) >= 1 and len(status.get("running", {})) == 2:
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the sweep ended before two runs were seen running; nothing to interrupt"
    pids = [r["pid"] for r in status["running"].values()]
    if how == "ctrl_c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
    else:
        os.kill(proc.pid, signal.SIGTERM)  # what a job scheduler or `kill` does, to the driver only
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Run the same command again to resume" in err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert read_status(out)["state"] == "interrupted"
    for pid in pids:  # the workers are gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    kept = sorted(ResultsStore(out).keys())
    assert 1 <= len(kept) < 8
    again = subprocess.run(cmd, env={**os.environ, PLUGINS_ENV: ""}, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{8 - len(kept)} runs finished, {len(kept)} already done, 0 failed" in again.stdout
    assert len(list(ResultsStore(out).keys())) == 8


def test_amp_on_cpu_is_a_no_op():
    """``train.amp`` only acts on CUDA; on the CPU training is float32 and bit-identical."""
    import numpy as np
    import torch
    from torch import nn

    from emoconv.training import Examples, TrainConfig, fit

    g = torch.Generator().manual_seed(0)
    y = np.arange(24) % 3
    data = Examples([torch.randn(1, 4, 5, generator=g) + float(c) for c in y], y)

    def build():
        return nn.Sequential(nn.Flatten(), nn.Linear(20, 3))

    runs = [fit(build, data, data, TrainConfig(max_epochs=3, batch_size=8, progress=False, device="cpu", amp=amp),
                n_classes=3) for amp in (False, True)]
    assert [h["val_loss"] for h in runs[0].history] == [h["val_loss"] for h in runs[1].history]
    for a, b in zip(runs[0].model.parameters(), runs[1].model.parameters()):
        assert a.dtype == torch.float32 and torch.equal(a, b)
