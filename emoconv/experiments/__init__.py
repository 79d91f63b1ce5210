"""Experiments: YAML recipes, the runner, executors and the results store."""

from .execution import EXECUTORS
from .recipe import Recipe, load_recipe
from .runner import RunSpec, execute_run, plan_runs, run_key
from .record import RunRecord
from .store import ResultsStore
from .sweep import run_sweep

__all__ = ["EXECUTORS", "Recipe", "ResultsStore", "RunRecord", "RunSpec", "execute_run", "load_recipe", "plan_runs",
           "run_key", "run_sweep"]
