"""The built-in synthetic emotional-speech corpus: generated locally, no download.

:func:`generate_builtin` writes ``root/wav/<speaker>_<label>_<nn>.wav`` (16-bit
PCM) and ``root/manifest.csv`` (``path,speaker,label,gender,corpus``) from the
source-filter generator in :mod:`emoconv.audio.synth`. Generation is
deterministic (same config -> bit-identical files), idempotent (a stamp file
with the config hash marks a finished corpus) and atomic (everything is written
to a temporary sibling folder that is renamed into place at the end).

The corpus is registered as ``builtin`` in :data:`~emoconv.corpora.base.CORPORA`::

    root = generate_builtin(builtin_corpus_dir(BuiltinConfig()))
    utts = load_corpus("builtin", root)
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio.synth import EMOTION_STYLES, make_speakers, synthesize_utterance
from ..config import check, config_hash, to_dict
from ..errors import ConfigError
from ..faults import fault_point
from ..fileio import atomic_write_json, atomic_write_text, remove_stale_temps, tmp_prefix
from .base import CORPORA, FOUR_CLASSES, SHARED_LABELS, Scan

#: Name of the stamp file that marks a finished corpus; holds the config and its hash.
STAMP_NAME = "builtin-stamp.json"
MANIFEST_NAME = "manifest.csv"
MANIFEST_HEADER = ("path", "speaker", "label", "gender", "corpus")


@dataclass(frozen=True)
class BuiltinConfig:
    """What to generate: speakers x classes x utterances, durations, rate, seed.

    Speakers alternate female/male; ``classes`` are names from
    :data:`~emoconv.corpora.base.SHARED_LABELS` (each has a style in
    :data:`emoconv.audio.synth.EMOTION_STYLES`). Durations are drawn uniformly
    from ``[min_duration_s, max_duration_s]``.
    """

    n_speakers: int = 8
    utterances_per_class: int = 12
    classes: tuple[str, ...] = FOUR_CLASSES
    min_duration_s: float = 1.5
    max_duration_s: float = 2.5
    sample_rate: int = 16000
    seed: int = 0

    def __post_init__(self) -> None:
        check(1 <= self.n_speakers <= 99, f"builtin.n_speakers: {self.n_speakers} must be in [1, 99]")
        check(
            1 <= self.utterances_per_class <= 9999,
            f"builtin.utterances_per_class: {self.utterances_per_class} must be in [1, 9999]",
        )
        check(len(self.classes) >= 1, "builtin.classes: give at least one class name")
        unknown = [c for c in self.classes if c not in SHARED_LABELS]
        check(not unknown, f"builtin.classes: unknown label(s) {unknown}; choose from {', '.join(SHARED_LABELS)}")
        check(len(set(self.classes)) == len(self.classes), f"builtin.classes: {list(self.classes)} has duplicates")
        check(
            0.5 <= self.min_duration_s <= self.max_duration_s <= 20.0,
            f"builtin.min_duration_s/max_duration_s: need 0.5 <= {self.min_duration_s} <= "
            f"{self.max_duration_s} <= 20 seconds",
        )
        check(8000 <= self.sample_rate <= 48000, f"builtin.sample_rate: {self.sample_rate} must be in [8000, 48000] Hz")
        check(0 <= self.seed < 2**32, f"builtin.seed: {self.seed} must be in [0, 2**32)")


def builtin_corpus_dir(cfg: BuiltinConfig = BuiltinConfig()) -> Path:
    """Default folder for the corpus of ``cfg``: ``<cache>/builtin/<config hash>``.

    ``<cache>`` is :func:`emoconv.features.default_cache_dir` when that exists,
    else ``$EMOCONV_CACHE`` or ``~/.cache/emoconv``.
    """
    try:
        from ..features import default_cache_dir  # type: ignore[attr-defined]

        base = Path(default_cache_dir())
    except ImportError:
        base = Path(os.environ.get("EMOCONV_CACHE") or Path.home() / ".cache" / "emoconv")
    return base.expanduser() / "builtin" / config_hash(cfg)


def _utterance_rng(cfg: BuiltinConfig, speaker: int, label: str, index: int) -> np.random.Generator:
    # Keyed by label index in SHARED_LABELS (not position in cfg.classes), so each file
    # depends only on (seed, speaker, label, index) and not on what else is generated.
    return np.random.default_rng([cfg.seed, speaker, SHARED_LABELS.index(label), index])


def _wav_bytes(wav: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wav, sample_rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _read_stamp(root: Path) -> str | None:
    stamp = root / STAMP_NAME
    if not stamp.is_file():
        return None
    try:
        return str(json.loads(stamp.read_text(encoding="utf-8"))["config_hash"])
    except (ValueError, KeyError, TypeError, OSError):
        return ""


def _check_existing(root: Path, want: str) -> bool:
    """True if ``root`` already holds this corpus; ConfigError if it holds something else."""
    if not root.exists():
        return False
    if not root.is_dir():
        raise ConfigError(f"{root}: exists and is not a folder; choose another folder for the builtin corpus")
    have = _read_stamp(root)
    if have == want and (root / MANIFEST_NAME).is_file():
        return True
    if have is not None:
        raise ConfigError(
            f"{root}: holds a builtin corpus generated with another config (hash {have or 'unreadable'}, "
            f"wanted {want}); choose another folder or delete this one"
        )
    if any(root.iterdir()):
        raise ConfigError(f"{root}: folder is not empty and is not a builtin corpus; choose another folder")
    return False


def generate_builtin(
    root: str | os.PathLike[str], cfg: BuiltinConfig = BuiltinConfig(), progress: bool = False
) -> Path:
    """Generate the corpus of ``cfg`` into ``root`` (or find it there) and return ``root``.

    Writes ``wav/<speaker>_<label>_<nn>.wav`` and ``manifest.csv`` (paths relative
    to ``root``) plus a stamp file. If ``root`` already holds the same config,
    nothing is written; a different config there is a ConfigError. A killed run
    leaves only a hidden ``.<name>.tmp-<pid>-*`` sibling, never a half corpus at ``root``; the next start
    removes it.
    """
    root = Path(root).expanduser()
    want = config_hash(cfg)
    if _check_existing(root, want):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(root.parent)  # a killed generation's half corpus
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix(root.name), dir=root.parent))
    try:
        _write_corpus(tmp, cfg, progress)
        fault_point(root.name, "corpus")  # test hook (emoconv.faults): a kill with the corpus half made
        atomic_write_json(tmp / STAMP_NAME, {"config_hash": want, "config": to_dict(cfg)})
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        try:
            os.rename(tmp, root)
        except OSError:
            # Another process finished first: accept its corpus if it is the same one.
            if _check_existing(root, want):
                shutil.rmtree(tmp, ignore_errors=True)
                return root
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root


def _write_corpus(folder: Path, cfg: BuiltinConfig, progress: bool) -> None:
    speakers = make_speakers(cfg.n_speakers, cfg.seed)
    wav_dir = folder / "wav"
    wav_dir.mkdir()
    width = max(2, len(str(cfg.utterances_per_class - 1)))
    jobs = [(i, label, k) for i in range(cfg.n_speakers) for label in cfg.classes
            for k in range(cfg.utterances_per_class)]
    if progress:
        from tqdm import tqdm

        jobs = tqdm(jobs, desc="builtin corpus", unit="utt")
    rows = []
    for i, label, k in jobs:
        spk = speakers[i]
        rng = _utterance_rng(cfg, i, label, k)
        duration = float(rng.uniform(cfg.min_duration_s, cfg.max_duration_s))
        wav = synthesize_utterance(spk, EMOTION_STYLES[label], rng, cfg.sample_rate, duration_s=duration)
        rel = f"wav/{spk.name}_{label}_{k:0{width}d}.wav"
        (folder / rel).write_bytes(_wav_bytes(wav, cfg.sample_rate))
        rows.append((rel, spk.name, label, spk.gender, "builtin"))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(MANIFEST_HEADER)
    writer.writerows(rows)
    atomic_write_text(folder / MANIFEST_NAME, text.getvalue())


@CORPORA.register("builtin")
def scan_builtin(root: Path, **options: object) -> Scan:
    """Scan a generated builtin corpus folder (or its ``manifest.csv``)."""
    from .manifest import scan_manifest

    return scan_manifest(root, corpus="builtin")


__all__ = ["BuiltinConfig", "builtin_corpus_dir", "generate_builtin", "scan_builtin"]
