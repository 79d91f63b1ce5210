"""Batched spectral features in torch: magnitude STFT, log-mel and MFCC (+ deltas).

Conventions (chosen to match librosa 0.11 so tests can compare numerically):

* Frames are centred: each waveform is padded by ``n_fft // 2`` samples on both
  sides with **reflect** padding (``numpy.pad(mode="reflect")``; pass
  ``pad_mode="reflect"`` to librosa, whose default became ``"constant"`` in 0.10),
  so an ``N``-sample waveform gives ``1 + N // hop`` frames.
* Windows are periodic Hann/Hamming of ``win_length`` samples, zero-padded to
  ``n_fft`` centrally; the STFT itself is :func:`torch.stft`.
* ``stft``: ``|X|``; ``logmel``: the Slaney-scale, Slaney-normalised mel filterbank
  (Slaney, 1998, *Auditory Toolbox*; librosa's ``htk=False, norm="slaney"``) applied
  to the power spectrogram ``|X|**2``, then the configured compression;
  ``mfcc``: DCT-II (orthonormal) of the mel power in dB (``10 log10(max(x, 1e-10))``,
  clipped to 80 dB below the utterance maximum), as ``librosa.feature.mfcc``.

The magnitude STFT with 20 ms windows and 10 ms hop at 16 kHz is the input of the
multi-time-scale CNN (Guizzo et al., 2020): ``FeatureConfig(kind="stft", win_ms=20,
compression="none")``.

Waveforms of different lengths are sorted by length and processed in padded
batches of at most ``batch_samples`` samples; each utterance is cropped back to
its own frame count before per-utterance steps (dB range, deltas edges).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..errors import AudioError
from .config import FeatureConfig
from .deltas import delta_batch

_F_SP = 200.0 / 3  # Slaney mel scale: linear part, Hz per mel
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0  # log part: 27 mels per factor 6.4 above 1 kHz


def hz_to_mel(hz: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Slaney mel scale (linear below 1 kHz, logarithmic above), or with ``htk=True`` the HTK formula
    ``2595 log10(1 + f / 700)``."""
    hz = np.asarray(hz, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    lin = hz / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(mel: np.ndarray | float, htk: bool = False) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    lin = mel * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log, lin)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None, htk: bool = False
) -> np.ndarray:
    """Triangular mel filters with unit area, shape ``(n_mels, n_fft // 2 + 1)`` float32.

    Band ``m`` rises linearly from centre frequency ``c[m-1]`` to ``c[m]`` and falls
    to ``c[m+1]``, with centres equally spaced on the Slaney mel scale (or the HTK scale with
    ``htk=True``; librosa's ``htk`` flag) between ``fmin`` and ``fmax``; each triangle is scaled by
    ``2 / (c[m+1] - c[m-1])``.

    >>> fb = mel_filterbank(16000, 400, 40)
    >>> fb.shape, bool((fb >= 0).all())
    ((40, 201), True)
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    centres = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    lo, mid, hi = centres[:-2, None], centres[1:-1, None], centres[2:, None]
    rise = (bins[None, :] - lo) / (mid - lo)
    fall = (hi - bins[None, :]) / (hi - mid)
    tri = np.maximum(0.0, np.minimum(rise, fall))
    return (tri * (2.0 / (hi - lo))).astype(np.float32)


@lru_cache(maxsize=16)
def _mel_matrix(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None,
                htk: bool = False) -> Tensor:
    return torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax, htk))  # (M, F)


@lru_cache(maxsize=16)
def _dct_matrix(n_mels: int, n_mfcc: int) -> Tensor:
    import scipy.fft  # lazy: only MFCCs need it, and `emoconv predict` should start fast

    d = scipy.fft.dct(np.eye(n_mels), type=2, norm="ortho", axis=0)[:n_mfcc]  # (K, M)
    return torch.from_numpy(np.ascontiguousarray(d.T, dtype=np.float32))  # (M, K)


def _window(cfg: FeatureConfig, device: torch.device) -> Tensor:
    make = torch.hann_window if cfg.window == "hann" else torch.hamming_window
    return make(cfg.win_length, periodic=True, dtype=torch.float32, device=device)


def _as_waveform(w: object, i: int) -> np.ndarray:
    a = w.detach().cpu().numpy() if isinstance(w, Tensor) else np.asarray(w)
    if a.ndim != 1 or a.shape[0] == 0:
        raise AudioError(f"waveform #{i}: expected a non-empty mono (N,) array, got shape {a.shape}")
    a = a.astype(np.float32, copy=False)
    if not np.all(np.isfinite(a)):
        raise AudioError(f"waveform #{i}: contains NaN or infinite samples; fix the audio")
    return a


def _compress(x: Tensor, cfg: FeatureConfig) -> Tensor:
    """Compress ``x`` in place (callers pass fresh tensors)."""
    if cfg.compression == "log":
        return x.add_(cfg.log_offset).log_()
    if cfg.compression == "power":
        return x.pow_(cfg.power)
    return x


def _batch(cfg: FeatureConfig, waves: list[np.ndarray], device: torch.device) -> list[Tensor]:
    """Features of waveforms of similar length: list of ``(C, T_i, F)`` on ``device``.

    Spectra stay in torch.stft's ``(B, F, T)`` layout (the mel product is then one
    contiguous matmul); the ``(B, T, F)`` views are made contiguous once, by the
    final stack.
    """
    n_fft, hop, pad = cfg.fft_size, cfg.hop_length, cfg.fft_size // 2
    lengths = [cfg.n_frames(len(w)) for w in waves]
    padded = [np.pad(w, pad, mode="reflect") for w in waves]
    total = max(len(p) for p in padded)
    total = max(total, n_fft)
    buf = np.zeros((len(waves), total), dtype=np.float32)
    for row, p in zip(buf, padded):
        row[: len(p)] = p
    x = torch.from_numpy(buf).to(device)
    spec = torch.stft(
        x, n_fft, hop_length=hop, win_length=cfg.win_length, window=_window(cfg, device),
        center=False, return_complex=True,
    )  # (B, n_fft//2+1, T)
    if cfg.kind == "stft":
        feats = _compress(spec.abs(), cfg).transpose(1, 2)  # (B, T, F) view
    else:
        pw = torch.mul(spec.real, spec.real).addcmul_(spec.imag, spec.imag)  # |X|^2, (B, F, T)
        mel_t = _mel_matrix(cfg.sample_rate, n_fft, cfg.n_mels, cfg.fmin, cfg.fmax, cfg.mel_scale == "htk").to(device)
        mel = (mel_t @ pw).transpose(1, 2)  # (B, T, M) view
        if cfg.kind == "logmel":
            feats = _compress(mel, cfg)
        else:
            db = 10.0 * torch.log10(mel.clamp(min=1e-10))
            t_idx = torch.arange(db.shape[1], device=device).view(1, -1, 1)
            valid = t_idx < torch.tensor(lengths, device=device).view(-1, 1, 1)
            peak = db.masked_fill(~valid, float("-inf")).amax(dim=(1, 2), keepdim=True)
            db = torch.maximum(db, peak - 80.0)
            feats = db @ _dct_matrix(cfg.n_mels, cfg.n_mfcc).to(device)
    chans = [feats] + [delta_batch(feats, lengths, d, cfg.delta_width) for d in range(1, min(cfg.deltas, 1) + 1)]
    if cfg.deltas == 2:  # "savgol": second-derivative filter of the statics; "delta_of_delta": the delta again
        chans.append(delta_batch(chans[1], lengths, 1, cfg.delta_width) if cfg.delta_delta == "delta_of_delta"
                     else delta_batch(feats, lengths, 2, cfg.delta_width))
    out = torch.stack(chans, dim=1)  # (B, C, T, F)
    # each utterance's valid frames, copied once into its own contiguous (C, T_i, F) tensor
    # (a per-item slice copy is cheaper than one boolean-mask gather over the padded batch)
    return [out[b, :, :n].to("cpu", copy=True).contiguous() for b, n in enumerate(lengths)]


def compute_features(
    cfg: FeatureConfig,
    waveforms: Sequence[np.ndarray | Tensor],
    *,
    batch_samples: int = 500_000,
    device: str | torch.device = "cpu",
) -> list[Tensor]:
    """Frame-level features of in-memory waveforms, computed in padded torch batches.

    Args:
        cfg: the feature settings.
        waveforms: mono ``(N_i,)`` float arrays at ``cfg.sample_rate``.
        batch_samples: at most this many (padded) samples per batch; bounds memory.
        device: where the batches are computed (``"cuda"`` works); results come back on CPU.

    Returns:
        One contiguous float32 ``(C, T_i, F)`` CPU tensor per waveform, in input order,
        with ``C = 1 + cfg.deltas``, ``T_i = 1 + N_i // hop`` and ``F = cfg.n_bins``.
        Tensors computed in the same batch are views of one buffer (no per-item
        copy); ``.clone()`` one before ``torch.save`` to store only its own frames.

    >>> cfg = FeatureConfig(deltas=2)
    >>> [tuple(f.shape) for f in compute_features(cfg, [np.ones(16000), np.ones(800)])]
    [(3, 101, 40), (3, 6, 40)]
    """
    waves = [_as_waveform(w, i) for i, w in enumerate(waveforms)]
    dev = torch.device(device)
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))
    batches: list[list[int]] = []
    start = 0
    while start < len(order):
        # sorted by length: the batch's padded size is (count) x (its last, longest item)
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * (len(waves[order[stop]]) + cfg.fft_size) <= batch_samples:
            stop += 1
        batches.append(order[start:stop])
        start = stop
    result: list[Tensor | None] = [None] * len(waves)

    def run(idx: list[int]) -> None:
        with torch.no_grad():
            for i, f in zip(idx, _batch(cfg, [waves[i] for i in idx], dev)):
                result[i] = f

    threads = torch.get_num_threads() if dev.type == "cpu" else 1
    # the pool changes torch's (process-wide) thread count for its duration: one call at a time uses it, and a
    # call made meanwhile from another thread computes its batches in turn, leaving the count alone
    if threads <= 1 or len(batches) <= 1 or not _POOL_LOCK.acquire(blocking=False):
        for idx in batches:
            run(idx)
        return result  # type: ignore[return-value]
    # CPU with several threads: one-thread batches taken in turn by whichever pool thread is free (torch ops
    # release the GIL), instead of every batch split evenly over the threads. With another process busy on
    # one of the cores, an even split waits on the slowed thread at every operation; free threads keep going.
    from concurrent.futures import ThreadPoolExecutor

    try:
        torch.set_num_threads(1)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, batches))
    finally:
        torch.set_num_threads(threads)
        _POOL_LOCK.release()
    return result  # type: ignore[return-value]


_POOL_LOCK = threading.Lock()
