"""Spectral features against librosa (the reference), batching and input errors."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch
from testaudio import tone

from emoconv.errors import AudioError
from emoconv.features import FeatureConfig, compute_features, mel_filterbank

SR = 16000
# 1.2301 s: not a multiple of the hop. (When N % hop == 0, librosa 0.11 reflect-pads a
# too-short tail slice and its last frame deviates from numpy.pad(mode="reflect").)
Y = tone(1.2301, SR, 220.0, seed=0)


def _close(ours: torch.Tensor, ref: np.ndarray, rtol: float = 1e-4) -> None:
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape
    err = np.max(np.abs(ours.double().numpy() - ref))
    assert err <= rtol * np.max(np.abs(ref)), f"max abs error {err:.3g}"


def _lib(cfg: FeatureConfig) -> dict:
    return dict(
        n_fft=cfg.fft_size, hop_length=cfg.hop_length, win_length=cfg.win_length,
        window=cfg.window, center=True, pad_mode="reflect",
    )


@pytest.mark.parametrize("window", ["hann", "hamming"])
@pytest.mark.parametrize("n_fft", [None, 512])
def test_magnitude_stft_matches_librosa(window, n_fft):
    cfg = FeatureConfig(kind="stft", win_ms=20, compression="none", window=window, n_fft=n_fft)
    (f,) = compute_features(cfg, [Y])
    ref = np.abs(librosa.stft(Y, **_lib(cfg))).T
    assert f.shape == (1, len(Y) // 160 + 1, cfg.fft_size // 2 + 1)
    _close(f[0], ref)


def test_last_frame_uses_reflect_padding_of_whole_signal():
    y = tone(0.5, SR, 300.0, seed=1)  # N % hop == 0
    cfg = FeatureConfig(kind="stft", compression="none")
    (f,) = compute_features(cfg, [y])
    padded = np.pad(y, 200, mode="reflect")
    ref = np.abs(librosa.stft(padded, **{**_lib(cfg), "center": False})).T
    _close(f[0], ref)


def test_mel_filterbank_matches_librosa_slaney():
    ours = mel_filterbank(SR, 512, 64, fmin=50.0, fmax=7000.0)
    ref = librosa.filters.mel(sr=SR, n_fft=512, n_mels=64, fmin=50.0, fmax=7000.0, htk=False, norm="slaney")
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)


def test_logmel_matches_librosa_melspectrogram_then_log():
    cfg = FeatureConfig(kind="logmel", n_mels=64, fmin=50.0, fmax=7000.0)
    (f,) = compute_features(cfg, [Y])
    mel = librosa.feature.melspectrogram(y=Y, sr=SR, n_mels=64, fmin=50.0, fmax=7000.0, power=2.0, **_lib(cfg))
    np.testing.assert_allclose(f[0].numpy(), np.log(mel.T + 1e-6), atol=2e-4)


def test_power_and_no_compression():
    base = compute_features(FeatureConfig(compression="none"), [Y])[0]
    powered = compute_features(FeatureConfig(compression="power", power=0.3), [Y])[0]
    torch.testing.assert_close(powered, base.pow(0.3), rtol=1e-5, atol=1e-7)
    assert base.min() >= 0


def test_mfcc_matches_librosa():
    cfg = FeatureConfig(kind="mfcc", n_mfcc=20, n_mels=40)
    (f,) = compute_features(cfg, [Y])
    ref = librosa.feature.mfcc(y=Y, sr=SR, n_mfcc=20, n_mels=40, **_lib(cfg)).T
    _close(f[0], ref, rtol=2e-5)


def test_mfcc_80db_floor_is_per_utterance_in_a_batch():
    quiet = tone(0.7001, SR, 200.0, seed=2)
    quiet[:4000] = 0.0  # digital silence: floored at 80 dB below this utterance's peak
    loud = tone(2.0001, SR, 500.0, seed=3) * 30.0  # a batch-wide peak would floor higher
    cfg = FeatureConfig(kind="mfcc")
    f_quiet, _ = compute_features(cfg, [quiet, loud])
    ref = librosa.feature.mfcc(y=quiet, sr=SR, n_mfcc=13, n_mels=40, **_lib(cfg)).T
    _close(f_quiet[0], ref, rtol=2e-5)


def test_batched_equals_one_by_one_and_keeps_order():
    waves = [tone(s, SR, 150.0 + 40 * i, seed=i) for i, s in enumerate([0.9, 0.2, 1.5, 0.05, 0.61])]
    cfg = FeatureConfig(deltas=2)
    together = compute_features(cfg, waves, batch_samples=20_000)  # forces several batches
    for w, f in zip(waves, together):
        (alone,) = compute_features(cfg, [w])
        assert f.shape == (3, 1 + len(w) // 160, 40)
        assert f.dtype == torch.float32 and f.is_contiguous()
        torch.testing.assert_close(f, alone, rtol=1e-4, atol=1e-4)


def test_deltas_channels_match_librosa_delta():
    cfg = FeatureConfig(kind="logmel", deltas=2, delta_width=9)
    (f,) = compute_features(cfg, [Y])
    for order in (1, 2):
        ref = librosa.feature.delta(f[0].numpy().T, width=9, order=order, mode="interp").T
        _close(f[order], ref, rtol=1e-5)


def test_torch_input_and_tiny_waveform():
    f = compute_features(FeatureConfig(deltas=1), [torch.from_numpy(Y[:100])])[0]
    assert f.shape == (2, 1, 40)
    assert torch.all(f[1] == 0)  # one frame: no slope


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 100), np.float32), "mono"),
        (np.zeros(0, np.float32), "non-empty"),
        (np.array([0.1, np.nan, 0.2], np.float32), "NaN"),
    ],
)
def test_bad_waveforms_raise_audio_error(bad, message):
    with pytest.raises(AudioError, match=rf"waveform #1: .*{message}"):
        compute_features(FeatureConfig(), [Y, bad])


def test_htk_mel_scale_matches_librosa_htk_and_changes_the_features():
    ours = mel_filterbank(SR, 512, 40, fmin=0.0, fmax=8000.0, htk=True)
    ref = librosa.filters.mel(sr=SR, n_fft=512, n_mels=40, fmin=0.0, fmax=8000.0, htk=True, norm="slaney")
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)
    (htk,) = compute_features(FeatureConfig(kind="logmel", n_fft=512, mel_scale="htk"), [Y])
    (slaney,) = compute_features(FeatureConfig(kind="logmel", n_fft=512), [Y])
    assert htk.shape == slaney.shape and not torch.allclose(htk, slaney, atol=1e-2)


def test_delta_of_delta_is_the_regression_applied_twice():
    """Eq. 6 of the multi-dilated CNN paper: the delta-delta is the delta (same N) of the delta."""
    cfg = FeatureConfig(kind="logmel", deltas=2, delta_width=19, delta_delta="delta_of_delta")
    (f,) = compute_features(cfg, [Y])
    d1 = librosa.feature.delta(f[0].numpy().T, width=19, order=1, mode="interp")
    _close(f[1], d1.T, rtol=1e-5)
    _close(f[2], librosa.feature.delta(d1, width=19, order=1, mode="interp").T, rtol=1e-5)
    (sg,) = compute_features(FeatureConfig(kind="logmel", deltas=2, delta_width=19), [Y])
    assert torch.equal(sg[1], f[1]) and not torch.allclose(sg[2], f[2], atol=1e-3)


def test_batches_on_a_thread_pool_give_the_single_thread_features_in_order():
    """With several torch threads the batches run one thread each on a pool (free threads take the next batch);
    the features equal the one-thread computation, come back in input order, and the thread count is restored."""
    rng = np.random.default_rng(3)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (4000, 16000, 900, 12000, 7000, 2500, 9100)]
    cfg = FeatureConfig(deltas=2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = compute_features(cfg, waves, batch_samples=20_000)
        torch.set_num_threads(2)
        pooled = compute_features(cfg, waves, batch_samples=20_000)  # several batches: the pool path
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert [tuple(f.shape) for f in pooled] == [(3, 1 + len(w) // cfg.hop_length, 40) for w in waves]
    for a, b in zip(one, pooled):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_concurrent_calls_share_the_pool_safely():
    """Two threads computing features at once: each gets its own correct features and the count is restored."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(4)
    waves = [rng.standard_normal(n).astype(np.float32) for n in (3000, 9000, 5000, 12000, 800)]
    cfg = FeatureConfig()
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        ref = compute_features(cfg, waves, batch_samples=15_000)
        torch.set_num_threads(2)
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: compute_features(cfg, waves, batch_samples=15_000), range(4)))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    for got in runs:
        for a, b in zip(ref, got):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
