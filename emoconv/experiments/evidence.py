"""The evidence a bundle carries: the cross-validated figures of its model variant.

A bundle is written by one run (one fold); its ``bundle.json`` holds that run's test figures, confusion
matrix, protocol and training corpus. When the sweep ends, :func:`write_evidence` adds ``evidence.json`` to
every bundle of the results folder: the figures of all folds of the same corpus and variant that have a
record (per fold, mean and standard deviation over folds, pooled over folds, with the pooled confusion
matrix), and how many of the planned folds they are. ``emoconv predict --info BUNDLE`` prints both.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from .. import __version__
from ..fileio import atomic_write_json

EVIDENCE_NAME = "evidence.json"


def variant_evidence(records: Sequence[dict[str, Any]], planned_folds: int | None = None) -> dict[str, Any]:
    """Cross-validated figures of one corpus x variant from its run records (one per fold and seed)."""
    from ..protocol import pooled_metrics, summarize_folds

    records = sorted(records, key=lambda r: (r["fold"], r["seed"]))
    labels = records[0]["labels"]
    per_fold = [{"fold": r["fold"], "seed": r["seed"], "ua": r["metrics"]["ua"], "wa": r["metrics"]["wa"],
                 "n_test": len(r["y_true"]),
                 "test_speakers": (r.get("protocol") or {}).get("fold", {}).get("test_speakers")}
                for r in records]
    pooled = pooled_metrics([(r["y_true"], r["y_pred"]) for r in records], labels)
    summary = summarize_folds([r["metrics"] for r in records], keys=("ua", "wa"))
    first = records[0]
    return {
        "format": "emoconv-evidence", "emoconv_version": __version__, "recipe": first.get("recipe"),
        "corpus": first["corpus"], "variant": first["variant"], "labels": labels,
        "protocol": (first.get("protocol") or {}).get("config"),
        "folds_finished": len({r["fold"] for r in records}), "folds_planned": planned_folds,
        "per_fold": per_fold,
        "ua_mean": summary["ua"]["mean"], "ua_std": summary["ua"]["std"],
        "wa_mean": summary["wa"]["mean"], "wa_std": summary["wa"]["std"],
        "pooled": {"ua": pooled["ua"], "wa": pooled["wa"], "confusion": pooled["confusion"]},
    }


def write_evidence(rundir: str | Path, records: Sequence[dict[str, Any]],
                   planned: Sequence[Any] = ()) -> list[Path]:
    """Write ``evidence.json`` (atomically) into every bundle under ``rundir/bundles``; returns the paths."""
    rundir = Path(rundir)
    with_bundle = [r for r in records if r.get("bundle")]
    if not with_bundle:
        return []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["corpus"], r["variant"])].append(r)
    folds: dict[tuple[str, str], set[int]] = defaultdict(set)
    for run in planned:
        folds[(run.corpus, run.variant)].add(run.fold)
    cache: dict[tuple[str, str], dict[str, Any]] = {}
    written = []
    for r in with_bundle:
        folder = rundir / r["bundle"]
        if not (folder / "bundle.json").is_file():
            continue
        g = (r["corpus"], r["variant"])
        if g not in cache:
            cache[g] = variant_evidence(groups[g], len(folds[g]) or None)
        atomic_write_json(folder / EVIDENCE_NAME, {**cache[g], "bundle_fold": r["fold"], "bundle_seed": r["seed"]})
        written.append(folder / EVIDENCE_NAME)
    return written
