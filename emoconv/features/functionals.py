"""openSMILE utterance-level functionals (INTERSPEECH challenge sets), with an atomic cache.

The convolution-type study's SVM baseline (C.-W. Huang and S. S. Narayanan, arXiv:1706.02901,
Sec. 4.1 and Table 3) uses the INTERSPEECH 2009-2013 challenge feature sets extracted with
openSMILE (Eyben et al.). The ``opensmile`` Python package (audEERING) ships all of them as
configurations of its bundled SMILEapi library; this module calls it, it does not reimplement
any descriptor. Dimensions with opensmile 2.6.0:

=========  ===============================  ===========  ====================
name       challenge                        dimensions   opensmile FeatureSet
=========  ===============================  ===========  ====================
IS09       2009 Emotion (EC)                384          IS09
IS10       2010 Paralinguistic (PC)         1582         IS10 (compat config)
IS11       2011 Speaker State (SSC)         4368         IS11
IS12       2012 Speaker Trait (STC)         6125         IS12 (compat config)
IS13       2013 ComParE                     6373         IS13
ComParE    ComParE 2016 (= 2013 set, fixed) 6373         ComParE_2016
=========  ===============================  ===========  ====================

The paper reports 5757 dimensions for the 2012 set; the packaged "compat" configuration
yields 6125. Audio is read with :func:`emoconv.audio.load_audio` (any format, mono) and passed to
openSMILE as a signal at the file's own native rate, as the challenge baselines run (so a 44.1 or
48 kHz corpus keeps its content above 8 kHz); ``sample_rate: 16000`` resamples first instead.

Cache entries (one ``.npy`` per file and set) are keyed by the config, the file's identity
(resolved path, size, mtime), the opensmile version and :data:`FUNCTIONALS_VERSION`, written
atomically, and recomputed when unreadable or of the wrong shape.
"""

from __future__ import annotations

import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..audio.io import audio_info, load_audio
from ..config import check, config_hash
from ..errors import AudioError, ConfigError
from ..fileio import atomic_write_bytes, file_identity

__all__ = [
    "FEATURE_SETS", "FUNCTIONALS_VERSION", "FunctionalsCache", "FunctionalsConfig",
    "extract_functionals", "functional_names", "functionals_of_signal", "native_rate",
]

#: Bump when the extraction changes in a way that invalidates cached functionals.
FUNCTIONALS_VERSION = 1

#: Short name -> (opensmile FeatureSet member, dimensions, description).
FEATURE_SETS: dict[str, tuple[str, int, str]] = {
    "IS09": ("IS09", 384, "INTERSPEECH 2009 Emotion Challenge"),
    "IS10": ("IS10", 1582, "INTERSPEECH 2010 Paralinguistic Challenge"),
    "IS11": ("IS11", 4368, "INTERSPEECH 2011 Speaker State Challenge"),
    "IS12": ("IS12", 6125, "INTERSPEECH 2012 Speaker Trait Challenge"),
    "IS13": ("IS13", 6373, "INTERSPEECH 2013 ComParE"),
    "ComParE": ("ComParE_2016", 6373, "ComParE 2016"),
}


@dataclass(frozen=True)
class FunctionalsConfig:
    """Which functionals to extract (recipe section ``features`` with ``kind: functionals``)."""

    feature_set: str = "ComParE"
    #: ``None`` (default): every file at its own native rate, as the openSMILE challenge baselines run;
    #: an integer (e.g. 16000) resamples first (drops everything above half that rate).
    sample_rate: int | None = None
    min_duration_s: float = 0.05

    def __post_init__(self) -> None:
        check(self.feature_set in FEATURE_SETS,
              f"functionals.feature_set={self.feature_set!r}: use one of {', '.join(FEATURE_SETS)}")
        check(self.sample_rate is None or (isinstance(self.sample_rate, int) and not isinstance(self.sample_rate, bool)
                                           and self.sample_rate >= 8000),
              f"functionals.sample_rate={self.sample_rate!r}: use null (native rate) or an integer >= 8000 (Hz)")
        check(self.min_duration_s >= 0, f"functionals.min_duration_s={self.min_duration_s}: must be >= 0")

    @property
    def dims(self) -> int:
        return FEATURE_SETS[self.feature_set][1]


def _smile(feature_set: str) -> Any:
    try:
        import opensmile
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError("functionals need the 'opensmile' package; pip install 'emoconv[opensmile]'") from None
    return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, FEATURE_SETS[feature_set][0]),
                           feature_level=opensmile.FeatureLevel.Functionals)


def _opensmile_version() -> str:
    import opensmile

    return str(opensmile.__version__)


_LOCAL = threading.local()


def _thread_smile(feature_set: str) -> Any:
    """One Smile object per thread and set (SMILEapi instances are not shared across threads)."""
    cache = getattr(_LOCAL, "smiles", None)
    if cache is None:
        cache = _LOCAL.smiles = {}
    if feature_set not in cache:
        cache[feature_set] = _smile(feature_set)
    return cache[feature_set]


def functional_names(feature_set: str) -> list[str]:
    """The names of the ``feature_set`` functionals, in column order."""
    FunctionalsConfig(feature_set=feature_set)
    return list(_thread_smile(feature_set).feature_names)


def native_rate(path: str | os.PathLike[str]) -> int:
    """The file's own sample rate in Hz (header only)."""
    return int(audio_info(path).samplerate)


