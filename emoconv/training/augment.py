"""Batch-level augmentation of training features: SpecAugment masking and mixup.

Applied by the trainer to training batches only (never to validation or test), after normalisation and
shaping, on batches ``x`` of shape ``(B, C, T, F)`` (time on axis 2, frequency on axis 3):

* **SpecAugment** masks (D. S. Park et al., Interspeech 2019, "SpecAugment"; time warping is not
  included): ``time_masks`` masks per example, each of a width drawn uniformly from ``[0, time_width)``
  frames at a uniform start, set to ``mask_value`` (0 = the mean after z-score normalisation); the same
  along frequency with ``freq_masks`` / ``freq_width``. The semantics are those of torchaudio's
  ``functional.mask_along_axis_iid``, written here because torchaudio's wheels pin a torch version other
  than the one this project installs.
* **mixup** (H. Zhang et al., ICLR 2018): ``lambda ~ Beta(mixup, mixup)`` per batch, examples mixed with a
  shuffled copy of the batch, loss ``lambda CE(y_a) + (1 - lambda) CE(y_b)``. Heads whose forward needs the
  labels (ArcFace) get the label of the larger share; documented, an approximation.

Draws come from a ``torch.Generator`` seeded by the trainer's seed, so runs are reproducible.

>>> cfg = BatchAugment(time_masks=2, time_width=5, freq_masks=1, freq_width=3)
>>> gen = torch.Generator().manual_seed(0)
>>> spec_augment(torch.ones(4, 1, 50, 20), cfg, gen).shape
torch.Size([4, 1, 50, 20])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import check


@dataclass(frozen=True)
class BatchAugment:
    """``train.batch_augment``: SpecAugment masks and mixup on training batches (all off by default)."""

    time_masks: int = 0
    time_width: int = 20
    freq_masks: int = 0
    freq_width: int = 8
    mask_value: float = 0.0
    mixup: float = 0.0

    def __post_init__(self) -> None:
        for name in ("time_masks", "time_width", "freq_masks", "freq_width"):
            v = getattr(self, name)
            check(isinstance(v, int) and v >= 0, f"train.batch_augment.{name} must be an integer >= 0, got {v!r}")
        check(self.mixup >= 0, f"train.batch_augment.mixup must be >= 0 (0 = off), got {self.mixup}")

    @property
    def active(self) -> bool:
        return bool(self.time_masks and self.time_width) or bool(self.freq_masks and self.freq_width) \
            or self.mixup > 0


@dataclass(frozen=True)
class WaveAugment:
    """``train.wave_augment``: speed, gain, crop and noise variants of training utterances (off by default).

    Applied by the runner (:mod:`emoconv.experiments.wave_augment`, which documents each setting) before
    features are computed; ``copies`` > 0 turns it on.
    """

    copies: int = 0
    variants: int = 6
    speeds: tuple[float, ...] = ()
    gain_db: tuple[float, float] = (0.0, 0.0)
    crop: float = 1.0
    noise_dir: str | None = None
    snr_range: tuple[float, float] = (5.0, 20.0)
    seed: int = 0

    def __post_init__(self) -> None:
        where = "train.wave_augment"
        check(isinstance(self.copies, int) and self.copies >= 0, f"{where}.copies must be an integer >= 0, got "
              f"{self.copies!r}")
        check(isinstance(self.variants, int) and self.variants >= max(1, self.copies),
              f"{where}.variants must be an integer >= copies ({self.copies}), got {self.variants!r}")
        check(all(0.5 <= float(s) <= 2.0 for s in self.speeds),
              f"{where}.speeds: factors must lie in [0.5, 2], got {list(self.speeds)}")
        check(len(self.gain_db) == 2 and self.gain_db[0] <= self.gain_db[1],
              f"{where}.gain_db={list(self.gain_db)}: give [low, high] in dB")
        check(0.1 <= self.crop <= 1.0, f"{where}.crop must be in [0.1, 1] (the least share kept), got {self.crop}")
        check(len(self.snr_range) == 2 and self.snr_range[0] <= self.snr_range[1],
              f"{where}.snr_range={list(self.snr_range)}: give [low, high] in dB")
        if self.noise_dir:
            from pathlib import Path

            check(Path(str(self.noise_dir)).expanduser().is_dir(),
                  f"{where}.noise_dir: {self.noise_dir} is not a folder; point it at a folder of noise clips "
                  "(e.g. ../shared/corpora/esc10) or drop it")

    @property
    def active(self) -> bool:
        return self.copies > 0


def _masks(x: torch.Tensor, n: int, width: int, axis: int, value: float, gen: torch.Generator) -> torch.Tensor:
    """``n`` masks per example along ``axis`` (2 or 3) of ``x`` ``(B, C, T, F)``, widths in ``[0, width)``."""
    if n == 0 or width == 0:
        return x
    b, length = x.shape[0], x.shape[axis]
    w = (torch.rand(b, n, generator=gen) * min(width, length)).floor()
    start = (torch.rand(b, n, generator=gen) * (length - w)).floor()
    pos = torch.arange(length, dtype=torch.float32)
    hit = ((pos >= start[..., None]) & (pos < (start + w)[..., None])).any(dim=1)  # (B, length)
    shape = [b, 1, 1, 1]
    shape[axis] = length
    return x.masked_fill(hit.view(shape).to(x.device), value)


def spec_augment(x: torch.Tensor, cfg: BatchAugment, gen: torch.Generator) -> torch.Tensor:
    """Time and frequency masks on ``x`` ``(B, C, T, F)``; returns a new tensor of the same shape."""
    if x.dim() != 4:
        return x  # not a spectro-temporal batch (functionals, waveforms, volumes): left alone
    x = _masks(x, cfg.time_masks, cfg.time_width, 2, cfg.mask_value, gen)
    return _masks(x, cfg.freq_masks, cfg.freq_width, 3, cfg.mask_value, gen)


def mixup(x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None, alpha: float, gen: torch.Generator,
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float, torch.Tensor | None]:
    """``(x_mixed, y_a, y_b, lambda, lengths)``: ``x`` mixed with a shuffled copy of the batch.

    Lengths become the longer of each pair (padded frames are zeros in both).
    """
    import numpy as np

    seed = int(torch.randint(2**31 - 1, (1,), generator=gen))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha)) if alpha > 0 else 1.0
    perm = torch.randperm(x.shape[0], generator=gen)
    mixed = lam * x + (1.0 - lam) * x[perm.to(x.device)]
    lens = None if lengths is None else torch.maximum(lengths, lengths[perm.to(lengths.device)])
    return mixed, y, y[perm.to(y.device)], lam, lens


__all__ = ["BatchAugment", "WaveAugment", "mixup", "spec_augment"]
