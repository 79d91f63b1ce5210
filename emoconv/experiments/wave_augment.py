"""Waveform augmentation of the training partition: speed perturbation, gain, cropping and additive noise.

Recipe setting ``train.wave_augment`` (:class:`emoconv.training.augment.WaveAugment`; off by default)::

    train:
      wave_augment:
        copies: 1              # augmented copies per training utterance in every epoch (0 = off)
        variants: 6            # planned variants per utterance; each epoch draws ``copies`` of them
        speeds: [0.9, 1.0, 1.1]    # speed perturbation factors (tempo and pitch, as sox ``speed``)
        gain_db: [-6, 6]       # uniform random gain in dB
        crop: 0.8              # keep a random stretch of at least 80 % of the utterance (1 = no crop)
        noise_dir: null        # folder of noise clips (e.g. ../shared/corpora/esc10); null = no noise
        snr_range: [5, 20]     # dB, uniform, when noise_dir is set
        seed: 0

Each variant ``v`` of training utterance ``u`` is a fixed draw of (speed, gain, crop window, noise clip,
SNR) seeded by ``(seed, u, v)``. Its audio is made on the fly: speed by resampling with soxr (a factor
``s`` plays the utterance ``s`` times faster and shifts its pitch, the Kaldi / sox ``speed`` effect that
models speaking-rate variation), gain by scaling, cropping by slicing, noise by
:func:`emoconv.audio.noise.mix_at_snr`. Its features are cached on disk (keyed by the file's identity,
the feature settings and the variant's draw), so a second epoch, fold or sweep that needs the same
variant reads it back instead of recomputing it; no audio is written. Validation and test utterances are
never augmented. Copies are normalised with the statistics fitted on the clean training partition (and
each copy with its own speaker's statistics under ``normalize: speaker``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..config import config_hash, to_dict
from ..fileio import file_identity, stable_hash

__all__ = ["WaveAugmenter", "augmented_train"]


class WaveAugmenter:
    """Planned variants of utterances under one :class:`~emoconv.training.augment.WaveAugment` setting."""

    def __init__(self, cfg: Any, sample_rate: int) -> None:
        self.cfg, self.sample_rate = cfg, int(sample_rate)
        self.pool = None
        if cfg.noise_dir:
            from pathlib import Path

            from ..audio.noise import NoisePool

            self.pool = NoisePool.from_folder(Path(str(cfg.noise_dir)).expanduser(), self.sample_rate)

    def plan(self, utt_id: str, variant: int) -> dict[str, Any]:
        """The draw of one variant: ``speed``, ``gain_db``, ``crop`` (start and kept fractions), noise."""
        cfg = self.cfg
        seed = int(stable_hash([cfg.seed, utt_id, int(variant)], length=12), 16)
        rng = np.random.default_rng(seed)
        out: dict[str, Any] = {
            "speed": float(cfg.speeds[rng.integers(len(cfg.speeds))]) if cfg.speeds else 1.0,
            "gain_db": float(rng.uniform(*cfg.gain_db)),
            "keep": float(rng.uniform(cfg.crop, 1.0)) if cfg.crop < 1.0 else 1.0,
            "start": float(rng.uniform()),
            "noise": None, "snr_db": None, "mix_seed": int(rng.integers(2**31)),
        }
        if self.pool is not None:
            out["noise"] = self.pool.names[int(rng.integers(len(self.pool)))]
            out["snr_db"] = float(rng.uniform(*cfg.snr_range))
        return out

    def apply(self, wav: np.ndarray, plan: dict[str, Any]) -> np.ndarray:
        """The variant's audio: speed, then crop, then gain, then noise; float32 ``(N',)``."""
        import soxr

        x = np.asarray(wav, dtype=np.float32)
        if plan["speed"] != 1.0:  # play s times faster: resample sr -> sr / s, read back at sr
            x = soxr.resample(x, self.sample_rate, self.sample_rate / plan["speed"]).astype(np.float32)
        if plan["keep"] < 1.0:
            n = max(1, int(round(len(x) * plan["keep"])))
            start = int(plan["start"] * (len(x) - n))
            x = x[start:start + n]
        x = x * np.float32(10.0 ** (plan["gain_db"] / 20.0))
        if plan["noise"] is not None and float(np.mean(np.square(x, dtype=np.float64))) > 0.0:
            from ..audio.noise import mix_at_snr

            clip = self.pool.clips[self.pool.names.index(plan["noise"])]  # type: ignore[union-attr]
            x = mix_at_snr(x, clip, plan["snr_db"], rng=plan["mix_seed"])
        return np.asarray(x, dtype=np.float32)

    def features(self, feat_cfg: Any, utt: Any, variants: Sequence[int], cache: Any = None) -> list[torch.Tensor]:
        """Features ``(C, T, F)`` of ``variants`` of one utterance, from the disk cache where present."""
        from ..audio.io import load_audio
        from ..features.spectral import compute_features

        plans = [self.plan(utt.uid, v) for v in variants]
        ident = file_identity(utt.path)
        keys = [config_hash(feat_cfg, ident, "wave_augment", plan, length=32) for plan in plans]
        out = [cache.get(feat_cfg, utt.path, key=k) if cache is not None else None for k in keys]
        todo = [i for i, f in enumerate(out) if f is None]
        if todo:
            wav = load_audio(utt.path, feat_cfg.sample_rate, feat_cfg.min_duration_s)
            for i, feats in zip(todo, compute_features(feat_cfg, [self.apply(wav, plans[i]) for i in todo])):
                out[i] = feats
                if cache is not None:
                    cache.put(feat_cfg, utt.path, feats, key=keys[i])
        return out  # type: ignore[return-value]


class _Draw:
    """What :class:`emoconv.experiments.augment.NoisyExamples` reads from its setting."""

    def __init__(self, cfg: Any) -> None:
        self.copies, self.train_copies, self.expand, self.seed = cfg.variants, cfg.copies, False, cfg.seed


def augmented_train(cfg: Any, ws: Any, feat_cfg: Any, utts: Sequence[Any], speakers: Sequence[str], norm: Any,
                    shape: Callable[[torch.Tensor], torch.Tensor], train_idx: Sequence[int], y_all: np.ndarray,
                    clean: dict[int, torch.Tensor]) -> Any:
    """Training examples: each clean training utterance plus ``cfg.copies`` variants redrawn every epoch.

    ``clean[i]`` is utterance ``i``'s shaped, normalised clean example; variants are normalised with
    ``norm`` (fitted on the clean training partition) and shaped with ``shape``.
    """
    from ..errors import ConfigError
    from ..features.config import FeatureConfig
    from .augment import NoisyExamples

    if not isinstance(feat_cfg, FeatureConfig):
        raise ConfigError(f"train.wave_augment needs frame features (stft, logmel, mfcc), not "
                          f"{type(feat_cfg).__name__}; drop train.wave_augment for this recipe")
    memo = ws.__dict__.setdefault("_wave_augmenters", {})
    key = stable_hash([to_dict(cfg), feat_cfg.sample_rate])
    if key not in memo:
        memo[key] = WaveAugmenter(cfg, feat_cfg.sample_rate)
    aug = memo[key]

    def make(i: int, picks: Sequence[int]) -> list[torch.Tensor]:
        raw = aug.features(feat_cfg, utts[i], picks, ws.cache)
        return [shape(norm.transform(f, speakers[i])) for f in raw]

    tr = sorted(int(i) for i in train_idx)
    return NoisyExamples([clean[i] for i in tr], y_all[tr], np.asarray(tr), make, _Draw(cfg))
