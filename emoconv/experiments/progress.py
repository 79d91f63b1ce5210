"""Sweep progress: one live view in the terminal and a status file other terminals can read.

Every executor reports to a :class:`SweepMonitor` as runs start, advance an epoch,
finish, fail or are retried. The monitor keeps

* a single tqdm bar for the whole sweep (runs done / failed / running, and tqdm's
  estimate of the time left, which already reflects how many runs go in parallel);
* ``RUNDIR/status.json``, rewritten atomically (:func:`emoconv.fileio.atomic_write_json`)
  whenever a run starts or ends (epoch updates at most every ``min_interval_s``),
  so ``emoconv status RUNDIR`` reads a whole file from another terminal, during
  the sweep or after it ended.

The status file is a convenience view; the results store (``results/``, ``failed/``)
stays the truth about which runs are finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from ..faults import FAULT_ENV, fault_point  # noqa: F401  (FAULT_ENV re-exported for the executors)
from ..fileio import atomic_write_json, pid_alive

STATUS_NAME = "status.json"
STATUS_VERSION = 1


def _label(run: Any) -> str:
    return f"{run.corpus} {run.variant} fold {run.fold} seed {run.seed}"


class SweepMonitor:
    """Progress of one sweep: a live bar (``live=True``) and ``RUNDIR/status.json``.

    Args:
        rundir: the experiment folder.
        runs: the runs this sweep executes (RunSpec-like: ``key``, ``corpus``, ``variant``, ``fold``, ``seed``).
        executor: executor name shown in the status.
        workers: parallel workers (1 for ``local``).
        live: draw a tqdm bar on stderr.
        skipped: runs already finished before this sweep (default: records present in ``rundir/results``).
        min_interval_s: least time between two status writes caused by epoch updates.
    """

    def __init__(self, rundir: str | os.PathLike[str], runs: Sequence[Any], executor: str, workers: int = 1,
                 live: bool = True, skipped: int | None = None, min_interval_s: float = 1.0) -> None:
        self.path = Path(rundir) / STATUS_NAME
        self.labels = {r.key: _label(r) for r in runs}
        if skipped is None:
            results = Path(rundir) / "results"
            done_keys = {p.stem for p in results.glob("*.json")} if results.is_dir() else set()
            skipped = len(done_keys - set(self.labels))
        self.min_interval_s = min_interval_s
        self.t0 = time.time()
        self._last_write = 0.0
        self.closed = False
        self.state: dict[str, Any] = {
            "version": STATUS_VERSION, "state": "running", "executor": executor, "workers": workers,
            "pid": os.getpid(), "host": socket.gethostname(), "started_at": self.t0, "updated_at": self.t0,
            "planned": len(runs) + skipped, "skipped": skipped, "this_sweep": len(runs),
            "done": 0, "failed": 0, "retries": 0, "running": {}, "failures": {}, "eta_s": None,
        }
        self.bar = None
        if live:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(runs), desc="runs", unit="run", dynamic_ncols=True)
        self._write()

    # -- events --------------------------------------------------------------------------------
    def started(self, key: str, worker: Any = None, pid: int | None = None, attempt: int = 1) -> None:
        self.state["running"][key] = {"label": self.labels.get(key, key), "worker": worker, "pid": pid,
                                      "attempt": attempt, "since": time.time(), "epoch": None}
        self._refresh_bar()
        self._write()

    def epoch(self, key: str, epoch: int) -> None:
        entry = self.state["running"].get(key)
        if entry is not None:
            entry["epoch"] = epoch
            self._write(throttle=True)

    def retrying(self, key: str, reason: str) -> None:
        self.state["retries"] += 1
        self.state["running"].pop(key, None)
        if self.bar is not None:
            self.bar.write(f"retrying {self.labels.get(key, key)} ({key}): {reason}")
        self._refresh_bar()
        self._write()

    def finished(self, key: str, ok: bool, error: str | None = None, ua: float | None = None) -> None:
        self.state["running"].pop(key, None)
        if ok:
            self.state["done"] += 1
        else:
            self.state["failed"] += 1
            self.state["failures"][key] = {"label": self.labels.get(key, key), "error": error}
        if self.bar is not None:
            if ua is not None:
                self.bar.set_postfix_str(f"last ua {ua:.3f}", refresh=False)
            self.bar.update(1)
        self._refresh_bar()
        self._write()

    def close(self, state: str | None = None, message: str | None = None) -> None:
        """Final write: ``state`` is finished, interrupted or stopped (default: from the exception in flight)."""
        if self.closed:
            return
        self.closed = True
        if state is None:
            exc = sys.exc_info()[1]
            state = ("interrupted" if isinstance(exc, KeyboardInterrupt) else
                     "stopped" if exc is not None else "finished")
            if exc is not None and not isinstance(exc, KeyboardInterrupt) and message is None:
                message = f"{type(exc).__name__}: {exc}"
        self.state["state"] = state
        self.state["running"] = {}
        if message:
            self.state["message"] = message
        if self.bar is not None:
            self.bar.close()
        self._write()

    def __enter__(self) -> "SweepMonitor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------
    def _refresh_bar(self) -> None:
        if self.bar is None:
            return
        s = self.state
        self.bar.set_description(f"runs (failed {s['failed']}, running {len(s['running'])})", refresh=False)
        self.bar.refresh()

    def eta_s(self) -> float | None:
        """Time left at the sweep's throughput so far (None before the first run ends)."""
        s = self.state
        ended = s["done"] + s["failed"]
        if not ended:
            return None
        left = s["this_sweep"] - ended
        return max(0.0, left * (time.time() - self.t0) / ended)

    def _write(self, throttle: bool = False) -> None:
        now = time.time()
        if throttle and now - self._last_write < self.min_interval_s:
            return
        self._last_write = now
        self.state["updated_at"] = now
        self.state["eta_s"] = self.eta_s() if self.state["state"] == "running" else 0.0
        try:
            atomic_write_json(self.path, self.state)
        except OSError:  # a full disk must not kill the sweep; the results store is the truth
            pass


