"""Run an emoconv model exported with ``emoconv export BUNDLE --onnx OUT_DIR``, without PyTorch.

Needs numpy, soundfile, soxr and onnxruntime only. The front-end below recomputes emoconv's features in
numpy from ``frontend.json`` (and ``mel.npy`` for log-mel): reflect padding by n_fft // 2, periodic
Hann/Hamming window centred in n_fft, magnitude (STFT) or power (log-mel) spectrum, mel product, log(x +
offset) or power compression, the bundle's normalisation, then pad/crop to the model's frames. It computes in
single precision after the FFT, and only the frames the model keeps (``pad_mode: end`` crops the rest).
The mel product runs on one BLAS thread and onnxruntime's threads do not spin between calls: with both
libraries' pools spinning on two cores, each call waited for the other's threads (about 2.5 ms a clip).

    python emoconv_onnx.py OUT_DIR clip.wav [more.wav ...] [--json]

From Python::

    from emoconv_onnx import OnnxModel
    model = OnnxModel("OUT_DIR")
    model.predict_file("clip.wav")    # {"file", "label", "probabilities"}
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads BLAS (see the module docstring)
import numpy as np  # noqa: E402

_FFT_OUT = int(np.__version__.split(".")[0]) >= 2  # numpy.fft functions take out= since numpy 2.0


class OnnxModel:
    """An exported model folder: ``model.onnx``, ``frontend.json`` (and ``mel.npy``). Not thread-safe (the
    front-end reuses its work arrays): give each thread its own."""

    def __init__(self, folder: str | Path) -> None:
        import onnxruntime as ort

        self.folder = Path(folder)
        self.cfg = json.loads((self.folder / "frontend.json").read_text())
        self.mel = np.load(self.folder / "mel.npy") if self.cfg["kind"] == "logmel" else None
        c = self.cfg  # the analysis window: float64, n_fft long, the win_length window centred
        k = np.arange(c["win_length"])
        w = 0.5 - 0.5 * np.cos(2 * np.pi * k / c["win_length"]) if c["window"] == "hann" else \
            0.54 - 0.46 * np.cos(2 * np.pi * k / c["win_length"])
        left = (c["n_fft"] - c["win_length"]) // 2
        self._win = np.zeros(c["n_fft"])
        self._win[left:left + c["win_length"]] = w
        self._buf: tuple | None = None
        self._melT32 = None if self.mel is None else np.ascontiguousarray(self.mel.T.astype(np.float32))
        norm = self.cfg["normalizer"]
        self.mean = None if norm.get("mean") is None else np.asarray(norm["mean"], dtype=np.float32)
        self.std = None if norm.get("std") is None else np.asarray(norm["std"], dtype=np.float32)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.folder / "model.onnx"), opts,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.labels = list(self.cfg["labels"])

    def load(self, path: str | Path) -> np.ndarray:
        import soundfile as sf

        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        if data.shape[0] == 0:
            raise ValueError(f"{path}: no audio samples")
        wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
        if sr != self.cfg["sample_rate"]:
            import soxr  # only when the file needs resampling (a faster cold start otherwise)

            wav = soxr.resample(wav, sr, self.cfg["sample_rate"]).astype(np.float32)
        return wav

    def features(self, wav: np.ndarray, frames_needed: int | None = None) -> np.ndarray:
        """``(1, T, F)`` features of a mono waveform, normalised as the bundle does.

        ``frames_needed``: compute only the first ``frames_needed`` frames (the others would be cropped away);
        ignored under per-utterance normalisation, whose statistics need every frame.
        """
        c = self.cfg
        n_fft, hop = c["n_fft"], c["hop_length"]
        mode = c["normalizer"]["mode"]
        half = n_fft // 2
        if len(wav) > half:  # reflect padding by concatenation: np.pad's general path costs 5x more
            x = np.concatenate((wav[half:0:-1], wav, wav[-2:-half - 2:-1]))
        else:
            x = np.pad(wav, half, mode="reflect")
        if len(x) < n_fft:
            x = np.pad(x, (0, n_fft - len(x)))
        n = max(1, 1 + (len(wav) + 2 * (n_fft // 2) - n_fft) // hop)  # emoconv's frame count (centred frames)
        if frames_needed is not None and mode != "utterance":
            n = min(n, frames_needed)
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:n]  # a view: no copy
        windowed, spec, power = self._buffers(n)
        np.multiply(frames, self._win, out=windowed)  # float64 (the window is): numpy's fast FFT
        spec = np.fft.rfft(windowed, axis=1, out=spec) if spec is not None else np.fft.rfft(windowed, axis=1)
        if c["kind"] == "stft":
            feats = np.abs(spec).astype(np.float32)
        else:  # |X|^2 in one pass over the (T, n_fft // 2 + 1, 2) real view
            parts = spec.view(np.float64).reshape(n, -1, 2)
            feats = np.einsum("tkc,tkc->tk", parts, parts, out=power).astype(np.float32) @ self._melT32
        if c["compression"] == "log":
            feats = np.log(feats + np.float32(c["log_offset"]))
        elif c["compression"] == "power":
            feats = feats ** np.float32(c["power"])
        feats = feats.astype(np.float32, copy=False)[None]  # (1, T, F)
        if mode == "global":
            feats = (feats - self.mean) / self.std
        elif mode == "utterance":
            m = feats.astype(np.float64).mean(axis=1, keepdims=True)
            s = np.maximum(np.sqrt(((feats - m) ** 2).mean(axis=1, keepdims=True)), 1e-8)
            feats = ((feats - m) / s).astype(np.float32)
        return feats

    def _buffers(self, n: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Work arrays for ``n`` frames (views of arrays kept from call to call, grown when a longer clip comes):
        allocating these few hundred kB afresh on every clip cost more than the FFT itself (page faults),
        about 1 ms of a 3 s clip's 1.5 ms front-end on a 2-core VM. So one ``OnnxModel`` serves one thread."""
        if self._buf is None or self._buf[0].shape[0] < n:
            bins = self.cfg["n_fft"] // 2 + 1
            spec = np.empty((n, bins), np.complex128) if _FFT_OUT else None  # rfft(out=) needs numpy >= 2
            self._buf = (np.empty((n, self.cfg["n_fft"])), spec, np.empty((n, bins)))
        windowed, spec, power = self._buf
        return windowed[:n], None if spec is None else spec[:n], power[:n]

    def shape(self, feats: np.ndarray) -> np.ndarray:
        frames = self.cfg["frames"]
        if frames is None:  # a variable-length model takes the whole utterance
            return feats
        t = feats.shape[1]
        if self.cfg["pad_mode"] == "center":
            if t >= frames:
                s = (t - frames) // 2
                return feats[:, s:s + frames]
            before = (frames - t) // 2
            return np.pad(feats, ((0, 0), (before, frames - t - before), (0, 0)))
        return feats[:, :frames] if t >= frames else np.pad(feats, ((0, 0), (0, frames - t), (0, 0)))

    def probabilities(self, wav: np.ndarray) -> np.ndarray:
        # pad_mode end keeps the first `frames` frames: the rest need not be computed
        needed = self.cfg["frames"] if self.cfg["pad_mode"] != "center" else None  # None: variable length
        x = self.shape(self.features(wav, needed))[None].astype(np.float32, copy=False)  # (1, C, T, F)
        logits = self.session.run(None, {self.input_name: x})[0][0].astype(np.float64)
        e = np.exp(logits - logits.max())
        return e / e.sum()

    def predict_file(self, path: str | Path) -> dict:
        p = self.probabilities(self.load(path))
        return {"file": str(path), "label": self.labels[int(np.argmax(p))],
                "probabilities": {lab: round(float(v), 6) for lab, v in zip(self.labels, p)}}


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--json"]
    if len(args) < 2:
        print("usage: python emoconv_onnx.py OUT_DIR FILE... [--json]", file=sys.stderr)
        return 2
    model = OnnxModel(args[0])
    rows = [model.predict_file(f) for f in args[1:]]
    if "--json" in argv:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['file']}: {r['label']}    (" + "  ".join(f"{k} {v:.2f}" for k, v in r["probabilities"].items())
                  + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
