"""Noise conditions in the runner: noisy copies of the training (and, when asked, val/test) utterances.

The convolution-type study (C.-W. Huang and S. S. Narayanan, arXiv:1706.02901, Sec. 5.2 and 6.2)
trains every network on the clean training utterances plus noisy copies (20 noise clips x 3
SNRs drawn from [-10, 15] dB per utterance, x61 data) and evaluates under two conditions:
"clean" (clean validation and test) and "noisy" (validation and test with noise added too).

Recipe section ``augment`` (per model: ``models[i].augment`` overrides single keys)::

    augment:
      noise_dir: null          # folder of noise audio (any format); pass augment.noise_dir=... on the command line
      conditions: [clean, noisy]   # one run per condition (or ``condition: clean|noisy|none`` for one)
      n_clips: 20              # distinct clips per utterance
      n_snrs: 3                # SNRs per clip
      snr_range: [-10, 15]     # dB, uniform
      test_fraction: 0.2       # share of noise groups held out for validation/test noise
      group: auto              # keep takes of one recording on one side (auto: ESC names; clip: none)
      train_copies: 1          # noisy copies per training utterance, redrawn every epoch
      expand: false            # true: the paper's full expansion (all n_clips x n_snrs copies, fixed)
      eval_copies: 1           # noisy copies per val/test utterance in the noisy condition (expand: all)
      seed: 0

Memory: the paper's expansion holds 61 feature copies of the training set in memory, gigabytes
for an hour of log-mels. By default each epoch therefore sees the clean utterance plus
``train_copies`` copies drawn afresh from its ``n_clips x n_snrs`` planned copies (seeded by
``(seed, epoch, utterance)``), so memory is ``(1 + train_copies)`` times the clean features and
an epoch costs ``(1 + train_copies)`` clean epochs. Every copy is mixed on the fly
(:class:`emoconv.audio.noise.NoiseAugmenter`) and its features are cached on disk keyed by the
utterance file, the noise clip, the SNR, the copy's seed and the feature config; no audio is
written. Validation/test noise comes from the held-out pool (:func:`emoconv.audio.noise.split_noise`)
mixed with another seed, so no clip is heard both in training and in testing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..config import check, config_hash, from_dict, to_dict
from ..errors import ConfigError
from ..fileio import file_identity, stable_hash

__all__ = ["AugmentConfig", "NoiseSource", "NoisyExamples", "augment_for", "check_noisy_kind", "expand_conditions",
           "noise_content", "noisy_partitions"]

CONDITIONS = ("none", "clean", "noisy")
_ESC_NAME = re.compile(r"^\d+-\d+-[A-Za-z]+$")


@dataclass(frozen=True)
class AugmentConfig:
    """Validated ``augment`` section; see the module docstring."""

    noise_dir: str | None = None
    condition: str = "none"
    conditions: tuple[str, ...] = ()
    n_clips: int = 20
    n_snrs: int = 3
    snr_range: tuple[float, float] = (-10.0, 15.0)
    test_fraction: float = 0.2
    group: str = "auto"
    train_copies: int = 1
    expand: bool = False
    eval_copies: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for c in (self.condition, *self.conditions):
            check(c in CONDITIONS, f"augment.condition {c!r}: use none, clean or noisy")
        check(self.n_clips >= 1 and self.n_snrs >= 1, "augment.n_clips and augment.n_snrs must be >= 1")
        check(len(self.snr_range) == 2 and self.snr_range[0] <= self.snr_range[1],
              f"augment.snr_range={list(self.snr_range)}: give [low, high] in dB")
        check(0.0 < self.test_fraction < 1.0, f"augment.test_fraction={self.test_fraction}: must be in (0, 1)")
        check(self.group in ("auto", "esc", "clip"), f"augment.group={self.group!r}: use auto, esc or clip")
        copies = self.n_clips * self.n_snrs
        check(1 <= self.train_copies <= copies,
              f"augment.train_copies={self.train_copies}: must be in [1, n_clips * n_snrs = {copies}]")
        check(1 <= self.eval_copies <= copies,
              f"augment.eval_copies={self.eval_copies}: must be in [1, n_clips * n_snrs = {copies}]")
        active = self.condition != "none" or any(c != "none" for c in self.conditions)
        off = "augment.conditions=[none]" if self.conditions else "augment.condition=none"
        check(not active or bool(self.noise_dir),
              "augment.noise_dir is not set; pass augment.noise_dir=/path/to/noise/folder on the command line "
              f"(e.g. ESC-10 or MUSAN noise), or {off}")

    @property
    def copies(self) -> int:
        return self.n_clips * self.n_snrs

    @property
    def active(self) -> bool:
        return self.condition != "none"

    def key_dict(self) -> dict[str, Any]:
        """What enters a run key (the condition that ran, not the list it was expanded from)."""
        out = to_dict(self)
        out.pop("conditions", None)
        return out


def augment_for(recipe: Any, model: Any = None) -> AugmentConfig:
    """The recipe's ``augment`` section with the model's ``augment`` overrides applied."""
    data = {**dict(getattr(recipe, "augment", None) or {}), **dict(getattr(model, "augment", None) or {})}
    return from_dict(AugmentConfig, data, "recipe.augment")


def expand_conditions(recipe: Any, model: Any) -> list[Any]:
    """One model spec per condition of ``augment.conditions`` (the spec itself when there is no list)."""
    cfg = augment_for(recipe, model)
    if not cfg.conditions:
        return [model]
    return [replace(model, augment={**dict(model.augment or {}), "condition": c, "conditions": []})
            for c in cfg.conditions]


# -- noise pools -----------------------------------------------------------------------------

def _grouper(cfg: AugmentConfig, names: Sequence[str]) -> Callable[[str], str] | None:
    from ..audio.noise import esc_source_id

    if cfg.group == "esc" or (cfg.group == "auto" and names and all(_ESC_NAME.match(Path(n).stem) for n in names)):
        return esc_source_id
    return None


def noise_content(noise_dir: str | Path, cache_dir: Path | None = None) -> str:
    """Hash of a noise folder's audio files by relative name and bytes (digests cached like the corpora's):
    what portable run keys hold instead of the folder's path. A missing folder hashes as empty; the run that
    needs it reports it."""
    from ..audio.io import AUDIO_EXTENSIONS
    from .digests import content_digests

    root = Path(str(noise_dir)).expanduser()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS) \
        if root.is_dir() else []
    entries = content_digests(files, cache_dir)
    return stable_hash([[f.relative_to(root).as_posix(), e and e.digest] for f, e in zip(files, entries)], length=16)


class NoiseSource:
    """The training and held-out noise of one recipe setting, with feature extraction of noisy copies.

    ``train_pool`` feeds training copies; ``test_pool`` (disjoint clips, and disjoint recordings
    for ESC names) feeds validation and test copies, mixed with seed ``seed + 1``.
    """

    def __init__(self, cfg: AugmentConfig, sample_rate: int, cache_dir: Path | None = None) -> None:
        from ..audio.noise import NoiseAugmenter, NoisePool, split_noise

        root = Path(str(cfg.noise_dir)).expanduser()
        pool = NoisePool.from_folder(root, sample_rate)
        if len(pool) < 2:
            raise ConfigError(f"{root}: {len(pool)} usable noise clip(s); augment needs at least 2 (train and test "
                              "noise must be disjoint); add noise files")
        self.train_pool, self.test_pool = split_noise(pool, cfg.test_fraction, cfg.seed, _grouper(cfg, pool.names))
        snr = (float(cfg.snr_range[0]), float(cfg.snr_range[1]))
        self.train = NoiseAugmenter(self.train_pool, cfg.n_clips, cfg.n_snrs, snr, cfg.seed)
        self.test = NoiseAugmenter(self.test_pool, cfg.n_clips, cfg.n_snrs, snr, cfg.seed + 1)
        from .digests import content_digests

        # the clips' names and bytes, not their paths or times: a copied noise folder keeps its runs' keys
        entries = content_digests([root / n for n in pool.names], cache_dir)
        ident = [(n, e and e.digest) for n, e in zip(pool.names, entries)]
        self.fingerprint = stable_hash([ident, to_dict(cfg)["test_fraction"], cfg.group, cfg.seed, "content"],
                                       length=16)
        self.cfg, self.sample_rate = cfg, int(sample_rate)

    def augmenter(self, role: str) -> Any:
        return self.train if role == "train" else self.test

    def clip_name(self, role: str, utt_index: int, copy_index: int) -> str:
        aug = self.augmenter(role)
        return aug.pool.names[aug.plan(utt_index)[copy_index][0]]

    def copies(self, role: str, feat_cfg: Any, utt: Any, utt_index: int, copy_indices: Sequence[int],
               cache: Any = None) -> list[torch.Tensor]:
        """Features of noisy copies ``copy_indices`` of one utterance, shaped as the kind's ``extract`` shapes a
        file's (``(C, T, F)`` frames, ``(1, 1, D)`` functionals), cached on disk; read at this source's rate."""
        from ..audio.io import load_audio
        from ..features.kinds import get_kind, kind_of

        of_waves = get_kind(kind_of(feat_cfg)).of_waves
        assert of_waves is not None, "noisy_partitions checks the kind"
        aug = self.augmenter(role)
        plan = aug.plan(utt_index)
        keys, out, todo = [], [], []
        for j in copy_indices:
            clip, snr = plan[j]
            key = config_hash(feat_cfg, file_identity(utt.path), self.fingerprint, role,
                              aug.seed, int(utt_index), int(j), aug.pool.names[clip], round(snr, 9), length=32)
            keys.append(key)
            got = cache.get(feat_cfg, utt.path, key=key) if cache is not None else None
            out.append(got)
            if got is None:
                todo.append(len(out) - 1)
        if todo:
            wav = load_audio(utt.path, self.sample_rate, feat_cfg.min_duration_s)
            waves = [aug.copy(wav, utt_index, copy_indices[k]) for k in todo]
            for k, feats in zip(todo, of_waves(feat_cfg, waves, self.sample_rate)):
                out[k] = feats
                if cache is not None:
                    cache.put(feat_cfg, utt.path, feats, key=keys[k])
        return out  # type: ignore[return-value]


def noise_source(ws: Any, cfg: AugmentConfig, sample_rate: int) -> NoiseSource:
    """The :class:`NoiseSource` of ``cfg``, memoised on the runner's workspace (one per process)."""
    memo = ws.__dict__.setdefault("_noise_sources", {})
    key = stable_hash([to_dict(cfg), sample_rate])
    if key not in memo:
        memo[key] = NoiseSource(cfg, sample_rate, getattr(ws, "cache_dir", None))
    return memo[key]


