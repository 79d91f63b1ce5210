"""The typed result record of one run (:class:`RunRecord`), as the runner writes it and reports read it.

On disk a record stays the JSON object it always was (``results/<key>.json``); :meth:`RunRecord.to_dict` writes
that object key for key and :meth:`RunRecord.from_dict` reads it back, checking what every reader relies on
(key, corpus, model, metrics, per-utterance predictions), defaulting what older versions did not write and
keeping keys it does not know (a newer version's, a plugin's) in :attr:`RunRecord.extra`. A record is also a
read-only mapping over that JSON object, so ``rec["metrics"]["ua"]`` and ``rec.get("condition")`` keep working
for layouts written against plain dicts.

>>> rec = RunRecord.from_dict({"key": "k", "corpus": "c", "model": "svm", "labels": ["a", "b"],
...                            "metrics": {"ua": 0.5, "accuracy": 0.5}, "y_true": [0, 1], "y_pred": [0, 0]})
>>> rec.ua, rec["model"], rec.get("condition"), rec.variant
(0.5, 'svm', None, 'svm')
>>> RunRecord.from_dict(rec.to_dict()) == rec
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Iterator

__all__ = ["RunRecord", "InvalidRecord"]


class InvalidRecord(ValueError):
    """A results file that is not a run record (torn, hand-edited, another program's)."""


@dataclass(frozen=True, eq=False)
class RunRecord(Mapping):
    """One finished run: what was run (recipe, corpus, model, variant, fold, seed, protocol, settings), what it
    predicted for each test example, its metrics (fractions in [0, 1]) and the family's training statistics."""

    key: str = ""
    recipe: str = ""
    corpus: str = ""
    corpus_loader: str = ""
    model: str = ""
    variant: str = ""
    variant_order: int = 0
    group: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    fold: int = 0
    seed: int = 0
    protocol: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    n_utterances: int = 0
    input_shape: list[int] = field(default_factory=list)
    skipped_files: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    y_true: list[int] = field(default_factory=list)
    y_pred: list[int] = field(default_factory=list)
    probs: list[list[float]] = field(default_factory=list)
    utterances: list[str] = field(default_factory=list)
    # the family's statistics (TorchClassifier.stats / EstimatorClassifier.stats)
    val: dict[str, float] = field(default_factory=dict)
    hparams: dict[str, Any] = field(default_factory=dict)
    grid: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    epoch_time_mean_s: float = 0.0
    branch_usage: dict[str, Any] | None = None
    n_params: int = 0
    device: str = "cpu"
    features: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)
    normalize: str = ""
    train: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    duration_s: float = 0.0
    # present only for some runs (written only when set)
    condition: str | None = None
    augment: dict[str, Any] | None = None
    embedding: str | None = None
    embedding_abs: str | None = None
    bundle: str | None = None
    #: keys this version does not know, kept and written back as they were
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.variant:
            object.__setattr__(self, "variant", self.model)
        if not self.group:
            object.__setattr__(self, "group", self.model)

    # -- figures -----------------------------------------------------------
    @property
    def ua(self) -> float:
        """Unweighted accuracy (mean per-class recall) on the test examples, a fraction."""
        return float(self.metrics["ua"])

    @property
    def accuracy(self) -> float:
        return float(self.metrics["accuracy"])

    def metric(self, name: str, part: str = "metrics") -> float:
        """``metrics[name]`` (test) or, with ``part="val"``, the validation figure at the chosen grid point."""
        return float((self.metrics if part == "metrics" else self[part])[name])

    # -- JSON ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``results/<key>.json`` (optional keys only when set, unknown keys kept)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            v = getattr(self, f.name)
            if f.name in _OPTIONAL and v is None:
                continue
            out[f.name] = v
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Any, key: str | None = None) -> RunRecord:
        """Read a record (as written by any version); raise :class:`InvalidRecord` when it is not one."""
        why = _invalid(data, key)
        if why:
            raise InvalidRecord(why)
        known = {k: v for k, v in data.items() if k in _FIELDS}
        extra = {k: v for k, v in data.items() if k not in _FIELDS}
        if isinstance(known.get("extra"), dict):  # a field named 'extra' never reaches disk; keep it as data
            extra["extra"] = known.pop("extra")
        return cls(**known, extra=extra)

    # -- read-only mapping over to_dict() -------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        if name in _FIELDS and name != "extra":
            v = getattr(self, name)
            if v is None and name in _OPTIONAL:
                raise KeyError(name)
            return v
        return self.extra[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __repr__(self) -> str:
        return f"RunRecord(key={self.key!r}, corpus={self.corpus!r}, variant={self.variant!r}, fold={self.fold})"


_FIELDS = frozenset(f.name for f in fields(RunRecord))
#: written only when set (best_epoch and branch_usage are always written, null when there is none)
_OPTIONAL = frozenset({"condition", "augment", "embedding", "embedding_abs", "bundle"})


def _invalid(rec: Any, key: str | None) -> str:
    """Why ``rec`` is not a run record ('' when it is one)."""
    if not isinstance(rec, Mapping):
        return "not a JSON object"
    if key is not None and rec.get("key") != key:
        return f"its key {rec.get('key')!r} is not its file name's {key!r}"
    metrics = rec.get("metrics")
    if not isinstance(metrics, Mapping) or not all(isinstance(metrics.get(k), (int, float)) for k in ("ua", "accuracy")):
        return "no numeric metrics.ua / metrics.accuracy"
    y_true, y_pred = rec.get("y_true", []), rec.get("y_pred", [])
    if not isinstance(y_true, list) or not isinstance(y_pred, list) or len(y_true) != len(y_pred):
        return "y_true and y_pred are not lists of one length"
    if not all(isinstance(rec.get(k), str) for k in ("key", "corpus", "model")):
        return "key, corpus and model are not all strings"
    if not isinstance(rec.get("labels", []), list):
        return "labels is not a list"
    return ""
