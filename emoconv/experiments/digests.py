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
from typing import Sequence

from ..fileio import atomic_write_json

__all__ = ["content_digests"]

_CHUNK = 1 << 20


def _digest(path: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def content_digests(paths: Sequence[str | os.PathLike[str]], cache_file: Path | None) -> list[str | None]:
    """One hex digest per file (``None`` for a file that cannot be read), reusing ``cache_file``'s entries
    whose path, size and modification time still match; new digests are written back atomically."""
    cache: dict[str, list] = {}
    if cache_file is not None:
        try:
            loaded = json.loads(Path(cache_file).read_text())
            cache = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError, UnicodeDecodeError):
            cache = {}
    out: list[str | None] = []
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
            out.append(str(hit[2]))
            continue
        try:
            digest = _digest(p)
        except OSError:
            out.append(None)
            continue
        cache[p] = [st.st_size, st.st_mtime_ns, digest]
        out.append(digest)
        changed = True
    if changed and cache_file is not None:
        try:
            Path(cache_file).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_json(cache_file, cache, indent=None)
        except OSError:  # a read-only cache costs a re-read next time, nothing else
            pass
    return out
