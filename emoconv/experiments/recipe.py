"""Recipes: YAML descriptions of corpora x models x variants x folds, loaded into typed dataclasses.

A recipe names the corpora (with their folders), the feature and input-shaping
settings, the protocol, the models (each with parameters and an optional ``sweep``
of parameter values) and the training settings. ``key=value`` overrides from the
command line are applied to the YAML tree before validation, e.g.
``corpora.emodb.path=/data/EMODB`` or ``train.max_epochs=5``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..config import check, from_dict, to_dict
from ..corpora.base import SHARED_LABELS
from ..errors import ConfigError
from ..features import FeatureConfig
from ..features.kinds import features_dict, parse_features
from ..features.inputs import InputConfig
from ..protocol import ProtocolConfig
from ..training import TrainConfig


@dataclass(frozen=True)
class CorpusSpec:
    """One corpus: registered loader name, its folder, loader options, labels kept.

    ``builtin`` configures the generated corpus (loader ``builtin`` without a path);
    ``input`` / ``protocol`` override the recipe's input shaping / protocol for this
    corpus only (e.g. IEMOCAP cut into 4 s windows while the other corpora are
    zero-padded; leave-one-session-out for IEMOCAP only). ``skip_bad`` leaves out unusable audio
    (silent, NaN, too short, unreadable) instead of stopping; the list is recorded in every result.
    """

    name: str
    path: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None
    builtin: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    protocol: dict[str, Any] = field(default_factory=dict)
    skip_bad: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """A model to train: registered name, a label for tables, parameters, and an optional sweep.

    ``features`` / ``input`` / ``normalize`` / ``protocol`` override the recipe's for this model
    only (baselines with other inputs: LLDs, raw waveforms, functionals; or evaluated under
    another protocol, e.g. leave-one-speaker-out beside a fixed speaker partition).
    """

    name: str
    label: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, list[Any]] = field(default_factory=dict)
    group: str | None = None
    features: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    normalize: str | None = None
    protocol: dict[str, Any] = field(default_factory=dict)
    augment: dict[str, Any] = field(default_factory=dict)  # noise-condition overrides (experiments.augment)

    def variants(self) -> list["ModelSpec"]:
        """Expand ``sweep`` into one spec per combination of values (no sweep: itself)."""
        if not self.sweep:
            return [self]
        keys = sorted(self.sweep)
        out = []
        for values in itertools.product(*(self.sweep[k] for k in keys)):
            params = {**self.params, **dict(zip(keys, values))}
            out.append(replace(self, params=params, sweep={}))
        return out

    @property
    def display(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Recipe:
    """A whole experiment; see the module docstring and recipes/*.yaml."""

    name: str
    corpora: dict[str, CorpusSpec]
    models: tuple[ModelSpec, ...]
    features: Any = FeatureConfig()
    input: InputConfig = InputConfig()
    normalize: str = "global"
    protocol: ProtocolConfig = ProtocolConfig()
    train: TrainConfig = TrainConfig()
    seeds: tuple[int, ...] = (0,)
    report: dict[str, Any] = field(default_factory=dict)
    bundle: str = "none"
    description: str = ""
    augment: dict[str, Any] = field(default_factory=dict)  # noise conditions, see emoconv.experiments.augment

    def __post_init__(self) -> None:
        check(bool(self.corpora), "recipe.corpora: at least one corpus is required")
        check(bool(self.models), "recipe.models: at least one model is required")
        check(self.normalize in ("global", "speaker", "utterance", "none"),
              f"recipe.normalize must be global, speaker, utterance or none, got {self.normalize!r}")
        check(bool(self.seeds), "recipe.seeds: at least one seed is required")
        check(self.bundle in ("none", "all", "first_fold"),
              f"recipe.bundle must be none, all or first_fold (or true/false), got {self.bundle!r}")

    def to_dict(self) -> dict[str, Any]:
        out = to_dict(self)
        out["features"] = features_dict(self.features)
        return out

    def protocol_for(self, corpus: str, model: ModelSpec | None = None) -> ProtocolConfig:
        """Protocol of ``corpus`` (and ``model``): the recipe's, with corpus then model overrides."""
        overrides = {**self.corpora[corpus].protocol, **(model.protocol if model else {})}
        if not overrides:
            return self.protocol
        return from_dict(ProtocolConfig, {**to_dict(self.protocol), **overrides}, f"recipe.corpora.{corpus}.protocol")

    def input_for(self, corpus: str, model: ModelSpec | None = None) -> InputConfig:
        """Input shaping of ``corpus`` (and ``model``): the recipe's, with corpus then model overrides."""
        overrides = {**self.corpora[corpus].input, **(model.input if model else {})}
        if not overrides:
            return self.input
        return from_dict(InputConfig, {**to_dict(self.input), **overrides}, f"recipe.corpora.{corpus}.input")

    def features_for(self, model: ModelSpec | None = None) -> Any:
        """Feature config of ``model``: its own ``features`` when given, else the recipe's."""
        if model is not None and model.features:
            return parse_features(model.features, f"recipe.models.{model.name}.features")
        return self.features

    def normalize_for(self, model: ModelSpec | None = None) -> str:
        return (model.normalize if model is not None and model.normalize else None) or self.normalize


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node: Any = tree
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[_index(part, dotted, len(node))]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted}: {'.'.join(parts[:i])} is not a mapping")
        if part not in node or node[part] is None:
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[_index(last, dotted, len(node))] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ConfigError(f"override {dotted}: {'.'.join(parts[:-1])} is not a mapping")


def _index(part: str, dotted: str, size: int | None = None) -> int:
    try:
        i = int(part)
    except ValueError:
        raise ConfigError(f"override {dotted}: {part!r} must be a list index") from None
    if size is not None and not 0 <= i < size:
        raise ConfigError(f"override {dotted}: index {i} is out of range (the list has {size} entries: 0..{size - 1})")
    return i


def parse_overrides(items: list[str]) -> list[tuple[str, Any]]:
    """``["train.max_epochs=5", "corpora.emodb.path=/d"]`` -> [(key, YAML-parsed value)]."""
    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r}: expected key=value, e.g. train.max_epochs=5")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: the value is not valid YAML ({str(exc).splitlines()[0]}); "
                              "quote it or fix the brackets") from None
        out.append((key.strip(), value))
    return out


def load_recipe_dict(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: recipe not found; pass the path of a YAML recipe (see recipes/)")
    try:
        tree = yaml.safe_load(p.read_text())
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file (a recipe is YAML text); pass the recipe's .yaml file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{p}: a recipe must be a YAML mapping")
    return tree


def build_recipe(tree: Mapping[str, Any], overrides: list[str] | None = None, where: str = "recipe") -> Recipe:
    """Validate a recipe tree (after overrides) into a :class:`Recipe`."""
    import copy

    tree = copy.deepcopy(dict(tree))
    for key, value in parse_overrides(overrides or []):
        _set_path(tree, key, value)
    corpora_raw = tree.get("corpora") or {}
    if not isinstance(corpora_raw, dict):
        raise ConfigError(f"{where}.corpora: expected a mapping name -> settings")
    corpora = {}
    for name, spec in corpora_raw.items():
        if spec is not None and not isinstance(spec, dict):
            raise ConfigError(f"{where}.corpora.{name}: expected a mapping of settings (path, options, labels)")
        spec = dict(spec or {})
        spec.setdefault("name", name)
        if spec.pop("skip", False):
            continue
        corpora[name] = from_dict(CorpusSpec, spec, f"{where}.corpora.{name}")
        unknown = sorted(set(corpora[name].labels or ()) - set(SHARED_LABELS))
        if unknown:
            raise ConfigError(f"{where}.corpora.{name}.labels: unknown label(s) {', '.join(unknown)}; "
                              f"use names from {', '.join(SHARED_LABELS)}")
    models_raw = tree.get("models") or []
    if not isinstance(models_raw, list):
        raise ConfigError(f"{where}.models: expected a list of models")
    kept = []  # models.N.skip=true leaves a model out, as corpora.NAME.skip does a corpus
    for i, m in enumerate(models_raw):
        if isinstance(m, dict) and "skip" in m:
            if not isinstance(m["skip"], bool):
                raise ConfigError(f"{where}.models.{i}.skip: expected true or false, got {m['skip']!r}")
            if m["skip"]:
                continue
            m = {k: v for k, v in m.items() if k != "skip"}
        kept.append(from_dict(ModelSpec, m, f"{where}.models.{i}"))
    models = tuple(kept)
    rest = {k: v for k, v in tree.items() if k not in ("corpora", "models")}
    sections = {"input": InputConfig, "protocol": ProtocolConfig, "train": TrainConfig}
    known = set(sections) | {"features", "name", "normalize", "seeds", "report", "bundle", "description", "augment"}
    unknown = sorted(set(rest) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: "
                          f"corpora, models, {', '.join(sorted(known))}")
    kwargs: dict[str, Any] = {k: from_dict(cls, rest.get(k), f"{where}.{k}") for k, cls in sections.items()}
    kwargs["features"] = parse_features(rest.get("features"), f"{where}.features")
    for i, m in enumerate(models):
        if m.features:
            parse_features(m.features, f"{where}.models.{i}.features")  # validate now, not mid-sweep
        if m.normalize is not None and m.normalize not in ("global", "speaker", "utterance", "none"):
            raise ConfigError(f"{where}.models.{i}.normalize must be global, speaker, utterance or none")
    if isinstance(rest.get("bundle"), bool):
        rest["bundle"] = "all" if rest["bundle"] else "none"
    for key, typ in (("name", str), ("normalize", str), ("report", dict), ("bundle", str), ("description", str),
                     ("augment", dict)):
        if key in rest:
            if not isinstance(rest[key], typ):
                raise ConfigError(f"{where}.{key}: expected {typ.__name__}, got {type(rest[key]).__name__} "
                                  f"{rest[key]!r}; fix the value")
            kwargs[key] = rest[key]
    if kwargs.get("augment") or any(m.augment for m in models):
        from types import SimpleNamespace

        from .augment import augment_for

        for m in models:  # validate now, not mid-sweep
            cond = augment_for(SimpleNamespace(augment=kwargs.get("augment", {})), m)
            noisy = cond.active or any(c != "none" for c in cond.conditions)
            train = kwargs["train"]
            if noisy and (train.wave_augment.active or train.fixed_epochs):
                raise ConfigError(f"{where}: noise conditions (augment) cannot be combined with "
                                  "train.wave_augment or train.fixed_epochs; use train.wave_augment.noise_dir "
                                  "for noise in training, or drop one of them")
    if "seeds" in rest:
        seeds = rest["seeds"]
        if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds):
            raise ConfigError(f"{where}.seeds: expected a list of integers")
        kwargs["seeds"] = tuple(seeds)
    if "name" not in kwargs:
        raise ConfigError(f"{where}.name: required setting is missing")
    recipe = Recipe(corpora=corpora, models=models, **kwargs)
    check_models(recipe, where)
    return recipe


def _dummy_shape(feat: Any, inp: Any) -> tuple[int, ...] | None:
    """The input shape a model gets from these settings, with a nominal length where the corpus decides it
    (``None``: a feature kind whose shape depends on the audio, e.g. volumes: checked at run time)."""
    from ..features.kinds import is_segmented, kind_of

    if kind_of(feat) == "functionals":
        return (1, 1, int(feat.dims))
    channels, bins = getattr(feat, "channels", None), getattr(feat, "n_bins", None)
    if channels is None or bins is None or is_segmented(feat):
        return None
    if inp.length == "pad":
        frames = inp.frames or min(inp.max_frames, 300)
    elif inp.length == "segment":
        frames = inp.segment_frames
    else:
        frames = 300
    return (int(channels), int(frames), int(bins))


def check_models(recipe: Recipe, where: str = "recipe") -> None:
    """Build every model variant once, on PyTorch's meta device (no memory, no compute), for the input shape
    its settings give, so that an unknown name, a bad parameter or an impossible input surfaces when the recipe
    is loaded, naming the entry, instead of after the earlier models have trained."""
    import warnings

    import torch

    from ..errors import EmoconvError
    from ..models import build_model

    from ..features.kinds import is_segmented
    from .augment import augment_for

    corpora = list(recipe.corpora) or [None]
    seen: set[str] = set()
    for i, model in enumerate(recipe.models):
        for variant in model.variants():
            cond = augment_for(recipe, variant)
            noisy = cond.active or any(c != "none" for c in cond.conditions)
            for corpus in corpora:
                feat = recipe.features_for(variant)
                inp = recipe.input_for(corpus, variant) if corpus is not None else recipe.input
                if (noisy or recipe.train.wave_augment.active) and (is_segmented(feat) or inp.length == "segment"):
                    raise ConfigError(f"{where}.models.{i} ({variant.display}): augment / train.wave_augment need "
                                      "one example per utterance; use input.length variable or pad")
                if noisy:
                    from .augment import check_noisy_kind

                    check_noisy_kind(feat, f"{where}.models.{i} ({variant.display})")
                shape = _dummy_shape(feat, inp)
                if shape is None:  # the audio decides the shape (volumes, LLDs): checked when the run starts
                    continue
                labels = recipe.corpora[corpus].labels if corpus is not None else None
                n_classes = max(2, len(labels)) if labels else 4
                key = repr((variant.name, sorted(variant.params.items(), key=str), shape, n_classes))
                if key in seen:
                    continue
                seen.add(key)
                try:
                    with warnings.catch_warnings(), torch.device("meta"):
                        warnings.simplefilter("ignore")
                        build_model(variant.name, n_classes=n_classes, input_shape=shape, **variant.params)
                except (EmoconvError, TypeError, ValueError, RuntimeError, NotImplementedError) as exc:
                    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise ConfigError(f"{where}.models.{i} ({variant.display}): cannot build it for input {shape}: "
                                      f"{msg}; fix the model entry or "
                                      "the features/input settings") from None


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate a YAML recipe."""
    return build_recipe(load_recipe_dict(path), overrides, where=str(path))
