"""A deterministic source-filter generator of speech-like emotional audio.

Nothing here is meant to sound like real speech to a listener; it is meant to
carry the *acoustic correlates* of emotion that SER systems pick up, on top of
speaker variation they must ignore. Every utterance is built as:

1. **Timing.** A syllable clock runs at the speaker's rate times the emotion's
   rate factor, modulated by a slow random time-warp and phrase-final
   lengthening, so the local speaking rate changes inside an utterance.
   Syllables are (optional fricative or plosive onset) + vowel, with a few pauses.
2. **Source.** A Rosenberg (1971) glottal flow pulse per period, differentiated
   (lip radiation), with per-period jitter and shimmer; the open quotient sets
   how pressed (anger) or lax (sadness) the voice is. Aspiration noise pulsed with
   the glottal cycle gives breathiness. F0 follows declination, per-syllable
   accents scaled by the emotion's pitch range, a slow drift and optional tremor.
3. **Filter.** A cascade of four second-order resonators per vowel (Klatt 1980),
   vowel formants after Peterson & Barney (1952) scaled by the speaker's
   vocal-tract length; vowel filters are cross-faded between syllables.
   Fricatives are band-passed noise, plosives short noise bursts.
4. **Channel.** A one-pole spectral-tilt filter, an overall level (speaker gain
   + emotion loudness), and a little pink-ish background noise.

The emotion profiles follow the direction of the effects summarised by Murray &
Arnott (1993) and Banse & Scherer (1996): anger and happiness raise pitch level,
range, loudness and rate and flatten the spectrum; sadness and boredom lower
them, slow down and steepen the tilt; fear raises pitch and rate with
irregular, breathy phonation. Per-utterance randomness (scaled by
``EmotionStyle.variability``) makes the classes overlap.

``synthesize_utterance(speaker, style, rng)`` returns float32 samples ``(N,)``;
the same generator state gives bit-identical output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import check

#: Vowel formants F1..F4 in Hz for an adult male voice (after Peterson & Barney 1952).
VOWEL_FORMANTS = np.array(
    [
        [730.0, 1090.0, 2440.0, 3400.0],  # a
        [270.0, 2290.0, 3010.0, 3500.0],  # i
        [300.0, 870.0, 2240.0, 3300.0],  # u
        [530.0, 1840.0, 2480.0, 3500.0],  # e
        [570.0, 840.0, 2410.0, 3300.0],  # o
    ]
)
_BANDWIDTHS = np.array([80.0, 100.0, 140.0, 200.0])
_CONTROL_RATE = 200  # Hz, rate of the slowly varying control curves
#: Global scale of the per-utterance randomness, calibrated so that a speaker-independent
#: logistic regression on log-mel mean+std gets about 65 % UA on the default 4-class corpus.
UTTERANCE_SPREAD = 1.3


@dataclass(frozen=True)
class SpeakerProfile:
    """Fixed properties of one synthetic speaker.

    ``f0_hz`` is the base pitch, ``formant_scale`` scales all formants (shorter
    vocal tract -> larger), ``rate_sps`` is the speaking rate in syllables per
    second, ``gain_db`` a recording-level offset and ``tilt`` a channel tilt
    offset (positive = darker), so level and tilt are partly speaker properties.
    """

    name: str
    gender: str
    f0_hz: float
    formant_scale: float = 1.0
    rate_sps: float = 4.0
    gain_db: float = 0.0
    tilt: float = 0.0
    breathiness: float = 0.03
    jitter: float = 0.005
    shimmer: float = 0.03
    rate_wobble: float = 0.25

    def __post_init__(self) -> None:
        check(bool(self.name) and "_" not in self.name, f"speaker.name: {self.name!r} must be non-empty without '_'")
        check(self.gender in ("f", "m"), f"speaker.gender: {self.gender!r} must be 'f' or 'm'")
        check(40.0 <= self.f0_hz <= 500.0, f"speaker.f0_hz: {self.f0_hz} must be in [40, 500] Hz")
        check(0.7 <= self.formant_scale <= 1.5, f"speaker.formant_scale: {self.formant_scale} must be in [0.7, 1.5]")
        check(1.0 <= self.rate_sps <= 10.0, f"speaker.rate_sps: {self.rate_sps} must be in [1, 10] syllables/s")
        check(0.0 <= self.rate_wobble <= 0.6, f"speaker.rate_wobble: {self.rate_wobble} must be in [0, 0.6]")
        for key in ("breathiness", "jitter", "shimmer"):
            value = getattr(self, key)
            check(0.0 <= value <= 1.0, f"speaker.{key}: {value} must be in [0, 1]")


@dataclass(frozen=True)
class EmotionStyle:
    """Prosody and voice-quality settings of one emotion, relative to a speaker.

    ``f0_scale`` multiplies the speaker's pitch, ``f0_range_st`` is the accent
    height in semitones, ``f0_slope_st`` the pitch change over the utterance
    (declination < 0), ``rate_scale`` multiplies the speaking rate,
    ``loudness_db`` shifts the level, ``tilt`` in [-1, 1] darkens (>0) or
    brightens (<0) the spectrum, ``open_quotient`` shapes the glottal pulse
    (small = pressed), ``tremor_st`` adds a 5-7 Hz pitch tremor, ``formant_shift``
    scales formants (e.g. spread lips), ``pause_prob`` is the chance a syllable is
    a pause, ``variability`` scales the per-utterance randomness.
    """

    name: str
    f0_scale: float = 1.0
    f0_range_st: float = 2.5
    f0_slope_st: float = -2.0
    rate_scale: float = 1.0
    loudness_db: float = 0.0
    tilt: float = 0.0
    open_quotient: float = 0.6
    breathiness: float = 0.04
    jitter: float = 0.008
    shimmer: float = 0.05
    tremor_st: float = 0.0
    formant_shift: float = 1.0
    pause_prob: float = 0.08
    variability: float = 1.0

    def __post_init__(self) -> None:
        check(bool(self.name), "style.name: must be non-empty")
        check(0.5 <= self.f0_scale <= 2.0, f"style.f0_scale: {self.f0_scale} must be in [0.5, 2]")
        check(0.0 <= self.f0_range_st <= 12.0, f"style.f0_range_st: {self.f0_range_st} must be in [0, 12]")
        check(-8.0 <= self.f0_slope_st <= 8.0, f"style.f0_slope_st: {self.f0_slope_st} must be in [-8, 8]")
        check(0.4 <= self.rate_scale <= 2.0, f"style.rate_scale: {self.rate_scale} must be in [0.4, 2]")
        check(-20.0 <= self.loudness_db <= 20.0, f"style.loudness_db: {self.loudness_db} must be in [-20, 20]")
        check(-1.0 <= self.tilt <= 1.0, f"style.tilt: {self.tilt} must be in [-1, 1]")
        check(0.3 <= self.open_quotient <= 0.9, f"style.open_quotient: {self.open_quotient} must be in [0.3, 0.9]")
        check(0.0 <= self.pause_prob <= 0.5, f"style.pause_prob: {self.pause_prob} must be in [0, 0.5]")
        check(0.0 <= self.variability <= 3.0, f"style.variability: {self.variability} must be in [0, 3]")
        for key in ("breathiness", "jitter", "shimmer", "tremor_st"):
            value = getattr(self, key)
            check(0.0 <= value <= 1.0, f"style.{key}: {value} must be in [0, 1]")
        check(0.8 <= self.formant_shift <= 1.25, f"style.formant_shift: {self.formant_shift} must be in [0.8, 1.25]")


#: One style per label of :data:`emoconv.corpora.base.SHARED_LABELS`.
EMOTION_STYLES: dict[str, EmotionStyle] = {
    s.name: s
    for s in (
        EmotionStyle("neutral"),
        EmotionStyle("calm", f0_scale=0.97, f0_range_st=1.8, f0_slope_st=-2.5, rate_scale=0.92,
                     loudness_db=-2.0, tilt=0.15, open_quotient=0.65, breathiness=0.06, pause_prob=0.1),
        EmotionStyle("anger", f0_scale=1.25, f0_range_st=4.5, f0_slope_st=-3.0, rate_scale=1.12,
                     loudness_db=6.0, tilt=-0.45, open_quotient=0.42, breathiness=0.02, jitter=0.012,
                     shimmer=0.07, formant_shift=1.03, pause_prob=0.05),
        EmotionStyle("happiness", f0_scale=1.22, f0_range_st=5.5, f0_slope_st=0.5, rate_scale=1.06,
                     loudness_db=3.0, tilt=-0.2, open_quotient=0.55, breathiness=0.04, formant_shift=1.05,
                     pause_prob=0.06),
        EmotionStyle("sadness", f0_scale=0.9, f0_range_st=1.2, f0_slope_st=-3.0, rate_scale=0.8,
                     loudness_db=-5.0, tilt=0.45, open_quotient=0.72, breathiness=0.14, jitter=0.014,
                     shimmer=0.07, pause_prob=0.14),
        EmotionStyle("fear", f0_scale=1.3, f0_range_st=3.0, f0_slope_st=1.0, rate_scale=1.18,
                     loudness_db=0.0, tilt=0.0, open_quotient=0.6, breathiness=0.12, jitter=0.02,
                     shimmer=0.08, tremor_st=0.6, pause_prob=0.1),
        EmotionStyle("boredom", f0_scale=0.93, f0_range_st=0.9, f0_slope_st=-1.5, rate_scale=0.85,
                     loudness_db=-3.0, tilt=0.3, open_quotient=0.66, breathiness=0.07, pause_prob=0.12),
        EmotionStyle("disgust", f0_scale=0.95, f0_range_st=3.0, f0_slope_st=-3.5, rate_scale=0.82,
                     loudness_db=0.0, tilt=0.1, open_quotient=0.55, breathiness=0.05, jitter=0.012,
                     formant_shift=0.97, pause_prob=0.1),
        EmotionStyle("surprise", f0_scale=1.3, f0_range_st=6.0, f0_slope_st=3.0, rate_scale=1.05,
                     loudness_db=3.0, tilt=-0.15, open_quotient=0.55, breathiness=0.05, pause_prob=0.06),
    )
}


def make_speakers(n_speakers: int, seed: int = 0) -> list[SpeakerProfile]:
    """``n_speakers`` profiles alternating female/male (``s01f``, ``s02m``, ...).

    Speaker ``i`` depends only on ``(seed, i)``, so a smaller set is a prefix of a
    larger one. Speaking rates lie in [3.0, 5.4] syllables/s (a factor 1.8): the
    first speaker is the slowest, the second the fastest and later ones fill the
    range by a golden-ratio sequence, so any two or more speakers span 1.8x.
    """
    check(n_speakers >= 1, f"n_speakers: {n_speakers} must be >= 1")
    out = []
    for i in range(n_speakers):
        rng = np.random.default_rng([seed, 0x5EA4E4, i])
        female = i % 2 == 0
        position = float(min(i, 1)) if i < 2 else (0.5 + (i - 1) * 0.6180339887) % 1.0
        out.append(
            SpeakerProfile(
                name=f"s{i + 1:02d}{'f' if female else 'm'}",
                gender="f" if female else "m",
                f0_hz=float(rng.uniform(175.0, 245.0) if female else rng.uniform(95.0, 140.0)),
                formant_scale=float(rng.uniform(1.10, 1.22) if female else rng.uniform(0.93, 1.05)),
                rate_sps=3.0 * 1.8**position,
                gain_db=float(rng.uniform(-4.0, 4.0)),
                tilt=float(rng.uniform(-0.2, 0.2)),
                breathiness=float(rng.uniform(0.01, 0.06)),
                jitter=float(rng.uniform(0.002, 0.008)),
                shimmer=float(rng.uniform(0.02, 0.05)),
                rate_wobble=float(rng.uniform(0.15, 0.35)),
            )
        )
    return out


def _slow_curve(rng: np.random.Generator, n_ctrl: int, hz: tuple[float, float], n_sines: int = 3) -> np.ndarray:
    """Sum of random low-frequency sinusoids at the control rate, scaled to [-1, 1]."""
    t = np.arange(n_ctrl) / _CONTROL_RATE
    freqs = rng.uniform(*hz, size=(n_sines, 1))
    phases = rng.uniform(0.0, 2 * np.pi, size=(n_sines, 1))
    curve = np.sin(2 * np.pi * freqs * t + phases).sum(axis=0)
    return curve / n_sines


def _to_samples(ctrl: np.ndarray, n: int, sr: int) -> np.ndarray:
    """Linearly interpolate a control-rate curve to ``n`` samples at rate ``sr``."""
    return np.interp(np.arange(n) * (_CONTROL_RATE / sr), np.arange(len(ctrl)), ctrl)


def _resonator_sos(formants: np.ndarray, bandwidths: np.ndarray, sr: int) -> np.ndarray:
    """Cascade of unity-DC-gain two-pole resonators (Klatt 1980): sos array (F, 6)."""
    formants = np.minimum(formants, 0.45 * sr)
    r = np.exp(-np.pi * bandwidths / sr)
    c = 2 * r * np.cos(2 * np.pi * formants / sr)
    sos = np.zeros((len(formants), 6))
    sos[:, 0] = 1 - c + r**2
    sos[:, 3] = 1.0
    sos[:, 4] = -c
    sos[:, 5] = r**2
    return sos


def _bandpass(low: float, high: float, sr: int) -> np.ndarray:
    """Second-order Butterworth band-pass as sos, band clamped below Nyquist."""
    from scipy import signal  # lazy: importing the corpus package should not load scipy.signal
    high = min(high, 0.45 * sr)
    low = min(low, 0.8 * high)
    return signal.butter(2, [low, high], "bandpass", fs=sr, output="sos")


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of width ``width`` along the last axis (edge-padded, same length)."""
    if width <= 1:
        return x
    pad = width // 2
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad + 1, width - 1 - pad)], mode="edge")
    csum = np.cumsum(padded, axis=-1)
    return (csum[..., width:] - csum[..., :-width]) / width


