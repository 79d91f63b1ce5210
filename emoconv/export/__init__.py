"""Exporting bundles to runtimes without PyTorch (ONNX)."""

from .onnx import export_onnx, frontend_config

__all__ = ["export_onnx", "frontend_config"]
