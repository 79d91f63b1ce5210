"""Audio input: any libsndfile format to mono float32 at a target rate."""

from .io import AUDIO_EXTENSIONS, audio_info, load_audio

__all__ = ["AUDIO_EXTENSIONS", "audio_info", "load_audio"]
