"""Machine-readable benchmark output: ``--json`` makes a script print one JSON object on its last line.

Each benchmark keeps its human-readable tables and, with ``--json``, ends with::

    {"benchmark": "mts_cost", "args": {...}, "machine": {...}, "figures": {"a3_epoch_ratio_kernel_3": 3.41, ...},
     "targets": {"a3_epoch_ratio_kernel_3": {"op": "<=", "value": 3.6, "met": true}, ...}}

so that figures can be tracked from run to run (``python benchmarks/X.py --json | tail -1``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from typing import Any

OPS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b}


class Figures:
    """Collects a benchmark's figures and targets; :meth:`emit` prints them as the last line."""

    def __init__(self, name: str, args: Any = None) -> None:
        self.name = name
        self._args = args  # read when emitted, after the script's own defaults (--quick) are applied
        self.figures: dict[str, Any] = {}
        self.targets: dict[str, dict[str, Any]] = {}
        self.load_start = os.getloadavg()[0]

    def add(self, key: str, value: Any, target: float | None = None, op: str = "<=") -> Any:
        """Record ``value`` under ``key`` (floats rounded to 4 significant digits), with an optional target."""
        if isinstance(value, float) and math.isfinite(value):
            value = float(f"{value:.4g}")
        self.figures[key] = value
        if target is not None:
            met = bool(OPS[op](value, target)) if isinstance(value, (int, float)) else None
            self.targets[key] = {"op": op, "value": target, "met": met}
        return value

    def as_dict(self) -> dict[str, Any]:
        import torch

        machine = {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
                   "load_average_start": round(self.load_start, 2),
                   "load_average_end": round(os.getloadavg()[0], 2), "platform": sys.platform}
        args = {k: v for k, v in vars(self._args).items() if not k.startswith("_")} if self._args is not None else {}
        return {"benchmark": self.name, "args": args, "machine": machine, "figures": self.figures,
                "targets": self.targets}

    def emit(self, enabled: bool) -> None:
        if enabled:
            print(json.dumps(self.as_dict(), sort_keys=True, default=str), flush=True)


def add_json_flag(parser: Any) -> None:
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON object (figures and targets) on the last line")
