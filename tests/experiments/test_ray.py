"""The ray executor: a 24-run sweep whose Ray workers are killed at random points loses nothing.

Skipped when Ray is not installed (``pip install 'emoconv[ray]'``), except the check
that asking for the ray executor without Ray gives one line saying how to install it.
"""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from emoconv.cli import main
from emoconv.errors import ConfigError
from emoconv.experiments import ResultsStore, run_sweep
from emoconv.experiments.progress import read_status
from emoconv.experiments.workers import FAULT_ENV

from sweeptools import comparable, reference_sweep


def test_ray_missing_is_one_line_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    from emoconv.experiments.ray_executor import require_ray

    with pytest.raises(ConfigError, match=r"pip install 'emoconv\[ray\]'"):
        require_ray()
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\n")
    result = CliRunner().invoke(main, ["run", str(recipe), "--executor", "ray"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "pip install 'emoconv[ray]'" in lines[0]


@pytest.fixture(scope="module")
def ray_env(tmp_path_factory):
    ray = pytest.importorskip("ray", reason="ray is not installed; pip install 'emoconv[ray]' to run these tests")
    with reference_sweep(tmp_path_factory.mktemp("ray"), "raytest") as ctx:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        try:
            yield ctx
        finally:
            ray.shutdown()


def test_ray_sweep_with_killed_workers_loses_nothing(ray_env, tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    monkeypatch.setenv(FAULT_ENV, f"p=0.5,seed=3,dir={marks},at=any,max=3")
    rundir = tmp_path / "run"
    res = run_sweep(ray_env["recipe"], rundir, executor="ray", progress=False, cache_dir=ray_env["cache"])
    killed = [p for p in marks.iterdir() if not p.name.startswith(".")]
    assert len(killed) == 3  # three Ray workers died mid-run or after it, before the driver had the record
    assert not res.outcome.failed
    store = ResultsStore(rundir)
    files = sorted(p.name for p in (rundir / "results").iterdir() if not p.name.startswith("."))
    assert files == sorted(f"{k}.json" for k in ray_env["reference"])
    for rec in store.records():
        assert comparable(rec) == ray_env["reference"][rec["key"]], rec["key"]
    status = read_status(rundir)
    assert status["executor"] == "ray" and status["state"] == "finished" and status["done"] == 24
    again = run_sweep(ray_env["recipe"], rundir, executor="ray", progress=False, cache_dir=ray_env["cache"])
    assert again.skipped == 24 and again.outcome.done == []


def test_ray_worker_loss_beyond_retries_is_a_failure_then_resumed(ray_env, tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    monkeypatch.setenv(FAULT_ENV, f"p=0.5,seed=4,dir={marks},at=epoch,max=1")
    rundir = tmp_path / "run"
    first = run_sweep(ray_env["recipe"], rundir, executor="ray", progress=False, retries=0,
                      cache_dir=ray_env["cache"])
    killed = sorted(p.name for p in marks.iterdir() if not p.name.startswith("."))
    assert len(killed) == 1 and sorted(first.outcome.failed) == killed
    assert "gave up after 1 attempts" in ResultsStore(rundir).failures()[0]["error"]
    second = run_sweep(ray_env["recipe"], rundir, executor="ray", progress=False, retries=0,
                       cache_dir=ray_env["cache"])
    assert second.skipped == 23 and second.outcome.done == killed
    assert ResultsStore(rundir).failures() == []
