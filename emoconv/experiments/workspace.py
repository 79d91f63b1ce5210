"""Per-process memo of a recipe's corpora, features and folds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..corpora import SHARED_LABELS, Utterance, load_corpus
from ..errors import AudioError, ConfigError
from ..features.kinds import features_dict
from ..fileio import stable_hash
from .recipe import CorpusSpec, Recipe


class Workspace:
    """Per-process memo of corpora, features and folds, so runs of one process share them."""

    def __init__(self, recipe: Recipe, cache_dir: Path | None = None, progress: bool = False) -> None:
        self.recipe = recipe
        self.progress = progress
        self._utts: dict[str, list[Utterance]] = {}
        self._feats: dict[tuple[str, str], list[torch.Tensor]] = {}
        self._folds: dict[tuple[str, str], list[Any]] = {}
        self._fingerprints: dict[str, dict[str, Any]] = {}
        #: how an older results folder keys each corpus (ResultsStore.key_schemes); absent: portable
        self.key_schemes: dict[str, str] = {}
        self._noise: dict[str, str] = {}
        self.skipped: dict[str, list[str]] = {}  # corpus -> unusable files left out (corpora.NAME.skip_bad)
        from ..features import FeatureCache, default_cache_dir

        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.cache = FeatureCache(self.cache_dir / "features")

    def corpus_root(self, spec: CorpusSpec) -> Path:
        if spec.path:
            return Path(spec.path).expanduser()
        if spec.name == "builtin":
            from ..config import from_dict
            from ..corpora.builtin import BuiltinConfig, builtin_corpus_dir, generate_builtin

            cfg = from_dict(BuiltinConfig, dict(spec.builtin), "corpora.builtin.builtin")
            return generate_builtin(builtin_corpus_dir(cfg), cfg, progress=self.progress)
        raise ConfigError(
            f"corpus {spec.name!r} has no folder: pass corpora.{spec.name}.path=/path/to/{spec.name} "
            f"on the command line, or corpora.{spec.name}.skip=true to leave it out"
        )

    def fingerprint(self, corpus: str) -> dict[str, Any]:
        """What identifies the corpus: file count, label set, ``content`` (a hash of every utterance's id,
        label, speaker, size and a digest of its bytes: :mod:`emoconv.experiments.digests`) and ``hash`` (the
        same with the file's modification time instead of its digest, what run keys used before content
        digests; folders made then keep it). :meth:`key_hash` is the one run keys use."""
        if corpus not in self._fingerprints:
            from .digests import content_digests

            utts = self.utterances(corpus)
            rows, content = [], []  # a file that cannot be stat'ed is reported when its features are extracted
            for u, e in zip(utts, content_digests([u.path for u in utts], self.cache_dir)):
                rows.append([u.uid, u.label, u.speaker, e and e.size, e and e.mtime_ns])
                content.append([u.uid, u.label, u.speaker, e and e.size, e and e.digest])
            self._fingerprints[corpus] = {"files": len(utts), "labels": sorted({u.label for u in utts}),
                                          "hash": stable_hash(rows, length=16),
                                          "content": stable_hash(content, length=16)}
        return self._fingerprints[corpus]

    def key_hash(self, corpus: str) -> str:
        """The corpus hash that enters run keys: ``content``, or the modification-time ``hash`` for a corpus in
        the ``mtime`` :meth:`key_scheme` (a results folder made before content digests)."""
        fp = self.fingerprint(corpus)
        return fp["hash"] if self.key_scheme(corpus) == "mtime" else fp["content"]

    def key_scheme(self, corpus: str) -> str:
        """How run keys identify ``corpus``: ``portable`` (its content, not where it lies: the default),
        ``content`` (content and path: folders of 2026-12-01/02) or ``mtime`` (size, time and path: older)."""
        return self.key_schemes.get(corpus, "portable")

    def run_key(self, cfg: Any) -> str:
        """The run key of ``cfg`` (a :class:`~emoconv.experiments.runconfig.RunConfig`) under its corpus's
        :meth:`key_scheme`."""
        portable = self.key_scheme(cfg.corpus) == "portable"
        noise = None
        if portable and cfg.augment.active:
            from .augment import noise_content

            where = str(cfg.augment.noise_dir)
            if where not in self._noise:
                self._noise[where] = noise_content(where, self.cache_dir)
            noise = self._noise[where]
        return cfg.key(self.key_hash(cfg.corpus), portable=portable, noise_content=noise)

    def utterances(self, corpus: str) -> list[Utterance]:
        if corpus not in self._utts:
            spec = self.recipe.corpora[corpus]
            if spec.name == "pool":  # several corpora merged into one 4-class task (emoconv.corpora.pool)
                utts = self._pool(corpus, spec)
            else:
                utts = load_corpus(spec.name, self.corpus_root(spec), labels=spec.labels, **spec.options)
            utts = sorted(utts, key=lambda u: str(u.path))
            if spec.skip_bad:  # leave out unusable audio, and keep the list for the results
                bad = self._bad_files(utts)
                self.skipped[corpus] = [f"{p}: {why}" for p, why in bad]
                gone = {p for p, _ in bad}
                utts = [u for u in utts if str(u.path) not in gone]
            self._utts[corpus] = utts
        return self._utts[corpus]

    def _bad_files(self, utts: list[Utterance]) -> list[tuple[str, str]]:
        """Every unusable file (silent, NaN, too short, unreadable), each decoded once at its own rate."""
        from ..audio.io import content_problem

        min_s = float(getattr(self.recipe.features, "min_duration_s", 0.05))
        out = []
        for u in utts:
            why = content_problem(u.path, min_s)
            if why is not None:
                out.append((str(u.path), why))
        return out

    def _pool(self, corpus: str, spec: CorpusSpec) -> list[Utterance]:
        from ..corpora.pool import load_pool

        def root(src: Any) -> Path:
            return self.corpus_root(CorpusSpec(name=src.name, path=src.path, builtin=src.builtin))

        utts = load_pool(spec.options, root, where=f"corpora.{corpus}.options")
        return [u for u in utts if u.label in spec.labels] if spec.labels is not None else utts

    def labels(self, corpus: str) -> list[str]:
        present = {u.label for u in self.utterances(corpus)}
        return [lab for lab in SHARED_LABELS if lab in present]

    def features(self, corpus: str, cfg: Any = None) -> list[torch.Tensor]:
        """Features of every utterance of ``corpus`` for feature config ``cfg`` (default: the recipe's)."""
        from ..features.kinds import extract_for

        cfg = cfg if cfg is not None else self.recipe.features
        key = (corpus, stable_hash(features_dict(cfg)))
        if key not in self._feats:
            try:
                self._feats[key] = extract_for(cfg, self.utterances(corpus), cache=self.cache,
                                               progress=self.progress)
            except AudioError as first:  # list every bad file in one pass, not one per fix-and-rerun cycle
                bad = self._bad_files(self.utterances(corpus))
                if not bad:
                    raise
                listed = "; ".join(f"{p}: {why}" for p, why in bad[:5]) + (" ..." if len(bad) > 5 else "")
                raise AudioError(
                    f"corpus {corpus}: {len(bad)} unusable audio file(s): {listed}; remove them, or set "
                    f"corpora.{corpus}.skip_bad=true to leave them out (the list is kept with the results); "
                    f"'emoconv datasets inspect' lists them all") from first
        return self._feats[key]

    def folds(self, corpus: str, model: Any = None) -> list[Any]:
        """Folds of ``corpus`` under the protocol that applies to ``model`` (cached per protocol)."""
        return self.folds_for(corpus, self.recipe.protocol_for(corpus, model))

    def folds_for(self, corpus: str, cfg: Any) -> list[Any]:
        """Folds of ``corpus`` under protocol ``cfg`` (a resolved ProtocolConfig; cached per protocol)."""
        from ..config import to_dict
        from ..protocol import make_folds

        key = (corpus, stable_hash(to_dict(cfg)))
        if key not in self._folds:
            self._folds[key] = make_folds(self.utterances(corpus), cfg)
        return self._folds[key]
