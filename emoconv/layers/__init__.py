"""Reusable layers from the four systems, each in its own file."""
