"""Module-wise analysis of a trained CLDNN: SVM UA per module, LDA scatter grids and clustering ratios.

From the convolution-type study (C.-W. Huang and S. S. Narayanan, arXiv:1706.02901, Sec. 7.4,
Table 5 and Figs. 2-8): the mean-pooled outputs of the raw spliced features and of the CNN,
BLSTM and MLP modules are used as utterance representations,

* an SVM is trained on each under a speaker-independent split and its UA reported per module
  (:func:`modulewise_ua`, :func:`modulewise_table`);
* each representation is projected by linear discriminant analysis onto its first
  ``min(K - 1, 2)`` discriminants for three labelings (emotion, speaker, gender) and drawn as a
  grid of scatter plots: rows = labelings, columns = modules, as in the paper's Fig. 2
  (:func:`lda_grid`); with one discriminant (two classes, e.g. gender) the second axis is a
  fixed per-class offset plus jitter so the classes stay visible;
* the clustering ratio ``rho = intra-cluster inertia / inter-cluster inertia`` (:func:`rho`) is
  computed on the original (not projected) representations and used as each subplot's title.

Inertias (Eqs. 15-16 of the paper), over the set of classes ``C`` with centroids ``p_c``:
``omega_i = mean over classes c of (mean over members s of ||p_c - p_s||^2)`` and
``omega_o = mean over ordered pairs c != c' of ||p_c - p_c'||^2``. The paper writes the norm
without making the square explicit; squared Euclidean distances are used here (``squared=False``
gives plain distances).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, ProtocolError
from ..fileio import atomic_write_bytes
from ..models.svm import SVMClassifier, unweighted_accuracy

__all__ = ["inertias", "lda_grid", "lda_projection", "modulewise_table", "modulewise_ua", "rho", "speaker_split"]

#: Column titles of the paper's Table 5, by representation name.
MODULE_TITLES: dict[str, str] = {"raw": "Raw", "cnn": "CNN", "blstm": "BLSTM", "mlp": "MLP"}


def _labels(labels: Sequence[Any]) -> np.ndarray:
    return np.asarray([str(v) for v in labels])


def inertias(x: np.ndarray, labels: Sequence[Any], squared: bool = True) -> tuple[float, float]:
    """``(omega_intra, omega_inter)`` of ``x (N, D)`` clustered by ``labels`` (N,)."""
    x = np.asarray(x, dtype=np.float64)
    lab = _labels(labels)
    if x.ndim != 2 or lab.shape != (x.shape[0],):
        raise ConfigError(f"inertias: need x (N, D) and N labels; got {x.shape} and {lab.shape}")
    classes = np.unique(lab)
    if len(classes) < 2:
        raise ConfigError(f"inertias: {len(classes)} class(es); the inter-cluster inertia needs at least 2")
    centres = np.stack([x[lab == c].mean(0) for c in classes])
    power = 2 if squared else 1

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.linalg.norm(a - b, axis=-1) ** power

    intra = float(np.mean([dist(x[lab == c], centres[i]).mean() for i, c in enumerate(classes)]))
    pair = dist(centres[:, None, :], centres[None, :, :])
    k = len(classes)
    inter = float(pair.sum() / (k * k - k))
    return intra, inter


def rho(x: np.ndarray, labels: Sequence[Any], squared: bool = True) -> float:
    """Clustering ratio ``omega_intra / omega_inter`` (smaller = better separated classes)."""
    intra, inter = inertias(x, labels, squared)
    return float("inf") if inter == 0 else intra / inter


def speaker_split(speakers: Sequence[str], test_fraction: float = 0.2,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Speaker-independent ``(train_idx, test_idx)``: a seeded share of speakers held out.

    A fallback for quick analyses; recipes pass the fold of :mod:`emoconv.protocol` instead.
    """
    spk = np.asarray(list(speakers))
    units = sorted(set(spk.tolist()))
    if len(units) < 2:
        raise ProtocolError(f"speaker split: {len(units)} speaker(s); need at least 2 for a speaker-independent test")
    order = np.random.default_rng(seed).permutation(len(units))
    n_test = min(len(units) - 1, max(1, int(round(test_fraction * len(units)))))
    test_units = {units[i] for i in order[:n_test]}
    test = np.flatnonzero([s in test_units for s in spk])
    train = np.flatnonzero([s not in test_units for s in spk])
    return train, test


