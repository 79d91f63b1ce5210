"""An emotion timeline of a long recording: windows scored in batches, with bounded memory.

``emoconv predict BUNDLE FILE --timeline`` reads the recording block by block (``soundfile``), resamples
it as a stream (``soxr.ResampleStream``), cuts it into windows of ``window_s`` every ``hop_s`` seconds
and scores the windows ``batch`` at a time with the bundle's features, normaliser and model. At most one
block of audio, one batch of windows and one row per window are held at once, whatever the length.

Each row: ``start``, ``end`` (seconds), ``voiced``, ``label`` and per-class ``probabilities``. A window
whose RMS level is below ``vad_db`` dBFS is silent: marked ``voiced: false`` with label ``silence`` and
not classified (an energy gate, not a speech detector). ``smooth`` > 1 averages each voiced window's
probabilities with its neighbours' (a centred moving average over ``smooth`` windows, silent ones
skipped) before the label is taken. The last window ends at the end of the recording; a recording
shorter than one window is one window.

>>> rows = [{"voiced": True, "probabilities": {"a": 1.0, "b": 0.0}},
...         {"voiced": True, "probabilities": {"a": 0.0, "b": 1.0}}]
>>> [r["label"] for r in smooth_rows(rows, 1)]
['a', 'b']
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .audio.io import _existing_file, _reason
from .errors import AudioError, ConfigError

SILENCE = "silence"


def _windows(path: Path, sample_rate: int, window: int, hop: int, block: int,
             progress: Any = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(start sample, waveform)`` of each window of ``path`` at ``sample_rate`` (mono), streamed."""
    import soundfile as sf
    import soxr

    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:  # libsndfile's errors, worded as load_audio words them
        raise AudioError(f"{path}: unreadable audio ({_reason(exc)}); re-export it as WAV or FLAC") from None
    with f:
        stream = soxr.ResampleStream(f.samplerate, sample_rate, 1) if f.samplerate != sample_rate else None
        buf = np.zeros(0, dtype=np.float32)
        offset = 0  # absolute sample index of buf[0]
        nxt = 0  # start of the next window
        in_block = max(1, int(block * f.samplerate / sample_rate))
        done = False
        while not done:
            data = f.read(in_block, dtype="float32", always_2d=True)
            done = len(data) < in_block
            if progress is not None:
                progress.update(len(data) / f.samplerate)
            mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
            if not np.all(np.isfinite(mono)):
                raise AudioError(f"{path}: audio contains NaN or infinite samples; re-export the file")
            if stream is not None:
                mono = stream.resample_chunk(mono, last=done)
            buf = np.concatenate([buf, mono.astype(np.float32, copy=False)])
            end = offset + len(buf)
            while nxt + window <= end:
                yield nxt, buf[nxt - offset: nxt - offset + window]
                nxt += hop
            if not done:  # keep only what later windows need
                buf = buf[nxt - offset:]
                offset = nxt
        end = offset + len(buf)
        if end == 0:
            raise AudioError(f"{path}: no audio samples (0 frames); remove the file or fix the export")
        if nxt == 0 or nxt - hop + window < end:  # the tail (or the whole of a short recording)
            start = nxt if nxt < end else end
            start = min(start, max(end - window, 0)) if nxt > 0 else 0
            yield start, buf[start - offset:]


