"""Shared pieces of the sweep fault tests: a tiny plugin model, a 24-run recipe, an undisturbed reference sweep."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import pytest

from emoconv.experiments import ResultsStore, run_sweep
from emoconv.experiments.recipe import build_recipe
from emoconv.experiments.workers import FAULT_ENV, PLUGINS_ENV, import_plugins

TINY_MODULE = '''
import os, time
from torch import nn
from emoconv.models import MODELS


class Tiny(nn.Module):
    def __init__(self, channels, n_classes, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.AdaptiveAvgPool2d((4, 4)), nn.Flatten(), nn.Linear(channels * 16, hidden),
                                 nn.ReLU(), nn.Linear(hidden, n_classes))
        self.delay = float(os.environ.get("TINY_DELAY", "0"))  # slows runs down without changing results

    def forward(self, x):
        if self.delay:
            time.sleep(self.delay)
        return self.net(x)
'''
"""Source of a plugin module defining ``Tiny``; a test appends its own ``@MODELS.register`` builder."""

PLUGIN = TINY_MODULE + '''

if "{name}.tiny" not in MODELS:
    @MODELS.register("{name}.tiny")
    def build(n_classes, input_shape, hidden=8):
        return Tiny(input_shape[0], n_classes, hidden)
'''

TIMING = ("duration_s", "epoch_time_mean_s")


def tree(name: str) -> dict:
    """24 tiny runs: 4 folds x 2 hidden sizes x 3 seeds on a 4-speaker built-in corpus."""
    return {
        "name": name,
        "corpora": {"builtin": {"builtin": {"n_speakers": 4, "utterances_per_class": 2, "min_duration_s": 0.5,
                                           "max_duration_s": 0.6}}},
        "features": {"kind": "logmel", "n_mels": 16},
        "input": {"frames": 32},
        "protocol": {"kind": "kfold", "folds": 4},
        "models": [{"name": f"{name}.tiny", "sweep": {"hidden": [4, 8]}}],
        "train": {"max_epochs": 4, "patience": 2, "batch_size": 8, "progress": False, "device": "cpu"},
        "seeds": [0, 1, 2],
    }


def comparable(record: dict) -> dict:
    """A record without its timings (nor where a training took up its checkpoint)."""
    out = {k: v for k, v in record.items() if k not in TIMING}
    out["history"] = [{k: v for k, v in h.items() if k != "time_s"} for h in record["history"]]
    out["grid"] = [{k: v for k, v in g.items() if k != "resumed_after_epoch"} for g in record["grid"]]
    return out


@contextlib.contextmanager
def reference_sweep(root: Path, name: str) -> Iterator[dict]:
    """Register the plugin (here and for workers), run the undisturbed reference sweep, yield its records."""
    plugin = root / "tiny_plugin.py"
    plugin.write_text(PLUGIN.replace("{name}", name))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMOCONV_CACHE", str(root / "cache"))
        mp.setenv(PLUGINS_ENV, str(plugin))
        mp.delenv(FAULT_ENV, raising=False)
        import_plugins([str(plugin)])
        recipe = build_recipe(tree(name))
        ref = run_sweep(recipe, root / "reference", executor="local", progress=False, cache_dir=root / "cache")
        assert len(ref.planned) == 24 and not ref.outcome.failed
        reference = {r["key"]: comparable(r) for r in ResultsStore(root / "reference").records()}
        yield {"root": root, "recipe": recipe, "cache": root / "cache", "reference": reference}
