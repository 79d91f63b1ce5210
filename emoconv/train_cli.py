"""``emoconv train CORPUS PATH``: cross-validate a recipe on a user's corpus, then train the model to ship.

1. The recipe (default: emoconv's own, :data:`DEFAULT_RECIPE`, ``emoconv/recipes/ecnet.yaml``) is loaded with
   its corpora replaced by ``CORPUS`` (a registered loader name, e.g. ``ravdess``) at ``PATH`` and any
   ``KEY=VALUE`` overrides; every setting is checked before anything runs.
2. Its speaker-independent cross-validation (the recipe's protocol; leave-one-speaker-out by default) runs as
   an ordinary resumable sweep into ``--workdir`` (rerun the same command after an interruption: finished
   folds are kept), with a progress bar and the time left.
3. The same recipe is trained once more on every speaker (:func:`emoconv.experiments.final.train_final`) and
   written as a bundle for ``emoconv predict``, carrying the cross-validated figures.

A table of the per-fold and pooled figures ends the output; with ``--json`` the last line printed is one
JSON object (``ua`` and ``wa`` pooled over folds, in percent; ``ua_fold_mean``; ``protocol``; ``folds``; ``bundle``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["DEFAULT_RECIPE", "PACKAGED_RECIPES", "resolve_recipe", "train_corpus"]

PACKAGED = Path(__file__).parent / "recipes"
DEFAULT_RECIPE = PACKAGED / "ecnet.yaml"
#: Recipes shipped with the package, by the name ``--recipe`` accepts: emoconv's own CNN and the SVM baseline.
PACKAGED_RECIPES = {p.stem: p for p in sorted(PACKAGED.glob("*.yaml"))}


def resolve_recipe(recipe: str | Path | None) -> Path:
    """A recipe file, or the name of a packaged one (``ecnet``, ``svm``); ``None`` is emoconv's own CNN."""
    from .errors import ConfigError

    if recipe is None:
        return DEFAULT_RECIPE
    path = Path(recipe)
    if path.exists():
        return path
    if str(recipe) in PACKAGED_RECIPES:
        return PACKAGED_RECIPES[str(recipe)]
    raise ConfigError(f"--recipe {recipe}: no such file, and not a packaged recipe "
                      f"({', '.join(PACKAGED_RECIPES)})")


FINAL_KINDS = ("all-speakers", "fold-ensemble")


