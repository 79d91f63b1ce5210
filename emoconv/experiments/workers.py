"""The ``processes`` executor: persistent, supervised worker processes on one machine.

* **Start.** Workers fork from a ``multiprocessing`` forkserver that imported torch and
  emoconv once (``spawn`` where there is none), so a worker (re)starts in milliseconds.
* **Pinning.** The usable cores are split into N contiguous shares; each worker pins
  itself to its share (``os.sched_setaffinity``) and sets ``OMP_NUM_THREADS`` etc. and
  ``torch.set_num_threads`` to its size before any thread pool exists (with ``spawn`` it
  is born so: the supervisor sets both around ``Process.start()``). No oversubscription.
* **Persistent.** A worker keeps its :class:`~emoconv.experiments.runner.Workspace`
  (corpus, features, folds) and takes one run at a time over its own pipe, so the
  supervisor always knows which run each worker holds (no shared queue to corrupt).
* **Faults.** A worker that dies (``kill -9``, OOM killer, segfault) costs only its run:
  requeued up to ``retries`` times (default 2), worker restarted, then written to
  ``failed/<key>.json`` with the reason. A Python exception in a run fails that run and
  is *not* retried (runs are deterministic: the same seed raises it again;
  ``retry_errors=True`` changes that, ``MemoryError`` is always retried). An
  :class:`~emoconv.errors.EmoconvError` stops the sweep with its one-line message.
* **Records** are written by the worker through the store (atomic rename); a worker
  killed after writing is noticed (the record exists) and the run is not repeated.
* **Ctrl-C** (and SIGTERM, which the CLI turns into the same) terminates the workers (they
  ignore SIGINT: the supervisor decides), keeps every finished record and re-raises
  ``KeyboardInterrupt``; a worker whose supervisor vanished stops without a traceback.

Test hook: ``EMOCONV_FAULT_KILL`` (see :func:`emoconv.experiments.progress.fault_point`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import traceback
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from .plugins import PLUGINS_ENV, import_plugins, plugin_list  # noqa: F401  (shared with the ray executor)
from .progress import FAULT_ENV, RunProgress, describe_exit, error_from, fault_point  # noqa: F401
from .execution import EXECUTORS, SweepOutcome

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")




def available_cores() -> list[int]:
    """CPU ids this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def core_shares(n_workers: int, cores: Sequence[int] | None = None) -> list[list[int]]:
    """Split ``cores`` into ``n_workers`` contiguous shares (one core each, round robin, if too few).

    >>> core_shares(2, [0, 1, 2, 3, 4])
    [[0, 1, 2], [3, 4]]
    >>> core_shares(3, [0, 1])
    [[0], [1], [0]]
    """
    cores = list(cores) if cores is not None else available_cores()
    if n_workers >= len(cores):
        return [[cores[i % len(cores)]] for i in range(n_workers)]
    base, extra = divmod(len(cores), n_workers)
    out, start = [], 0
    for i in range(n_workers):
        size = base + (1 if i < extra else 0)
        out.append(cores[start:start + size])
        start += size
    return out


# -- worker side ------------------------------------------------------------------------------

