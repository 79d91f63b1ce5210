"""Fusion bundles: member bundles of the same classes whose class probabilities are averaged with weights.

``emoconv train CORPUS PATH --fuse svm`` ships emoconv's own network fused with the ComParE + SVM baseline
(docs/ecnet.md, "Fusion with the SVM"). The bundle is a folder::

    bundle.json     format and version, "kind": "fusion", labels, members [{"name", "weight"}], extra
    evidence.json   the fused cross-validated figures (each fold's weight chosen on the other folds)
    network/        a network bundle (emoconv/bundle.py)
    svm/            an estimator bundle (emoconv/estimator_bundle.py)

Each member keeps its own features, normalisation and scoring rules and can be used on its own.
:meth:`FusionBundle.predict_files` scores each file with every member and returns the weighted mean of their
probabilities; its label is the argmax of that mean. Windows (``--timeline``) and the ONNX export take one
network: a fusion bundle is refused there with one line naming the member folder to use instead. The folder is
written into a temporary sibling and renamed into place, so a killed save leaves no half bundle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .errors import BundleError

__all__ = ["FUSION_KIND", "FusionBundle", "load_fusion", "refuse_fusion", "save_fusion"]

FUSION_KIND = "fusion"
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class FusionBundle:
    """A loaded fusion bundle: ``members`` (loaded bundles) with ``weights`` summing to 1."""

    path: Path
    meta: dict[str, Any]
    names: list[str]
    members: list[Any]
    weights: list[float]
    labels: list[str]

    kind = FUSION_KIND
    estimator = False

    def info(self) -> dict[str, Any]:
        """As :meth:`emoconv.bundle.Bundle.info`, with ``members`` (name, weight, model, features)."""
        from .bundle_info import TRAINING_KEYS, read_evidence

        evidence = read_evidence(self.path, "rerun emoconv train")
        extra = self.meta.get("extra") or {}
        members = [{"name": n, "weight": w, "model": m.meta.get("model"),
                    "features": (m.meta.get("features") or {}).get("kind")}
                   for n, w, m in zip(self.names, self.weights, self.members)]
        return {
            "bundle": str(self.path), "model": FUSION_KIND, "model_params": {"members": members},
            "labels": self.labels, "emoconv_version": self.meta.get("emoconv_version"),
            "torch_version": self.meta.get("torch_version"),
            "features": " + ".join(str(m["features"]) for m in members),
            "training": {k: extra.get(k) for k in TRAINING_KEYS},
            "fold_test": None, "cross_validated": evidence, "members": members,
        }

    def predict_files(self, files: list[str | Path], same_speaker: bool = False) -> list[dict[str, Any]]:
        """Rows as :meth:`emoconv.bundle.Bundle.predict_files`: the members' probabilities, weighted."""
        scored = [m.predict_files(list(files), same_speaker=same_speaker) for m in self.members]
        rows = []
        for i, f in enumerate(files):
            parts = [s[i] for s in scored]
            failed = next((p for p in parts if "error" in p), None)
            if failed is not None:
                rows.append(failed)
                continue
            p = sum(w * np.array([q["probabilities"][lab] for lab in self.labels], dtype=np.float64)
                    for w, q in zip(self.weights, parts))
            row: dict[str, Any] = {"file": str(f), "label": self.labels[int(np.argmax(p))],
                                   "probabilities": {lab: round(float(v), 6) for lab, v in zip(self.labels, p)}}
            notes = [f"{n}: {q['note']}" for n, q in zip(self.names, parts) if q.get("note")]
            if notes:
                row["note"] = "; ".join(notes)
            rows.append(row)
        return rows


def refuse_fusion(bundle: Any, what: str) -> None:
    """One-line :class:`BundleError` when ``bundle`` is a fusion bundle, for ``what`` takes one network."""
    if getattr(bundle, "kind", None) == FUSION_KIND:
        nets = [n for n, m in zip(bundle.names, bundle.members) if not m.estimator]
        use = f"; use its network member: {bundle.path / nets[0]}" if nets else ""
        raise BundleError(f"{bundle.path}: a fusion bundle ({' + '.join(bundle.names)}) cannot be used by {what}, "
                          f"which takes one network{use}")


def save_fusion(path: str | Path, write_members: Callable[[Path], Sequence[tuple[str, float]]],
                labels: Sequence[str], evidence: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    """Write a fusion bundle atomically; returns its path.

    ``write_members(folder)`` writes each member bundle into ``folder / name`` and returns ``[(name,
    weight), ...]`` (weights summing to 1); the members then move into place together with ``bundle.json``.
    """
    import torch

    from . import __version__
    from .bundle_info import FORMAT, FORMAT_VERSION
    from .fileio import atomic_write_json, staged_dir

    path = Path(path)
    with staged_dir(path) as tmp:
        members = [{"name": n, "weight": float(w)} for n, w in write_members(tmp)]
        _check_members(members, tmp / "bundle.json")
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "emoconv_version": __version__,
                "torch_version": torch.__version__, "kind": FUSION_KIND, "labels": list(labels),
                "members": members, "extra": extra or {}}
        atomic_write_json(tmp / "evidence.json", evidence)
        atomic_write_json(tmp / "bundle.json", meta)
    return path


def _check_members(members: Any, where: Path) -> None:
    if not (isinstance(members, list) and len(members) >= 2 and all(
            isinstance(m, dict) and isinstance(m.get("name"), str) and _NAME.match(m["name"])
            and isinstance(m.get("weight"), (int, float)) and not isinstance(m.get("weight"), bool)
            and 0.0 <= float(m["weight"]) <= 1.0 for m in members)):
        raise BundleError(f"{where}: members must be a list of at least two {{name: FOLDER, weight: 0..1}} "
                          "(plain folder names); retrain with emoconv train --fuse")
    if abs(sum(float(m["weight"]) for m in members) - 1.0) > 1e-6:
        raise BundleError(f"{where}: the member weights must sum to 1, got "
                          f"{sum(float(m['weight']) for m in members):g}; retrain with emoconv train --fuse")


def load_fusion(path: Path, meta: dict[str, Any], load: Callable[[Path], Any]) -> FusionBundle:
    """The fusion bundle in ``path`` (its ``bundle.json`` already read and version-checked by ``load``'s
    caller, :func:`emoconv.bundle.load_bundle`); each member is loaded with ``load``."""
    where = path / "bundle.json"
    labels = meta.get("labels")
    if not (isinstance(labels, list) and len(labels) >= 2 and all(isinstance(v, str) for v in labels)):
        raise BundleError(f"{where}: labels must be a list of at least two names, got {labels!r}; retrain")
    _check_members(meta.get("members"), where)
    names = [m["name"] for m in meta["members"]]
    members = []
    for name in names:
        m = load(path / name)
        if getattr(m, "kind", None) == FUSION_KIND:
            raise BundleError(f"{path / name}: a fusion bundle's members must be plain bundles; retrain")
        if list(m.labels) != list(labels):
            raise BundleError(f"{path / name}: its labels {m.labels} differ from the fusion's {labels}; retrain")
        members.append(m)
    return FusionBundle(path=path, meta=meta, names=names, members=members,
                        weights=[float(m["weight"]) for m in meta["members"]], labels=list(labels))