def train_corpus(corpus: str, path: Path, recipe_path: Path | None, out: Path | None, workdir: Path | None,
                 overrides: list[str], executor: str = "local", workers: int | None = None,
                 progress: bool = True, final: str = "all-speakers", fuse: str | Path | None = None,
                 fuse_overrides: list[str] | None = None) -> dict[str, Any]:
    """Run steps 1-3 of the module docstring; return the summary (what ``--json`` prints).

    ``final``: ``all-speakers`` trains the shipped model once more on every speaker; ``fold-ensemble`` ships
    the cross-validation's fold models, their probabilities averaged (:func:`~emoconv.experiments.final.
    fold_ensemble`; the folds keep their models, in ``WORKDIR/bundles``).
    ``fuse``: a second recipe (``svm``, or a file) cross-validated on the same folds (``WORKDIR-fuse-NAME``,
    ``fuse_overrides`` applied to it); the shipped bundle is then a fusion bundle
    (:mod:`emoconv.fusion_bundle`) and the figures are the fusion's, each fold's weight chosen on the others.
    """
    from .errors import ConfigError
    from .experiments import run_sweep
    from .experiments.evidence import variant_evidence
    from .experiments.final import check_final, check_fold_ensemble, final_epochs, train_final
    from .experiments.recipe import build_recipe, load_recipe_dict
    from .experiments.workspace import Workspace

    t0 = time.perf_counter()
    rpath = resolve_recipe(recipe_path)
    tree = load_recipe_dict(rpath)
    if not Path(path).exists():
        raise ConfigError(f"{path}: corpus folder not found; pass the folder that holds the {corpus} audio")
    tree["corpora"] = {corpus: {"path": str(path)}}
    models = tree.get("models") or []
    if len(models) != 1:
        raise ConfigError(f"{rpath}: emoconv train needs a recipe with exactly one model, found {len(models)}")
    if final not in FINAL_KINDS:
        raise ConfigError(f"--final {final}: use {' or '.join(FINAL_KINDS)}")
    ensemble = final == "fold-ensemble"
    tree["bundle"] = "all" if ensemble else "none"
    recipe = build_recipe(tree, overrides, where=str(rpath))
    check_final(recipe, corpus)
    if ensemble:
        check_fold_ensemble(recipe)
    workdir = Path(workdir) if workdir else Path("runs") / f"train-{corpus}{'-folds' if ensemble else ''}"
    out = Path(out) if out else workdir / "model"
    ws = Workspace(recipe, progress=progress)
    n_speakers = len({u.speaker for u in ws.utterances(corpus)})
    if recipe.protocol.kind == "kfold" and recipe.protocol.folds > n_speakers:  # fewer speakers than folds
        click.echo(f"{corpus}: {n_speakers} speakers, fewer than protocol.folds={recipe.protocol.folds}: "
                   "leave-one-speaker-out instead", err=True)
        recipe = build_recipe(tree, [*overrides, "protocol.kind=loso"], where=str(rpath))
        ws = Workspace(recipe, progress=progress)
    partner = _partner(fuse, fuse_overrides or [], corpus, path, recipe, progress) if fuse is not None else None
    options = {"workers": workers} if workers is not None else {}
    result = run_sweep(recipe, workdir, executor=executor, progress=progress, workspace=ws, **options)
    if result.outcome.failed:
        key, err = next(iter(result.outcome.failed.items()))
        raise ConfigError(f"{len(result.outcome.failed)} cross-validation fold(s) failed (first: {key}: "
                          f"{err.splitlines()[-1] if err else '?'}); see {workdir}/failed/ and rerun the command")
    from .experiments.store import ResultsStore

    records = [r for r in ResultsStore(workdir).records() if r.get("corpus") == corpus]
    wanted = {r.key for r in result.planned}
    records = [r for r in records if r["key"] in wanted]
    if len(records) < len(result.planned):
        raise ConfigError(f"{workdir}: {len(result.planned) - len(records)} fold(s) have no result; rerun the command")
    evidence = variant_evidence(records, len({r.fold for r in result.planned}))
    epochs = final_epochs(recipe, records)
    extra_summary: dict[str, Any] = {}
    own = evidence  # the network's own figures (a fusion member carries them; the fusion carries its own)

    def ship(folder: Path) -> Path:
        if ensemble:
            from .experiments.final import fold_ensemble

            return fold_ensemble(records, workdir, folder, own)
        return train_final(recipe, corpus, ws, folder, epochs, own, progress=progress,
                           checkpoints=Path(workdir) / "final-checkpoints")

    if partner is not None:
        fused = _cross_validate_partner(partner, corpus, workdir, records, evidence, executor, progress, options)
        evidence, extra_summary = fused["evidence"], fused["summary"]
        cv_s = time.perf_counter() - t0
        bundle = _ship_fusion(out, ship, partner, corpus, ws, fused, progress)
    else:
        cv_s = time.perf_counter() - t0
        bundle = ship(out)
    if ensemble:
        epochs = 0
    return {
        **extra_summary, "corpus": corpus, "path": str(path), "recipe": str(rpath),
        "model": recipe.models[0].name + (f" + {partner['name']}" if partner else ""),
        "ua": round(100 * evidence["pooled"]["ua"], 2), "wa": round(100 * evidence["pooled"]["wa"], 2),
        "ua_fold_mean": round(100 * evidence["ua_mean"], 2), "ua_fold_std": round(100 * evidence["ua_std"], 2),
        "wa_fold_mean": round(100 * evidence["wa_mean"], 2),
        "protocol": evidence["protocol"], "labels": evidence["labels"],
        "folds": [{**f, "ua": round(100 * f["ua"], 2), "wa": round(100 * f["wa"], 2)} for f in evidence["per_fold"]],
        "final": final, "final_epochs": epochs, "bundle": str(bundle), "workdir": str(workdir),
        "cv_time_s": round(cv_s, 1), "total_time_s": round(time.perf_counter() - t0, 1),
    }


