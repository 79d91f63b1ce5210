"""Training state on disk, so that a run killed mid-training resumes at its last saved epoch.

A sweep run that trains for an hour (an MTS A2 or A4 run on RAVDESS on two CPU cores) is lost whole when its
worker is killed or the machine goes away; with a :class:`TrainingCheckpoint` the trainer saves, at the end
of an epoch once ``every_s`` seconds have passed since the last save, everything the next epoch depends on:
the weights, the optimiser's and the schedule's state, the early-stopping bookkeeping (best score, best
weights, epochs without improvement), the history so far, and the random states (numpy's batch order,
torch's global generator for dropout and initialisation, the batch-augmentation generator). A resumed run
therefore continues the same trajectory: its history and final weights equal an uninterrupted run's
(``tests/training/test_checkpoint.py`` checks this, a grid search included). A grid point that finished
is saved as done, with the weights it returns.

The runner (:func:`emoconv.experiments.runner.execute_run`) keeps one folder per run key under
``RUNDIR/checkpoints/`` and deletes it once the run's record is made. A checkpoint is only taken up by the
same run key (same settings), grid point, learning rate, weight decay, seed and emoconv version; any other is
ignored and training starts afresh. ``$EMOCONV_CHECKPOINT_S`` sets ``every_s`` (default 300 s; ``0`` saves
after every epoch; ``off`` disables checkpoints): short runs never reach it and pay nothing.

>>> import tempfile
>>> ckpt = TrainingCheckpoint(tempfile.mkdtemp(), every_s=0)
>>> ckpt.save(0, {"epoch": 3}, {"lr": 0.001})
>>> ckpt.load(0, {"lr": 0.001})["epoch"], ckpt.load(1, {"lr": 0.001})  # point 1: none saved
(3, None)
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..fileio import atomic_file

__all__ = ["CHECKPOINT_ENV", "TrainingCheckpoint", "checkpoint_every"]

CHECKPOINT_ENV = "EMOCONV_CHECKPOINT_S"
DEFAULT_EVERY_S = 300.0


def checkpoint_every() -> float | None:
    """Seconds between checkpoints from ``$EMOCONV_CHECKPOINT_S`` (default 300; None when ``off``)."""
    raw = os.environ.get(CHECKPOINT_ENV, "").strip().lower()
    if not raw:
        return DEFAULT_EVERY_S
    if raw in ("off", "none", "no", "false"):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"${CHECKPOINT_ENV}={raw!r}: give seconds between checkpoints (>= 0) or 'off'")
    return value


class TrainingCheckpoint:
    """One run's checkpoints: a file per grid point in ``folder`` (``point0.pt``, ...), saved atomically."""

    def __init__(self, folder: str | os.PathLike[str], every_s: float = DEFAULT_EVERY_S) -> None:
        self.folder = Path(folder)
        self.every_s = float(every_s)
        self.started = self._last = time.monotonic()

    @classmethod
    def at(cls, folder: str | os.PathLike[str] | None) -> "TrainingCheckpoint | None":
        """The checkpoints in ``folder`` at the interval of ``$EMOCONV_CHECKPOINT_S``; None without a folder or
        when checkpoints are switched off."""
        every = checkpoint_every()
        return None if folder is None or every is None else cls(folder, every)

    def path(self, point: int) -> Path:
        return self.folder / f"point{point}.pt"

    def due(self) -> bool:
        """Whether ``every_s`` seconds have passed since the last save (or since the run began)."""
        return time.monotonic() - self._last >= self.every_s

    def worth_keeping(self) -> bool:
        """Whether the run has lasted long enough for checkpoints to matter (a finished grid point is saved)."""
        return time.monotonic() - self.started >= self.every_s  # never once switched off (every_s = inf)

    def save(self, point: int, state: dict[str, Any], meta: dict[str, Any]) -> None:
        """Write ``state`` (tensors, numbers, strings, lists, dicts) with its identity ``meta``.

        A write that fails (disk full, folder gone) warns once and switches this run's checkpoints off: the
        training itself goes on (nothing half-written is left; the previous checkpoint, if any, is removed
        so that no stale state is taken up later).
        """
        try:
            with atomic_file(self.path(point)) as fh:
                torch.save({"meta": dict(meta), "state": state}, fh)
        except OSError as exc:
            warnings.warn(f"{self.path(point)}: training checkpoint not written ({exc}); this run goes on "
                          "without checkpoints", stacklevel=2)
            self.every_s = float("inf")
            self.clear()
            return
        self._last = time.monotonic()

    def load(self, point: int, meta: dict[str, Any]) -> dict[str, Any] | None:
        """The saved state of ``point`` when its ``meta`` equals ``meta``; None when absent or another run's."""
        path = self.path(point)
        if not path.is_file():
            return None
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint only costs the time it saved
            warnings.warn(f"{path}: unreadable checkpoint ({type(exc).__name__}); training starts afresh",
                          stacklevel=2)
            return None
        if saved.get("meta") != dict(meta):
            warnings.warn(f"{path}: checkpoint of other settings ({saved.get('meta')}); training starts afresh",
                          stacklevel=2)
            return None
        return saved["state"]

    def clear(self) -> None:
        """Delete the run's checkpoints (its record is made)."""
        shutil.rmtree(self.folder, ignore_errors=True)