# -- examples --------------------------------------------------------------------------------

def _pick(seed: Sequence[int], n: int, k: int) -> list[int]:
    return sorted(int(j) for j in np.random.default_rng(list(seed)).choice(n, size=k, replace=False))


class NoisyExamples:
    """Training examples: the clean utterances plus noisy copies, redrawn at every epoch.

    Quacks like :class:`emoconv.training.trainer.Examples` (``x``, ``y``, ``group``, ``len``); the
    trainer calls :meth:`new_epoch` before each epoch. With ``expand`` every planned copy is
    present from the start and nothing is redrawn.
    """

    def __init__(self, clean: Sequence[torch.Tensor], y: np.ndarray, groups: np.ndarray,
                 make: Callable[[int, Sequence[int]], list[torch.Tensor]], cfg: AugmentConfig) -> None:
        self.clean, self.make, self.cfg = list(clean), make, cfg
        self.groups = np.asarray(groups, dtype=np.int64)
        self.k = cfg.copies if cfg.expand else cfg.train_copies
        n = len(self.clean)
        self.y = np.concatenate([np.asarray(y, dtype=np.int64)] * (1 + self.k))
        self.group = np.concatenate([self.groups] * (1 + self.k))
        self.x: list[torch.Tensor] = list(self.clean) * (1 + self.k)
        self.epoch: int | None = None
        self.drawn: list[list[int]] = [[] for _ in range(n)]
        self.seen: set[tuple[int, int]] = set()
        self._draw(1)

    def __len__(self) -> int:
        return len(self.x)

    def new_epoch(self, epoch: int) -> None:
        """Draw this epoch's copies (seeded by ``(seed, epoch, utterance)``); no-op when expanded or unchanged."""
        if not self.cfg.expand and epoch != self.epoch:
            self._draw(epoch)

    def _draw(self, epoch: int) -> None:
        self.epoch = epoch
        n = len(self.clean)
        for u in range(n):
            g = int(self.groups[u])
            picks = (list(range(self.cfg.copies)) if self.cfg.expand
                     else _pick((self.cfg.seed, 7, epoch, g), self.cfg.copies, self.k))
            self.drawn[u] = picks
            self.seen.update((g, j) for j in picks)
            for c, feats in enumerate(self.make(g, picks)):
                self.x[n * (c + 1) + u] = feats


