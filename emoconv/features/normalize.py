"""Mean/variance normalisation of features: global, per speaker or per utterance.

Statistics are a mean and a standard deviation per (channel, frequency bin),
pooled over all frames of the features they are computed from. ``(T, F)``
features are treated as one channel.

* ``"global"``: statistics of the training features (:meth:`Normalizer.fit`) are
  applied to every set; nothing from validation/test data leaks into them.
* ``"speaker"``: each speaker is normalised with the statistics of that speaker's
  own (unlabelled) features in the set being transformed, the speaker-level
  normalisation common in SER (e.g. Busso et al., 2013). :meth:`transform_many`
  computes them from the given set; :meth:`fit` stores the training speakers'
  statistics for later single-utterance :meth:`transform` calls.
* ``"utterance"``: each utterance with its own statistics.
* ``"none"``: identity.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ..errors import BundleError, ConfigError

MODES = ("global", "speaker", "utterance", "none")
_EPS = 1e-8  # floor of the standard deviation: constant bins map to 0, not inf


def _as3d(x: Tensor) -> Tensor:
    if x.ndim == 2:
        return x.unsqueeze(0)
    if x.ndim != 3:
        raise ConfigError(f"Normalizer expects (C, T, F) or (T, F) features, got shape {tuple(x.shape)}")
    return x


def _stats(feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
    """Mean and std ``(C, 1, F)`` over all frames of ``feats`` (float64 accumulation)."""
    xs = [_as3d(f).double() for f in feats]
    shapes = {(x.shape[0], x.shape[2]) for x in xs}
    if len(shapes) != 1:
        raise ConfigError(f"Normalizer: features disagree in (channels, bins): {sorted(shapes)}")
    n = sum(x.shape[1] for x in xs)
    if n == 0:
        raise ConfigError("Normalizer: no frames to compute statistics from")
    total = sum(x.sum(dim=1, keepdim=True) for x in xs)
    mean = total / n
    var = sum(((x - mean) ** 2).sum(dim=1, keepdim=True) for x in xs) / n
    return mean.float(), var.sqrt().clamp(min=_EPS).float()


class Normalizer:
    """Per-(channel, bin) standardisation ``(x - mean) / std``.

    >>> train = [torch.randn(1, 50, 4) * 3 + 2 for _ in range(4)]
    >>> norm = Normalizer("global").fit(train)
    >>> z = torch.cat(norm.transform_many(train), dim=1)
    >>> bool(z.mean().abs() < 1e-5), bool((z.std(dim=1, unbiased=False) - 1).abs().max() < 1e-4)
    (True, True)
    """

    def __init__(self, mode: str = "global") -> None:
        if mode not in MODES:
            raise ConfigError(f"normalisation mode {mode!r} is not one of {', '.join(MODES)}")
        self.mode = mode
        self.mean: Tensor | None = None
        self.std: Tensor | None = None
        self.speaker_stats: dict[str, tuple[Tensor, Tensor]] = {}

    def __repr__(self) -> str:
        return f"Normalizer(mode={self.mode!r}, fitted={self.fitted})"

    @property
    def fitted(self) -> bool:
        return self.mode in ("utterance", "none") or self.mean is not None

    def fit(self, feats: Sequence[Tensor], speakers: Sequence[str] | None = None) -> "Normalizer":
        """Compute statistics from the training features (and their speakers in ``speaker`` mode)."""
        feats = list(feats)
        if self.mode in ("utterance", "none"):
            return self
        if not feats:
            raise ConfigError("Normalizer.fit: no training features given")
        self.mean, self.std = _stats(feats)
        if self.mode == "speaker":
            self.speaker_stats = _per_speaker(feats, speakers, "fit")
        return self

    def _require_fit(self) -> None:
        if not self.fitted:
            raise ConfigError(f"Normalizer({self.mode!r}) is not fitted; call fit() on the training features first")

    def transform(self, x: Tensor, speaker: str | None = None) -> Tensor:
        """Normalise one ``(C, T, F)`` (or ``(T, F)``) tensor; returns the same shape."""
        if self.mode == "none":
            return x
        x3 = _as3d(x)
        if self.mode == "utterance":
            mean, std = _stats([x3])
        elif self.mode == "global":
            self._require_fit()
            mean, std = self.mean, self.std
        else:
            self._require_fit()
            if speaker is None or speaker not in self.speaker_stats:
                raise ConfigError(
                    f"Normalizer('speaker'): no statistics for speaker {speaker!r}; "
                    "normalise that speaker's utterances together with transform_many(feats, speakers)"
                )
            mean, std = self.speaker_stats[speaker]
        self._check_shape(x3, mean)
        out = (x3 - mean) / std
        return out.view_as(x) if x.ndim == 2 else out

    def transform_many(self, feats: Sequence[Tensor], speakers: Sequence[str] | None = None) -> list[Tensor]:
        """Normalise a set; in ``speaker`` mode each speaker uses statistics of its features in this set."""
        feats = list(feats)
        if self.mode != "speaker":
            return [self.transform(f) for f in feats]
        self._require_fit()
        stats = _per_speaker(feats, speakers, "transform_many")
        out = []
        for f, s in zip(feats, speakers):  # type: ignore[arg-type]
            mean, std = stats[s]
            x3 = _as3d(f)
            self._check_shape(x3, mean)
            y = (x3 - mean) / std
            out.append(y.view_as(f) if f.ndim == 2 else y)
        return out

    def _check_shape(self, x: Tensor, mean: Tensor) -> None:
        if self.mean is not None and (x.shape[0], x.shape[2]) != (self.mean.shape[0], self.mean.shape[2]):
            raise ConfigError(
                f"Normalizer: features have (channels, bins) {(x.shape[0], x.shape[2])} but it was fitted on "
                f"{(self.mean.shape[0], self.mean.shape[2])}; use the same feature settings"
            )

    def state_dict(self) -> dict[str, object]:
        """Plain state for model bundles: mode, mean/std ``(C, 1, F)`` and per-speaker statistics."""
        return {
            "mode": self.mode,
            "mean": None if self.mean is None else self.mean.clone(),
            "std": None if self.std is None else self.std.clone(),
            "speakers": {s: {"mean": m.clone(), "std": d.clone()} for s, (m, d) in self.speaker_stats.items()},
        }

    @classmethod
    def from_state_dict(cls, d: dict[str, object]) -> "Normalizer":
        """Rebuild from :meth:`state_dict`; malformed state raises :class:`BundleError`."""
        try:
            norm = cls(str(d["mode"]))
            mean, std = d.get("mean"), d.get("std")
            if (mean is None) != (std is None):
                raise ValueError("mean and std must both be present or both absent")
            if mean is not None:
                norm.mean, norm.std = torch.as_tensor(mean).float(), torch.as_tensor(std).float()
                if norm.mean.ndim != 3 or norm.mean.shape != norm.std.shape:
                    raise ValueError(f"mean/std shapes {tuple(norm.mean.shape)}/{tuple(norm.std.shape)}")
            speakers = d.get("speakers") or {}
            norm.speaker_stats = {
                str(s): (torch.as_tensor(v["mean"]).float(), torch.as_tensor(v["std"]).float())  # type: ignore[index]
                for s, v in speakers.items()  # type: ignore[union-attr]
            }
            if norm.mode in ("global", "speaker") and norm.mean is None:
                raise ValueError(f"mode {norm.mode!r} needs fitted statistics")
        except (KeyError, TypeError, ValueError, ConfigError, AttributeError) as exc:
            raise BundleError(f"normaliser state is malformed ({exc}); re-export the model bundle") from None
        return norm


def _per_speaker(
    feats: list[Tensor], speakers: Sequence[str] | None, where: str
) -> dict[str, tuple[Tensor, Tensor]]:
    if speakers is None or len(speakers) != len(feats):
        n = "no" if speakers is None else len(speakers)
        raise ConfigError(f"Normalizer('speaker').{where}: needs one speaker per utterance ({len(feats)}), got {n}")
    groups: dict[str, list[Tensor]] = {}
    for f, s in zip(feats, speakers):
        groups.setdefault(s, []).append(f)
    return {s: _stats(g) for s, g in groups.items()}
