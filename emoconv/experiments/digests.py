"""Content digests of audio files, cached by file identity, for corpus fingerprints.

A corpus's fingerprint enters every run key, so what it hashes decides when finished runs count as done. The
file's size and modification time alone change when a corpus is copied to another disk or machine (``cp``,
``rsync`` without ``-t``, a cluster node), which would make every finished run new work; the content does
not. :func:`content_digests` reads each file once (BLAKE2b, 128 bits) and keeps the digest in a small JSON
cache keyed by path, size and modification time, so a second sweep over the same files reads nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple, Sequence

from ..fileio import atomic_write_json

__all__ = ["FileDigest", "content_digests"]

_CHUNK = 1 << 20
CACHE_FILE = "digests.json"


class FileDigest(NamedTuple):
    """A file's size and modification time (ns) as ``os.stat`` gives them, and its content digest (``None``
    when it could not be read)."""

    size: int
    mtime_ns: int
    digest: str | None


def _digest(path: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def content_digests(paths: Sequence[str | os.PathLike[str]], cache_dir: Path | None) -> list[FileDigest | None]:
    """One :class:`FileDigest` per file (``None`` for a file that cannot be stat'ed), reusing the entries of
    ``cache_dir/digests.json`` whose path, size and modification time still match; new digests are written back
    atomically."""
    cache_file = Path(cache_dir) / CACHE_FILE if cache_dir is not None else None
    cache: dict[str, list] = {}
    if cache_file is not None:
        try:
            loaded = json.loads(cache_file.read_text())
            cache = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError, UnicodeDecodeError):
            cache = {}
    out: list[FileDigest | None] = []
    changed = False
    for path in paths:
        p = os.path.abspath(os.fspath(path))
        try:
            st = os.stat(p)
        except OSError:
            out.append(None)
            continue
        hit = cache.get(p)
        if isinstance(hit, list) and len(hit) == 3 and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            out.append(FileDigest(st.st_size, st.st_mtime_ns, str(hit[2])))
            continue
        try:
            digest: str | None = _digest(p)
        except OSError:
            digest = None
        out.append(FileDigest(st.st_size, st.st_mtime_ns, digest))
        if digest is not None:
            cache[p] = [st.st_size, st.st_mtime_ns, digest]
            changed = True
    if changed and cache_file is not None:
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(cache_file, cache, indent=None)
        except OSError:  # a read-only cache costs a re-read next time, nothing else
            pass
    return out
