"""The main job (``make demo`` / ``emoconv demo``): standard vs MTS on the built-in corpus, end to end."""

from __future__ import annotations

import time
from pathlib import Path

import click


def run_demo(recipe_path: Path, out: Path) -> None:
    """Run the demo recipe, print its report, and predict one held-out clip with a saved bundle."""
    from .bundle import load_bundle
    from .experiments import load_recipe, run_sweep
    from .experiments.runner import Workspace
    from .reports import write_report

    t0 = time.perf_counter()
    recipe = load_recipe(recipe_path)
    click.echo(f"[1/4] built-in corpus and features ({recipe.name})")
    ws = Workspace(recipe, progress=True)
    corpus = next(iter(recipe.corpora))
    utts = ws.utterances(corpus)
    click.echo(f"      {len(utts)} utterances, {len({u.speaker for u in utts})} speakers, "
               f"labels {', '.join(ws.labels(corpus))}")
    click.echo("[2/4] training on speaker-independent folds")
    result = run_sweep(recipe, out, progress=True, workspace=ws)
    if result.outcome.failed:
        raise SystemExit(f"{len(result.outcome.failed)} runs failed; see {out}/failed/")
    click.echo("[3/4] report")
    rep, out_dir = write_report(out)
    for name in ("Summary", "Paired Wilcoxon signed-rank tests"):
        if name in rep.tables:
            from .reports.base import to_markdown

            click.echo(f"\n{name}\n{to_markdown(rep.tables[name])}\n")
    click.echo(f"      full report: {out_dir / 'report.md'}")
    click.echo("[4/4] predict one held-out clip with a saved model bundle")
    bundles = sorted((out / "bundles").glob("*")) if (out / "bundles").is_dir() else []
    from .experiments.store import ResultsStore

    records = {r["key"]: r for r in ResultsStore(out).records()}
    chosen = [b for b in bundles if b.name in records]
    if not chosen:
        click.echo("      (no bundle saved: set bundle: true in the recipe)")
        return
    mts = [b for b in chosen if records[b.name]["params"].get("conv") == "mts"] or chosen
    bundle_dir = mts[0]
    rec = records[bundle_dir.name]
    uid = rec["utterances"][0]
    clip = next(u for u in utts if u.uid == uid)
    bundle = load_bundle(bundle_dir)
    pred = bundle.predict_files([clip.path])[0]
    probs = "  ".join(f"{k} {v:.2f}" for k, v in pred["probabilities"].items())
    click.echo(f"      emoconv predict {bundle_dir} {clip.path}")
    click.echo(f"      -> {pred['label']} (true: {clip.label}, speaker {clip.speaker} unseen in training)   {probs}")
    click.echo(f"done in {time.perf_counter() - t0:.0f} s")
