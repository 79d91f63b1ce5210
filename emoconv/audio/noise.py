"""Additive-noise augmentation at chosen signal-to-noise ratios, generated on the fly.

The convolution-type study (C.-W. Huang and S. S. Narayanan, arXiv:1706.02901, Sec. 5.2) mixes
every clean utterance with 20 noise clips (the MUSAN noise portion) at 3 SNRs drawn uniformly
from [-10, 15] dB, 60 noisy copies per utterance (x61 data with the clean one). Here:

* :func:`mix_at_snr` adds a noise clip looped or cropped to the speech length, scaled so the
  mixture's SNR (mean speech power over mean power of the added noise) is the requested value.
* :class:`NoisePool` holds noise clips read from any folder of audio (ESC-10 ``.ogg`` files in
  folders with spaces, MUSAN ``.wav``) through :func:`emoconv.audio.load_audio`.
* :func:`split_noise` splits a pool into disjoint training and test clips, so a clip mixed into
  test audio is never heard in training.
* :class:`NoiseAugmenter` makes copy ``j`` of utterance ``i`` from ``(seed, i, j)`` alone: nothing
  is written to disk unless :meth:`NoiseAugmenter.write` is asked to.

Conditions (:data:`CONDITIONS`), following the paper's Sec. 6.2: models are always *trained* on
the clean training utterances plus their noisy copies (noise from the training pool); the
"clean" condition validates and tests on clean utterances only; the "noisy" condition validates
and tests on the clean utterances plus their noisy copies made with held-out (test-pool) noise.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import soundfile as sf

from ..config import check
from ..errors import AudioError, ConfigError
from ..fileio import atomic_write_bytes
from .io import AUDIO_EXTENSIONS, load_audio

__all__ = [
    "CONDITIONS", "NoiseAugmenter", "NoiseConfig", "NoisePool", "esc_source_id", "mix_at_snr", "snr_db",
    "split_noise",
]

#: Which partitions get noise in each evaluation condition (training always gets it).
CONDITIONS: dict[str, dict[str, str]] = {
    "clean": {"train": "clean + noisy (train noise)", "val": "clean", "test": "clean"},
    "noisy": {"train": "clean + noisy (train noise)", "val": "clean + noisy (test noise)",
              "test": "clean + noisy (test noise)"},
}


def snr_db(speech: np.ndarray, noise: np.ndarray) -> float:
    """SNR in dB of ``speech`` against the ``noise`` actually added (same length)."""
    ps = float(np.mean(np.square(speech, dtype=np.float64)))
    pn = float(np.mean(np.square(noise, dtype=np.float64)))
    return 10.0 * np.log10(ps / pn)


def _fit_length(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``noise`` looped (from a random start) or cropped (at a random offset) to ``n`` samples."""
    m = noise.shape[0]
    start = int(rng.integers(m)) if m > 0 else 0
    if m >= n:
        start = int(rng.integers(m - n + 1))
        return noise[start:start + n]
    reps = -(-(start + n) // m)
    return np.tile(noise, reps)[start:start + n]


def _audible_window(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A window of ``n`` samples of ``noise`` (``len(noise) >= n``) drawn uniformly among those that hold a
    non-zero sample; :class:`AudioError` when the clip is silent throughout."""
    energy = np.concatenate([[0.0], np.cumsum(np.square(noise, dtype=np.float64))])
    m = noise.shape[0]
    starts = np.flatnonzero(energy[n:m + 1] - energy[:m - n + 1] > 0.0) if m >= n else np.array([], dtype=np.int64)
    if starts.size == 0:
        raise AudioError("mix_at_snr: the noise clip is silent over the speech length; drop the clip")
    start = int(starts[rng.integers(starts.size)])
    return noise[start:start + n].astype(np.float64)


def mix_at_snr(
    speech: np.ndarray,
    noise: np.ndarray,
    snr: float,
    rng: np.random.Generator | int | None = None,
    return_noise: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Mix ``noise`` into ``speech`` ``(N,)`` at ``snr`` dB; returns float32 ``(N,)``.

    The noise is cropped at a random offset (or looped from a random start when shorter than the
    speech), then scaled so that ``10 log10(P_speech / P_added_noise) == snr`` (float64 arithmetic;
    exact to far better than 0.1 dB). Silent stretches are avoided by retrying a few offsets, then by
    drawing among the offsets whose window holds sound (a short event in a zero-padded clip); a clip that
    is silent throughout raises :class:`AudioError`. No clipping is applied
    (the mixture may exceed [-1, 1]). ``return_noise=True`` also returns the scaled noise added.
    """
    speech = np.asarray(speech, dtype=np.float32)
    noise = np.asarray(noise, dtype=np.float32)
    if speech.ndim != 1 or noise.ndim != 1 or speech.size == 0 or noise.size == 0:
        raise AudioError(f"mix_at_snr: speech and noise must be non-empty 1-D signals, got "
                         f"{speech.shape} and {noise.shape}")
    if not np.isfinite(snr):
        raise ConfigError(f"mix_at_snr: snr={snr} dB must be finite")
    ps = float(np.mean(np.square(speech, dtype=np.float64)))
    if ps == 0.0:
        raise AudioError("mix_at_snr: speech is silent (zero power); an SNR is undefined")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    for _ in range(8):
        segment = _fit_length(noise, speech.shape[0], gen).astype(np.float64)
        pn = float(np.mean(np.square(segment)))
        if pn > 0.0:
            break
    else:  # e.g. a short event in a zero-padded clip (ESC-50/ESC-10): draw among the offsets that reach it
        segment = _audible_window(noise, speech.shape[0], gen)
        pn = float(np.mean(np.square(segment)))
    scaled = segment * np.sqrt(ps / (pn * 10.0 ** (snr / 10.0)))
    mixed = (speech.astype(np.float64) + scaled).astype(np.float32)
    return (mixed, scaled.astype(np.float32)) if return_noise else mixed


class NoisePool:
    """Named noise clips (mono float32 at ``sample_rate``), indexable by position.

    ``names`` are paths relative to the folder the pool was read from (unique, sorted).
    ``problems`` lists files that could not be read (skipped, not fatal).
    """

    def __init__(self, clips: Sequence[np.ndarray], names: Sequence[str], sample_rate: int = 16_000,
                 problems: Sequence[str] = ()) -> None:
        if len(clips) != len(names):
            raise ValueError(f"{len(clips)} clips but {len(names)} names")
        if len(set(names)) != len(names):
            raise ConfigError("noise pool: clip names must be unique")
        self.clips = list(clips)
        self.names = list(names)
        self.sample_rate = int(sample_rate)
        self.problems = list(problems)

    @classmethod
    def from_folder(cls, path: str | os.PathLike[str], sample_rate: int = 16_000,
                    extensions: frozenset[str] = AUDIO_EXTENSIONS) -> "NoisePool":
        """Read every audio file under ``path`` (recursively, any libsndfile format).

        Unreadable, silent or too-short files are skipped and listed in ``problems``; a folder
        without any usable clip raises :class:`AudioError` naming it.
        """
        root = Path(path).expanduser()
        if not root.is_dir():
            raise AudioError(f"{root}: noise folder not found; pass a folder of noise audio files")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in extensions)
        clips, names, problems = [], [], []
        for f in files:
            try:
                clips.append(load_audio(f, sample_rate))
                names.append(f.relative_to(root).as_posix())
            except AudioError as exc:
                problems.append(str(exc))
        if not clips:
            hint = f" ({len(problems)} unreadable, first: {problems[0]})" if problems else ""
            raise AudioError(f"{root}: no usable noise audio found{hint}; add audio files "
                             f"({', '.join(sorted(extensions))})")
        return cls(clips, names, sample_rate, problems)

    def subset(self, indices: Sequence[int]) -> "NoisePool":
        """A pool with the clips at ``indices`` (arrays shared, not copied)."""
        return NoisePool([self.clips[i] for i in indices], [self.names[i] for i in indices], self.sample_rate)

    @property
    def seconds(self) -> float:
        return float(sum(c.shape[0] for c in self.clips)) / self.sample_rate

    def __len__(self) -> int:
        return len(self.clips)

    def __repr__(self) -> str:
        return f"NoisePool({len(self)} clips, {self.seconds:.1f} s at {self.sample_rate} Hz)"


def split_noise(pool: NoisePool, test_fraction: float = 0.2, seed: int = 0,
                group: Callable[[str], str] | None = None) -> tuple[NoisePool, NoisePool]:
    """Split ``pool`` into disjoint ``(train_pool, test_pool)``; at least one clip in each.

    Clips are shuffled by ``seed`` (the result does not depend on the pool's order). ``group``
    maps a clip name to a group that must stay on one side, e.g. the Freesound source id of
    ESC clips (``"001 - Dog bark/1-100032-A.ogg"`` -> ``"100032"``) so takes of one recording
    never straddle the split; by default every clip is its own group.
    """
    check(0.0 < test_fraction < 1.0, f"split_noise test_fraction={test_fraction}: must be in (0, 1)")
    keys = [group(n) if group else n for n in pool.names]
    groups = sorted(set(keys))
    if len(groups) < 2:
        raise ConfigError(f"split_noise: {len(groups)} noise group(s); need at least 2 to keep train and "
                          "test noise disjoint; add noise clips")
    order = np.random.default_rng(seed).permutation(len(groups))
    n_test = min(len(groups) - 1, max(1, int(round(test_fraction * len(groups)))))
    test_groups = {groups[i] for i in order[:n_test]}
    test_idx = [i for i, k in enumerate(keys) if k in test_groups]
    train_idx = [i for i, k in enumerate(keys) if k not in test_groups]
    return pool.subset(train_idx), pool.subset(test_idx)


def esc_source_id(name: str) -> str:
    """Freesound source id of an ESC-10/50 clip name ``FOLD-SOURCEID-TAKE.ogg`` (for ``split_noise``)."""
    stem = Path(name).stem
    parts = stem.split("-")
    return parts[1] if len(parts) >= 3 else stem


@dataclass(frozen=True)
class NoiseConfig:
    """Settings of the noise augmentation (recipe section ``noise``)."""

    folder: str = ""
    n_clips: int = 20
    n_snrs: int = 3
    snr_low: float = -10.0
    snr_high: float = 15.0
    test_fraction: float = 0.2
    seed: int = 0
    sample_rate: int = 16_000

    def __post_init__(self) -> None:
        check(self.n_clips >= 1, f"noise.n_clips={self.n_clips}: must be at least 1")
        check(self.n_snrs >= 1, f"noise.n_snrs={self.n_snrs}: must be at least 1")
        check(self.snr_low <= self.snr_high, f"noise.snr_low={self.snr_low} > snr_high={self.snr_high}")
        check(0.0 < self.test_fraction < 1.0, f"noise.test_fraction={self.test_fraction}: must be in (0, 1)")
        check(self.sample_rate > 0, f"noise.sample_rate={self.sample_rate}: must be positive")


class NoiseAugmenter:
    """Deterministic noisy copies: copy ``j`` of utterance ``i`` depends only on ``(seed, i, j)``.

    For utterance ``i`` a generator seeded by ``(seed, i)`` draws ``n_clips`` distinct clips
    (with replacement only when the pool is smaller) and ``n_snrs`` SNRs uniform in
    ``[snr_low, snr_high]``; copy ``j`` (``0 <= j < n_clips * n_snrs``) uses clip ``j // n_snrs``
    at SNR ``j % n_snrs``, with the crop offset drawn from ``(seed, i, j)``.
    """

    def __init__(self, pool: NoisePool, n_clips: int = 20, n_snrs: int = 3,
                 snr_range: tuple[float, float] = (-10.0, 15.0), seed: int = 0) -> None:
        check(len(pool) > 0, "noise augmenter: the noise pool is empty")
        check(n_clips >= 1 and n_snrs >= 1, f"noise augmenter: n_clips={n_clips}, n_snrs={n_snrs} must be >= 1")
        check(snr_range[0] <= snr_range[1], f"noise augmenter: snr_range={snr_range} must be (low, high)")
        self.pool, self.n_clips, self.n_snrs = pool, int(n_clips), int(n_snrs)
        self.snr_range = (float(snr_range[0]), float(snr_range[1]))
        self.seed = int(seed)

    @classmethod
    def from_config(cls, pool: NoisePool, cfg: NoiseConfig, seed_offset: int = 0) -> "NoiseAugmenter":
        return cls(pool, cfg.n_clips, cfg.n_snrs, (cfg.snr_low, cfg.snr_high), cfg.seed + seed_offset)

    @property
    def copies(self) -> int:
        """Noisy copies per utterance (``n_clips * n_snrs``; 60 in the paper)."""
        return self.n_clips * self.n_snrs

    def plan(self, utt_index: int) -> list[tuple[int, float]]:
        """``[(clip index, snr_db), ...]`` for the copies of utterance ``utt_index``."""
        rng = np.random.default_rng([self.seed, int(utt_index)])
        replace = len(self.pool) < self.n_clips
        clips = rng.choice(len(self.pool), size=self.n_clips, replace=replace)
        snrs = rng.uniform(self.snr_range[0], self.snr_range[1], size=self.n_snrs)
        return [(int(clips[j // self.n_snrs]), float(snrs[j % self.n_snrs])) for j in range(self.copies)]

    def copy(self, wav: np.ndarray, utt_index: int, copy_index: int) -> np.ndarray:
        """Noisy copy ``copy_index`` of utterance ``utt_index`` (waveform ``wav``)."""
        if not 0 <= copy_index < self.copies:
            raise IndexError(f"copy_index {copy_index} outside [0, {self.copies})")
        clip, snr = self.plan(utt_index)[copy_index]
        rng = np.random.default_rng([self.seed, int(utt_index), int(copy_index), 1])
        try:
            return mix_at_snr(wav, self.pool.clips[clip], snr, rng)  # type: ignore[return-value]
        except AudioError as exc:
            raise AudioError(f"noise clip {self.pool.names[clip]}: {exc}") from None

    def expand(self, n_utterances: int, include_clean: bool = True) -> list[tuple[int, int]]:
        """Index list of the augmented set: ``(utterance, copy)`` with copy ``-1`` = the clean one.

        ``n_utterances * (copies + 1)`` entries with the clean copy (x61 in the paper).
        """
        first = -1 if include_clean else 0
        return [(i, j) for i in range(n_utterances) for j in range(first, self.copies)]

    def get(self, wav: np.ndarray, utt_index: int, copy_index: int) -> np.ndarray:
        """``wav`` itself for ``copy_index == -1``, else :meth:`copy`."""
        return np.asarray(wav, dtype=np.float32) if copy_index < 0 else self.copy(wav, utt_index, copy_index)

    def write(self, wav: np.ndarray, utt_index: int, out_dir: str | os.PathLike[str], stem: str,
              sample_rate: int | None = None) -> list[Path]:
        """Write all noisy copies of one utterance as float WAV files ``<stem>.noise<j>.wav`` (atomic).

        Float samples keep mixtures that exceed [-1, 1] unclipped.
        """
        sr = sample_rate or self.pool.sample_rate
        paths = []
        for j in range(self.copies):
            buf = io.BytesIO()
            sf.write(buf, self.copy(wav, utt_index, j), sr, format="WAV", subtype="FLOAT")
            paths.append(atomic_write_bytes(Path(out_dir) / f"{stem}.noise{j:03d}.wav", buf.getvalue()))
        return paths
