"""A two-node Ray cluster on this machine: a sweep through ``--address`` survives losing a node.

``ray start --head`` and a second ``ray start --address`` (its own CPU, both on loopback) form the
cluster; ``emoconv run --executor ray --address`` sweeps 8 tiny runs on it; when a few are done the
second node is killed (SIGKILL to its whole process group). Ray re-executes the lost tasks on the head
node; after a rerun of the same command every run has exactly one record, no failure is left, and the
rerun trains nothing. Skipped when Ray is not installed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from emoconv.experiments import ResultsStore
from emoconv.experiments.progress import read_status

from sweeptools import PLUGIN, tree

pytest.importorskip("ray", reason="ray is not installed; pip install 'emoconv[ray]' to run these tests")
RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(args: list[str], env: dict) -> subprocess.Popen:
    """``ray start ... --block`` in its own process group, so that one signal takes the whole node down."""
    return subprocess.Popen([RAY, "start", *args, "--num-cpus", "1", "--disable-usage-stats", "--block"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _kill(node: subprocess.Popen) -> None:
    if node.poll() is None:
        os.killpg(node.pid, signal.SIGKILL)
        node.wait()


@pytest.fixture()
def cluster(tmp_path):
    # Ray >= 2.5x enables token authentication on clusters started with `ray start`: every node and the
    # driver get the same token (docs/scale-out.md)
    # Ray's worker processes inherit their node's environment, not the driver's: TINY_DELAY goes here (0.3 s per
    # forward), so that runs last long enough (a few seconds) for both nodes to hold one, even on a busy machine
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_health_check_period_ms": "500",
           "RAY_health_check_failure_threshold": "4", "TINY_DELAY": "0.3"}
    port = _free_port()
    address = f"127.0.0.1:{port}"
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    head = _node(["--head", "--port", str(port), "--include-dashboard", "false", "--temp-dir", temp], env)
    nodes = [head]
    try:
        _wait_for_nodes(address, env, 1)
        nodes.append(_node(["--address", address, "--resources", json.dumps({"second": 1})], env))
        _wait_for_nodes(address, env, 2)
        yield address, nodes[1], env
    finally:
        for node in reversed(nodes):
            _kill(node)
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_nodes(address: str, env: dict, n: int) -> None:
    code = (f"import ray, time\nt = time.time()\nwhile True:\n    try:\n"
            f"        ray.init(address={address!r}, logging_level='ERROR', log_to_driver=False); break\n"
            "    except Exception:\n        if time.time() - t > 90: raise\n        time.sleep(1)\n"
            f"while len([x for x in ray.nodes() if x['Alive']]) < {n} and time.time() - t < 90: time.sleep(0.5)\n"
            "print(len([x for x in ray.nodes() if x['Alive']]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=150)
    assert out.stdout.strip().endswith(str(n)), out.stderr[-2000:]


def _runs_on(node: subprocess.Popen) -> int:
    """Ray workers executing a task (process title ``ray::_task``) whose parent, the raylet, is in ``node``'s
    process group (the workers themselves get sessions of their own)."""
    rows = [line.split(None, 3) for line in subprocess.run(["ps", "-eo", "pid=,ppid=,pgid=,args="],
                                                           capture_output=True, text=True).stdout.splitlines()]
    group = {r[0]: r[2] for r in rows if len(r) >= 3}
    return sum(1 for r in rows if len(r) == 4 and r[3].startswith("ray::_task") and group.get(r[1]) == str(node.pid))


def test_a_node_killed_mid_sweep_loses_nothing_and_the_rerun_trains_nothing(cluster, tmp_path):
    address, second, env = cluster
    plugin = tmp_path / "cluster_plugin.py"
    plugin.write_text(PLUGIN.replace("{name}", "cluster"))
    spec = {**tree("cluster"), "protocol": {"kind": "kfold", "folds": 4}, "seeds": [0]}
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(json.dumps(spec))  # 8 runs: 4 folds x 2 hidden sizes
    rundir = tmp_path / "run"
    cmd = [sys.executable, "-c", "from emoconv.cli import main; main()", "run", str(recipe), "--out", str(rundir),
           "--executor", "ray", "--address", address, "--plugin", str(plugin), "--quiet"]
    run_env = {**env, "EMOCONV_CACHE": str(tmp_path / "cache")}
    sweep = subprocess.Popen(cmd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and sweep.poll() is None:
        status = read_status(rundir) if (rundir / "status.json").exists() else None
        if status and status.get("done", 0) >= 1 and _runs_on(second) >= 1:
            break  # a run is done and the second node is executing another
        time.sleep(0.2)
    assert sweep.poll() is None, "the sweep ended before the second node was seen executing a run"
    _kill(second)  # the second node; its worker processes exit with their raylet
    out, err = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, err[-3000:]
    status = read_status(rundir)
    assert status["state"] == "finished" and status["done"] + status.get("skipped", 0) == 8

    before = {p.name: p.read_bytes() for p in (rundir / "results").iterdir()}
    again = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    store = ResultsStore(rundir)
    records = list(store.records())
    files = [p for p in (rundir / "results").iterdir() if not p.name.startswith(".")]
    assert len(files) == 8 and len({r["key"] for r in records}) == 8  # every run exactly once
    assert store.failures() == []
    assert {p.name: p.read_bytes() for p in (rundir / "results").iterdir()} == before  # the rerun trained nothing
