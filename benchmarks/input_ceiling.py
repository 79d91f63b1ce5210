"""How much a linear model gets from ECNet's own input: log-mel band statistics + linear SVM, leave-one-speaker-out.

A diagnostic for the strong-recipe issue (docs/results.md, "How much ECNet leaves in its own input"). It takes
the frames ECNet trains on (``emoconv/recipes/ecnet.yaml``'s features: 40 log-mel bands, 25 ms windows, 20 ms
hop), reduces each utterance to nine statistics per band (mean, standard deviation, 10th / 50th / 90th
percentiles, maximum, minimum, and the standard deviation and mean magnitude of the frame-to-frame
difference: 360 values), standardises them per speaker as the recipe does, and fits a class-weighted linear SVM
(scikit-learn's ``LinearSVC``) on every speaker but the test one. If this fixed, linear read-out of the input
beats the network, the network, not its input, is what holds it back.

    python benchmarks/input_ceiling.py [--corpus ravdess] [--path DIR] [--C 0.001,0.01,0.1] [--json]

Prints the pooled UA (recall averaged over classes, all test predictions together) per C. It reads the real
corpus (docs/corpora.md says how to get it) and exits 2 with one line when the folder is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

ROOT = Path(__file__).resolve().parents[1]
PATHS = {"savee": ROOT.parent / "shared/corpora/savee/ALL", "ravdess": Path("/tmp/emoconv-corpora/ravdess"),
         "emovo": Path("/tmp/emoconv-corpora/emovo"), "urdu": Path("/tmp/emoconv-corpora/urdu")}


def band_statistics(frames: np.ndarray) -> np.ndarray:
    """``(T, F)`` log-mel frames -> ``(9 * F,)`` utterance statistics (see the module docstring)."""
    diff = np.diff(frames, axis=0) if len(frames) > 1 else np.zeros_like(frames)
    return np.concatenate([frames.mean(0), frames.std(0), np.percentile(frames, [10, 50, 90], axis=0).ravel(),
                           frames.max(0), frames.min(0), diff.std(0), np.abs(diff).mean(0)])


def per_speaker_z(x: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """Each speaker's rows standardised by that speaker's own mean and deviation (no labels used)."""
    out = np.empty_like(x)
    for s in np.unique(speakers):
        m = speakers == s
        out[m] = (x[m] - x[m].mean(0)) / (x[m].std(0) + 1e-8)
    return out


def loso_ua(x: np.ndarray, y: np.ndarray, speakers: np.ndarray, c: float) -> float:
    """Pooled UA (%) of a class-weighted linear SVM, one test speaker per fold."""
    from sklearn.metrics import recall_score
    from sklearn.svm import LinearSVC

    truth, pred = [], []
    for s in np.unique(speakers):
        test = speakers == s
        assert not set(speakers[~test]) & set(speakers[test]), "a test speaker is in the training set"
        clf = LinearSVC(C=c, class_weight="balanced", max_iter=5000).fit(x[~test], y[~test])
        truth.extend(y[test])
        pred.extend(clf.predict(x[test]))
    return 100.0 * recall_score(truth, pred, average="macro")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="ravdess", choices=sorted(PATHS))
    ap.add_argument("--path", type=Path, default=None, help="the corpus folder (default: where docs/corpora.md puts it)")
    ap.add_argument("--C", dest="cs", default="0.001,0.01,0.1", help="comma-separated SVM C values")
    add_json_flag(ap)
    args = ap.parse_args(argv)
    path = args.path or PATHS[args.corpus]
    if not path.is_dir():
        print(f"input_ceiling: corpus folder {path} not found; unpack it (docs/corpora.md) or pass --path", file=sys.stderr)
        return 2
    try:
        cs = [float(c) for c in args.cs.split(",")]
    except ValueError:
        print(f"input_ceiling: --C {args.cs!r}: expected comma-separated numbers, e.g. 0.001,0.01", file=sys.stderr)
        return 2

    from emoconv.corpora import load_corpus
    from emoconv.features.config import FeatureConfig
    from emoconv.features.extract import extract_features

    utts = load_corpus(args.corpus, path)
    cfg = FeatureConfig(kind="logmel", n_mels=40, win_ms=25, hop_ms=20)  # emoconv/recipes/ecnet.yaml's features
    feats = extract_features(cfg, [u.path for u in utts], progress=not args.json)
    speakers = np.array([u.speaker for u in utts])
    y = np.array([u.label for u in utts])
    x = per_speaker_z(np.stack([band_statistics(f[0].numpy()) for f in feats]), speakers)

    fig = Figures("input_ceiling", args)
    print(f"{args.corpus}: {len(utts)} utterances, {len(np.unique(speakers))} speakers, {x.shape[1]} statistics")
    print("| C | pooled UA, leave-one-speaker-out |\n|---|---|")
    for c in cs:
        ua = loso_ua(x, y, speakers, c)
        print(f"| {c:g} | {ua:.2f} |")
        fig.add(f"{args.corpus}_logmel_stats_svm_ua_C{c:g}", ua)
    fig.emit(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