def _worker_main(wid: int, share: list[int], conn: Any, recipe: Any, rundir: str, cache_dir: str | None,
                 plugins: list[str], threads: int, environ: dict[str, str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor handles Ctrl-C
    os.environ.clear()  # the supervisor's environment now, not the forkserver's from when it started
    os.environ.update(environ)
    if share and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, share)
    for var in THREAD_VARS:  # for libraries that read them late (a forkserver child has its parent's)
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(max(1, threads))
    from ..errors import EmoconvError
    from .runner import Workspace
    from .store import ResultsStore

    try:
        import_plugins(plugins)
    except EmoconvError as exc:
        conn.send(("fatal", None, type(exc).__name__, str(exc)))
        return
    store = ResultsStore(rundir)
    ws = Workspace(recipe, Path(cache_dir) if cache_dir else None, progress=False)
    conn.send(("ready", os.getpid()))
    try:
        _serve(conn, recipe, ws, store)
    except (BrokenPipeError, ConnectionResetError, EOFError):  # the supervisor is gone (SIGTERM, kill): stop quietly
        return


def _serve(conn: Any, recipe: Any, ws: Any, store: Any) -> None:
    """The worker loop: take a run, execute it, report; ``None`` or a closed pipe ends it."""
    from ..errors import EmoconvError
    from .runner import execute_run

    while True:
        try:
            run = conn.recv()
        except (EOFError, OSError):  # the supervisor is gone
            return
        if run is None:
            return
        progress = RunProgress(run.key, conn)
        try:
            record = execute_run(recipe, run, ws, rundir=store.root, progress=progress)
            store.write(record)
            fault_point(run.key, "written")
            conn.send(("done", run.key, record.get("metrics", {}).get("ua")))
        except EmoconvError as exc:
            conn.send(("fatal", run.key, type(exc).__name__, str(exc)))
        except MemoryError as exc:
            conn.send(("retry", run.key, f"MemoryError: {exc}", traceback.format_exc()))
        except Exception as exc:
            conn.send(("error", run.key, f"{type(exc).__name__}: {exc}", traceback.format_exc()))


# -- supervisor side --------------------------------------------------------------------------

@contextlib.contextmanager
def _born_pinned(share: list[int], threads: int) -> Iterator[None]:
    """Set this process's affinity and thread variables so a child started inside inherits them."""
    saved_env = {k: os.environ.get(k) for k in THREAD_VARS}
    saved_aff = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else None
    try:
        for k in THREAD_VARS:
            os.environ[k] = str(threads)
        if saved_aff is not None and share:
            os.sched_setaffinity(0, share)
        yield
    finally:
        if saved_aff is not None:
            os.sched_setaffinity(0, saved_aff)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _preload_modules() -> list[str]:
    """What the forkserver imports once: emoconv's run path, every model module, and torch's
    optimiser machinery (``torch.optim`` pulls in ``torch._dynamo`` on first use: seconds)."""
    from ..models import MODELS

    return [__name__, "emoconv.experiments.runner", "torch._dynamo", "sklearn.metrics", "emoconv.models",
            *MODELS.modules]


@dataclass
class _Worker:
    wid: int
    proc: Any
    conn: Any
    pid: int | None = None
    ready: bool = False
    run: Any = None
    dead: bool = False
    buried: bool = False


class ProcessPool:
    """Supervisor of the worker processes of one sweep (see the module docstring)."""

    def __init__(self, recipe: Any, store: Any, monitor: Any, n_workers: int, cache_dir: Path | None,
                 plugins: list[str], threads: int | None, retries: int, retry_errors: bool) -> None:
        import multiprocessing as mp

        if "forkserver" in mp.get_all_start_methods():  # see the module docstring
            self.ctx = mp.get_context("forkserver")
            self.ctx.set_forkserver_preload(_preload_modules())
        else:  # pragma: no cover - macOS/Windows
            self.ctx = mp.get_context("spawn")
        self.recipe, self.store, self.monitor = recipe, store, monitor
        self.shares = core_shares(n_workers)
        self.threads = threads
        self.cache_dir, self.plugins = cache_dir, plugins
        self.retries, self.retry_errors = retries, retry_errors
        self.workers: list[_Worker] = []
        self.attempts: dict[str, int] = {}
        self.startup_failures = 0

    def _start(self, wid: int) -> _Worker:
        share = self.shares[wid]
        threads = self.threads or len(share)
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker_main, name=f"emoconv-worker-{wid}", daemon=True,
                                args=(wid, share, child, self.recipe, str(self.store.root),
                                      str(self.cache_dir) if self.cache_dir else None, self.plugins, threads,
                                      dict(os.environ)))
        with _born_pinned(share, threads):
            proc.start()
        child.close()
        return _Worker(wid, proc, parent, pid=proc.pid)

    def run(self, runs: list[Any]) -> Any:
        from multiprocessing.connection import wait


        outcome = SweepOutcome()
        pending = deque(runs)
        self.workers = [self._start(i) for i in range(len(self.shares))]
        while pending or any(w.run is not None for w in self.workers):
            for w in self.workers:
                if w.ready and w.run is None and not w.dead and pending:
                    self._assign(w, pending.popleft(), pending)
            live = [w for w in self.workers if not w.dead]
            ready = wait([w.conn for w in live] + [w.proc.sentinel for w in live], timeout=1.0)
            for w in live:
                if w.conn in ready or w.proc.sentinel in ready:
                    self._drain(w, outcome, pending)
            for i, w in enumerate(self.workers):
                if w.dead and not w.buried:
                    self._bury(w, outcome, pending)
                    if pending:
                        self.workers[i] = self._start(w.wid)
        return outcome

    def _assign(self, w: _Worker, run: Any, pending: deque) -> None:
        try:
            w.conn.send(run)
        except OSError:  # died before taking it: not the run's fault
            pending.appendleft(run)
            w.dead = True
            return
        w.run = run
        self.attempts[run.key] = self.attempts.get(run.key, 0) + 1
        self.monitor.started(run.key, worker=w.wid, pid=w.pid, attempt=self.attempts[run.key])

    def _drain(self, w: _Worker, outcome: Any, pending: deque) -> None:
        while True:
            try:
                if not w.conn.poll():
                    break
                msg = w.conn.recv()
            except Exception:  # EOF, or half a message from a killed process
                w.dead = True
                break
            self._handle(w, msg, outcome, pending)
        if not w.dead and not w.proc.is_alive():
            w.dead = True

    def _handle(self, w: _Worker, msg: tuple, outcome: Any, pending: deque) -> None:
        kind = msg[0]
        if kind == "ready":
            w.ready, w.pid = True, msg[1]
            self.startup_failures = 0
        elif kind == "epoch":
            self.monitor.epoch(msg[1], msg[2])
        elif kind == "done":
            outcome.done.append(msg[1])
            self.monitor.finished(msg[1], ok=True, ua=msg[2])
            w.run = None
        elif kind == "fatal":
            raise error_from(msg[2], msg[3])
        elif kind in ("error", "retry"):
            key, error, tb = msg[1], msg[2], msg[3]
            run, w.run = w.run, None
            if (kind == "retry" or self.retry_errors) and self.attempts[key] <= self.retries:
                pending.appendleft(run)
                self.monitor.retrying(key, error)
            else:
                self._fail(key, error, outcome, traceback=tb, worker=w.wid)

    def _fail(self, key: str, error: str, outcome: Any, **info: Any) -> None:
        self.store.write_failure(key, {"error": error, "attempts": self.attempts.get(key, 1), **info})
        outcome.failed[key] = error
        self.monitor.finished(key, ok=False, error=error)

    def _bury(self, w: _Worker, outcome: Any, pending: deque) -> None:
        from ..errors import EmoconvError

        w.buried = True
        w.proc.join(timeout=5)
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join()
        w.conn.close()
        reason = f"worker {w.wid} (pid {w.pid}) {describe_exit(w.proc.exitcode)}"
        if not w.ready:
            self.startup_failures += 1
            if self.startup_failures > 3:
                raise EmoconvError(f"worker processes keep dying at startup ({reason}); "
                                   "try --executor local to see the error")
        run, w.run = w.run, None
        if run is None:
            return
        if self.store.has(run.key):  # died after writing its record: nothing is lost
            outcome.done.append(run.key)
            self.monitor.finished(run.key, ok=True)
        elif self.attempts[run.key] <= self.retries:
            pending.appendleft(run)
            self.monitor.retrying(run.key, reason)
        else:
            self._fail(run.key, f"{reason}; gave up after {self.attempts[run.key]} attempts", outcome,
                       worker=w.wid)

    def shutdown(self, force: bool = False) -> None:
        """Stop the workers: politely (finish, then exit) or at once (``force``, e.g. after Ctrl-C)."""
        for w in self.workers:
            if w.proc.is_alive():
                if force:
                    w.proc.terminate()
                else:
                    with contextlib.suppress(OSError):
                        w.conn.send(None)
        deadline = time.monotonic() + (2.0 if force else 10.0)
        for w in self.workers:
            w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join()
            with contextlib.suppress(OSError):
                w.conn.close()


