"""emoconv.layers exports its public layers, each loaded on first use."""

import subprocess
import sys

import emoconv.layers as layers


def test_every_public_name_resolves():
    for name in layers.__all__:
        assert getattr(layers, name) is not None
    from emoconv.layers import ArcFace, MTSConv2d  # noqa: F401


def test_importing_one_layer_does_not_import_the_others():
    code = ("import sys; from emoconv.layers import MTSConv2d; "
            "print(sorted(m for m in sys.modules if m.startswith('emoconv.layers.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "emoconv.layers.arcface" not in out and "emoconv.layers.mts" in out
