"""The results store of one experiment folder.

Layout of ``RUNDIR``::

    recipe.json            the resolved recipe (what every run key is derived from); after ``--append`` of
                           other versions, those under ``appended`` (each ``hash`` and ``recipe``)
    results/<key>.json     one record per finished run, written atomically
    failed/<key>.json      the last error of a run that failed (removed when it later succeeds)
    index.csv              one row per result, rebuilt from results/ (never the source of truth)
    bundles/<key>/         model bundles, when the recipe asks for them

A torn or missing index can never lose a result: the records are the truth and
:meth:`ResultsStore.rebuild_index` regenerates the index from them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ConfigError
from ..fileio import atomic_write_json, atomic_write_text
from .record import InvalidRecord, RunRecord

def valid_record(rec: Any, key: str | None = None) -> bool:
    """A record as the runner writes it: a mapping with its key, metrics and per-utterance predictions
    (the checks of :meth:`RunRecord.from_dict <emoconv.experiments.record.RunRecord.from_dict>`)."""
    try:
        RunRecord.from_dict(rec, key)
    except InvalidRecord:
        return False
    return True


INDEX_COLUMNS = ("key", "corpus", "model", "variant", "fold", "seed", "accuracy", "ua", "wa", "macro_f1")


class ResultsStore:
    """One-file-per-run results of an experiment folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.results_dir = self.root / "results"
        self.failed_dir = self.root / "failed"

    # -- ownership ---------------------------------------------------------
    MARKER = ".emoconv-run"

    def claim(self) -> None:
        """Make ``root`` this process's experiment folder: create it (with a marker) or accept one that
        emoconv created, or an empty one; then hold an OS lock on it until the process ends (a killed
        process releases it). A second writer, a user's own non-empty folder or a file is refused."""
        import fcntl
        import os

        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"{self.root}: --out must be a folder, but this is a file; choose another path")
        if self.root.is_dir() and any(self.root.iterdir()) and not (self.root / self.MARKER).exists() \
                and not (self.root / "recipe.json").exists():
            raise ConfigError(f"{self.root}: not an emoconv experiment folder and not empty; emoconv writes only "
                              "into folders it created or empty ones: choose a new --out folder")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / self.MARKER).touch()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ConfigError(f"{self.root}: in use by another emoconv run (pid {holder}); wait for it to finish "
                              "or choose another --out folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd
        from ..fileio import remove_stale_temps

        for sub in (self.root, self.results_dir, self.failed_dir, self.root / "bundles"):
            remove_stale_temps(sub, everything=True)  # ours alone now: any temporary is a killed writer's

    def release(self) -> None:
        """Drop the lock taken by :meth:`claim` (process exit does the same)."""
        import os

        fd = getattr(self, "_lock_fd", None)
        if fd is not None:
            os.close(fd)
            self._lock_fd = None

    # -- recipe identity -------------------------------------------------
    def bind_recipe(self, recipe: dict[str, Any], recipe_hash: str, allow_other: bool = False,
                    corpora: dict[str, dict[str, Any]] | None = None,
                    same: Callable[[Any, Any], bool] | None = None) -> None:
        """Record the recipe (and the corpora's fingerprints) this folder holds; refuse a folder that holds
        another recipe's results, or results made on a corpus whose content has changed since. With
        ``allow_other`` (``--append``) the earlier versions are kept under ``"appended"`` (hash and recipe each).

        ``same(stored_recipe, stored_hash)`` may accept a folder whose hash differs but whose recipe is the
        same one (:func:`emoconv.experiments.runconfig.same_recipe`: settings added since, at their defaults).
        """
        path = self.root / "recipe.json"
        old = self.stored_recipe()
        if path.exists():
            has_results = any(self.keys())
            differs = old.get("hash") != recipe_hash and not (same and same(old.get("recipe"), old.get("hash")))
            if differs and not allow_other and has_results:
                raise ConfigError(
                    f"{self.root}: holds results of a different recipe (hash {old.get('hash')} != {recipe_hash}); "
                    "choose another --out folder, or pass --append to keep both in one folder"
                )
            for name, fp in (corpora or {}).items():
                prev = old["corpora"].get(name)
                field = "content" if isinstance(prev, dict) and prev.get("keys") in ("content", "portable") else "hash"
                if has_results and not allow_other and isinstance(prev, dict) and prev.get(field) != fp.get(field):
                    raise ConfigError(
                        f"{self.root}: corpus {name} has changed since these results were made "
                        f"({prev.get('files')} -> {fp['files']} files, labels {', '.join(prev.get('labels', []))} -> "
                        f"{', '.join(fp['labels'])}); choose another --out folder, or pass --append to keep both")
        merged = {**old["corpora"], **(corpora or {})}
        meta: dict[str, Any] = {"hash": recipe_hash, "recipe": recipe, "corpora": merged}
        # --append of another recipe version (e.g. models.N.skip=true): the versions that wrote earlier results
        # stay listed, so the folder says every recipe its records came from, not only the last one
        earlier = {e["hash"]: e for e in old.get("appended", []) if isinstance(e, dict) and "hash" in e}
        if old.get("hash") and "recipe" in old and any(self.keys()):
            earlier.pop(old["hash"], None)  # the version just replaced goes last
            earlier[old["hash"]] = {"hash": old["hash"], "recipe": old["recipe"]}
        earlier.pop(recipe_hash, None)
        if earlier:
            meta["appended"] = list(earlier.values())
        atomic_write_json(path, meta)

    def stored_recipe(self) -> dict[str, Any]:
        """What ``recipe.json`` holds (``hash``, ``recipe``, ``corpora``: always a dict); empty when absent or
        unreadable."""
        try:
            old = json.loads((self.root / "recipe.json").read_text())
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            old = {}
        old = old if isinstance(old, dict) else {}
        return {**old, "corpora": old["corpora"] if isinstance(old.get("corpora"), dict) else {}}

    def key_schemes(self) -> dict[str, str]:
        """How this folder's finished runs key each corpus (``recipe.json``'s ``"keys"``): ``mtime`` (folders made
        before content digests, which recorded none), ``content`` or ``portable``
        (:meth:`~emoconv.experiments.workspace.Workspace.key_scheme`); empty for a folder without results."""
        if not any(self.keys()):
            return {}
        stored = self.stored_recipe()["corpora"]
        return {name: fp.get("keys") if fp.get("keys") in ("content", "portable") else "mtime"
                for name, fp in stored.items() if isinstance(fp, dict)}

    def mtime_keyed_corpora(self) -> set[str]:
        """Corpora whose finished runs here are keyed by the modification-time corpus hash."""
        return {name for name, scheme in self.key_schemes().items() if scheme == "mtime"}

    # -- records ---------------------------------------------------------
    def path_of(self, key: str) -> Path:
        return self.results_dir / f"{key}.json"

    def read(self, key: str) -> RunRecord | None:
        """The record of ``key`` when it parses and validates (a finished run), else ``None``."""
        try:
            return RunRecord.from_dict(json.loads(self.path_of(key).read_text()), key)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, InvalidRecord):
            return None

    def has(self, key: str) -> bool:
        """Whether ``key`` finished: its record exists, parses and validates (a 0-byte, torn or
        hand-edited file is not a finished run and is redone)."""
        return self.read(key) is not None

    def keys(self) -> Iterator[str]:
        """Keys of every file under results/ (valid or not)."""
        if self.results_dir.is_dir():
            for p in sorted(self.results_dir.glob("*.json")):
                yield p.stem

    def scan(self) -> tuple[list[RunRecord], list[str]]:
        """Every record file read once: ``(valid records, keys of the files that do not parse or validate)``."""
        records: list[RunRecord] = []
        invalid: list[str] = []
        for key in self.keys():
            rec = self.read(key)
            if rec is None:
                invalid.append(key)
            else:
                records.append(rec)
        return records, invalid

    def invalid_keys(self) -> list[str]:
        """Keys whose record file does not parse or validate."""
        return self.scan()[1]

    def write(self, record: RunRecord | dict[str, Any]) -> Path:
        """Write one run's record atomically and clear any failure note of the same key."""
        data = record.to_dict() if isinstance(record, RunRecord) else dict(record)
        path = atomic_write_json(self.path_of(data["key"]), data)
        (self.failed_dir / f"{record['key']}.json").unlink(missing_ok=True)
        return path

    def write_failure(self, key: str, info: dict[str, Any]) -> None:
        atomic_write_json(self.failed_dir / f"{key}.json", {"key": key, **info})

    def failures(self) -> list[dict[str, Any]]:
        out = []
        if self.failed_dir.is_dir():
            for p in sorted(self.failed_dir.glob("*.json")):
                try:
                    out.append(json.loads(p.read_text()))
                except json.JSONDecodeError:
                    continue
        return out

    def records(self) -> list[RunRecord]:
        """All valid result records (see :meth:`invalid_keys` for the others)."""
        return self.scan()[0]

    def rebuild_index(self, records: list[RunRecord] | None = None) -> Path:
        """Regenerate index.csv from the records (``records``: already read, e.g. by :meth:`scan`)."""
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(INDEX_COLUMNS)
        for rec in self.records() if records is None else records:
            m = rec.get("metrics", {})
            writer.writerow([rec.get("key"), rec.get("corpus"), rec.get("model"), rec.get("variant"),
                             rec.get("fold"), rec.get("seed")] +
                            [m.get(k) for k in ("accuracy", "ua", "wa", "macro_f1")])
        return atomic_write_text(self.root / "index.csv", buf.getvalue())