def functionals_of_signal(cfg: FunctionalsConfig, wav: np.ndarray, sample_rate: int | None = None) -> np.ndarray:
    """Functionals ``(D,)`` float32 of a mono waveform at ``sample_rate`` (default ``cfg.sample_rate``)."""
    rate = sample_rate if sample_rate is not None else cfg.sample_rate
    check(rate is not None, "functionals_of_signal: pass sample_rate= (the config says native rate)")
    df = _thread_smile(cfg.feature_set).process_signal(np.asarray(wav, dtype=np.float32), int(rate))
    vec = np.asarray(df.to_numpy(), dtype=np.float32).reshape(-1)
    if vec.shape != (cfg.dims,):
        raise AudioError(f"openSMILE returned {vec.shape[0]} values for {cfg.feature_set}, expected {cfg.dims}")
    return np.nan_to_num(vec, nan=0.0, posinf=0.0, neginf=0.0)


class FunctionalsCache:
    """Atomic on-disk cache of functionals: ``root/functionals/<set>/<key[:2]>/<key>.npy``.

    ``hits`` and ``misses`` count lookups since creation.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()
        self.hits = 0
        self.misses = 0

    def key(self, cfg: FunctionalsConfig, path: str | os.PathLike[str]) -> str:
        return config_hash(cfg, file_identity(path), _opensmile_version(), FUNCTIONALS_VERSION, length=32)

    def _path(self, cfg: FunctionalsConfig, key: str) -> Path:
        return self.root / "functionals" / cfg.feature_set / key[:2] / f"{key}.npy"

    def load(self, cfg: FunctionalsConfig, key: str) -> np.ndarray | None:
        """The cached vector, or ``None`` when absent or corrupted (counts a miss)."""
        p = self._path(cfg, key)
        try:
            vec = np.load(p, allow_pickle=False)
            if vec.shape == (cfg.dims,) and vec.dtype == np.float32 and np.all(np.isfinite(vec)):
                self.hits += 1
                return vec
        except (OSError, ValueError, EOFError):
            pass
        self.misses += 1
        return None

    def save(self, cfg: FunctionalsConfig, key: str, vec: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(vec, dtype=np.float32), allow_pickle=False)
        atomic_write_bytes(self._path(cfg, key), buf.getvalue())


def extract_functionals(
    cfg: FunctionalsConfig,
    paths: Sequence[str | os.PathLike[str]],
    cache: FunctionalsCache | None = None,
    workers: int = 1,
    progress: bool = False,
) -> np.ndarray:
    """Functionals of every file: ``(N, D)`` float32, rows in the order of ``paths``.

    Cached rows are read back; the others are computed (``workers`` threads: the SMILEapi calls
    release the GIL) and written to the cache. A bad file raises :class:`AudioError` naming it.
    """
    check(workers >= 1, f"functionals workers={workers}: must be >= 1")
    out = np.zeros((len(paths), cfg.dims), dtype=np.float32)
    todo: list[tuple[int, str | None]] = []
    for i, p in enumerate(paths):
        if not Path(p).is_file():
            raise AudioError(f"{p}: file not found; check the path")
        key = cache.key(cfg, p) if cache is not None else None
        vec = cache.load(cfg, key) if (cache is not None and key is not None) else None
        if vec is None:
            todo.append((i, key))
        else:
            out[i] = vec

    def one(item: tuple[int, str | None]) -> None:
        i, key = item
        rate = cfg.sample_rate if cfg.sample_rate is not None else native_rate(paths[i])
        wav = load_audio(paths[i], rate, cfg.min_duration_s)
        vec = functionals_of_signal(cfg, wav, rate)
        out[i] = vec
        if cache is not None and key is not None:
            cache.save(cfg, key, vec)

    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"openSMILE {cfg.feature_set}", unit="file")
    if workers == 1 or len(todo) < 2:
        for item in todo:
            one(item)
            if bar is not None:
                bar.update(1)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(one, todo):
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return out


# -- feature kind for recipes ------------------------------------------------------------------

def _extract_kind(cfg: FunctionalsConfig, utterances: Sequence[Any], cache: Any, progress: bool) -> list:
    """``features: {kind: functionals, feature_set: IS09}``: one ``(1, 1, D)`` tensor per utterance.

    Cached under the runner's cache folder (``<cache>/functionals/<set>/``, beside ``features/``).
    """
    import torch

    root = Path(cache.root).parent if cache is not None and getattr(cache, "root", None) else None
    fcache = FunctionalsCache(root) if root is not None else None
    x = extract_functionals(cfg, [u.path for u in utterances], fcache, workers=1, progress=progress)
    return [torch.from_numpy(row.copy()).view(1, 1, -1) for row in x]


def _of_waves(cfg: FunctionalsConfig, waves: Sequence[np.ndarray], sample_rate: int) -> list:
    """One ``(1, 1, D)`` tensor per waveform at ``sample_rate``, as :func:`_extract_kind` gives per file."""
    import torch

    return [torch.from_numpy(functionals_of_signal(cfg, w, sample_rate)).view(1, 1, -1) for w in waves]


def _rate_of(cfg: FunctionalsConfig, path: str | os.PathLike[str]) -> int:
    return cfg.sample_rate if cfg.sample_rate is not None else native_rate(path)


def _register_kind() -> None:
    from .kinds import FEATURE_KINDS, FeatureKind

    FEATURE_KINDS.register("functionals")(FeatureKind(FunctionalsConfig, _extract_kind,
                                                      requires=("opensmile", "opensmile"), of_waves=_of_waves,
                                                      rate_of=_rate_of))


FunctionalsConfig.KIND = "functionals"  # type: ignore[attr-defined]  (kind_of() reads it)
_register_kind()
