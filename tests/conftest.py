"""Shared test helpers: tiny synthetic audio and the optional real corpora."""

from __future__ import annotations

from pathlib import Path

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
