"""Feature kinds: one registry from a recipe's ``features.kind`` to its config class and extractor.

Frame features (``stft``, ``logmel``, ``mfcc``) give one ``(C, T, F)`` tensor per
utterance. Other systems register their own kinds here (spectro-temporal volumes,
raw waveform segments, frame LLDs, openSMILE functionals). A *segmented* kind gives
``(n_segments, *example_shape)`` per utterance: every segment is one training example
and test utterances are scored from their segments' posteriors.

>>> cfg = parse_features({"kind": "logmel", "n_mels": 16})
>>> type(cfg).__name__, features_dict(cfg)["kind"]
('FeatureConfig', 'logmel')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..config import from_dict, to_dict
from ..errors import ConfigError
from ..registry import Registry

Extractor = Callable[[Any, Sequence[Any], Any, bool], list]


@dataclass(frozen=True)
class FeatureKind:
    """How one kind is configured and extracted.

    ``config`` is the dataclass; ``kind_field`` says whether the dataclass itself has a
    ``kind`` field (FeatureConfig does); ``extract(cfg, utterances, cache, progress)``
    returns one tensor per utterance; ``segmented`` as in the module docstring.
    """

    config: type
    extract: Extractor
    segmented: bool = False
    kind_field: bool = False
    #: ``(module, extra)``: an optional package the extractor needs and the ``emoconv[extra]`` that installs it;
    #: checked when a recipe is loaded, so a missing package stops the sweep before any run.
    requires: tuple[str, str] | None = None
    #: ``of_waves(cfg, waves, sample_rate)``: features of mono waveforms held in memory, one tensor each, shaped
    #: as ``extract`` shapes a file's (noisy copies in emoconv.experiments.augment); None: the kind cannot.
    of_waves: Callable[[Any, Sequence[Any], int], list] | None = None
    #: ``rate_of(cfg, path)``: the rate a file is read at for ``of_waves`` (None: ``cfg.sample_rate``).
    rate_of: Callable[[Any, Any], int] | None = None

    def check_available(self, where: str) -> None:
        """One ConfigError line naming the extra to install when the optional package is absent."""
        if self.requires is None:
            return
        import importlib.util

        module, extra = self.requires
        if importlib.util.find_spec(module) is None:
            raise ConfigError(f"{where}: this feature kind needs the '{module}' package, which is not installed; "
                              f"install it with pip install 'emoconv[{extra}]'")


#: The modules that register the kinds beyond the frame features (imported on first use; an optional
#: extractor whose package is absent is skipped and reported by ``FeatureKind.requires`` instead).
_MODULES = tuple(f"{__package__}.{m}" for m in ("volumes", "lld", "functionals", "kaldi", "tracks"))
FEATURE_KINDS: Registry[FeatureKind] = Registry("feature kind", modules=_MODULES, optional=_MODULES)


def kind_of(cfg: Any) -> str:
    """The kind name of a feature config object."""
    return getattr(cfg, "kind", None) or getattr(type(cfg), "KIND", type(cfg).__name__)


def get_kind(name: str) -> FeatureKind:
    return FEATURE_KINDS.get(name)


def parse_features(data: Any, where: str = "features") -> Any:
    """Build the config object of a ``features`` mapping (``kind`` picks the class; default logmel)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of settings")
    data = dict(data)
    name = data.get("kind", "logmel")
    if not isinstance(name, str):
        raise ConfigError(f"{where}.kind: expected a name, got {name!r}")
    try:
        kind = get_kind(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}.kind: {exc}") from None
    if not kind.kind_field:
        data.pop("kind", None)
    cfg = from_dict(kind.config, data, where)
    kind.check_available(f"{where}.kind={name}")
    return cfg


def features_dict(cfg: Any) -> dict[str, Any]:
    """JSON form of a feature config, always with its ``kind`` (inverse of :func:`parse_features`)."""
    return {**to_dict(cfg), "kind": kind_of(cfg)}


def extract_for(cfg: Any, utterances: Sequence[Any], cache: Any = None, progress: bool = False) -> list:
    """Features of ``utterances`` (objects with ``path`` and ``speaker``) for any registered kind."""
    return get_kind(kind_of(cfg)).extract(cfg, utterances, cache, progress)


def is_segmented(cfg: Any) -> bool:
    return get_kind(kind_of(cfg)).segmented


def _frames(cfg: Any, utterances: Sequence[Any], cache: Any, progress: bool) -> list:
    from .extract import extract_features

    return extract_features(cfg, [u.path for u in utterances], cache=cache, progress=progress)


def _frames_of_waves(cfg: Any, waves: Sequence[Any], sample_rate: int) -> list:
    from .spectral import compute_features

    return list(compute_features(cfg, list(waves)))


def _register_frames() -> None:
    from .config import FeatureConfig

    for name in ("stft", "logmel", "mfcc"):
        FEATURE_KINDS.register(name)(FeatureKind(FeatureConfig, _frames, kind_field=True, of_waves=_frames_of_waves))


_register_frames()
