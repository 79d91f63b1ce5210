"""Pooling several corpora into one speaker-independent four-class task.

Kim et al. (3D CNNs for SER, ACII 2017, Sec. 3) aggregate seven corpora on the classes
neutral, happy, sad and angry (here the shared names ``neutral``, ``happiness``,
``sadness``, ``anger`` of :data:`~emoconv.corpora.FOUR_CLASSES`). Corpora with categorical
labels are mapped by a label table; corpora with only valence/arousal ratings (SEMAINE,
RECOLA) get the class whose FEELTRACE landmark (Cowie et al., 2000) is nearest in the
valence-arousal plane, the distance averaged over the rating sequence of a segment.

Ratings are first rescaled to FEELTRACE's [-1, 1] square: a corpus declares its rating
range ``scale=(lo, hi)`` and values map linearly, ``2 (v - lo) / (hi - lo) - 1`` (IEMOCAP's
1..5 self-assessment ratings: ``scale=(1, 5)``, so 3 -> 0, 5 -> 1). The landmark
coordinates below are those listed in the issue (the paper's Table 2), (valence, arousal).

Speaker ids are namespaced per corpus (``"emodb/03"``) so two corpora that both number
their speakers from 01 never share a speaker.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import check, from_dict
from ..errors import ConfigError, CorpusError
from .base import FOUR_CLASSES, Utterance

#: FEELTRACE landmarks (valence, arousal) of the four classes, as given in the issue / the paper's Table 2.
FEELTRACE_LANDMARKS: dict[str, tuple[float, float]] = {
    "neutral": (0.0, 0.0),
    "happiness": (0.74, 0.52),
    "anger": (-0.77, 0.75),
    "sadness": (-0.7, -0.48),
}

#: Column order of the paper's tables: neutral, happy, sad, angry.
PAPER_ORDER: tuple[str, ...] = ("neutral", "happiness", "sadness", "anger")


@dataclass(frozen=True)
class PoolSource:
    """How one corpus enters the pool.

    Args:
        corpus: the corpus name (matches ``Utterance.corpus``).
        label_map: native shared label -> one of the four classes; labels absent from the
            map are dropped. Empty means identity on the four classes (others dropped).
        dimensional: map by nearest landmark from ``attrs[valence_key]``/``attrs[arousal_key]``
            (a number or a sequence of ratings per utterance) instead of the label.
        scale: the corpus's rating range ``(lo, hi)``, rescaled to [-1, 1].
    """

    corpus: str
    label_map: Mapping[str, str] = field(default_factory=dict)
    dimensional: bool = False
    valence_key: str = "valence"
    arousal_key: str = "arousal"
    scale: tuple[float, float] = (-1.0, 1.0)

    def __post_init__(self) -> None:
        w = f"pool.{self.corpus}"
        bad = sorted(v for v in self.label_map.values() if v not in FOUR_CLASSES)
        check(not bad, f"{w}.label_map: {bad[0] if bad else ''!r} is not one of {', '.join(FOUR_CLASSES)}")
        lo, hi = self.scale
        check(hi > lo, f"{w}.scale: {list(self.scale)} must be (low, high) with high > low")


def rescale(values: float | Sequence[float] | np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Map ratings in ``[lo, hi]`` linearly onto ``[-1, 1]``.

    >>> rescale([1, 3, 5], (1, 5)).tolist()
    [-1.0, 0.0, 1.0]
    """
    lo, hi = scale
    return 2.0 * (np.asarray(values, dtype=np.float64) - lo) / (hi - lo) - 1.0


def nearest_landmark(valence: float | Sequence[float], arousal: float | Sequence[float],
                     landmarks: Mapping[str, tuple[float, float]] = FEELTRACE_LANDMARKS) -> str:
    """The class whose landmark has the smallest mean Euclidean distance to the ratings.

    ``valence``/``arousal`` are one value each or equally long sequences (one segment's
    rating trace, already on [-1, 1]); the distance to each landmark is averaged over the
    sequence and the nearest class is returned (ties: the first in ``landmarks``).

    >>> nearest_landmark(0.6, 0.6), nearest_landmark([-0.8, -0.6], [-0.5, -0.4])
    ('happiness', 'sadness')
    """
    v = np.atleast_1d(np.asarray(valence, dtype=np.float64))
    a = np.atleast_1d(np.asarray(arousal, dtype=np.float64))
    if v.shape != a.shape or v.size == 0:
        raise CorpusError(f"valence {v.shape} and arousal {a.shape} ratings must be equally long and non-empty")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(a))):
        raise CorpusError("valence/arousal ratings contain NaN or infinite values; fix the annotation")
    names = list(landmarks)
    pts = np.array([landmarks[n] for n in names])  # (K, 2)
    dist = np.hypot(v[None, :] - pts[:, :1], a[None, :] - pts[:, 1:]).mean(axis=1)  # (K,)
    return names[int(np.argmin(dist))]