def _partner(fuse: str | Path, overrides: list[str], corpus: str, path: Path, recipe: Any,
             progress: bool) -> dict[str, Any]:
    """The ``--fuse`` recipe on the same corpus and folds, built and checked before anything runs."""
    import re

    from .config import to_dict
    from .errors import ConfigError
    from .experiments.final import check_final
    from .experiments.recipe import build_recipe, load_recipe_dict
    from .experiments.workspace import Workspace

    try:
        rpath = resolve_recipe(fuse)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--recipe", "--fuse", 1)) from None
    tree = load_recipe_dict(rpath)
    if len(tree.get("models") or []) != 1:
        raise ConfigError(f"--fuse {fuse}: the recipe must have exactly one model, found "
                          f"{len(tree.get('models') or [])}")
    tree["corpora"] = {corpus: {"path": str(path)}}
    tree["protocol"] = to_dict(recipe.protocol)  # the same folds as the network's cross-validation
    tree["bundle"] = "none"
    other = build_recipe(tree, overrides, where=f"--fuse {rpath}")
    check_final(other, corpus)
    name = re.sub(r"[^A-Za-z0-9_-]", "-", other.models[0].name)
    return {"name": "partner" if name == "network" else name, "recipe": other, "path": rpath,
            "ws": Workspace(other, progress=progress)}


def _cross_validate_partner(partner: dict[str, Any], corpus: str, workdir: Path, records: list[dict[str, Any]],
                            evidence: dict[str, Any], executor: str, progress: bool,
                            options: dict[str, Any]) -> dict[str, Any]:
    """The partner's cross-validation (resumable, in ``WORKDIR-fuse-NAME``) and the fused figures."""
    from .errors import ConfigError
    from .experiments import run_sweep
    from .experiments.evidence import variant_evidence
    from .experiments.final import final_epochs
    from .experiments.fusion import best_weight, compare, fuse_cv, fused_records
    from .experiments.store import ResultsStore

    name, other = partner["name"], partner["recipe"]
    wd = workdir.with_name(f"{workdir.name}-fuse-{name}")
    res = run_sweep(other, wd, executor=executor, progress=progress, workspace=partner["ws"], **options)
    wanted = {r.key for r in res.planned}
    recs = [r for r in ResultsStore(wd).records() if r["key"] in wanted and r.get("corpus") == corpus]
    if res.outcome.failed or len(recs) < len(res.planned):
        raise ConfigError(f"{wd}: {len(res.planned) - len(recs)} fold(s) of --fuse {partner['path']} have no "
                          f"result; see {wd}/failed/ and rerun the command")
    variant = f"{records[0]['variant']} + {recs[0]['variant']} (fused)"
    per_fold = fuse_cv(records, recs)
    fused = fused_records(per_fold, records, variant)
    ev = variant_evidence(fused, evidence["folds_planned"])
    weight = best_weight(records, recs)
    ev["fusion"] = {"members": ["network", name], "network_weight": weight,
                    "fold_weights": {str(f["fold"]): f["fusion_weight"] for f in per_fold},
                    "rule": "network weight w, probabilities w p_network + (1 - w) p_other; each fold's w chosen "
                            "on the other folds' pooled fused UA (grid 0, 0.05, ..., 1), the shipped w on all folds"}
    vs = {k: compare(recs_k, fused) for k, recs_k in (("network", records), (name, recs))}
    partner_evidence = variant_evidence(recs, evidence["folds_planned"])
    summary = {"fusion": {
        "network_weight": weight, "partner": name, "partner_workdir": str(wd),
        "members": {"network": round(100 * evidence["pooled"]["ua"], 2),
                    name: round(100 * partner_evidence["pooled"]["ua"], 2)},
        "paired": {k: {"folds": v["folds"], "wins": v["new_wins"], "p_value": v["p_value"]} for k, v in vs.items()},
    }}
    return {"evidence": ev, "summary": summary, "weight": weight, "records": recs,
            "partner_evidence": partner_evidence,
            "partner_epochs": final_epochs(other, recs), "variant": variant}