# -- reading ----------------------------------------------------------------------------------

def read_status(rundir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The status of the last sweep in ``rundir`` (None when there is none)."""
    path = Path(rundir) / STATUS_NAME
    try:
        st = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return st if isinstance(st, dict) else None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def describe_status(rundir: str | os.PathLike[str], now: float | None = None) -> str:
    """A few lines for ``emoconv status RUNDIR``: counts, time left, running and failed runs."""
    try:
        return _describe_status(rundir, now)
    except (KeyError, TypeError, ValueError, AttributeError):
        from ..errors import ConfigError

        raise ConfigError(f"{Path(rundir) / STATUS_NAME}: damaged sweep status; it is rewritten by the next "
                          "'emoconv run' into this folder") from None


def _describe_status(rundir: str | os.PathLike[str], now: float | None = None) -> str:
    from .store import ResultsStore

    rundir = Path(rundir)
    now = time.time() if now is None else now
    store = ResultsStore(rundir)
    n_results = sum(1 for _ in store.keys())
    n_failed_notes = len(store.failures())
    st = read_status(rundir)
    lines = []
    if st is None:
        lines.append(f"{rundir}: no sweep status (status.json) here")
    else:
        state = st.get("state", "?")
        dead = state == "running" and st.get("host") == socket.gethostname() and not pid_alive(int(st.get("pid", 0)))
        if dead:
            state = "ended without finishing (its process is gone); run the same command again to resume"
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.get("started_at", now)))
        when = (f"updated {_duration(now - st.get('updated_at', now))} ago" if st.get("state") == "running" else
                f"took {_duration(st.get('updated_at', now) - st.get('started_at', now))}")
        lines.append(f"sweep {state}: executor {st.get('executor')}, {st.get('workers')} worker(s), "
                     f"started {started}, {when}")
        n_running = 0 if dead else len(st.get("running", {}))
        waiting = st["this_sweep"] - st["done"] - st["failed"] - n_running
        lines.append(f"runs: {st['planned']} planned, {st['skipped']} finished before, {st['done']} done, "
                     f"{st['failed']} failed, {n_running} running, {max(waiting, 0)} "
                     + ("not started or interrupted" if dead else "waiting")
                     + (f"; {st['retries']} retried" if st.get("retries") else ""))
        if st.get("state") == "running" and not dead:
            lines.append(f"estimated time left: {_duration(st.get('eta_s'))}")
        if st.get("message"):
            lines.append(f"stopped by: {st['message']}")
        for key, r in sorted(({} if dead else st.get("running", {})).items(), key=lambda kv: kv[1].get("since", 0)):
            where = f"worker {r['worker']}" if r.get("worker") is not None else ""
            if r.get("pid"):
                where += f" (pid {r['pid']})"
            epoch = f", epoch {r['epoch']}" if r.get("epoch") else ""
            lines.append(f"  running {key}  {r['label']}  {where}{epoch}, attempt {r.get('attempt', 1)}, "
                         f"{_duration(now - r.get('since', now))}")
        for key, f in list(st.get("failures", {}).items())[:10]:
            lines.append(f"  failed  {key}  {f['label']}: {f.get('error')}")
    lines.append(f"results: {n_results} record(s) in {rundir / 'results'}, {n_failed_notes} failure note(s)")
    saved = [p for p in (rundir / "checkpoints").glob("*/point*.pt") if not store.has(p.parent.name)]
    if saved:  # emoconv.training.checkpoint: what the next attempt takes up
        newest = max(p.stat().st_mtime for p in saved)
        lines.append(f"checkpoints: {len({p.parent.name for p in saved})} unfinished run(s) resume from a training "
                     f"checkpoint (newest saved {_duration(now - newest)} ago)")
    return "\n".join(lines)


# -- inside workers: the per-run progress object and the fault-injection test hook --------------

def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (kill -9 or out of memory)" if -exitcode == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {exitcode}"


def error_from(name: str, message: str) -> Exception:
    """Rebuild an EmoconvError subclass sent by name from a worker."""
    from .. import errors

    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.EmoconvError)):
        cls = errors.EmoconvError
    return cls(message)


class RunProgress:
    """The ``progress`` object handed to :func:`execute_run` in workers: forwards epochs, calls the fault hook."""

    def __init__(self, key: str, conn: Any = None, min_interval_s: float = 0.5) -> None:
        self.key, self.conn, self.min_interval_s = key, conn, min_interval_s
        self.epoch = 0
        self._last = 0.0

    def set_postfix(self, *args: Any, epoch: int | None = None, **kwargs: Any) -> None:
        if epoch is not None:
            self.epoch = int(epoch)

    def update(self, n: int = 1) -> None:
        fault_point(self.key, "epoch", self.epoch)
        now = time.monotonic()
        if self.conn is not None and now - self._last >= self.min_interval_s:
            self._last = now
            with contextlib.suppress(OSError):
                self.conn.send(("epoch", self.key, self.epoch))

    def set_description(self, *args: Any, **kwargs: Any) -> None: ...
    def refresh(self, *args: Any, **kwargs: Any) -> None: ...
    def write(self, *args: Any, **kwargs: Any) -> None: ...
