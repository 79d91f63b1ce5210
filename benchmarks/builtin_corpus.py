"""Built-in synthetic corpus: generation time and a speaker-independent learnability baseline.

Generates the corpus of a :class:`~emoconv.corpora.builtin.BuiltinConfig` into a
temporary folder (wall and CPU time, compared with the 20 s budget), then fits a
logistic regression on per-utterance mean + std of a 40-band log-mel (25 ms
window, 10 ms hop, scipy STFT, librosa mel matrix) with leave-one-speaker-out
folds and prints unweighted accuracy (UA, mean recall over classes) beside chance.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/builtin_corpus.py            # default corpus, seeds 0 1 2
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/builtin_corpus.py --quick    # 4 speakers x 4 x 6, seed 0
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from emoconv.corpora.builtin import BuiltinConfig, generate_builtin

from _figures import Figures, add_json_flag  # benchmarks/_figures.py (run as python benchmarks/X.py)

BUDGET_S = 20.0


def summary_features(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (N, 80), labels (N,), speakers (N,)) from a generated corpus folder."""
    import librosa.filters

    mel = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40)
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    feats = []
    for r in rows:
        x, sr = sf.read(str(root / r["path"]), dtype="float32")
        _, _, z = signal.stft(x, sr, nperseg=400, noverlap=240, nfft=512)
        logmel = np.log(mel @ (np.abs(z) ** 2) + 1e-10)
        feats.append(np.concatenate([logmel.mean(axis=1), logmel.std(axis=1)]))
    return np.stack(feats), np.array([r["label"] for r in rows]), np.array([r["speaker"] for r in rows])


def loso_ua(feats: np.ndarray, labels: np.ndarray, speakers: np.ndarray) -> tuple[float, np.ndarray]:
    """UA over all leave-one-speaker-out predictions, and the confusion matrix."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pred = np.empty_like(labels)
    for spk in np.unique(speakers):
        test = speakers == spk
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        clf.fit(feats[~test], labels[~test])
        pred[test] = clf.predict(feats[test])
    return balanced_accuracy_score(labels, pred), confusion_matrix(labels, pred, labels=np.unique(labels))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="4 speakers x 4 classes x 6 utterances, one seed")
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    add_json_flag(ap)
    args = ap.parse_args()
    fig = Figures("builtin_corpus", args)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    for seed in seeds:
        cfg = BuiltinConfig(seed=seed) if not args.quick else BuiltinConfig(
            n_speakers=4, utterances_per_class=6, seed=seed)
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu = time.perf_counter(), time.process_time()
            root = generate_builtin(Path(tmp) / "corpus", cfg)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            n = cfg.n_speakers * len(cfg.classes) * cfg.utterances_per_class
            audio_s = sum(sf.info(str(p)).duration for p in (root / "wav").iterdir())
            feats, labels, speakers = summary_features(root)
        ua, cm = loso_ua(feats, labels, speakers)
        print(f"seed {seed}: {cfg.n_speakers} speakers x {len(cfg.classes)} classes x "
              f"{cfg.utterances_per_class} = {n} utterances, {audio_s:.0f} s of audio")
        print(f"  generation: wall {wall:.2f} s, cpu {cpu:.2f} s, budget {BUDGET_S:.0f} s "
              f"(cpu/budget {cpu / BUDGET_S:.2f}), real-time factor {cpu / audio_s:.4f}")
        print(f"  LOSO logistic regression on log-mel mean+std: UA {ua:.3f} "
              f"(chance {1 / len(cfg.classes):.3f}, ratio {ua * len(cfg.classes):.2f}x chance)")
        fig.add(f"seed{seed}_generation_cpu_over_budget", cpu / BUDGET_S, 1.0, "<=")
        fig.add(f"seed{seed}_real_time_factor", cpu / audio_s)
        fig.add(f"seed{seed}_loso_ua", ua)
        fig.add(f"seed{seed}_ua_over_chance", ua * len(cfg.classes))
        print("  confusion (rows true, cols predicted; " + ", ".join(np.unique(labels)) + "):")
        for row in cm:
            print("   ", " ".join(f"{v:4d}" for v in row))
    fig.emit(args.json)


if __name__ == "__main__":
    main()