@EXECUTORS.register("processes")
def run_processes(recipe: Any, runs: list[Any], store: Any, progress: bool = True, cache_dir: Path | None = None,
                  workers: int | None = None, retries: int = 2, retry_errors: bool = False,
                  plugins: Sequence[str] | None = None, threads: int | None = None, prefetch: bool = True,
                  **_: Any) -> Any:
    """Run ``runs`` on ``workers`` supervised processes (default: one per core); see the module docstring.

    ``prefetch`` extracts every corpus's features once here, before the workers start, so
    they only read the cache (without it every worker extracts them itself on its first run).
    """
    from ..errors import ConfigError
    from .progress import SweepMonitor
    from .runner import Workspace

    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if retries < 0:
        raise ConfigError(f"--retries must be >= 0, got {retries}")
    if not runs:
        return SweepOutcome()
    n = min(workers or len(available_cores()), len(runs))
    names = plugin_list(plugins)
    import_plugins(names)
    if prefetch:
        ws = Workspace(recipe, cache_dir, progress=progress)
        for corpus in dict.fromkeys(r.corpus for r in runs):
            ws.features(corpus)
    monitor = SweepMonitor(store.root, runs, executor="processes", workers=n, live=progress)
    pool = ProcessPool(recipe, store, monitor, n, cache_dir, names, threads, retries, retry_errors)
    try:
        outcome = pool.run(runs)
    except BaseException:
        pool.shutdown(force=True)
        monitor.close()
        raise
    pool.shutdown()
    monitor.close("finished")
    return outcome
