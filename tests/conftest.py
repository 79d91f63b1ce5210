"""Shared test helpers: tiny synthetic audio and the optional real corpora."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# numba (librosa.yin and friends) caches compiled code on disk, by default inside librosa's own package
# folder. Two xdist workers writing that cache at once can leave it in a state that crashes every later load
# with a segmentation fault. Each test process therefore gets its own fresh cache folder, set before librosa
# (and so numba) is first imported anywhere in the suite.
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(
    prefix=f"emoconv-numba-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
atexit.register(shutil.rmtree, os.environ["NUMBA_CACHE_DIR"], ignore_errors=True)

import pytest
import torch
from testaudio import tone  # noqa: F401  (re-exported for convenience)

torch.set_num_threads(1)

SHARED_CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@pytest.fixture
def shared_corpora() -> Path:
    """Path of ../shared/corpora; skips the test when the folder is absent."""
    if not SHARED_CORPORA.is_dir():
        pytest.skip("../shared/corpora is absent")
    return SHARED_CORPORA


DEV_CORPORA = Path("/tmp/emoconv-corpora")


@pytest.fixture
def dev_corpora() -> Path:
    """Where ``../shared/tools/dev-corpora`` unpacks RAVDESS, EMOVO and URDU; skips the test when absent."""
    import os

    root = Path(os.environ.get("EMOCONV_DEV_CORPORA", DEV_CORPORA))
    if not root.is_dir():
        pytest.skip(f"{root} is absent (run ../shared/tools/dev-corpora)")
    return root
