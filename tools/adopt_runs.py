"""Keep the finished runs of a results folder whose corpus or noise files were copied or moved.

Before content digests (docs/experiments.md, "Run keys"), run keys hashed each corpus file's size and
modification time, and each noise clip's path, size and modification time; until portable keys they also
hashed the corpus's and the noise folder's paths. Copying the files (``cp``, ``rsync`` without ``-t``,
another machine) or moving them then made every finished run look like new work. Folders made since key on
the files' content alone and survive both; this tool moves an older folder's records to the keys that the
recipe now plans, matching each record to its planned run by (corpus, model variant, augmentation
condition, fold, seed).

It refuses unless the folder holds this recipe (same hash, or the same recipe apart from training settings
added since at their defaults) and each corpus still has the file count and labels recorded for it. It
cannot check that the audio itself is unchanged (the folder never recorded it), so run it only on files you
copied, not edited. Without ``--apply`` it only prints what it would move.

    python tools/adopt_runs.py RECIPE RUNDIR [KEY=VALUE ...] [--apply] [--append]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from emoconv import __version__
from emoconv.config import to_dict
from emoconv.errors import EmoconvError
from emoconv.features.kinds import features_dict
from emoconv.experiments.recipe import load_recipe
from emoconv.experiments.runconfig import same_recipe
from emoconv.experiments.runner import plan_runs, recipe_hash
from emoconv.experiments.store import ResultsStore
from emoconv.experiments.workspace import Workspace
from emoconv.fileio import atomic_write_json


def _condition(value):
    """A run's augmentation condition as its record names it (no noise: ``None``)."""
    return None if value in (None, "none") else str(value)


def _same_settings(rec, run) -> bool:
    """Whether a record was made with ``run``'s features, input shaping, model parameters and training settings
    (those the record holds: older records lack the settings added since)."""
    cfg = run.config
    plain = lambda x: json.loads(json.dumps(x))  # noqa: E731  (tuples as the record's lists)
    return (rec is not None and rec.get("features") == plain(features_dict(cfg.features))
            and rec.get("input") == plain(to_dict(cfg.input))
            and all(rec.get("params", {}).get(k) == v for k, v in plain(run.model.params).items())
            and all(rec.get("train", {}).get(k) == v for k, v in plain(to_dict(cfg.run_train)).items()
                    if k in rec.get("train", {})))


def plan_moves(recipe_path: str, rundir: Path, overrides: list[str],
               append: bool = False) -> tuple[list[tuple[str, str]], dict, object]:
    """``([(old key, new key), ...], current corpus fingerprints, recipe)``; raises SystemExit when refused.

    ``append``: the folder was filled by several recipes (``emoconv run --append``); move the records of this
    one's runs and leave the others."""
    recipe = load_recipe(recipe_path, overrides)
    store = ResultsStore(rundir)
    meta = store.stored_recipe()
    if "hash" not in meta:
        raise SystemExit(f"{rundir}: no readable recipe.json; not a results folder")
    as_dict = recipe.to_dict()
    if not append and meta.get("hash") != recipe_hash(recipe) \
            and not same_recipe(meta.get("recipe"), meta.get("hash"), as_dict):
        raise SystemExit(f"{rundir}: holds another recipe's results (or another version's); nothing adopted "
                         "(--append if the folder was filled with emoconv run --append)")
    ws = Workspace(recipe)
    stored = meta["corpora"]
    now = {}
    for corpus in recipe.corpora:
        fp = ws.fingerprint(corpus)
        prev = stored.get(corpus, {})
        if prev and (prev.get("files") != fp["files"] or prev.get("labels") != fp["labels"]):
            raise SystemExit(f"{rundir}: corpus {corpus} has {fp['files']} files and labels {fp['labels']}, the "
                             f"folder's runs {prev.get('files')} and {prev.get('labels')}: its content changed; "
                             "rerun it into a new folder instead")
        now[corpus] = {**fp, "keys": "portable"}
    planned = plan_runs(recipe, ws)
    keys = {r.key for r in planned}
    have = set(store.keys())
    spare = {}
    for r in store.records():
        if append and r.get("version") != __version__:  # another version's run is not this recipe's
            continue
        if r["key"] not in keys:
            spare.setdefault((r["corpus"], r.get("variant"), _condition(r.get("condition")), int(r["fold"]),
                              int(r["seed"])), []).append(r["key"])
    moves = []
    for run in planned:
        if run.key in have:
            continue
        condition = _condition((run.model.augment or {}).get("condition"))
        slot = (run.corpus, run.variant, condition, int(run.fold), int(run.seed))
        # with --append the same variant label may have run with other settings under another recipe
        fits = [k for k in spare.get(slot, []) if not append or _same_settings(store.read(k), run)]
        if fits:
            spare[slot].remove(fits[0])
            moves.append((fits[0], run.key))
    return moves, now, recipe


def apply_moves(rundir: Path, moves: list[tuple[str, str]], corpora: dict, recipe) -> None:
    store = ResultsStore(rundir)
    store.claim()
    for old, new in moves:
        data = json.loads(store.path_of(old).read_text())
        data["key"], data["adopted_from"] = new, old
        if "corpus_content" in data:
            data["corpus_content"] = corpora.get(data.get("corpus"), data["corpus_content"])
        bundle = rundir / "bundles" / old
        if bundle.is_dir():
            shutil.move(str(bundle), str(rundir / "bundles" / new))
            data["bundle"] = str(Path("bundles") / new)
        atomic_write_json(store.path_of(new), data)
        store.path_of(old).unlink()
    store.bind_recipe(recipe.to_dict(), recipe_hash(recipe), allow_other=True, corpora=corpora)
    store.rebuild_index()
    store.release()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("rundir", type=Path)
    ap.add_argument("overrides", nargs="*", help="the KEY=VALUE overrides the folder was run with")
    ap.add_argument("--apply", action="store_true", help="move the records (default: only print the plan)")
    ap.add_argument("--append", action="store_true",
                    help="the folder holds several recipes' runs (emoconv run --append): move this recipe's")
    args = ap.parse_args(argv)
    try:
        moves, corpora, recipe = plan_moves(args.recipe, args.rundir, args.overrides, args.append)
    except EmoconvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.rundir}: {len(moves)} finished run(s) to move to the keys the recipe plans now")
    if args.apply and moves:
        apply_moves(args.rundir, moves, corpora, recipe)
        print(f"moved {len(moves)}; `emoconv run` with the same recipe now skips them")
    elif moves:
        print("dry run: add --apply to move them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
