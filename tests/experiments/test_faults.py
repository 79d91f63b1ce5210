"""Fault injection on the processes executor: workers killed at random points lose nothing.

A sweep of 24 tiny runs (builtin corpus, 4 folds x 2 model variants x 3 seeds) is run
once undisturbed (local executor) as the reference; then on 2 worker processes whose
runs SIGKILL their own process on their first attempt (``EMOCONV_FAULT_KILL``), or whose
PIDs the test reads from ``status.json`` and kills from outside. Afterwards every run
has exactly one record, equal to the reference except for timings.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from emoconv.experiments import ResultsStore, run_sweep
from emoconv.experiments.progress import read_status
from emoconv.experiments.workers import FAULT_ENV

from sweeptools import comparable, reference_sweep


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with reference_sweep(tmp_path_factory.mktemp("faults"), "faults") as ctx:
        yield ctx


def assert_complete_and_equal(rundir, reference):
    store = ResultsStore(rundir)
    files = sorted(p.name for p in (rundir / "results").iterdir() if not p.name.startswith("."))
    assert files == sorted(f"{k}.json" for k in reference)  # exactly one record per run
    for rec in store.records():
        assert comparable(rec) == reference[rec["key"]], rec["key"]
    assert store.failures() == []


def test_random_kills_are_retried_and_lose_nothing(env, tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    monkeypatch.setenv(FAULT_ENV, f"p=0.5,seed=11,dir={marks},at=any,max=3")
    res = run_sweep(env["recipe"], tmp_path / "run", executor="processes", progress=False, workers=2,
                    cache_dir=env["cache"])
    killed = sorted(p.name for p in marks.iterdir() if not p.name.startswith("."))
    assert len(killed) == 3, "the fault hook should have killed 3 workers"
    assert not res.outcome.failed
    assert sorted(res.outcome.done) == sorted(env["reference"])
    assert_complete_and_equal(tmp_path / "run", env["reference"])
    status = read_status(tmp_path / "run")
    assert status["state"] == "finished" and status["done"] == 24 and status["failed"] == 0
    # which runs the kill budget lands on depends on scheduling; a kill after the record was written
    # needs no retry, one mid-training exactly one
    mid_training = sum((marks / k).read_text() == "epoch" for k in killed)
    assert status["retries"] == mid_training
    again = run_sweep(env["recipe"], tmp_path / "run", executor="processes", progress=False, workers=2,
                      cache_dir=env["cache"])
    assert again.skipped == 24 and again.outcome.done == [] and not again.outcome.failed


def test_without_retries_killed_runs_fail_and_a_rerun_finishes_exactly_them(env, tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    monkeypatch.setenv(FAULT_ENV, f"p=0.5,seed=5,dir={marks},at=epoch,max=2")
    rundir = tmp_path / "run"
    first = run_sweep(env["recipe"], rundir, executor="processes", progress=False, workers=2, retries=0,
                      cache_dir=env["cache"])
    killed = sorted(p.name for p in marks.iterdir() if not p.name.startswith("."))
    assert len(killed) == 2 and sorted(first.outcome.failed) == killed
    for note in ResultsStore(rundir).failures():
        assert "SIGKILL" in note["error"] and note["attempts"] == 1
    assert read_status(rundir)["failed"] == len(killed)
    second = run_sweep(env["recipe"], rundir, executor="processes", progress=False, workers=2, retries=0,
                       cache_dir=env["cache"])
    assert second.skipped == 24 - len(killed)
    assert sorted(second.outcome.done) == killed and not second.outcome.failed
    assert_complete_and_equal(rundir, env["reference"])


def test_workers_killed_from_outside_by_pid(env, tmp_path, monkeypatch):
    monkeypatch.setenv("TINY_DELAY", "0.03")  # runs long enough to be caught mid-way
    rundir = tmp_path / "run"
    box: dict = {}

    def sweep():
        try:
            box["result"] = run_sweep(env["recipe"], rundir, executor="processes", progress=False, workers=2,
                                      cache_dir=env["cache"])
        except BaseException as exc:  # pragma: no cover - reported below
            box["error"] = exc

    thread = threading.Thread(target=sweep)
    thread.start()
    killed: set[int] = set()
    deadline = time.monotonic() + 120
    while thread.is_alive() and len(killed) < 2 and time.monotonic() < deadline:
        status = read_status(rundir) or {}
        for run in (status.get("running") or {}).values():
            pid = run.get("pid")
            if pid and pid not in killed and time.time() - run["since"] > 0.2:  # mid-run
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
                break
        time.sleep(0.05)
    thread.join(timeout=180)
    assert "error" not in box, box.get("error")
    assert len(killed) == 2
    assert not box["result"].outcome.failed
    assert_complete_and_equal(rundir, env["reference"])
    assert read_status(rundir)["retries"] >= 1
    assert json.loads((rundir / "status.json").read_text())["state"] == "finished"


def test_runs_killed_mid_training_resume_from_their_checkpoints(env, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONV_CHECKPOINT_S", "0")  # a checkpoint after every epoch
    marks = tmp_path / "marks"
    monkeypatch.setenv(FAULT_ENV, f"p=0.5,seed=5,dir={marks},at=epoch,max=4")
    rundir = tmp_path / "run"
    res = run_sweep(env["recipe"], rundir, executor="processes", progress=False, workers=2, cache_dir=env["cache"])
    killed = sorted(p.name for p in marks.iterdir() if not p.name.startswith("."))
    assert len(killed) == 4 and not res.outcome.failed
    assert_complete_and_equal(rundir, env["reference"])  # resumed trainings end where undisturbed ones do
    took_up = {r["key"]: [g.get("resumed_after_epoch") for g in r["grid"]] for r in ResultsStore(rundir).records()}
    assert any(took_up[k] != [None] for k in killed), "no killed run took up its checkpoint"
    assert all(took_up[k] == [None] for k in took_up if k not in killed)
    assert not (rundir / "checkpoints").exists() or not any((rundir / "checkpoints").iterdir())

