"""The ``ray`` executor: each run a Ray task, on this machine or an existing Ray cluster.

* ``ray.init()`` is embedded by default (a private one-machine Ray with ``workers``
  CPUs, default all cores); ``address="ray://host:10001"`` or ``"auto"`` joins an
  existing cluster instead. A Ray session that is already initialised is reused.
* Each task asks for ``cpus_per_run`` CPUs (default 1; torch uses that many threads)
  and ``gpus_per_run`` GPUs; a fraction such as 0.25 packs four small models on one
  GPU. With a GPU Ray sets ``CUDA_VISIBLE_DEVICES`` and ``train.device: auto`` picks it.
* Faults: Ray re-executes a task whose worker process or node died up to
  ``retries`` times (``max_retries``). Python exceptions are *not* retried (runs are
  deterministic; the same error would come back) and become a failure record, as in
  the ``processes`` executor; an :class:`~emoconv.errors.EmoconvError` stops the sweep.
* Records travel back to the driver, which writes them through the results store:
  RUNDIR only has to exist where ``emoconv run`` runs. Each node keeps its own feature
  cache (``$EMOCONV_CACHE``). Corpus folders must be readable at the same path on
  every node, and recipes with ``bundle: true`` write bundles from the task into
  ``RUNDIR/bundles``, so on a multi-node cluster RUNDIR must then be on a shared file
  system.
* At most as many tasks as there are slots are submitted at a time, so ``status``
  shows what actually runs and Ctrl-C has little to cancel.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError
from .execution import EXECUTORS, SweepOutcome

_WORKSPACES: dict[str, Any] = {}
INSTALL_HINT = "the ray executor needs Ray, which is not installed; install it with: pip install 'emoconv[ray]'"


def require_ray() -> Any:
    """Import ray, or raise one ConfigError line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return ray


def _task(recipe: Any, run: Any, rundir: str, cache_dir: str | None, plugins: list[str], env: dict[str, str],
          threads: int) -> dict[str, Any]:
    """Body of one Ray task (executed in a Ray worker process, possibly on another node)."""
    os.environ.update(env)
    import torch

    torch.set_num_threads(max(1, threads))
    from ..errors import EmoconvError
    from .runner import Workspace, execute_run, recipe_hash
    from .workers import RunProgress, fault_point, import_plugins

    t0 = time.perf_counter()
    try:
        import_plugins(plugins)
        key = recipe_hash(recipe)
        if key not in _WORKSPACES:  # one workspace per worker process and recipe: features load once
            _WORKSPACES[key] = Workspace(recipe, Path(cache_dir) if cache_dir else None, progress=False)
        record = execute_run(recipe, run, _WORKSPACES[key], rundir=Path(rundir), progress=RunProgress(run.key))
    except EmoconvError as exc:
        return {"status": "fatal", "class": type(exc).__name__, "error": str(exc)}
    except Exception as exc:
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(),
                "pid": os.getpid()}
    fault_point(run.key, "written")  # test hook: lose the worker after the run, before the driver has the record
    return {"status": "ok", "record": record.to_dict(), "pid": os.getpid(), "task_s": time.perf_counter() - t0}


@EXECUTORS.register("ray")
def run_ray(recipe: Any, runs: list[Any], store: Any, progress: bool = True, cache_dir: Path | None = None,
            workers: int | None = None, address: str | None = None, retries: int = 2,
            cpus_per_run: float = 1.0, gpus_per_run: float = 0.0, plugins: Sequence[str] | None = None,
            **_: Any) -> Any:
    """Run ``runs`` as Ray tasks; see the module docstring."""
    from ..training.checkpoint import CHECKPOINT_ENV
    from .progress import SweepMonitor
    from .workers import FAULT_ENV, PLUGINS_ENV, error_from, import_plugins, plugin_list

    ray = require_ray()
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if retries < 0:
        raise ConfigError(f"--retries must be >= 0, got {retries}")
    if cpus_per_run <= 0 or gpus_per_run < 0:
        raise ConfigError("cpus_per_run must be > 0 and --gpus-per-run >= 0")
    if not runs:
        return SweepOutcome()
    names = plugin_list(plugins)
    import_plugins(names)
    started_here = False
    if not ray.is_initialized():
        if address:  # an existing cluster (also Ray Client "ray://"): its own settings apply
            ray.init(address=address)
        else:
            ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, logging_level="WARNING",
                     log_to_driver=False)
        started_here = True
    slots = _slots(ray, workers, cpus_per_run, gpus_per_run)
    forwarded = (FAULT_ENV, PLUGINS_ENV, "EMOCONV_CACHE", CHECKPOINT_ENV)  # cluster workers have their node's env
    env = {k: os.environ[k] for k in forwarded if os.environ.get(k)}
    remote = ray.remote(_task).options(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=retries,
                                       retry_exceptions=False)
    recipe_ref = ray.put(recipe)
    monitor = SweepMonitor(store.root, runs, executor="ray", workers=slots, live=progress)
    outcome = SweepOutcome()
    pending = list(reversed(runs))
    inflight: dict[Any, Any] = {}
    try:
        while pending or inflight:
            while pending and len(inflight) < slots:
                run = pending.pop()
                ref = remote.remote(recipe_ref, run, str(store.root), str(cache_dir) if cache_dir else None,
                                    names, env, max(1, int(cpus_per_run)))
                inflight[ref] = run
                monitor.started(run.key)
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
            for ref in ready:
                run = inflight.pop(ref)
                try:
                    res = ray.get(ref)
                except ray.exceptions.RayError as exc:  # worker or node lost more often than max_retries
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    error = f"{type(exc).__name__}: {reason} (gave up after {retries + 1} attempts)"
                    store.write_failure(run.key, {"error": error, "attempts": retries + 1})
                    outcome.failed[run.key] = error
                    monitor.finished(run.key, ok=False, error=error)
                    continue
                if res["status"] == "fatal":
                    raise error_from(res["class"], res["error"])
                if res["status"] == "error":
                    store.write_failure(run.key, {"error": res["error"], "traceback": res["traceback"],
                                                  "attempts": 1})
                    outcome.failed[run.key] = res["error"]
                    monitor.finished(run.key, ok=False, error=res["error"])
                    continue
                store.write(res["record"])
                outcome.done.append(run.key)
                monitor.finished(run.key, ok=True, ua=res["record"].get("metrics", {}).get("ua"))
    except BaseException:
        for ref in inflight:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # already finished or gone
                pass
        monitor.close()
        if started_here:
            ray.shutdown()
        raise
    monitor.close("finished")
    if started_here:
        ray.shutdown()
    return outcome


def _slots(ray: Any, workers: int | None, cpus_per_run: float, gpus_per_run: float) -> int:
    """Tasks that can run at once: ``workers`` if given, else what the cluster's CPUs (and GPUs) allow."""
    if workers:
        return workers
    res = ray.cluster_resources()
    slots = int(res.get("CPU", 1) // cpus_per_run)
    if gpus_per_run > 0:
        slots = min(slots, int(res.get("GPU", 0) // gpus_per_run))
        if slots < 1:
            raise ConfigError(f"--gpus-per-run {gpus_per_run}: the Ray cluster has {res.get('GPU', 0)} GPU(s)")
    return max(1, slots)