def _ship_fusion(out: Path, ship: Any, partner: dict[str, Any], corpus: str, ws: Any, fused: dict[str, Any],
                 progress: bool) -> Path:
    """Train both final models and write them as one fusion bundle (:func:`emoconv.fusion_bundle.save_fusion`)."""
    from . import __version__
    from .experiments.final import train_final
    from .fusion_bundle import save_fusion

    w, name, ev = fused["weight"], partner["name"], fused["evidence"]

    def members(folder: Path) -> list[tuple[str, float]]:
        ship(folder / "network")
        train_final(partner["recipe"], corpus, partner["ws"], folder / name, fused["partner_epochs"],
                    fused["partner_evidence"], progress=progress)
        return [("network", w), (name, round(1.0 - w, 6))]

    utts = ws.utterances(corpus)
    extra = {"recipe": f"{ws.recipe.name} + {partner['recipe'].name}", "corpus": corpus, "variant": fused["variant"],
             "fold": None, "seed": None, "n_utterances": len(utts), "corpus_content": ws.fingerprint(corpus),
             "protocol": {"config": ev["protocol"], "fold": {"train": "all speakers", "test_speakers": []}},
             "final_model": {"kind": "fusion", "speakers": sorted({u.speaker for u in utts}),
                             "weights": {"network": w, name: round(1.0 - w, 6)}},
             "emoconv_version": __version__}
    return save_fusion(out, members, ev["labels"], {**ev, "bundle_fold": None}, extra)


def summary_table(summary: dict[str, Any]) -> str:
    """The per-fold figures and the pooled line, as a Markdown table."""
    lines = ["| fold | test speakers | n | UA % | WA % |", "|---|---|---|---|---|"]
    for f in summary["folds"]:
        spk = ", ".join(map(str, f.get("test_speakers") or [])) or "?"
        lines.append(f"| {f['fold']} | {spk} | {f['n_test']} | {f['ua']:.2f} | {f['wa']:.2f} |")
    lines.append(f"| pooled | all | {sum(f['n_test'] for f in summary['folds'])} | **{summary['ua']:.2f}** | "
                 f"{summary['wa']:.2f} |")
    lines.append(f"| mean ± std over folds | | | {summary['ua_fold_mean']:.2f} ± {summary['ua_fold_std']:.2f} | "
                 f"{summary['wa_fold_mean']:.2f} |")
    return "\n".join(lines)


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def echo_summary(summary: dict[str, Any], as_json: bool) -> None:
    click.echo(f"\n{summary['corpus']}: {summary['model']} ({summary['recipe']}), protocol "
               f"{json.dumps(summary['protocol'], sort_keys=True)}")
    click.echo(summary_table(summary))
    fitted = f"{summary['final_epochs']} epochs on every speaker" if summary["final_epochs"] else \
        "fitted once on every speaker"
    if summary.get("final") == "fold-ensemble":
        fitted = f"the {len(summary['folds'])} fold models, probabilities averaged"
    fu = summary.get("fusion")
    if fu:
        other = fu["partner"]
        click.echo(f"fused: network weight {fu['network_weight']:g} (each fold's chosen on the others); pooled UA "
                   f"of the members alone: network {fu['members']['network']:.2f}, {other} "
                   f"{fu['members'][other]:.2f}; fusion higher than {other} on {fu['paired'][other]['wins']} of "
                   f"{fu['paired'][other]['folds']} folds (Wilcoxon p = {_p(fu['paired'][other]['p_value'])})")
        fitted = f"network + {other}, each fitted on every speaker, probabilities weighted"
    click.echo(f"final model: {fitted} -> {summary['bundle']} "
               f"(cross-validation {summary['cv_time_s']:.0f} s, total {summary['total_time_s']:.0f} s)")
    click.echo(f"try it: emoconv predict {summary['bundle']} FILE.wav")
    if as_json:
        click.echo(json.dumps(summary, allow_nan=False, sort_keys=True))