def namespaced(utt: Utterance) -> str:
    """``corpus/speaker``; an id that already carries its corpus prefix is kept."""
    prefix = f"{utt.corpus}/"
    return utt.speaker if utt.speaker.startswith(prefix) else prefix + utt.speaker


def pool_corpora(corpora: Mapping[str, Sequence[Utterance]],
                 sources: Iterable[PoolSource] | None = None) -> list[Utterance]:
    """Merge corpora into one four-class list with namespaced speakers.

    Args:
        corpora: corpus name -> its utterances (e.g. from :func:`~emoconv.corpora.load_corpus`).
        sources: one :class:`PoolSource` per corpus; corpora without one use identity on
            the four classes.

    Returns:
        New utterances in corpus order: ``label`` in :data:`FOUR_CLASSES`, ``speaker``
        namespaced, the original label kept in ``attrs["pool_source_label"]`` (and the
        rescaled mean ratings in ``attrs["pool_va"]`` for dimensional corpora).
    """
    specs = {s.corpus: s for s in (sources or [])}
    unknown = sorted(set(specs) - set(corpora))
    if unknown:
        raise CorpusError(f"pool: source {unknown[0]!r} names no loaded corpus; loaded: {', '.join(corpora)}")
    out: list[Utterance] = []
    for name, utts in corpora.items():
        spec = specs.get(name, PoolSource(name))
        kept = 0
        for u in utts:
            if u.corpus != name:
                raise CorpusError(f"pool: utterance {u.path} is from corpus {u.corpus!r}, listed under {name!r}")
            attrs = dict(u.attrs)
            if spec.dimensional:
                if spec.valence_key not in attrs or spec.arousal_key not in attrs:
                    raise CorpusError(f"{u.path}: no {spec.valence_key}/{spec.arousal_key} ratings for the "
                                      f"dimensional corpus {name}; set dimensional: false or fix the loader")
                v = rescale(attrs[spec.valence_key], spec.scale)
                a = rescale(attrs[spec.arousal_key], spec.scale)
                label: str | None = nearest_landmark(v, a)
                attrs["pool_va"] = (float(np.mean(v)), float(np.mean(a)))
            elif spec.label_map:
                label = spec.label_map.get(u.label)
            else:
                label = u.label if u.label in FOUR_CLASSES else None
            if label is None:
                continue
            attrs["pool_source_label"] = u.label
            out.append(dataclasses.replace(u, speaker=namespaced(u), label=label,
                                           native_label=u.native_label or u.label, attrs=attrs))
            kept += 1
        if kept == 0 and utts:
            raise CorpusError(f"pool: corpus {name} has no utterance of the four classes after mapping; "
                              f"check its label_map")
    return out


def pool_table(utterances: Sequence[Utterance], classes: Sequence[str] = PAPER_ORDER) -> pd.DataFrame:
    """Utterances per corpus and class with speaker counts and a Total row (the paper's Table 1).

    Columns: ``speakers``, one per class (in ``classes`` order), ``total``; one row per
    corpus in first-seen order plus ``Total``.
    """
    corpora = list(dict.fromkeys(u.corpus for u in utterances))
    rows = []
    for c in corpora + ["Total"]:
        sel = [u for u in utterances if c == "Total" or u.corpus == c]
        row = {"corpus": c, "speakers": len({(u.corpus, namespaced(u)) for u in sel})}
        row.update({k: sum(u.label == k for u in sel) for k in classes})
        row["total"] = len(sel)
        rows.append(row)
    return pd.DataFrame(rows).set_index("corpus")


def table_markdown(df: pd.DataFrame, floatfmt: str = "{:.0f}") -> str:
    """A DataFrame as a GitHub Markdown table (index as the first column); no tabulate needed."""
    head = [str(df.index.name or "")] + [str(c) for c in df.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * len(df.columns)) + "|"]
    for idx, row in df.iterrows():
        cells = [floatfmt.format(v) if isinstance(v, (float, np.floating)) else str(v) for v in row]
        lines.append("| " + " | ".join([str(idx)] + cells) + " |")
    return "\n".join(lines) + "\n"


# -- pooling from a recipe --------------------------------------------------------------------

@dataclass(frozen=True)
class PoolSourceSpec:
    """One source of a recipe's ``pool`` corpus (``corpora.X.options.sources.KEY``).

    ``name`` is the registered loader (default: the source key), ``path`` its folder (null:
    a ConfigError naming the key, unless ``skip`` or the pool's ``skip_missing``),
    ``options``/``labels``/``builtin`` as for a plain corpus; ``label_map``, ``dimensional``,
    ``valence_key``, ``arousal_key`` and ``scale`` as in :class:`PoolSource`. The source key
    becomes the utterances' ``corpus``, so two sources may use the same loader (two
    generated corpora with different seeds, two IEMOCAP subsets).
    """

    name: str
    path: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None
    builtin: dict[str, Any] = field(default_factory=dict)
    skip: bool = False
    label_map: dict[str, str] = field(default_factory=dict)
    dimensional: bool = False
    valence_key: str = "valence"
    arousal_key: str = "arousal"
    scale: tuple[float, float] = (-1.0, 1.0)


