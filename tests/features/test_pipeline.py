"""The input pipeline shared by the runner, bundles and augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emoconv.features.inputs import InputConfig
from emoconv.features.pipeline import InputPipeline


def feats(*lengths: int) -> list[torch.Tensor]:
    return [torch.arange(n * 2, dtype=torch.float32).view(1, n, 2) for n in lengths]


def test_pad_resolves_the_length_from_the_corpus_and_caps_it():
    assert InputPipeline.fit(InputConfig(length="pad"), feats(4, 7)).frames == 7
    assert InputPipeline.fit(InputConfig(length="pad", max_frames=5), feats(4, 7)).frames == 5
    assert InputPipeline.fit(InputConfig(length="pad", frames=3), feats(4, 7)).frames == 3
    pipe = InputPipeline.fit(InputConfig(length="pad", max_frames=5), feats(4, 7))
    xs, groups = pipe.shape(feats(4, 7))
    assert [tuple(x.shape) for x in xs] == [(1, 5, 2), (1, 5, 2)] and groups.tolist() == [0, 1]
    torch.testing.assert_close(xs[1], feats(7)[0][:, :5])                  # cropped at the end
    assert torch.equal(xs[0][:, 4:], torch.zeros(1, 1, 2))                 # zero-padded
    assert tuple(pipe.batch_of(feats(9)[0]).shape) == (1, 1, 5, 2)


def test_variable_keeps_lengths_and_segmented_kinds_give_one_example_per_segment():
    var = InputPipeline.fit(InputConfig(length="variable"), feats(4, 7))
    xs, groups = var.shape(feats(4, 7))
    assert var.frames is None and [x.shape[1] for x in xs] == [4, 7] and not var.aggregates
    vols = [torch.zeros(3, 1, 2, 2), torch.zeros(2, 1, 2, 2)]             # (n_segments, ...) per utterance
    seg = InputPipeline.fit(InputConfig(length="variable"), vols, segmented=True)
    xs, groups = seg.shape(vols)
    assert len(xs) == 5 and groups.tolist() == [0, 0, 0, 1, 1] and seg.aggregates


@pytest.mark.parametrize("how, expected", [
    ("mean", [[0.5, 0.5], [0.5, 0.5]]), ("max", [[0.7, 0.7], [0.9, 0.9]]), ("vote", [[0.5, 0.5], [0.5, 0.5]])])
def test_aggregate_per_utterance_in_any_example_order(how, expected):
    pipe = InputPipeline(InputConfig(length="segment", aggregate=how), 4)
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.1, 0.9], [0.7, 0.3]], dtype=np.float32)
    groups = np.array([1, 0, 1, 0])                                        # interleaved utterances
    out = pipe.aggregate(probs, groups, 2)
    np.testing.assert_allclose(out, expected, atol=1e-6)
