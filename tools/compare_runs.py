"""Compare the records of two run folders of the same recipe (before / after a refactor).

    python tools/compare_runs.py OLD_RUNDIR NEW_RUNDIR

Checks that both hold the same run keys and, per key, the same predictions, labels, utterances, parameter
counts, epochs, chosen hyper-parameters, grid, validation figures, MTS branch usage, training history (wall
times excepted) and probabilities (within 1e-5). Prints one line per difference; exits 1 if there is any.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

FIELDS = ("y_pred", "y_true", "utterances", "n_params", "epochs", "best_epoch", "hparams", "val", "branch_usage", "grid")


def records(root: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((root / "results").glob("*.json"))}


def differences(a: dict, b: dict) -> list[str]:
    out = [f for f in FIELDS if a.get(f) != b.get(f)]
    if not np.allclose(np.asarray(a["probs"]), np.asarray(b["probs"]), atol=1e-5):
        out.append("probs")

    def history(r: dict) -> list[dict]:
        return [{k: v for k, v in h.items() if k != "time_s"} for h in r.get("history", [])]

    if history(a) != history(b):
        out.append("history")
    if set(a) != set(b):
        out.append(f"fields {sorted(set(a) ^ set(b))}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    old, new = (records(Path(p)) for p in argv)
    bad = 0
    if set(old) != set(new):
        print(f"run keys differ: {len(set(old) - set(new))} only in the first, {len(set(new) - set(old))} only "
              "in the second")
        bad += 1
    for key in sorted(set(old) & set(new)):
        diff = differences(old[key], new[key])
        if diff:
            bad += 1
            print(f"{key}: {old[key]['variant']} fold {old[key]['fold']}: {', '.join(diff)}")
    print(f"{len(set(old) & set(new))} runs compared, {bad} difference(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