def modulewise_ua(
    reps: Mapping[str, np.ndarray],
    labels: Sequence[int],
    speakers: Sequence[str],
    train_idx: Sequence[int] | None = None,
    test_idx: Sequence[int] | None = None,
    val_idx: Sequence[int] | None = None,
    n_classes: int | None = None,
    seed: int = 0,
    **svm_params: Any,
) -> dict[str, float]:
    """UA of an SVM trained on each representation (``{module: (N, D)}``), the paper's Table 5 row.

    The split is ``train_idx``/``test_idx`` (e.g. a protocol fold's train and test; ``val_idx``
    feeds a C grid) or, when not given, :func:`speaker_split` with ``seed``. Training and test
    speakers must be disjoint. ``svm_params`` go to :class:`SVMClassifier` (default: linear
    kernel, C=1, speaker standardisation, balanced class weights).
    """
    y = np.asarray(labels, dtype=np.int64)
    spk = np.asarray(list(speakers))
    if train_idx is None or test_idx is None:
        tr, te = speaker_split(spk, seed=seed)
    else:
        tr, te = np.asarray(train_idx, dtype=np.int64), np.asarray(test_idx, dtype=np.int64)
    va = np.asarray(val_idx if val_idx is not None else (), dtype=np.int64)
    leak = set(spk[tr]) & set(spk[te])
    if leak:
        raise ProtocolError(f"module-wise analysis: speaker(s) {sorted(leak)[:3]} in both train and test; "
                            "pass a speaker-independent split")
    k = int(n_classes if n_classes is not None else y.max() + 1)
    out: dict[str, float] = {}
    for name, x in reps.items():
        x = np.asarray(x)
        if x.shape[0] != y.shape[0]:
            raise ConfigError(f"module-wise analysis: {name} has {x.shape[0]} rows for {y.shape[0]} labels")
        model = SVMClassifier(k, **svm_params)
        model.fit(x[tr], y[tr], x[va] if va.size else None, y[va] if va.size else None,
                  train_speakers=spk[tr], val_speakers=spk[va] if va.size else None)
        out[name] = unweighted_accuracy(y[te], model.predict(x[te], speakers=spk[te]))
    return out


def modulewise_table(results: Mapping[str, Mapping[str, float]], percent: bool = True) -> pd.DataFrame:
    """Table 5 layout: rows = models, columns Raw / CNN / BLSTM / MLP (blank where a module is absent)."""
    cols = [m for m in MODULE_TITLES if any(m in r for r in results.values())]
    rows = {model: [(r[m] * (100 if percent else 1)) if m in r else np.nan for m in cols]
            for model, r in results.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[MODULE_TITLES[m] for m in cols])


def lda_projection(x: np.ndarray, labels: Sequence[Any]) -> np.ndarray:
    """LDA (class priors = class frequencies) onto the first ``min(K - 1, 2)`` discriminants: ``(N, 1|2)``."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    lab = _labels(labels)
    k = len(np.unique(lab))
    if k < 2:
        raise ConfigError("LDA needs at least two classes")
    return LinearDiscriminantAnalysis(n_components=min(k - 1, 2)).fit_transform(np.asarray(x, np.float64), lab)


def lda_grid(
    reps: Mapping[str, np.ndarray],
    factors: Mapping[str, Sequence[Any]],
    path: str | os.PathLike[str],
    modules: Sequence[str] = ("cnn", "blstm", "mlp"),
    title: str | None = None,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Save a ``len(factors) x len(modules)`` grid of LDA scatter plots as PNG; return ``rho[factor][module]``.

    ``factors`` maps a labeling name to per-utterance labels, e.g.
    ``{"emotion": [...], "speaker": [...], "gender": [...]}`` (rows of the paper's Fig. 2); entries
    that are ``None`` (unknown gender) are left out of that row. Modules missing from ``reps``
    (the LDNN has no CNN) are skipped. Each subplot's title is its ``rho`` on the original
    representation; class centres are marked with their label. Written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [m for m in modules if m in reps]
    if not cols or not factors:
        raise ConfigError("lda_grid: no module representation or no labeling to plot")
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(factors), len(cols), figsize=(3.6 * len(cols), 3.2 * len(factors)), squeeze=False)
    rhos: dict[str, dict[str, float]] = {}
    for r, (fname, raw_labels) in enumerate(factors.items()):
        keep = np.asarray([v is not None for v in raw_labels])
        lab = _labels([v for v in raw_labels if v is not None])
        classes = np.unique(lab)
        rhos[fname] = {}
        for c, module in enumerate(cols):
            ax = axes[r][c]
            x = np.asarray(reps[module])[keep]
            if len(classes) < 2:
                ax.set_title(f"{fname}: single class")
                ax.axis("off")
                continue
            value = rho(x, lab)
            rhos[fname][module] = value
            z = lda_projection(x, lab)
            if z.shape[1] == 1:
                offset = {cl: i for i, cl in enumerate(classes)}
                z = np.column_stack([z[:, 0], [offset[v] for v in lab] + 0.15 * rng.standard_normal(len(lab))])
            cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
            for i, cl in enumerate(classes):
                pts = z[lab == cl]
                ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.6, color=cmap(i % cmap.N))
                centre = pts.mean(0)
                ax.annotate(str(cl), centre, fontsize=7, weight="bold", ha="center")
            ax.set_title(f"{value:.3f}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(fname)
            if r == len(factors) - 1:
                ax.set_xlabel(MODULE_TITLES.get(module, module))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(Path(path), buf.getvalue())
    return rhos
