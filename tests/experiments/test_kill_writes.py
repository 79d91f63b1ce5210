"""kill -9 of a real sweep half-way through a bundle write and half-way through corpus generation.

A sweep process (``emoconv run``, local executor, built-in corpus, a bundle per run) SIGKILLs itself at
the ``bundle`` or ``corpus`` point of :mod:`emoconv.faults`; the hidden temporary it leaves is checked,
then the same command is rerun: it finishes, every run has exactly one record and a loadable bundle, and
no temporary is left anywhere under the test's folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from emoconv.bundle import load_bundle
from emoconv.experiments import ResultsStore
from emoconv.experiments.workers import import_plugins
from emoconv.faults import FAULT_ENV

from sweeptools import PLUGIN, tree


@pytest.fixture()
def sweep(tmp_path):
    plugin = tmp_path / "killw_plugin.py"
    plugin.write_text(PLUGIN.replace("{name}", "killw"))
    import_plugins([str(plugin)])  # the bundles' model, for load_bundle here
    spec = {**tree("killw"), "protocol": {"kind": "kfold", "folds": 2}, "seeds": [0], "bundle": "all"}
    spec["models"] = [{"name": "killw.tiny"}]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(json.dumps(spec))  # JSON is YAML

    def run(fault: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "EMOCONV_CACHE": str(tmp_path / "cache")}
        env.pop(FAULT_ENV, None)
        if fault:
            env[FAULT_ENV] = f"p=1,dir={tmp_path / 'marks'},at={fault},max=1"
        cmd = [sys.executable, "-c", "from emoconv.cli import main; main()", "run", str(recipe),
               "--out", str(tmp_path / "run"), "--plugin", str(plugin), "--quiet"]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)

    return tmp_path, run


def _temps(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob(".*.tmp-*"))


def _assert_rerun_completes(root, run):
    again = run()
    assert again.returncode == 0, again.stderr
    assert _temps(root) == []
    store = ResultsStore(root / "run")
    records = list(store.records())
    assert len(records) == 2 and len({r["key"] for r in records}) == 2  # both folds, each once
    files = [p for p in (root / "run" / "results").iterdir() if not p.name.startswith(".")]
    assert len(files) == 2
    for rec in records:
        assert load_bundle(root / "run" / rec["bundle"]).labels


def test_kill_during_corpus_generation_leaves_a_temporary_the_rerun_removes(sweep):
    root, run = sweep
    first = run("corpus")
    assert first.returncode == -signal.SIGKILL
    assert [p.read_text() for p in (root / "marks").iterdir() if not p.name.startswith(".")] == ["corpus"]
    left = _temps(root)
    assert len(left) == 1 and left[0].startswith(os.path.join("cache", "builtin", "."))
    assert not [p for p in (root / "cache" / "builtin").iterdir() if not p.name.startswith(".")]  # no half corpus
    _assert_rerun_completes(root, run)


def test_kill_during_a_bundle_write_leaves_a_temporary_the_rerun_removes(sweep):
    root, run = sweep
    first = run("bundle")
    assert first.returncode == -signal.SIGKILL
    left = _temps(root)
    assert len(left) == 1 and left[0].startswith(os.path.join("run", "bundles", "."))
    half = root / left[0]
    assert (half / "weights.safetensors").exists() and not (half / "bundle.json").exists()
    assert not [p for p in (root / "run" / "bundles").iterdir() if not p.name.startswith(".")]
    _assert_rerun_completes(root, run)
