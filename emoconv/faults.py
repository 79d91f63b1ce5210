"""Fault injection for tests: ``$EMOCONV_FAULT_KILL`` makes this process SIGKILL itself at a chosen point.

The points: ``epoch`` (mid-training, from the workers' progress hook), ``written`` (right after a run's
record was written), ``bundle`` (half-way through a bundle write: weights written, metadata not yet, the
folder still a hidden temporary) and ``corpus`` (half-way through generating the built-in corpus: audio and
manifest written, the stamp not yet, the folder still a hidden temporary). Unset, every call returns at once. Nothing here is imported by user code paths
beyond the one-line check.
"""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

FAULT_ENV = "EMOCONV_FAULT_KILL"
POINTS = ("epoch", "written", "bundle", "corpus")


def fault_point(key: str, point: str, epoch: int | None = None) -> None:
    """SIGKILL this process at ``point`` when ``$EMOCONV_FAULT_KILL`` says so.

    ``EMOCONV_FAULT_KILL="p=0.5,seed=3,dir=/tmp/marks[,at=any|epoch|written|bundle|corpus][,max=3]"``:
    a key (a run key, a bundle or corpus folder name) is chosen with probability ``p`` (seeded by ``seed``
    and the key) and killed on its first attempt; ``at=any`` picks, per key, a random epoch (1-3) or right
    after the record was written. The marker file ``dir/<key>`` (holding the kill point) keeps the retry
    alive, and ``max`` caps the kills of the whole sweep (slot files in ``dir``).

    >>> fault_point("a-run-key", "epoch", 1)  # $EMOCONV_FAULT_KILL unset: nothing happens
    """
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    opts = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
    rng = random.Random(f"{opts.get('seed', '0')}:{key}")
    if rng.random() >= float(opts.get("p", "0.5")):
        return
    kill_epoch = rng.randint(1, 3)
    at = opts.get("at", "any")
    where = rng.choice(["epoch", "written"]) if at == "any" else at
    if where != point or (point == "epoch" and epoch != kill_epoch):
        return
    marks = Path(opts.get("dir", "."))
    marks.mkdir(parents=True, exist_ok=True)
    if (marks / key).exists():  # killed once already: let the retry live
        return
    if "max" in opts and not any(_claim(marks / f".slot-{i}") for i in range(int(opts["max"]))):
        return  # the sweep's kill budget is spent
    (marks / key).write_text(where)  # tests read where each key was killed
    os.kill(os.getpid(), signal.SIGKILL)


def _claim(path: Path) -> bool:
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
