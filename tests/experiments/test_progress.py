"""Sweep progress: the status file, its reader and `emoconv status`."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from emoconv.cli import main
from emoconv.experiments.progress import STATUS_NAME, SweepMonitor, describe_status, read_status


@dataclass(frozen=True)
class Run:
    key: str
    corpus: str = "builtin"
    variant: str = "cnn"
    fold: int = 0
    seed: int = 0


RUNS = [Run(f"k{i}", fold=i) for i in range(4)]


def test_status_follows_the_runs(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "old.json").write_text("{}")  # finished by an earlier sweep
    mon = SweepMonitor(tmp_path, RUNS, executor="processes", workers=2, live=False)
    st = read_status(tmp_path)
    assert (st["planned"], st["skipped"], st["this_sweep"], st["state"]) == (5, 1, 4, "running")
    mon.started("k0", worker=0, pid=123)
    mon.started("k1", worker=1, pid=124)
    st = read_status(tmp_path)
    assert sorted(st["running"]) == ["k0", "k1"] and st["running"]["k1"]["pid"] == 124
    assert st["eta_s"] is None  # nothing finished yet: no estimate
    mon.finished("k0", ok=True, ua=0.5)
    mon.retrying("k1", "worker 1 was killed by SIGKILL")
    mon.started("k1", worker=1, pid=125, attempt=2)
    mon.finished("k1", ok=False, error="ValueError: boom")
    st = read_status(tmp_path)
    assert (st["done"], st["failed"], st["retries"], st["running"]) == (1, 1, 1, {})
    assert st["failures"]["k1"]["error"] == "ValueError: boom"
    assert st["eta_s"] is not None and st["eta_s"] >= 0
    mon.close("finished")
    assert read_status(tmp_path)["state"] == "finished"


def test_close_reads_the_exception_in_flight(tmp_path):
    mon = SweepMonitor(tmp_path, RUNS, executor="local", live=False)
    with pytest.raises(KeyboardInterrupt):
        try:
            mon.started("k0")
            raise KeyboardInterrupt
        finally:
            mon.close()
    st = read_status(tmp_path)
    assert st["state"] == "interrupted" and st["running"] == {}
    with pytest.raises(RuntimeError):
        with SweepMonitor(tmp_path / "b", RUNS, executor="local", live=False):
            raise RuntimeError("disk on fire")
    st = read_status(tmp_path / "b")
    assert st["state"] == "stopped" and st["message"] == "RuntimeError: disk on fire"


def test_readers_always_see_a_whole_file(tmp_path):
    mon = SweepMonitor(tmp_path, [Run(f"k{i}") for i in range(100)], executor="local", live=False)
    bad: list[str] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            text = (tmp_path / STATUS_NAME).read_text()
            try:
                json.loads(text)
            except json.JSONDecodeError:
                bad.append(text)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(100):
        mon.started(f"k{i}")
        mon.finished(f"k{i}", ok=True)
    stop.set()
    t.join()
    mon.close()
    assert bad == [] and read_status(tmp_path)["done"] == 100


def test_describe_running_failed_and_dead_sweeps(tmp_path):
    mon = SweepMonitor(tmp_path, RUNS, executor="processes", workers=2, live=False)
    mon.started("k0", worker=0, pid=4242)
    mon.finished("k1", ok=False, error="ValueError: boom")
    text = describe_status(tmp_path)
    assert "sweep running: executor processes, 2 worker(s)" in text
    assert "4 planned, 0 finished before, 0 done, 1 failed, 1 running, 2 waiting" in text
    assert "running k0  builtin cnn fold 0 seed 0  worker 0 (pid 4242)" in text
    assert "failed  k1  builtin cnn fold 1 seed 0: ValueError: boom" in text
    st = json.loads((tmp_path / STATUS_NAME).read_text())
    st["pid"] = 2**22 + 12345  # a driver that no longer exists
    (tmp_path / STATUS_NAME).write_text(json.dumps(st))
    assert "ended without finishing" in describe_status(tmp_path)
    assert "run the same command again to resume" in describe_status(tmp_path)
    dead = describe_status(tmp_path)
    assert "0 running" in dead and "estimated time left" not in dead and "running k0" not in dead
    assert "checkpoints:" not in dead
    (tmp_path / "checkpoints" / "k0").mkdir(parents=True)
    (tmp_path / "checkpoints" / "k0" / "point0.pt").write_bytes(b"state")
    assert "checkpoints: 1 unfinished run(s) resume from a training checkpoint" in describe_status(tmp_path)


def test_status_command(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["status", str(tmp_path)])
    assert res.exit_code == 0 and "no sweep status" in res.output
    mon = SweepMonitor(tmp_path, RUNS, executor="ray", workers=4, live=False)
    mon.finished("k0", ok=True)
    mon.close("finished")
    res = runner.invoke(main, ["status", str(tmp_path)])
    assert res.exit_code == 0
    assert "sweep finished: executor ray, 4 worker(s)" in res.output and "1 done" in res.output
    res = runner.invoke(main, ["status", str(tmp_path), "--json"])
    assert json.loads(res.output)["done"] == 1
    res = runner.invoke(main, ["status", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "no such experiment folder" in res.output
