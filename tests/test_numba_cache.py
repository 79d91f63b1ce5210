"""The suite runs numba-compiled librosa code in a per-process cache folder (see conftest.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def test_numba_cache_is_private_to_this_test_process():
    cache = Path(os.environ["NUMBA_CACHE_DIR"])
    assert cache.is_dir() and cache.parent == Path(tempfile.gettempdir())
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert cache.name.startswith(f"emoconv-numba-{worker}-")
    import numba.core.config

    assert Path(numba.core.config.CACHE_DIR) == cache  # numba read it when first imported
