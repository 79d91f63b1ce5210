"""`emoconv run`: resolve a recipe, skip finished runs, execute the rest, rebuild the index."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .executors import EXECUTORS, SweepOutcome
from .recipe import Recipe
from .runner import RunSpec, Workspace, plan_runs, recipe_hash
from .store import ResultsStore


@dataclass
class SweepResult:
    rundir: Path
    planned: list[RunSpec]
    skipped: int
    outcome: SweepOutcome


def default_rundir(recipe: Recipe) -> Path:
    """``runs/<recipe name>``; a name that would leave ``runs/`` (a path, ``..``) is refused."""
    name = recipe.name
    if not name or name in (".", "..") or any(c in name for c in "/\\") or name.startswith("~"):
        raise ConfigError(f"recipe name {name!r}: must be a plain folder name (it becomes runs/<name>); "
                          "rename it, or choose the folder with --out")
    return Path("runs") / name


def run_sweep(recipe: Recipe, rundir: Path | None = None, executor: str = "local", progress: bool = True,
              append: bool = False, cache_dir: Path | None = None, workspace: Workspace | None = None,
              **options: Any) -> SweepResult:
    """Run every missing run of ``recipe`` into ``rundir``; finished runs are skipped.

    ``workspace`` lets a caller that already loaded the corpora and features share them.
    """
    rundir = Path(rundir) if rundir else default_rundir(recipe)
    store = ResultsStore(rundir)
    execute = EXECUTORS.get(executor)
    ws = workspace or Workspace(recipe, cache_dir, progress=progress)
    planned = plan_runs(recipe, ws)  # corpora and folds are checked before anything is written
    store.claim()  # ours or empty, and locked against a second writer
    store.bind_recipe(recipe.to_dict(), recipe_hash(recipe), allow_other=append)
    missing = [r for r in planned if not store.has(r.key)]
    skipped = len(planned) - len(missing)
    if skipped and progress:
        print(f"{skipped} of {len(planned)} runs already finished in {rundir}; running the other {len(missing)}",
              file=sys.stderr)
    extra = {"workspace": ws} if executor == "local" else {}
    try:
        outcome = execute(recipe, missing, store, progress=progress, cache_dir=cache_dir, **extra, **options)
    finally:
        store.rebuild_index()
        store.release()
    return SweepResult(rundir=rundir, planned=planned, skipped=skipped, outcome=outcome)
