"""The ``local`` executor: the runs of a sweep one after another in this process (see execution.py)."""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

from ..errors import EmoconvError
from .execution import EXECUTORS, SweepOutcome
from .progress import SweepMonitor
from .recipe import Recipe
from .runner import RunSpec, Workspace, execute_run
from .store import ResultsStore


@EXECUTORS.register("local")
def run_local(recipe: Recipe, runs: list[RunSpec], store: ResultsStore, progress: bool = True,
              cache_dir: Path | None = None, workspace: Workspace | None = None, **_: Any) -> SweepOutcome:
    """Run sequentially in this process, one progress bar for the sweep."""
    from tqdm.auto import tqdm

    ws = workspace or Workspace(recipe, cache_dir, progress=progress)
    outcome = SweepOutcome()
    bar = tqdm(total=len(runs), desc="runs", unit="run", disable=not progress, dynamic_ncols=True)
    monitor = SweepMonitor(store.root, runs, executor="local", workers=1, live=False)  # status.json
    try:
        for run in runs:
            bar.set_description(f"{run.corpus} {run.variant} fold {run.fold}")
            monitor.started(run.key, worker=0, pid=os.getpid())
            try:
                record = execute_run(recipe, run, ws, rundir=store.root, progress=bar if progress else None)
            except EmoconvError:
                raise
            except Exception as exc:  # a bug or a crash in one run costs that run only
                store.write_failure(run.key, {"error": f"{type(exc).__name__}: {exc}",
                                              "traceback": traceback.format_exc(), "attempts": 1})
                outcome.failed[run.key] = f"{type(exc).__name__}: {exc}"
                monitor.finished(run.key, ok=False, error=outcome.failed[run.key])
                bar.update(1)
                continue
            store.write(record)
            outcome.done.append(run.key)
            monitor.finished(run.key, ok=True)
            bar.set_postfix(ua=f"{record['metrics']['ua']:.3f}", refresh=False)
            bar.update(1)
    finally:
        bar.close()
        monitor.close()  # finished, interrupted (Ctrl-C) or stopped, from the exception in flight
    return outcome
