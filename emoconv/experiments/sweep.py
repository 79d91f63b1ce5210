"""`emoconv run`: resolve a recipe, skip finished runs, execute the rest, rebuild the index."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .execution import EXECUTORS, SweepOutcome
from .recipe import Recipe
from .runconfig import same_recipe
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


def length_warning(recipe: Recipe, corpus: str, utts: list[Any], ratio: float = 4.0) -> str | None:
    """A line when ``input.length: pad`` would pad a corpus to an outlier: its longest utterance is over
    ``ratio`` times the median (every input, and a fixed-size model, then grows to that length)."""
    import numpy as np

    from ..audio.io import audio_info

    from ..features.config import FeatureConfig

    # input shaping applies to frame features only (functionals, volumes and waveforms ignore it)
    inputs = [recipe.input_for(corpus, m) for m in recipe.models
              if isinstance(recipe.features_for(m), FeatureConfig)]
    if not any(i.length == "pad" and i.frames is None for i in inputs) or len(utts) < 3:
        return None
    durations = []
    for u in utts:
        try:
            info = audio_info(u.path)
        except Exception:  # unreadable files are reported when features are extracted
            continue
        durations.append((info.frames / max(info.samplerate, 1), str(u.path)))
    if len(durations) < 3:
        return None
    median = float(np.median([d for d, _ in durations]))
    longest, path = max(durations)
    if median <= 0 or longest <= ratio * median:
        return None
    return (f"corpus {corpus}: the longest utterance ({longest:.1f} s, {path}) is {longest / median:.0f}x the "
            f"median ({median:.1f} s); input.length: pad pads every utterance to it (up to input.max_frames), "
            "which grows the inputs and any fixed-size model as much: set input.max_frames or input.frames, or "
            "use input.length: segment")


def run_sweep(recipe: Recipe, rundir: Path | None = None, executor: str = "local", progress: bool = True,
              append: bool = False, cache_dir: Path | None = None, workspace: Workspace | None = None,
              **options: Any) -> SweepResult:
    """Run every missing run of ``recipe`` into ``rundir``; finished runs are skipped.

    ``workspace`` lets a caller that already loaded the corpora and features share them.
    """
    from ..training.checkpoint import checkpoint_every

    checkpoint_every()  # a bad $EMOCONV_CHECKPOINT_S fails here, before any run starts
    rundir = Path(rundir) if rundir else default_rundir(recipe)
    store = ResultsStore(rundir)
    execute = EXECUTORS.get(executor)
    ws = workspace or Workspace(recipe, cache_dir, progress=progress)
    ws.key_schemes = store.key_schemes()  # a folder made before portable keys keeps its run keys
    planned = plan_runs(recipe, ws)  # corpora and folds are checked before anything is written
    for run in planned:  # a missing noise folder fails here, not when the first noisy run starts
        aug = run.config.augment if run.config is not None else None
        if aug is not None and aug.active and not Path(str(aug.noise_dir)).expanduser().is_dir():
            raise ConfigError(f"augment.noise_dir={aug.noise_dir}: folder not found; pass a folder of noise audio "
                              "files (e.g. ESC-10)")
    for corpus in recipe.corpora:
        note = length_warning(recipe, corpus, ws.utterances(corpus))
        if note:
            print(f"emoconv: warning: {note}", file=sys.stderr)
    store.claim()  # ours or empty, and locked against a second writer
    as_dict = recipe.to_dict()
    store.bind_recipe(as_dict, recipe_hash(recipe), allow_other=append,
                      corpora={c: {**ws.fingerprint(c), "keys": ws.key_scheme(c)}
                               for c in recipe.corpora},
                      same=lambda stored, stored_hash: same_recipe(stored, stored_hash, as_dict))
    missing = [r for r in planned if not store.has(r.key)]
    skipped = len(planned) - len(missing)
    if skipped and progress:
        print(f"{skipped} of {len(planned)} runs already finished in {rundir}; running the other {len(missing)}",
              file=sys.stderr)
    resuming = _tidy_checkpoints(rundir, store, {r.key for r in missing})
    if resuming and progress:
        print(f"{resuming} of them resume from their training checkpoints (emoconv.training.checkpoint)",
              file=sys.stderr)
    extra = {"workspace": ws} if executor == "local" else {}
    try:
        outcome = execute(recipe, missing, store, progress=progress, cache_dir=cache_dir, **extra, **options)
    finally:
        if (rundir / "bundles").is_dir():  # each bundle's cross-validated evidence (emoconv.experiments.evidence)
            from .evidence import write_evidence

            records = store.scan()[0]
            store.rebuild_index(records)
            write_evidence(rundir, records, planned)
        else:
            store.rebuild_index()
        store.release()
    return SweepResult(rundir=rundir, planned=planned, skipped=skipped, outcome=outcome)


def _tidy_checkpoints(rundir: Path, store: ResultsStore, missing: set[str]) -> int:
    """Delete the training checkpoints of finished runs (a record exists; other runs' are kept even when this
    invocation does not plan them); return how many of the runs to run have one."""
    import shutil

    folder = rundir / "checkpoints"
    if not folder.is_dir():
        return 0
    for sub in folder.iterdir():
        if store.has(sub.name):
            shutil.rmtree(sub, ignore_errors=True)
    return sum((folder / key).is_dir() for key in missing)