def check_noisy_kind(feat_cfg: Any, where: str) -> None:
    """A ConfigError naming the feature kind when noisy copies cannot be computed for it."""
    from ..features.kinds import FEATURE_KINDS, get_kind, kind_of

    if get_kind(kind_of(feat_cfg)).of_waves is None:
        able = ", ".join(n for n in FEATURE_KINDS.names() if get_kind(n).of_waves is not None)
        raise ConfigError(f"{where}: noise conditions need features computed from audio ({able}), not "
                          f"{kind_of(feat_cfg)}; set models[i].augment: {{condition: none}} for this model")


def noisy_partitions(cfg: AugmentConfig, ws: Any, corpus: str, feat_cfg: Any, utts: Sequence[Any],
                     norm: Any, shape: Callable[[torch.Tensor], torch.Tensor], fold: Any, y_all: np.ndarray,
                     clean: Sequence[torch.Tensor]) -> tuple[Any, Any, Any, list[str], Callable[[], dict]]:
    """``(train, val, test, test_ids, describe)`` for one run under ``cfg.condition``.

    ``clean[i]`` is utterance ``i``'s shaped, normalised clean example. Noisy copies are
    normalised with ``norm`` (fitted on the clean training partition) and shaped by ``shape``.
    ``test_ids`` names every test example (``uid`` or ``uid#noise<j>``); ``describe()`` (call it
    after training) lists the noise pools and the clips each partition used, for the run record.
    """
    from ..features.kinds import get_kind, kind_of
    from ..training import Examples

    check_noisy_kind(feat_cfg, "augment")
    if norm.mode == "speaker":
        raise ConfigError("augment: normalize: speaker is not supported with noise conditions; use global, "
                          "utterance or none (an estimator that standardises per speaker itself takes none)")
    rate_of = get_kind(kind_of(feat_cfg)).rate_of or (lambda c, _path: c.sample_rate)
    rates: dict[int, int] = {}  # utterance -> read rate, looked up once (a header read for native-rate kinds)

    def source(i: int) -> NoiseSource:  # one per sample rate (functionals read each file at its native rate)
        if i not in rates:
            rates[i] = int(rate_of(feat_cfg, utts[i].path))
        return noise_source(ws, cfg, rates[i])

    src = source(int(fold.train[0]) if len(fold.train) else 0)  # the clip names and plans do not depend on the rate
    cache = ws.cache

    def maker(role: str) -> Callable[[int, Sequence[int]], list[torch.Tensor]]:
        def make(i: int, picks: Sequence[int]) -> list[torch.Tensor]:
            raw = source(i).copies(role, feat_cfg, utts[i], i, picks, cache)
            return [shape(norm.transform(f)) for f in raw]
        return make

    tr = sorted(int(i) for i in fold.train)
    train = NoisyExamples([clean[i] for i in tr], y_all[tr], np.asarray(tr), maker("train"), cfg)
    used: dict[str, list[str]] = {}

    def evaluation(idx: Sequence[int], role: str) -> tuple[Any, list[str]]:
        idx = sorted(int(i) for i in idx)
        xs, ys, gs, ids = [clean[i] for i in idx], list(y_all[idx]), list(idx), [utts[i].uid for i in idx]
        if cfg.condition == "noisy":
            make = maker("test")
            names = set()
            for i in idx:
                picks = list(range(cfg.copies)) if cfg.expand else _pick((cfg.seed, 11, i), cfg.copies, cfg.eval_copies)
                xs.extend(make(i, picks))
                ys.extend([y_all[i]] * len(picks))
                gs.extend([i] * len(picks))
                ids.extend(f"{utts[i].uid}#noise{j}" for j in picks)
                names.update(src.clip_name("test", i, j) for j in picks)
            used[role] = sorted(set(used.get(role, [])) | names)
        return Examples(xs, np.asarray(ys), np.asarray(gs)), ids

    val, _ = evaluation(fold.val, "val")
    test, test_ids = evaluation(fold.test, "test")

    def describe() -> dict[str, Any]:
        used["train"] = sorted({src.clip_name("train", g, j) for g, j in train.seen})
        return {"condition": cfg.condition, "train_copies": train.k, "expand": cfg.expand,
                "train_pool": list(src.train_pool.names), "test_pool": list(src.test_pool.names),
                "clips_used": dict(sorted(used.items()))}

    return train, val, test, test_ids, describe
