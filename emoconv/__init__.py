"""emoconv: speech emotion recognition with convolutional networks, in PyTorch."""

__version__ = "0.2.0"

__all__ = ["__version__"]
