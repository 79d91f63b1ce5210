"""Model bundles: everything needed to run a trained model on new audio.

A bundle is a folder::

    bundle.json          format version, package version, model name and parameters, input shape,
                         feature config, input shaping, label list, normaliser state (non-tensor part), extras
    weights.safetensors  model weights and normaliser tensors (prefix ``normalizer.``); no pickled code

It is written into a temporary folder and renamed into place, so a killed save
never leaves a half bundle behind.
"""

from __future__ import annotations

import json
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import __version__
from .config import from_dict, to_dict
from .features.kinds import features_dict
from .errors import BundleError, EmoconvError
from .faults import fault_point
from .fileio import staged_dir
from .bundle_info import FORMAT, FORMAT_VERSION, TRAINING_KEYS, format_info, read_evidence  # noqa: F401 (format_info)


def _major_minor(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


def save_bundle(path: str | Path, *, model: nn.Module | Any, model_name: str, model_params: dict[str, Any],
                input_shape: tuple[int, ...], labels: list[str], features: Any, input_cfg: Any,
                frames: int | None, normalizer: Any, extra: dict[str, Any] | None = None) -> Path:
    """Write a bundle folder atomically; returns its path. ``model``: a network, or a bundleable estimator
    (saved by :mod:`emoconv.estimator_bundle`)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    norm_state = normalizer.state_dict() if normalizer is not None else None
    network = isinstance(model, nn.Module)
    if network:
        saved_part, stored = None, model.state_dict()
    else:  # (the part skops saves, tensors): emoconv.estimator_bundle
        from .estimator_bundle import estimator_parts

        saved_part, stored = estimator_parts(model)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in stored.items()}
    norm_meta: dict[str, Any] = {}
    if norm_state is not None:
        for k, v in norm_state.items():
            if isinstance(v, torch.Tensor):
                tensors[f"normalizer.{k}"] = v.detach().cpu().contiguous()
            elif isinstance(v, dict) and v and all(isinstance(t, torch.Tensor) for t in v.values()):
                for sk, t in v.items():
                    tensors[f"normalizer.{k}.{sk}"] = t.detach().cpu().contiguous()
                norm_meta[k] = {"__tensor_dict__": sorted(v)}
            else:
                norm_meta[k] = v
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "emoconv_version": __version__,
        "torch_version": torch.__version__, "model": model_name, "model_params": model_params,
        "input_shape": list(input_shape), "labels": list(labels), "features": features_dict(features),
        "input": to_dict(input_cfg), "frames": frames, "normalizer": norm_meta, "extra": extra or {},
        "kind": "network" if network else "estimator",
    }
    if stored and not network:
        meta["estimator_state"] = True  # rebuilt from the registry on loading, then its state restored
    with staged_dir(path) as tmp:  # renamed into place when whole; a killed writer's half bundle is cleared
        save_file(tensors, str(tmp / "weights.safetensors"))
        if not network:
            from .estimator_bundle import save_estimator

            save_estimator(tmp, saved_part)
        fault_point(path.name, "bundle")  # test hook (emoconv.faults): a kill with the bundle half written
        (tmp / "bundle.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=_json_default))
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(type(obj).__name__)


@dataclass
class Bundle:
    """A loaded bundle: the model in eval mode plus what is needed to prepare its input."""

    path: Path
    meta: dict[str, Any]
    model: nn.Module | Any  # a network, or an estimator (emoconv.estimator_bundle)
    features: Any
    input_cfg: Any
    normalizer: Any
    labels: list[str]

    def info(self) -> dict[str, Any]:
        """What the bundle says about itself: model, training corpus and protocol, its fold's test figures and
        confusion matrix, and the cross-validated figures of its variant (``evidence.json``, when the sweep
        that wrote it has ended)."""
        extra = self.meta.get("extra") or {}
        metrics = extra.get("metrics") or {}
        evidence = read_evidence(self.path, "rerun the sweep's command to rewrite it")
        return {
            "bundle": str(self.path), "model": self.meta.get("model"), "model_params": self.meta.get("model_params"),
            "labels": self.labels, "emoconv_version": self.meta.get("emoconv_version"),
            "torch_version": self.meta.get("torch_version"), "features": self.meta.get("features", {}).get("kind"),
            "training": {k: extra.get(k) for k in TRAINING_KEYS},
            "fold_test": {k: metrics.get(k) for k in ("ua", "wa", "accuracy", "confusion")} if metrics else None,
            "cross_validated": evidence,
        }

    def predict_files(self, files: list[str | Path], same_speaker: bool = False) -> list[dict[str, Any]]:
        """Label and class probabilities for each audio file.

        ``same_speaker``: the files are one speaker's; a per-speaker normalised model then normalises them with
        their pooled statistics (as in training) instead of each file's own.
        """
        from types import SimpleNamespace

        from .features.kinds import extract_for, is_segmented

        # extractors need only path and speaker; importing emoconv.corpora here would slow a cold start
        segmented = is_segmented(self.features)
        feats: list[Any] = []
        for f in files:  # file by file: one unreadable file costs its own row only
            try:
                (x,) = extract_for(self.features, [SimpleNamespace(path=Path(f), speaker="predict")], cache=None)
            except EmoconvError as exc:
                x = {"file": str(f), "error": str(exc)}
            feats.append(x)
        good = [x for x in feats if isinstance(x, torch.Tensor)]
        if self.estimator:  # the estimator's own rules (emoconv.estimator_bundle)
            from .estimator_bundle import predict_estimator

            names = [str(f) for f, x in zip(files, feats) if isinstance(x, torch.Tensor)]
            scored = iter(predict_estimator(self.model, names, self._normalise_set(good, False), self.labels,
                                            same_speaker, self.pipeline))
            return [x if isinstance(x, dict) else next(scored) for x in feats]
        normed = iter(self._normalise_set(good, same_speaker))
        return [x if isinstance(x, dict) else self._predict_one(str(f), next(normed), segmented)
                for f, x in zip(files, feats)]

    @property
    def estimator(self) -> bool:
        """True for an estimator's bundle (the SVM), False for a network's."""
        return not isinstance(self.model, nn.Module)

    @functools.cached_property
    def pipeline(self) -> Any:
        """The input pipeline the model was trained with (its settings and fixed length from the bundle)."""
        from .features.kinds import is_segmented
        from .features.pipeline import InputPipeline

        frames = self.meta.get("frames")
        return InputPipeline(self.input_cfg, None if frames is None else int(frames), is_segmented(self.features))

    def _batch(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        """Normalised features ``(C, T, F)`` shaped into the model's input batch for one utterance."""
        return self.pipeline.batch_of(x)

    def _normalise(self, feat: torch.Tensor) -> torch.Tensor:
        """The bundle's normalisation of one utterance; a per-speaker model (``normalize: speaker``) meets a
        speaker it has not heard, so the utterance is normalised with its own statistics."""
        if self.normalizer is None or self.normalizer.mode == "none":
            return feat
        if self.normalizer.mode == "speaker":
            from .features.normalize import Normalizer

            return Normalizer("utterance").transform(feat)
        return self.normalizer.transform(feat)

    def _normalise_set(self, feats: list[torch.Tensor], same_speaker: bool) -> list[torch.Tensor]:
        """Normalise the files of one call; with ``same_speaker`` a per-speaker model treats them as one speaker
        and uses their pooled statistics (its training rule, :meth:`Normalizer.transform_many`)."""
        if same_speaker and feats and self.normalizer is not None and self.normalizer.mode == "speaker":
            return self.normalizer.transform_many(feats, ["predict"] * len(feats))
        return [self._normalise(f) for f in feats]

    def _scores(self, batch: torch.Tensor, mode: str) -> torch.Tensor:
        from .features import aggregate_segments

        kwargs = {}
        if getattr(self.model, "variable_length", False):
            kwargs["lengths"] = torch.tensor([batch.shape[2]] * batch.shape[0])
        probs = torch.softmax(self.model(batch, **kwargs), dim=1)
        return aggregate_segments(probs, self.input_cfg.aggregate) if mode in ("segment", "segmented") else probs[0]

    @torch.no_grad()
    def window_probabilities(self, waves: list[np.ndarray]) -> np.ndarray:
        """Class probabilities ``(N, K)`` of ``N`` mono waveforms at the features' sample rate (timeline windows);
        fixed-length (pad) models score the windows as one batch."""
        from .features.spectral import compute_features

        if self.estimator:
            raise BundleError(f"{self.path}: an estimator's bundle ({self.meta.get('model')}) scores whole files; "
                              "--timeline needs a network's bundle")
        feats = [self._normalise(f) for f in compute_features(self.features, waves)]
        mode = self.input_cfg.length
        if mode == "pad" and not getattr(self.model, "variable_length", False):
            batch = torch.cat([self._batch(f, mode) for f in feats])
            return torch.softmax(self.model(batch), dim=1).numpy()
        return np.stack([self._scores(self._batch(f, mode), mode).numpy() for f in feats])

    @torch.no_grad()
    def _predict_one(self, name: str, x: torch.Tensor, segmented: bool = False) -> dict[str, Any]:
        """Label and probabilities of one utterance's normalised features ``x``."""
        mode = "segmented" if segmented else self.input_cfg.length
        note = None
        max_frames = int(self.meta.get("frames") or 0)
        if mode == "pad" and x.shape[1] > max_frames > 0:
            hop_s = float(getattr(self.features, "hop_ms", 10.0)) / 1000.0
            note = (f"scored the first {max_frames * hop_s:.1f} s of {x.shape[1] * hop_s:.1f} s (the model's fixed "
                    "input length); score long recordings with --timeline")
        p = [float(v) for v in self._scores(self._batch(x, mode), mode)]
        best = int(np.argmax(p))
        row = {"file": name, "label": self.labels[best],
               "probabilities": {lab: round(v, 6) for lab, v in zip(self.labels, p)}}
        if note:
            row["note"] = note
        return row


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle folder; BundleError for missing, corrupted or incompatible bundles."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .features.inputs import InputConfig
    from .features.kinds import parse_features
    from .models import build_model

    path = Path(path)
    meta_path, weights_path = path / "bundle.json", path / "weights.safetensors"
    not_bundle = BundleError(f"{path}: not a model bundle (needs bundle.json and weights.safetensors); "
                             "pass the folder written by 'emoconv run' with bundle: true, or by 'emoconv train'")
    if not path.is_dir() or not meta_path.is_file():
        raise not_bundle
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleError(f"{meta_path}: corrupted bundle metadata (not JSON); re-export the bundle") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{meta_path}: bundle metadata must be a JSON object; re-export the bundle")
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format {meta.get('format')!r} v{meta.get('format_version')} is not "
                          f"supported by emoconv {__version__} (needs {FORMAT} v{FORMAT_VERSION})")
    made = str(meta.get("emoconv_version", "0"))
    if _major_minor(made) != _major_minor(__version__):
        raise BundleError(f"{path}: bundle made by emoconv {made}, incompatible with {__version__}; "
                          f"install emoconv=={made} or retrain")
    if meta.get("kind") == "fusion":  # two bundles' probabilities, weighted (emoconv.fusion_bundle)
        from .fusion_bundle import load_fusion

        return load_fusion(path, meta, load_bundle)  # type: ignore[return-value]
    if not weights_path.is_file():
        raise not_bundle
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BundleError(f"{weights_path}: corrupted weights ({exc}); re-export the bundle") from None
    bad = sorted(k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all()))
    if bad:
        raise BundleError(f"{weights_path}: non-finite values (NaN or inf) in {', '.join(bad[:3])}"
                          f"{' ...' if len(bad) > 3 else ''}; the model diverged or the file was damaged: retrain")
    shape, frames, labels = meta.get("input_shape"), meta.get("frames"), meta.get("labels")
    if not (isinstance(shape, list) and shape and all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                                      for v in shape)):
        raise BundleError(f"{meta_path}: input_shape must be a list of positive integers, got {shape!r}; "
                          "re-export the bundle")
    if frames is not None and not (isinstance(frames, int) and not isinstance(frames, bool) and frames > 0):
        raise BundleError(f"{meta_path}: frames must be a positive integer or null, got {frames!r}; "
                          "re-export the bundle")
    if not (isinstance(labels, list) and len(labels) >= 2 and all(isinstance(v, str) for v in labels)):
        raise BundleError(f"{meta_path}: labels must be a list of at least two names, got {labels!r}; "
                          "re-export the bundle")
    if not isinstance(meta.get("model"), str) or not isinstance(meta.get("model_params"), dict):
        raise BundleError(f"{meta_path}: model must be a name and model_params a mapping; re-export the bundle")
    if meta.get("normalizer") is not None and not isinstance(meta["normalizer"], dict):
        raise BundleError(f"{meta_path}: normalizer must be a mapping or null; re-export the bundle")
    try:
        features = parse_features(meta["features"], f"{meta_path}:features")
        input_cfg = from_dict(InputConfig, meta["input"], f"{meta_path}:input")
        def fresh() -> Any:  # the bundle's registered model, untrained
            return build_model(meta["model"], n_classes=len(meta["labels"]),
                               input_shape=tuple(meta["input_shape"]), **meta["model_params"])

        if meta.get("kind", "network") == "estimator":
            from .estimator_bundle import load_estimator

            model = load_estimator(path, meta, tensors, fresh)
        else:
            model = fresh()
            state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
            model.load_state_dict(state)
            model.eval()
    except BundleError:
        raise
    except (KeyError, RuntimeError, TypeError, ValueError, EmoconvError) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BundleError(f"{path}: bundle does not match its model ({why}); re-export the bundle") from None
    try:
        normalizer = _load_normalizer(meta, tensors)
    except (KeyError, TypeError, ValueError, AttributeError, EmoconvError) as exc:
        raise BundleError(f"{meta_path}: damaged normalizer ({type(exc).__name__}: {exc}); re-export the bundle") \
            from None
    return Bundle(path=path, meta=meta, model=model, features=features, input_cfg=input_cfg,
                  normalizer=normalizer, labels=list(meta["labels"]))


def _load_normalizer(meta: dict[str, Any], tensors: dict[str, Any]) -> Any:
    from .features import Normalizer

    normalizer = None
    if meta.get("normalizer"):
        state_n: dict[str, Any] = {}
        for k, v in meta["normalizer"].items():
            if isinstance(v, dict) and "__tensor_dict__" in v:
                state_n[k] = {sk: tensors[f"normalizer.{k}.{sk}"] for sk in v["__tensor_dict__"]}
            else:
                state_n[k] = v
        for k, v in tensors.items():
            if k.startswith("normalizer.") and k.count(".") == 1:
                state_n[k[len("normalizer."):]] = v
        normalizer = Normalizer.from_state_dict(state_n)
    return normalizer