def synthesize_utterance(
    speaker: SpeakerProfile,
    style: EmotionStyle,
    rng: np.random.Generator,
    sample_rate: int = 16_000,
    duration_s: float | None = None,
) -> np.ndarray:
    """One utterance of ``speaker`` speaking in ``style``: float32 waveform ``(N,)``.

    ``N = round(duration_s * sample_rate)``; ``duration_s`` is drawn uniformly from
    [1, 3] s when not given. All randomness comes from ``rng``, so equal generator
    states give bit-identical arrays. Peak amplitude stays below 1.
    """
    from scipy import signal  # lazy: importing the corpus package should not load scipy.signal
    sr = int(sample_rate)
    check(8000 <= sr <= 96000, f"sample_rate: {sr} must be in [8000, 96000] Hz")
    if duration_s is None:
        duration_s = float(rng.uniform(1.0, 3.0))
    check(0.3 <= duration_s <= 30.0, f"duration_s: {duration_s} must be in [0.3, 30] s")
    n = int(round(duration_s * sr))
    v = style.variability * UTTERANCE_SPREAD

    def g(scale: float) -> float:  # one per-utterance perturbation
        return float(rng.normal(0.0, scale * v))

    # ---- per-utterance prosody draws -------------------------------------------------
    f0_base = speaker.f0_hz * style.f0_scale * np.exp(g(0.09))
    f0_range = style.f0_range_st * np.exp(g(0.3))
    f0_slope = style.f0_slope_st + g(1.2)
    rate = speaker.rate_sps * style.rate_scale * np.exp(g(0.09))
    level_db = -26.0 + speaker.gain_db + style.loudness_db + g(2.5)
    tilt = float(np.clip(style.tilt + speaker.tilt + g(0.18), -0.9, 0.9))
    oq = float(np.clip(style.open_quotient + g(0.06), 0.35, 0.85))
    breath = (style.breathiness + speaker.breathiness) * np.exp(g(0.4))
    jitter = (style.jitter + speaker.jitter) * np.exp(g(0.3))
    shimmer = (style.shimmer + speaker.shimmer) * np.exp(g(0.3))
    fshift = speaker.formant_scale * style.formant_shift * np.exp(g(0.015))

    # ---- timing: time-warped syllable clock -----------------------------------------
    lead, tail = rng.uniform(0.05, 0.15, size=2)
    n_ctrl = int(np.ceil(duration_s * _CONTROL_RATE)) + 2
    t_ctrl = np.arange(n_ctrl) / _CONTROL_RATE
    warp = np.exp(speaker.rate_wobble * _slow_curve(rng, n_ctrl, (0.2, 1.2)))
    final = 1.0 - 0.3 * np.clip((t_ctrl - (duration_s - tail - 0.4)) / 0.4, 0.0, 1.0)  # final lengthening
    active = (t_ctrl >= lead) & (t_ctrl < duration_s - tail)
    rate_ctrl = rate * warp * final * active
    syl_phase = _to_samples(np.cumsum(rate_ctrl) / _CONTROL_RATE, n, sr)
    n_syl = int(np.floor(syl_phase[-1])) + 2
    k = np.minimum(np.floor(syl_phase).astype(np.int64), n_syl - 1)
    u = syl_phase - k
    in_speech = _to_samples(active.astype(float), n, sr) > 0.5

    kind = rng.choice(3, size=n_syl, p=[0.35, 0.38, 0.27])  # 0 vowel, 1 fricative, 2 plosive onset
    pause = rng.random(n_syl) < style.pause_prob * np.exp(g(0.3))
    pause[0] = False
    pause[1:] &= ~pause[:-1]  # no two pauses in a row
    kind[pause] = 3
    onset = np.where(kind == 0, 0.06, rng.uniform(0.2, 0.4, size=n_syl))
    vowel = rng.integers(0, len(VOWEL_FORMANTS), size=n_syl)
    fric_type = rng.integers(0, 2, size=n_syl)
    stress = rng.uniform(0.2, 1.0, size=n_syl) * (rng.random(n_syl) < 0.45)
    syl_gain = np.exp(rng.normal(0.0, 0.15, size=n_syl)) * (1.0 + 0.4 * stress)

    ks_kind, ks_on = kind[k], onset[k]
    speaking = in_speech & (ks_kind != 3)
    vpos = np.clip((u - ks_on) / (1.0 - ks_on), 0.0, 1.0)
    env_v = np.where(speaking & (u >= ks_on), np.sin(np.pi * vpos) ** 0.6, 0.0) * syl_gain[k]
    cpos = np.clip(u / ks_on, 0.0, 1.0)
    env_f = np.where(speaking & (ks_kind == 1) & (u < ks_on), np.sin(np.pi * cpos), 0.0)
    env_b = np.where(speaking & (ks_kind == 2) & (u < ks_on) & (cpos > 0.75), np.exp(-(cpos - 0.75) * 25), 0.0)

    # ---- F0 contour and glottal source ----------------------------------------------
    t = np.arange(n) / sr
    st = f0_slope * (t / duration_s - 0.5) + 0.6 * _to_samples(_slow_curve(rng, n_ctrl, (0.3, 1.5), 2), n, sr)
    st = st + f0_range * stress[k] * np.sin(np.pi * u) ** 2
    if style.tremor_st > 0:
        st = st + style.tremor_st * np.sin(2 * np.pi * rng.uniform(5.0, 7.0) * t + rng.uniform(0, 2 * np.pi))
    f0 = f0_base * 2.0 ** (st / 12.0)
    cycles0 = np.floor(np.cumsum(f0) / sr).astype(np.int64)
    f0 = f0 * (1.0 + jitter * rng.standard_normal(cycles0[-1] + 2)[cycles0])
    phase = np.cumsum(f0) / sr
    cycle = np.floor(phase).astype(np.int64)
    p = phase - cycle
    tp, tn = 0.65 * oq, 0.35 * oq
    closing = np.where(p < tp + tn, np.cos(0.5 * np.pi * (p - tp) / tn), 0.0)
    flow = np.where(p < tp, 0.5 * (1 - np.cos(np.pi * p / tp)), closing)  # Rosenberg pulse, (N,)
    flow = flow * (1.0 + shimmer * rng.standard_normal(cycle[-1] + 2)[cycle])
    source = np.diff(flow, prepend=0.0) * (sr / f0_base) * 0.05
    aspiration = signal.lfilter([1.0, -0.9], [1.0], rng.standard_normal(n)) * (0.4 + flow)
    excitation = (source + 3.0 * breath * aspiration * 0.05) * env_v

    # ---- vocal tract: vowel filters cross-faded by syllable -----------------------
    weights = np.zeros((len(VOWEL_FORMANTS), n))
    weights[vowel[k], np.arange(n)] = 1.0
    weights = _smooth(weights, int(0.04 * sr))
    bw = _BANDWIDTHS * (1.0 + 1.5 * breath)
    voiced = np.zeros(n)
    for idx in np.unique(vowel):
        sos = _resonator_sos(VOWEL_FORMANTS[idx] * fshift, bw, sr)
        voiced += weights[idx] * signal.sosfilt(sos, excitation)

    # ---- consonants: fricative noise bands and plosive bursts ---------------------
    noise = rng.standard_normal(n)
    hi = signal.sosfilt(_bandpass(3800 * fshift, 0.45 * sr, sr), noise)  # /s/-like
    mid = signal.sosfilt(_bandpass(2200 * fshift, 5000 * fshift, sr), noise)  # /sh/-like
    fric = np.where(fric_type[k] == 0, hi, mid) * env_f * 0.025 + noise * env_b * 0.08
    speech = voiced + fric * (np.sqrt(np.mean(voiced**2)) + 1e-8) / 0.05

    # ---- channel: spectral tilt, level, background noise ---------------------------
    a = 0.85 * abs(tilt)
    if tilt > 0:  # darker: one-pole low-pass with unity DC gain
        speech = signal.lfilter([1.0 - a], [1.0, -a], speech)
    elif tilt < 0:  # brighter: pre-emphasis, gain normalised at 1 kHz-ish
        speech = signal.lfilter([1.0, -a], [1.0], speech) / (1.0 - 0.5 * a)
    active_rms = np.sqrt(np.mean(speech[speaking] ** 2)) if np.any(speaking) else 1.0
    speech = speech * (10.0 ** (level_db / 20.0) / max(active_rms, 1e-9))
    background = signal.lfilter([1.0], [1.0, -0.95], rng.standard_normal(n))
    background *= 10.0 ** (rng.uniform(-62.0, -54.0) / 20.0) / np.sqrt(np.mean(background**2))
    out = speech + background
    peak = np.max(np.abs(out))
    if peak > 0.98:
        out = out * (0.98 / peak)
    return out.astype(np.float32)
