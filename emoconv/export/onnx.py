"""``emoconv export BUNDLE --onnx OUT_DIR``: the network as ONNX plus a numpy front-end, no PyTorch needed to run.

OUT_DIR gets ``model.onnx`` (exported with ``torch.onnx.export(dynamo=True)``; the batch axis is dynamic, and
so is the time axis of a variable-length network, else it is the bundle's fixed ``frames``), ``frontend.json``
(feature, normalisation and shaping settings, labels), ``mel.npy`` (the mel filterbank, for log-mel bundles)
and ``emoconv_onnx.py`` (the runner: numpy + soundfile + soxr + onnxruntime; see
:mod:`emoconv.export.onnx_runner`). The folder is filled as a hidden sibling and renamed into place
(:func:`emoconv.fileio.staged_dir`).

Exportable: networks on STFT or log-mel features without deltas, with ``global``, ``utterance``, ``speaker``
or no normalisation, and ``input.length: pad`` or (for networks that take any length, such as ECNet and the
fold ensembles of ``emoconv train``) ``variable``. A per-speaker model is exported as ``emoconv predict``
runs it on a file alone: each file normalised by its own statistics. Anything else (the SVM, the ELMs,
MFCCs, deltas, segmented input) is refused with one line naming what is missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..fileio import staged_dir


def _exportable(bundle: Any) -> None:
    import torch

    from ..features.config import FeatureConfig
    from ..features.kinds import kind_of
    from ..fusion_bundle import refuse_fusion

    refuse_fusion(bundle, "the ONNX export")
    f, where = bundle.features, f"{bundle.path}"
    if not isinstance(bundle.model, torch.nn.Module):
        raise ConfigError(f"{where}: model {bundle.meta.get('model')} is not a network; only networks export to ONNX")
    if not isinstance(f, FeatureConfig) or f.kind not in ("stft", "logmel"):
        raise ConfigError(f"{where}: features {kind_of(f)} have no ONNX front-end yet; "
                          "export supports stft and logmel")
    if f.deltas:
        raise ConfigError(f"{where}: features with deltas have no ONNX front-end yet; export supports deltas: 0")
    mode = bundle.normalizer.mode if bundle.normalizer is not None else "none"
    if mode not in ("global", "utterance", "speaker", "none"):
        raise ConfigError(f"{where}: normalize {mode} cannot be exported; export supports global, utterance, "
                          "speaker and none")
    fixed = bundle.input_cfg.length == "pad" and bool(bundle.meta.get("frames"))
    if not fixed and not (bundle.input_cfg.length == "variable" and getattr(bundle.model, "variable_length", False)):
        raise ConfigError(f"{where}: input.length {bundle.input_cfg.length} cannot be exported yet; export "
                          "supports fixed-length (pad) models and variable-length networks")


def frontend_config(bundle: Any) -> dict[str, Any]:
    f, norm = bundle.features, bundle.normalizer
    # a per-speaker model meets speakers it has not heard: emoconv predict normalises each file by its own
    # statistics then (Bundle._normalise), and so does the exported front-end
    state = {"mode": "none"} if norm is None else {"mode": "utterance" if norm.mode == "speaker" else norm.mode}
    variable = bundle.input_cfg.length == "variable"
    if norm is not None and norm.mode == "global":
        state["mean"] = norm.mean.numpy().tolist()
        state["std"] = norm.std.numpy().tolist()
    return {"format": "emoconv-onnx", "kind": f.kind, "sample_rate": f.sample_rate, "n_fft": f.fft_size,
            "win_length": f.win_length, "hop_length": f.hop_length, "window": f.window,
            "compression": f.compression, "log_offset": f.log_offset, "power": f.power,
            "frames": None if variable else int(bundle.meta["frames"]), "pad_mode": bundle.input_cfg.pad_mode,
            "variable_length": variable,
            "labels": list(bundle.labels), "normalizer": state,
            "emoconv_version": bundle.meta.get("emoconv_version"), "model": bundle.meta.get("model")}


def export_onnx(bundle: Any, out_dir: str | Path) -> Path:
    """Write the ONNX folder of a loaded bundle (see the module docstring); returns its path."""
    import contextlib
    import inspect
    import io
    import logging
    import warnings

    import torch

    from ..features.spectral import mel_filterbank

    _exportable(bundle)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out}: already exists and is not empty; choose a new folder for the export")
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise ConfigError("ONNX export needs onnx and onnxscript; install them with: pip install 'emoconv[onnx]'") \
            from None
    with staged_dir(out) as tmp:  # an empty folder already there is replaced
        cfg = frontend_config(bundle)
        f = bundle.features
        x = torch.zeros(2, *bundle.meta["input_shape"])
        model = bundle.model.eval()
        batch = torch.export.Dim("batch", min=1, max=4096)
        arg = next(iter(inspect.signature(model.forward).parameters))  # dynamic_shapes is keyed by its name
        dims = {0: batch}
        if cfg["variable_length"]:  # any number of frames: the whole utterance goes in, as emoconv predict's
            dims[2] = torch.export.Dim("frames", min=16, max=1_000_000)
        quiet = logging.getLogger("torch.onnx")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # the exporter's notes (e.g. torchvision not installed) are not ours
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(model, (x,), str(tmp / "model.onnx"), dynamo=True, input_names=["features"],
                                  output_names=["logits"], dynamic_shapes={arg: dims}, verbose=False)
            except Exception as exc:  # torch.onnx's errors: one line naming the operator ONNX lacks
                import re

                ops = re.findall(r"aten\.[A-Za-z0-9_]+", str(exc))
                why = f"ONNX has no equivalent of {ops[0]}" if ops else type(exc).__name__
                raise ConfigError(f"{bundle.path}: model {bundle.meta.get('model')} cannot be exported to ONNX "
                                  f"({why})") from None
            finally:
                quiet.setLevel(level)
        if f.kind == "logmel":
            np.save(tmp / "mel.npy", mel_filterbank(f.sample_rate, f.fft_size, f.n_mels, f.fmin, f.fmax,
                                                    f.mel_scale == "htk"))
        (tmp / "frontend.json").write_text(json.dumps(cfg, indent=2))
        shutil.copyfile(Path(__file__).with_name("onnx_runner.py"), tmp / "emoconv_onnx.py")
    return out
