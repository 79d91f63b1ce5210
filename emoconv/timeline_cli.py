"""Printing timelines for ``emoconv predict --timeline`` (text, CSV or JSON; optional PNG)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import click

from .timeline import plot_timeline, timeline


def echo_timelines(bundle: Any, files: Sequence[Path], *, window_s: float | None, hop_s: float, smooth: int,
                   vad_db: float | None, as_json: bool, as_csv: bool, plot: Path | None) -> None:
    """Score each file (see :func:`emoconv.timeline.timeline`) and print its rows."""
    results = []
    for f in files:
        res = timeline(bundle, f, window_s=window_s, hop_s=hop_s, smooth=smooth, vad_db=vad_db,
                       progress=sys.stderr.isatty(), envelope=2000 if plot is not None else 0)
        if plot is not None:
            plot_timeline(res, plot)
            click.echo(f"timeline plot written to {plot}", err=True)
        res.pop("envelope", None)
        results.append(res)
    if as_json:
        click.echo(json.dumps(results if len(results) > 1 else results[0], allow_nan=False))
    elif as_csv:
        click.echo(_csv(results), nl=False)
    else:
        for res in results:
            click.echo(f"{res['file']}: {res['duration_s']:.1f} s, windows of {res['window_s']:g} s every "
                       f"{res['hop_s']:g} s, {len(res['rows'])} windows")
            for r in res["rows"]:
                probs = "" if not r["voiced"] else "  ".join(f"{k} {v:.2f}" for k, v in r["probabilities"].items())
                click.echo(f"  {r['start']:9.2f} {r['end']:9.2f}  {r['label']:<12} {probs}")


def _csv(results: list[dict[str, Any]]) -> str:
    labels = results[0]["labels"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["file", "start", "end", "voiced", "level_db", "label", *(f"p_{lab}" for lab in labels)])
    for res in results:
        for r in res["rows"]:
            probs = [r["probabilities"][lab] if r["voiced"] else "" for lab in labels]
            w.writerow([res["file"], r["start"], r["end"], int(r["voiced"]), r["level_db"], r["label"], *probs])
    return out.getvalue()
