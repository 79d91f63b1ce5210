"""PNG plots of an experiment: pooled confusion matrices and learning curves (matplotlib, Agg)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..fileio import atomic_write_bytes


def _figure_bytes(fig: Any) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_")


def confusion_percent(y_true: Sequence[int], y_pred: Sequence[int], n: int) -> np.ndarray:
    """Row-normalised confusion matrix in percent (rows = true class); 0 for classes absent from ``y_true``."""
    from .embedding import confusion_percent as table

    classes = [str(i) for i in range(n)]
    return np.nan_to_num(table(list(map(int, y_true)), list(map(int, y_pred)), classes, short={}).to_numpy())


def plot_confusions(records: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """One PNG per (corpus, variant): the confusion matrix pooled over folds, in percent."""
    plt = _plt()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["corpus"], r["variant"])].append(r)
    paths = []
    for (corpus, variant), recs in sorted(groups.items()):
        labels = recs[0]["labels"]
        cm = confusion_percent(np.concatenate([r["y_true"] for r in recs]),
                               np.concatenate([r["y_pred"] for r in recs]), len(labels))
        fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(labels), 0.8 + 0.6 * len(labels)))
        ax.imshow(cm, cmap="Blues", vmin=0, vmax=100)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, f"{cm[i, j]:.0f}", ha="center", va="center",
                        color="white" if cm[i, j] > 50 else "black", fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{corpus}: {variant} (% of true class)", fontsize=9)
        path = out_dir / f"confusion_{slug(corpus)}_{slug(variant)}.png"
        atomic_write_bytes(path, _figure_bytes(fig))
        plt.close(fig)
        paths.append(path)
    return paths


def plot_learning_curves(records: Sequence[dict[str, Any]], out_dir: Path) -> list[Path]:
    """One PNG per corpus: train and validation loss per epoch of every run (chosen grid point)."""
    plt = _plt()
    by_corpus: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_corpus[r["corpus"]].append(r)
    paths = []
    for corpus, recs in sorted(by_corpus.items()):
        variants = list(dict.fromkeys(r["variant"] for r in recs))
        colors = {v: plt.cm.tab10(i % 10) for i, v in enumerate(variants)}
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
        for r in recs:
            c = colors[r["variant"]]
            for ax, key in zip(axes, ("train_loss", "val_loss")):  # fixed-epoch runs have no validation loss
                pts = [(h["epoch"], h[key]) for h in r["history"] if key in h]
                if pts:
                    ax.plot(*zip(*pts), color=c, alpha=0.6)
            if r.get("best_epoch"):
                axes[1].axvline(r["best_epoch"], color=c, alpha=0.15)
        for ax, title in zip(axes, ("training loss", "validation loss")):
            ax.set_title(f"{corpus}: {title}", fontsize=9)
            ax.set_xlabel("epoch")
        handles = [plt.Line2D([], [], color=colors[v], label=v) for v in variants]
        axes[1].legend(handles=handles, fontsize=7)
        path = out_dir / f"learning_curves_{slug(corpus)}.png"
        atomic_write_bytes(path, _figure_bytes(fig))
        plt.close(fig)
        paths.append(path)
    return paths
