"""How much a linear model gets from ECNet's own input: log-mel band statistics + linear SVM, leave-one-speaker-out.

A diagnostic for the strong-recipe issue (docs/results.md, "How much ECNet leaves in its own input"). It takes
the frames ECNet trains on (``emoconv/recipes/ecnet.yaml``'s features: 40 log-mel bands, 25 ms windows, 20 ms
hop), reduces each utterance to nine statistics per band (mean, standard deviation, 10th / 50th / 90th
percentiles, maximum, minimum, and the standard deviation and mean magnitude of the frame-to-frame
difference: 360 values), standardises them per speaker as the recipe does, and fits a class-weighted linear SVM
(scikit-learn's ``LinearSVC``) on every speaker but the test one. If this fixed, linear read-out of the input
beats the network, the network, not its input, is what holds it back.

    python benchmarks/input_ceiling.py [--corpus ravdess] [--path DIR] [--C 0.001,0.01,0.1] [--lld] [--json]

With ``--lld`` the same nine statistics of the 32 IS09 frame descriptors (F0, voicing probability, energy,
zero-crossing rate, MFCC 1-12 and their deltas; :mod:`emoconv.features.lld`) join the log-mel ones, which says
how much pitch and voicing tracks beside the spectrogram could add.

Prints the pooled UA (recall averaged over classes, all test predictions together) per C. It reads the real
corpus (docs/corpora.md says how to get it) and exits 2 with one line when the folder is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

from strong_recipe import PATHS  # the real corpora's folders (docs/corpora.md)


def band_statistics(frames: np.ndarray) -> np.ndarray:
    """``(T, F)`` log-mel frames -> ``(9 * F,)`` utterance statistics (see the module docstring)."""
    diff = np.diff(frames, axis=0) if len(frames) > 1 else np.zeros_like(frames)
    return np.concatenate([frames.mean(0), frames.std(0), np.percentile(frames, [10, 50, 90], axis=0).ravel(),
                           frames.max(0), frames.min(0), diff.std(0), np.abs(diff).mean(0)])


def loso_ua(x: np.ndarray, y: np.ndarray, utterances: list, c: float) -> float:
    """Pooled UA (%) of a class-weighted linear SVM over emoconv's own leave-one-speaker-out folds.

    ``x`` is z-scored per speaker inside each fold by :class:`emoconv.features.Normalizer` (each speaker's own
    statistics, no labels), as the recipe normalises its frames; every other speaker trains (the fold's
    validation speaker too, as in the SVM baseline's ``train_on: train+val``).
    """
    import torch
    from sklearn.svm import LinearSVC

    from emoconv.features.normalize import Normalizer
    from emoconv.protocol import ProtocolConfig, encode_labels, make_folds, unweighted_accuracy

    rows = [torch.from_numpy(r).view(1, 1, -1) for r in x]  # one (C=1, T=1, F) "frame" per utterance
    speakers = [u.speaker for u in utterances]
    z = torch.cat(Normalizer("speaker").fit(rows, speakers).transform_many(rows, speakers)).flatten(1).numpy()
    labels = sorted(set(y))
    codes = encode_labels(y, labels)
    truth, pred = [], []
    for fold in make_folds(utterances, ProtocolConfig(kind="loso", val_speakers=1)):  # checked disjoint
        train, test = list(fold.train + fold.val), list(fold.test)
        clf = LinearSVC(C=c, class_weight="balanced", max_iter=5000).fit(z[train], codes[train])
        truth.extend(codes[test])
        pred.extend(clf.predict(z[test]))
    return 100.0 * unweighted_accuracy(truth, pred)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="ravdess", choices=sorted(PATHS))
    ap.add_argument("--path", type=Path, default=None, help="the corpus folder (default: where docs/corpora.md puts it)")
    ap.add_argument("--C", dest="cs", default="0.001,0.01,0.1", help="comma-separated SVM C values")
    ap.add_argument("--lld", action="store_true", help="add the statistics of the 32 IS09 LLD tracks (F0, voicing, ...)")
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
    from emoconv.experiments.recipe import load_recipe_dict
    from emoconv.features.extract import extract_features
    from emoconv.features.kinds import parse_features
    from emoconv.train_cli import DEFAULT_RECIPE

    utts = load_corpus(args.corpus, path)
    cfg = parse_features(load_recipe_dict(DEFAULT_RECIPE)["features"])  # the frames ECNet trains on
    feats = extract_features(cfg, [u.path for u in utts], progress=not args.json)
    y = [u.label for u in utts]
    x = np.stack([band_statistics(f[0].numpy()) for f in feats])
    what = "logmel_stats"
    if args.lld:
        from emoconv.features.lld import LLDConfig, extract_lld

        tracks = extract_lld(LLDConfig(), [u.path for u in utts], progress=not args.json)
        x = np.concatenate([x, np.stack([band_statistics(t.numpy()) for t in tracks])], axis=1)
        what = "logmel_lld_stats"

    fig = Figures("input_ceiling", args)
    print(f"{args.corpus}: {len(utts)} utterances, {len({u.speaker for u in utts})} speakers, {x.shape[1]} statistics")
    print("| C | pooled UA, leave-one-speaker-out |\n|---|---|")
    for c in cs:
        ua = loso_ua(x, y, utts, c)
        print(f"| {c:g} | {ua:.2f} |")
        fig.add(f"{args.corpus}_{what}_svm_ua_C{c:g}", ua)
    fig.emit(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
