"""On-disk cache of per-file features.

An entry is keyed by the hash of (feature config, the audio file's identity —
resolved path, size, mtime in ns — and the package version), so editing or
replacing a file, changing a setting or upgrading emoconv gives a new key and
stale entries are simply never read again.

Entries are safetensors files holding one float32 tensor (``(C, T, F)`` for frame features), with the
key and a CRC-32 of the tensor bytes in the header metadata (torn writes cannot happen, see
below; the checksum catches later corruption of a stored file). They are written
with :func:`emoconv.fileio.atomic_write_bytes` (unique temp file + rename), so
several processes may fill the same entry at once (the last rename wins; all
write the same bytes) and readers never see a partial file. An entry that fails
to parse or whose checksum or key does not match is counted as corrupt, treated
as a miss and overwritten by the caller's recomputation.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import Tensor

from ..config import config_hash
from ..errors import AudioError
from ..fileio import atomic_write_bytes, file_identity

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$EMOCONV_CACHE`` when set (and non-empty), else ``~/.cache/emoconv``."""
    env = os.environ.get("EMOCONV_CACHE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "emoconv"


class FeatureCache:
    """Feature files under ``root`` (default ``default_cache_dir() / "features"``).

    Counters ``hits``, ``misses`` and ``corrupt`` (corrupt entries also count as
    misses) are per instance.

    >>> import tempfile
    >>> cache = FeatureCache(Path(tempfile.mkdtemp()))
    >>> cache.stats()
    {'hits': 0, 'misses': 0, 'corrupt': 0}
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir() / "features"
        self._root_str = str(self.root)
        self.hits = 0
        self.misses = 0
        self.corrupt = 0

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.root)!r}, hits={self.hits}, misses={self.misses}, corrupt={self.corrupt})"

    def key(self, cfg: Any, path: str | os.PathLike[str]) -> str:
        """Entry key of ``path`` under config ``cfg`` (32 hex characters)."""
        try:
            ident = file_identity(path)
        except OSError:
            raise AudioError(f"{path}: file not found or unreadable; check the path") from None
        try:
            import emoconv

            digest = _config_digest(cfg, emoconv.__version__)
        except TypeError:  # an unhashable config object: hash it every time
            digest = config_hash(cfg, length=32)
        text = f"{digest}|{ident['path']}|{ident['size']}|{ident['mtime_ns']}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def entry_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.safetensors"

    def get(self, cfg: Any, path: str | os.PathLike[str], key: str | None = None) -> Tensor | None:
        """The cached features of ``path``, or ``None`` (a miss) when absent or corrupt."""
        key = key or self.key(cfg, path)
        entry = os.path.join(self._root_str, key[:2], f"{key}.safetensors")  # str paths: this is the hot loop
        try:
            with open(entry, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            self.misses += 1
            return None
        try:
            tensor = _decode(data, key)
        except Exception as exc:  # any parse/checksum failure means: recompute
            log.warning("feature cache entry %s is corrupt (%s); recomputing it", entry, exc)
            self.corrupt += 1
            self.misses += 1
            return None
        self.hits += 1
        return tensor

    def put(self, cfg: Any, path: str | os.PathLike[str], feats: Tensor, key: str | None = None) -> Path:
        """Store ``feats`` (any float tensor, saved as float32) for ``path`` atomically."""
        key = key or self.key(cfg, path)
        return atomic_write_bytes(self.entry_path(key), _encode(feats, key))

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "corrupt": self.corrupt}

    def clear(self) -> None:
        """Delete every entry under ``root`` (the folder itself stays)."""
        if self.root.is_dir():
            for child in self.root.iterdir():
                if child.is_dir() and len(child.name) == 2:
                    shutil.rmtree(child, ignore_errors=True)


@functools.lru_cache(maxsize=64)
def _config_digest(cfg: Any, version: str) -> str:
    """Hash of a (frozen, hashable) config and the package version, computed once per pair."""
    return config_hash(cfg, length=32)


def _checksum(t: Tensor) -> str:
    return f"crc32:{zlib.crc32(t.numpy().data):08x}"


def _encode(feats: Tensor, key: str) -> bytes:
    t = feats.detach().to("cpu", torch.float32).contiguous()
    digest = _checksum(t)
    return safetensors.torch.save({"features": t}, metadata={"key": key, "checksum": digest})


def _decode(data: bytes, key: str) -> Tensor:
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    meta = header.get("__metadata__") or {}
    if meta.get("key") != key:
        raise ValueError("key mismatch")
    t = safetensors.torch.load(data)["features"]
    if t.dtype != torch.float32:
        raise ValueError(f"unexpected dtype {t.dtype}")
    if _checksum(t) != meta.get("checksum"):
        raise ValueError("checksum mismatch")
    return t