def _level_db(wav: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if len(wav) else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def smooth_rows(rows: list[dict[str, Any]], smooth: int) -> list[dict[str, Any]]:
    """Centred moving average of voiced rows' probabilities over ``smooth`` windows; sets each ``label``."""
    voiced = [i for i, r in enumerate(rows) if r["voiced"]]
    if not voiced:
        return rows
    names = list(rows[voiced[0]]["probabilities"])
    p = np.array([[rows[i]["probabilities"][k] for k in names] for i in voiced])
    if smooth > 1:
        half = smooth // 2
        c = np.vstack([np.zeros((1, p.shape[1])), np.cumsum(p, axis=0)])
        lo = np.clip(np.arange(len(p)) - half, 0, len(p))
        hi = np.clip(np.arange(len(p)) + half + 1, 0, len(p))
        p = (c[hi] - c[lo]) / (hi - lo)[:, None]
    for j, i in enumerate(voiced):
        rows[i]["probabilities"] = {k: round(float(v), 6) for k, v in zip(names, p[j])}
        rows[i]["label"] = names[int(np.argmax(p[j]))]
    return rows


def timeline(bundle: Any, path: str | Path, window_s: float | None = None, hop_s: float = 1.0, batch: int = 32,
             smooth: int = 1, vad_db: float | None = -50.0, block_s: float = 60.0, progress: bool = False,
             envelope: int = 0) -> dict[str, Any]:
    """Score ``path`` in windows with a loaded :class:`emoconv.bundle.Bundle`; see the module docstring.

    Returns ``{"file", "duration_s", "window_s", "hop_s", "rows", "envelope"}``; ``envelope`` (when
    ``envelope`` > 0 buckets are asked for) holds per-bucket min/max samples for a plot.
    """
    from .features.config import FeatureConfig
    from .features.kinds import kind_of
    from .fusion_bundle import refuse_fusion

    refuse_fusion(bundle, "--timeline")
    cfg = bundle.features
    if not isinstance(cfg, FeatureConfig):
        raise ConfigError(f"--timeline needs a bundle on frame features (stft, logmel, mfcc); this one uses "
                          f"{kind_of(cfg)}")
    sr = int(cfg.sample_rate)
    hop_frames_s = float(cfg.hop_ms) / 1000.0
    if window_s is None:
        frames = int(bundle.meta.get("frames") or 0)
        window_s = frames * hop_frames_s if frames else 3.0
    for name, v in (("--window", window_s), ("--hop", hop_s)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ConfigError(f"{name} must be a positive number of seconds, got {v!r}")
    if batch < 1 or smooth < 1:
        raise ConfigError(f"--batch and --smooth must be >= 1, got {batch} and {smooth}")
    import soundfile as sf

    path = _existing_file(path)
    try:
        duration = sf.info(str(path)).duration
    except Exception as exc:
        raise AudioError(f"{path}: unreadable audio ({_reason(exc)}); re-export it as WAV or FLAC") from None
    window, hop = max(1, round(window_s * sr)), max(1, round(hop_s * sr))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=round(duration, 2), unit="s", desc=path.name, disable=None, leave=False)
    env_n = int(envelope)
    env_lo, env_hi = np.zeros(env_n, np.float32), np.zeros(env_n, np.float32)
    total_samples = max(1, round(duration * sr))
    rows: list[dict[str, Any]] = []
    pending: list[tuple[int, dict[str, Any], np.ndarray]] = []

    def flush() -> None:
        if pending:
            probs = bundle.window_probabilities([w for _, _, w in pending])
            for (_, row, _), p in zip(pending, probs):
                row["probabilities"] = {lab: round(float(v), 6) for lab, v in zip(bundle.labels, p)}
            pending.clear()

    try:
        for start, wav in _windows(path, sr, window, hop, max(window, round(block_s * sr)), bar):
            if env_n and start % hop == 0:  # the hop's new samples into the plot envelope
                seg = wav[: hop] if len(wav) >= hop else wav
                b = np.minimum((start + np.arange(len(seg))) * env_n // total_samples, env_n - 1)
                np.minimum.at(env_lo, b, seg)
                np.maximum.at(env_hi, b, seg)
            row: dict[str, Any] = {"start": round(start / sr, 3), "end": round((start + len(wav)) / sr, 3)}
            level = _level_db(wav)
            row["level_db"] = round(level, 1) if math.isfinite(level) else None
            row["voiced"] = vad_db is None or level >= vad_db
            if row["voiced"]:
                pending.append((start, row, wav))
            else:
                row["label"], row["probabilities"] = SILENCE, None
            rows.append(row)
            if len(pending) >= batch:
                flush()
        flush()
    finally:
        if bar is not None:
            bar.close()
    smooth_rows(rows, smooth)
    out = {"file": str(path), "duration_s": round(duration, 3), "window_s": window_s, "hop_s": hop_s,
           "smooth": smooth, "vad_db": vad_db, "labels": list(bundle.labels), "rows": rows}
    if env_n:
        out["envelope"] = {"min": env_lo.tolist(), "max": env_hi.tolist()}
    return out


def plot_timeline(result: dict[str, Any], out: str | Path) -> Path:
    """PNG: the waveform envelope above the per-class probabilities over time (silent windows shaded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .fileio import atomic_write_bytes

    rows, labels = result["rows"], result["labels"]
    fig, (ax_w, ax_p) = plt.subplots(2, 1, figsize=(12, 5), sharex=True, gridspec_kw={"height_ratios": [1, 2]})
    env = result.get("envelope")
    if env:
        t = np.linspace(0, result["duration_s"], len(env["min"]))
        ax_w.fill_between(t, env["min"], env["max"], color="0.4", linewidth=0)
    ax_w.set_ylabel("waveform")
    mid = np.array([(r["start"] + r["end"]) / 2 for r in rows])
    for lab in labels:
        ys = np.array([r["probabilities"][lab] if r["voiced"] else np.nan for r in rows], dtype=float)
        ax_p.plot(mid, ys, label=lab, linewidth=1.2)
    for r in rows:
        if not r["voiced"]:
            for ax in (ax_w, ax_p):
                ax.axvspan(r["start"], r["end"], color="0.9", zorder=0, linewidth=0)
    ax_p.set_ylim(0, 1)
    ax_p.set_ylabel("probability")
    ax_p.set_xlabel("time (s)")
    ax_p.legend(loc="upper right", ncol=min(len(labels), 4), fontsize=8)
    ax_w.set_title(f"{Path(result['file']).name}: window {result['window_s']:g} s, hop {result['hop_s']:g} s")
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    out = Path(out)
    atomic_write_bytes(out, buf.getvalue())
    return out


__all__ = ["SILENCE", "plot_timeline", "smooth_rows", "timeline"]
