"""Errors caused by input or configuration.

Every subclass of :class:`EmoconvError` carries a one-line message that names the
file or setting at fault and says what to do. The CLI prints that line and exits
non-zero; any other exception is a bug and keeps its traceback.
"""


class EmoconvError(Exception):
    """Input or configuration problem; the message says what to do."""


class ConfigError(EmoconvError):
    """A recipe, setting or argument is invalid."""


class AudioError(EmoconvError):
    """An audio file cannot be used (unreadable, empty, silent, non-finite, too short)."""


class CorpusError(EmoconvError):
    """A corpus folder is missing, empty or unparseable."""


class ProtocolError(EmoconvError):
    """A split is impossible or would leak speakers between partitions."""


class BundleError(EmoconvError):
    """A model bundle is corrupted or from an incompatible version."""
