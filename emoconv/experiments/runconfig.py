"""The frozen configuration of one run, resolved from the recipe once, at plan time.

A recipe has per-corpus and per-model overrides (features, input, normalisation, protocol, noise
conditions); :meth:`RunConfig.resolve` applies them once, and everything downstream (the run key, the
workspace's folds, :func:`~emoconv.experiments.runner.execute_run`, the record) reads the resolved values
instead of resolving them again. :meth:`RunConfig.key` is the run key: the hash of everything that affects
the result.

>>> from emoconv.experiments.recipe import build_recipe
>>> r = build_recipe({"name": "x", "corpora": {"builtin": {}}, "models": [{"name": "mts.a3"}],
...                   "features": {"kind": "logmel", "n_mels": 40}})
>>> cfg = RunConfig.resolve(r, "builtin", r.models[0], fold=1, seed=3)
>>> cfg.features.n_mels, cfg.protocol.kind, cfg.run_train.seed, len(cfg.key("content"))
(40, 'kfold', 3, 20)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

from .. import __version__
from ..config import to_dict
from ..features.inputs import InputConfig
from ..features.kinds import features_dict
from ..fileio import stable_hash
from ..protocol import ProtocolConfig

__all__ = ["RunConfig", "same_recipe", "train_key", "without_paths"]


@functools.lru_cache(maxsize=1)
def _default_train() -> dict[str, Any]:
    from ..training.config import TrainConfig

    return to_dict(TrainConfig())


def train_key(train: Any) -> dict[str, Any]:
    """The training settings that enter a run key (newer fields only when set; see ``KEY_OPTIONAL``)."""
    from ..training.config import KEY_OPTIONAL

    default = _default_train()
    out = {k: v for k, v in to_dict(train).items() if k not in ("progress", "eval_batch_size")}
    # how the range test reads its curve changed what a range-tested run is, so it always enters those keys
    keep = {"lr_range_by", "lr_range_epochs"} if out.get("lr_range_test") else set()
    for k in KEY_OPTIONAL:
        if k not in keep and out.get(k) == default.get(k):
            out.pop(k, None)
    return out


def same_recipe(stored: Any, stored_hash: Any, recipe_dict: dict[str, Any]) -> bool:
    """Whether a results folder's recorded recipe is ``recipe_dict`` made by this version, apart from training
    settings added since (:data:`~emoconv.training.config.KEY_OPTIONAL`) left at their defaults, where the
    files lie (:func:`without_paths`) and which of its models were left out (``models.N.skip``: one model list
    contains the other).

    ``stored``/``stored_hash`` are what ``recipe.json`` holds. The stored recipe must hash to ``stored_hash``
    with this version (so results of another version, or an edited file, never pass); then both recipes are
    compared with those settings dropped where they are absent or at the default, as run keys drop them.
    """
    import json

    from ..training.config import KEY_OPTIONAL

    if not isinstance(stored, dict) or stable_hash([stored, __version__]) != stored_hash:
        return False
    default = json.loads(json.dumps(_default_train()))

    def comparable(tree: dict[str, Any]) -> dict[str, Any]:
        tree = without_paths(json.loads(json.dumps(tree)))
        train = tree.get("train")
        if isinstance(train, dict):
            for k in KEY_OPTIONAL:
                if train.get(k, default.get(k)) == default.get(k):
                    train.pop(k, None)
        return tree

    a, b = comparable(stored), comparable(recipe_dict)
    ma, mb = a.pop("models", None) or [], b.pop("models", None) or []
    # one recipe with some of its models left out (models.N.skip) is the same recipe: its runs keep their keys
    return a == b and (all(m in mb for m in ma) or all(m in ma for m in mb))


def without_paths(tree: dict[str, Any]) -> dict[str, Any]:
    """A recipe dict (or one corpus's settings, under ``"corpus"``) without where its data lies: the corpora's
    ``path`` (pooled sources' too) and ``augment.noise_dir`` (the recipe's and each model's). Portable run keys
    hash the files' content instead, so the same corpus in another folder is the same recipe. In place."""
    corpora = tree.get("corpora")
    for spec in (corpora.values() if isinstance(corpora, dict) else ()):
        if isinstance(spec, dict):
            _strip_corpus(spec)
    for section in [tree] + [m for m in tree.get("models") or () if isinstance(m, dict)]:
        if isinstance(section.get("augment"), dict):
            section["augment"].pop("noise_dir", None)
    return tree


def _strip_corpus(spec: dict[str, Any]) -> dict[str, Any]:
    spec.pop("path", None)
    sources = (spec.get("options") or {}).get("sources") if isinstance(spec.get("options"), dict) else None
    for src in (sources.values() if isinstance(sources, dict) else ()):
        if isinstance(src, dict):
            src.pop("path", None)
    return spec


@dataclass(frozen=True)
class RunConfig:
    """Everything one (corpus, model variant, fold, seed) run depends on, overrides applied.

    ``train`` is the recipe's training section; :attr:`run_train` is it with the run's seed.
    """

    recipe: str
    corpus: str
    corpus_spec: Any
    model: Any
    features: Any
    input: InputConfig
    normalize: str
    protocol: ProtocolConfig
    train: Any
    augment: Any
    fold: int
    seed: int
    bundle: bool = False

    @classmethod
    def resolve(cls, recipe: Any, corpus: str, model: Any, fold: int, seed: int) -> "RunConfig":
        """Apply the recipe's per-corpus and per-model overrides for one run."""
        from .augment import augment_for

        wanted = recipe.bundle == "all" or (recipe.bundle == "first_fold" and fold == 0 and seed == recipe.seeds[0])
        return cls(recipe=recipe.name, corpus=corpus, corpus_spec=recipe.corpora[corpus], model=model,
                   features=recipe.features_for(model), input=recipe.input_for(corpus, model),
                   normalize=recipe.normalize_for(model), protocol=recipe.protocol_for(corpus, model),
                   train=recipe.train, augment=augment_for(recipe, model), fold=fold, seed=seed, bundle=wanted)

    @property
    def run_train(self) -> Any:
        """The training settings of this run (the recipe's, seeded with the run's seed)."""
        return replace(self.train, seed=self.seed)

    def key(self, corpus_fingerprint: str | None = None, portable: bool = False,
            noise_content: str | None = None) -> str:
        """Hash of everything that affects the result (``corpus_fingerprint``: the corpus's content).

        ``portable``: leave out where the files lie (the corpus's path, the noise folder), which the corpus's
        content fingerprint and ``noise_content`` (the noise clips' names and bytes) stand for; folders made
        before portable keys (2026-12-02) keep hashing the paths.
        """
        corpus = to_dict(self.corpus_spec)
        parts = {
            "corpus": _strip_corpus(corpus) if portable else corpus,
            "features": features_dict(self.features),
            "input": to_dict(self.input),
            "normalize": self.normalize,
            "protocol": to_dict(self.protocol),
            "model": to_dict(self.model),
            "train": train_key(self.train),
            "seed": self.seed,
            "fold": self.fold,
            "version": __version__,
        }
        if corpus_fingerprint is not None:
            parts["corpus_content"] = corpus_fingerprint
        if self.augment.active:
            parts["augment"] = self.augment.key_dict()
            if portable:
                parts["augment"]["noise_dir"] = noise_content
        return stable_hash(parts, length=20)