@dataclass(frozen=True)
class PoolOptions:
    """Loader options of a ``pool`` corpus: the sources and whether path-less ones are dropped."""

    sources: dict[str, Any] = field(default_factory=dict)
    skip_missing: bool = False
    classes: str = "four"

    def __post_init__(self) -> None:
        check(self.classes in ("four", "shared"), f"pool.classes: {self.classes!r}; use four (the 3D CNN "
              "paper's neutral/happiness/sadness/anger) or shared (the classes every source has)")


def parse_pool_options(options: Mapping[str, Any],
                       where: str = "pool") -> tuple[dict[str, PoolSourceSpec], PoolOptions]:
    """Validate a pool's options into ``({key: PoolSourceSpec}, PoolOptions)``; ConfigError names the key."""
    opts = from_dict(PoolOptions, dict(options or {}), where)
    if not isinstance(opts.sources, dict) or not opts.sources:
        raise ConfigError(f"{where}.sources: give a mapping source name -> settings (path, label_map, ...)")
    specs: dict[str, PoolSourceSpec] = {}
    for key, raw in opts.sources.items():
        if raw is not None and not isinstance(raw, dict):
            raise ConfigError(f"{where}.sources.{key}: expected a mapping of settings (path, options, label_map)")
        raw = dict(raw or {})
        raw.setdefault("name", str(key))
        specs[str(key)] = from_dict(PoolSourceSpec, raw, f"{where}.sources.{key}")
    return specs, opts


def load_pool(options: Mapping[str, Any], root_for: Callable[[PoolSourceSpec], Path],
              load: Callable[..., list[Utterance]] | None = None, where: str = "pool") -> list[Utterance]:
    """Load, map and merge the sources of a recipe's ``pool`` corpus (see :class:`PoolSourceSpec`).

    ``root_for(spec)`` resolves a source's folder (the runner generates built-in corpora
    there); ``load(name, root, labels=..., **options)`` defaults to
    :func:`emoconv.corpora.load_corpus`. Returns :func:`pool_corpora`'s four-class list with
    ``corpus`` set to the source key and speakers namespaced ``key/speaker``.
    """
    if load is None:
        from .base import load_corpus as load
    specs, opts = parse_pool_options(options, where)
    skip_missing = bool(opts.skip_missing)
    loaded: dict[str, list[Utterance]] = {}
    sources: list[PoolSource] = []
    for key, spec in specs.items():
        if spec.skip:
            continue
        if spec.path is None and spec.name != "builtin":
            if skip_missing:
                continue
            raise ConfigError(f"{where}.sources.{key}.path: no folder for source {key!r}; pass "
                              f"{where}.sources.{key}.path=/path/to/{spec.name} on the command line, or "
                              f"{where}.sources.{key}.skip=true to leave it out")
        utts = load(spec.name, root_for(spec), labels=spec.labels, **spec.options)
        loaded[key] = [dataclasses.replace(u, corpus=key) for u in utts]
        try:
            sources.append(PoolSource(key, label_map=dict(spec.label_map), dimensional=spec.dimensional,
                                      valence_key=spec.valence_key, arousal_key=spec.arousal_key,
                                      scale=tuple(spec.scale)))
        except ConfigError as exc:
            raise ConfigError(f"{where}.sources.{key}: {exc}") from None
    if not loaded:
        raise ConfigError(f"{where}.sources: every source is skipped or has no path; give at least one "
                          f"{where}.sources.NAME.path")
    if opts.classes == "shared":
        return pool_shared(loaded)
    return pool_corpora(loaded, sources)


def pool_shared(corpora: Mapping[str, Sequence[Utterance]]) -> list[Utterance]:
    """Merge corpora keeping the shared labels every corpus has (the cross-corpus label set).

    Utterances of other classes are dropped; speakers are namespaced; the original label stays in
    ``attrs["pool_source_label"]``. A ConfigError when the corpora share fewer than two classes.
    """
    sets = {name: {u.label for u in utts} for name, utts in corpora.items()}
    shared = set.intersection(*sets.values()) if sets else set()
    if len(shared) < 2:
        raise ConfigError("pool.classes shared: the sources share " + (", ".join(sorted(shared)) or "no class")
                          + "; " + "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in sets.items()))
    out = []
    for utts in corpora.values():
        for u in utts:
            if u.label in shared:
                out.append(dataclasses.replace(u, speaker=namespaced(u), native_label=u.native_label or u.label,
                                               attrs={**dict(u.attrs), "pool_source_label": u.label}))
    return out
