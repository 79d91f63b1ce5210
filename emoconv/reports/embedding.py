"""t-SNE pictures of learned utterance representations, and confusion matrices in percent.

Kim et al. (3D CNNs for SER, ACII 2017, Fig. 3 and Table 5) embed the top fully-connected
layer's utterance representations of one test fold in 2-D with t-SNE (van der Maaten &
Hinton, JMLR 2008), coloured by emotion, and compare methods by row-normalised confusion
matrices. t-SNE is scikit-learn's ``TSNE``; plots use matplotlib's Agg backend and are
written atomically.
"""

from __future__ import annotations

import io
import os
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import check
from ..errors import ConfigError
from ..fileio import atomic_write_bytes

#: The paper's Fig. 3 colours: green neutral, orange happy, blue sad, red angry.
EMOTION_COLOURS: dict[str, str] = {
    "neutral": "tab:green", "happiness": "tab:orange", "sadness": "tab:blue", "anger": "tab:red",
}
#: One-letter tags of the paper's Table 5.
SHORT_NAMES: dict[str, str] = {"neutral": "N", "happiness": "H", "sadness": "S", "anger": "A"}


def tsne_embedding(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE of ``features (N, D)`` -> ``(N, 2)``; perplexity is capped at ``(N - 1) / 3``."""
    from sklearn.manifold import TSNE

    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 4:
        raise ConfigError(f"t-SNE needs a (N, D) array with N >= 4 utterances, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ConfigError("t-SNE input contains NaN or infinite values; check the model's embed() output")
    perp = float(min(perplexity, max(1.0, (x.shape[0] - 1) / 3.0)))
    return TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed).fit_transform(x)


def plot_embedding(points: np.ndarray, labels: Sequence[str], path: str | os.PathLike[str],
                   title: str = "", classes: Sequence[str] | None = None,
                   colours: Mapping[str, str] = EMOTION_COLOURS, dpi: int = 120) -> str:
    """Scatter ``points (N, 2)`` coloured by ``labels`` into a PNG at ``path`` (atomic); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = np.asarray(points)
    check(pts.ndim == 2 and pts.shape[1] == 2 and len(pts) == len(labels),
          f"plot_embedding: points {pts.shape} must be (N, 2) with one label per point ({len(labels)})")
    labels = np.asarray(labels)
    classes = list(classes) if classes is not None else list(dict.fromkeys(labels.tolist()))
    fig, ax = plt.subplots(figsize=(5, 5))
    try:
        for k, name in enumerate(classes):
            sel = labels == name
            if sel.any():
                ax.scatter(pts[sel, 0], pts[sel, 1], s=8, alpha=0.7, label=str(name),
                           color=colours.get(str(name), f"C{k}"))
        ax.set_xticks([])
        ax.set_yticks([])
        if title:
            ax.set_title(title)
        ax.legend(loc="best", fontsize=8, markerscale=2)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return os.fspath(path)


def tsne_png(features: np.ndarray, labels: Sequence[str], path: str | os.PathLike[str], title: str = "",
             classes: Sequence[str] | None = None, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """t-SNE of ``features`` plotted by emotion to ``path``; returns the 2-D points."""
    pts = tsne_embedding(features, seed=seed, perplexity=perplexity)
    plot_embedding(pts, labels, path, title=title, classes=classes)
    return pts


def confusion_percent(y_true: Sequence, y_pred: Sequence, classes: Sequence[str],
                      short: Mapping[str, str] = SHORT_NAMES) -> pd.DataFrame:
    """Row-normalised confusion matrix in percent (rows: true class, columns: predicted).

    ``y_true``/``y_pred`` hold class names or indices into ``classes``. A class absent
    from ``y_true`` gives a row of NaN. Row and column labels use ``short`` (N, H, S, A).
    """
    from sklearn.metrics import confusion_matrix

    names = list(classes)

    def as_names(ys: Sequence) -> list:
        return [names[int(y)] if isinstance(y, (int, np.integer)) else y for y in ys]

    t, p = as_names(y_true), as_names(y_pred)
    bad = sorted({str(v) for v in t + p} - set(names))
    if bad:
        raise ConfigError(f"confusion: label {bad[0]!r} is not one of {', '.join(names)}")
    counts = confusion_matrix(t, p, labels=names).astype(np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(rows > 0, 100.0 * counts / rows, np.nan)
    tags = [short.get(n, n) for n in names]
    return pd.DataFrame(pct, index=pd.Index(tags, name="true"), columns=pd.Index(tags, name="predicted"))


def confusion_markdown(tables: Mapping[str, pd.DataFrame]) -> str:
    """Several methods' percent confusion matrices as Markdown, one titled table each (Table 5)."""
    out = []
    for method, df in tables.items():
        head = "| true \\ pred | " + " | ".join(map(str, df.columns)) + " |"
        sep = "|---|" + "---:|" * len(df.columns)
        body = ["| " + str(idx) + " | " + " | ".join("-" if np.isnan(v) else f"{v:.0f}" for v in row) + " |"
                for idx, row in zip(df.index, df.to_numpy())]
        out.append(f"**{method}**\n\n" + "\n".join([head, sep, *body]) + "\n")
    return "\n".join(out)
