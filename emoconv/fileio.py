"""Atomic writes and content hashing.

Every cache entry, result record and bundle is written to a temporary file in
the destination folder and renamed into place, so readers never see half a file
and a killed process leaves at most a stray ``.NAME.tmp-PID-*`` behind, which
:func:`remove_stale_temps` deletes on the next start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Any]:
    """A binary file handle whose content replaces ``path`` on leaving the block (temp file in the same
    folder, fsync, rename); nothing is left if the block raised. For writers that stream (``torch.save``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    with atomic_file(path) as fh:
        fh.write(data)
    return Path(path)


def tmp_prefix(name: str) -> str:
    """Prefix of a temporary sibling of ``name``: hidden, with the writer's pid (``.NAME.tmp-PID-``), so that
    :func:`remove_stale_temps` can tell a killed writer's leftovers from a live writer's work."""
    return f".{name}.tmp-{os.getpid()}-"


def remove_stale_temps(folder: str | os.PathLike[str], everything: bool = False) -> list[Path]:
    """Delete temporary siblings (files or folders named ``.*.tmp-PID-*``) in ``folder`` whose writer is no
    longer alive on this machine (all of them with ``everything=True``, for a folder this process holds the
    lock of); returns what was removed."""
    import re
    import shutil

    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = re.match(r"^\..+\.tmp-(\d+)-", p.name)
        if m is None or (not everything and pid_alive(int(m.group(1)))):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def publish_dir(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Move the finished folder ``tmp`` to ``path`` (a sibling), replacing a folder already there: readers see
    the old folder or the new one, never a mix."""
    import shutil

    tmp, path = Path(tmp), Path(path)
    if path.exists():
        old = path.with_name(f".{path.name}.old.{os.getpid()}")
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)
    return path


@contextlib.contextmanager
def staged_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary sibling folder to fill; on leaving the block it replaces ``path`` (:func:`publish_dir`), or
    is removed if the block raised. A killed writer's leftovers are cleared first (:func:`remove_stale_temps`)."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix(path.name), dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish_dir(tmp, path)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal objects give equal strings."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> Path:
    text = json.dumps(obj, sort_keys=True, indent=indent, default=_json_default)
    return atomic_write_text(path, text + "\n")


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hex SHA-256 of ``canonical_json(obj)``, truncated to ``length`` characters."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()[:length]


def file_identity(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What identifies a file's content cheaply: absolute path, size and mtime in ns (of the file a link points to)."""
    p = os.path.abspath(os.fspath(path))
    st = os.stat(p)
    return {"path": p, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
