"""Top-layer representations of a run's test utterances, saved for the t-SNE figures of the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["save_embedding"]


def save_embedding(rundir: Path, key: str, model: Any, xs: list, groups: np.ndarray, test_utts: np.ndarray,
                    normed: list, segmented: bool, device: str) -> str:
    """Top-layer representations ``(N_test, D)`` of the test utterances (segment mean) as ``embeddings/KEY.npy``.

    For the t-SNE figure of Kim et al. (ACII 2017, Fig. 3); written when the recipe's
    ``report.embeddings`` is true, for the runs that ``bundle`` keeps. Returns the path
    relative to ``rundir``.
    """
    import io

    from ..fileio import atomic_write_bytes

    rows = np.flatnonzero(np.isin(groups, test_utts)) if (segmented or len(xs) != len(normed)) else test_utts
    items = [xs[r] for r in rows]
    if isinstance(model, torch.nn.Module):
        model.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(items), 64):
                batch = items[start:start + 64]
                if len({tuple(t.shape) for t in batch}) == 1:
                    parts.append(model.embed(torch.stack(batch).to(device)).float().cpu().numpy())
                else:  # variable-length (C, T, F) examples
                    from ..training.batching import pad_batch

                    x, lengths = pad_batch(batch)
                    parts.append(model.embed(x.to(device), lengths=lengths.to(device)).float().cpu().numpy())
        emb = np.concatenate(parts)
    else:
        emb = np.asarray(model.embed(items), dtype=np.float32)
    owner = np.searchsorted(test_utts, groups[rows])
    out = np.stack([emb[owner == u].mean(0) for u in range(len(test_utts))]).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, out)
    rel = Path("embeddings") / f"{key}.npy"
    atomic_write_bytes(rundir / rel, buf.getvalue())
    return str(rel)
