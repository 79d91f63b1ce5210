"""What executors share, without importing one another: the executor registry and the sweep outcome.

An executor gets the recipe, the runs still missing and the results store, runs them, and writes each
record (or failure) through the store. ``local`` (emoconv/experiments/executors.py) runs them one after
another in this process; ``processes`` (workers.py) and ``ray`` (ray_executor.py) outgrow one process.
Each module registers its executor with ``@EXECUTORS.register(name)``; the registry imports it on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ..registry import Registry

__all__ = ["EXECUTORS", "Executor", "SweepOutcome"]


@dataclass
class SweepOutcome:
    """What a sweep did: keys finished now, keys failed (with their errors).

    >>> o = SweepOutcome(); o.done.append("k1"); o.failed["k2"] = "ValueError: x"
    >>> (o.done, sorted(o.failed))
    (['k1'], ['k2'])
    """

    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class Executor(Protocol):
    def __call__(self, recipe: Any, runs: list[Any], store: Any, **options: Any) -> SweepOutcome: ...


_MODULES = ("executors", "workers", "ray_executor")

#: Executors by name: ``EXECUTORS.get("processes")(recipe, runs, store, workers=2)``.
EXECUTORS: Registry[Callable[..., SweepOutcome]] = Registry("executor", modules=[f"{__package__}.{m}" for m in _MODULES])
