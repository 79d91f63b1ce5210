"""Frame-level features (magnitude STFT, log-mel, MFCC + deltas), caching, shaping and normalisation.

>>> from emoconv.features import FeatureConfig, compute_features
>>> import numpy as np
>>> compute_features(FeatureConfig(kind="mfcc", deltas=1), [np.ones(1600)])[0].shape
torch.Size([2, 11, 13])
"""

from .._lazy import lazy_exports
from .cache import FeatureCache, default_cache_dir
from .config import FeatureConfig
from .deltas import add_deltas
from .extract import extract_features
from .normalize import Normalizer
from .shaping import aggregate_segments, pad_or_crop, segment, splice
from .spectral import compute_features, mel_filterbank

#: Loaded on first use: the registry of kinds and the configs of the kinds beyond frame features.
_EXPORTS = {
    "FEATURE_KINDS": "kinds", "parse_features": "kinds", "features_dict": "kinds", "InputConfig": "inputs",
    "InputPipeline": "pipeline",
    "FunctionalsConfig": "functionals", "KaldiConfig": "kaldi", "LLDConfig": "lld", "VolumeConfig": "volumes",
    "WaveformConfig": "volumes",
}

__all__ = [
    "FeatureCache",
    "FeatureConfig",
    "Normalizer",
    "add_deltas",
    "aggregate_segments",
    "compute_features",
    "default_cache_dir",
    "extract_features",
    "mel_filterbank",
    "pad_or_crop",
    "segment",
    "splice",
    *sorted(_EXPORTS),
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
