"""Audio input: any libsndfile format to mono float32 at a target rate."""

from .io import AUDIO_EXTENSIONS, audio_info, content_problem, load_audio

__all__ = ["AUDIO_EXTENSIONS", "audio_info", "content_problem", "load_audio"]
