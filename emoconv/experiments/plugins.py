"""User plugins (modules or ``.py`` files that register models, corpora, ...) for every worker process."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Sequence

__all__ = ["PLUGINS_ENV", "import_plugins", "plugin_list"]

PLUGINS_ENV = "EMOCONV_PLUGINS"
_IMPORTED: set[str] = set()


def plugin_list(plugins: Sequence[str] | None = None) -> list[str]:
    """``plugins`` plus those named in ``$EMOCONV_PLUGINS`` (``os.pathsep``-separated), de-duplicated."""
    env = [p for p in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if p.strip()]
    out: list[str] = []
    for p in list(plugins or []) + env:
        if p not in out:
            out.append(p)
    return out


def import_plugins(plugins: Sequence[str]) -> None:
    """Import modules (``pkg.mod``) or files (``path/to/x.py``) that register models, corpora, etc.

    Workers start fresh interpreters, so registrations made by the user's own code must
    be repeated there; every worker imports these before its first run.
    """
    from ..errors import ConfigError

    for item in plugins:
        if item in _IMPORTED:
            continue
        try:
            if item.endswith(".py") or os.sep in item:
                path = Path(item).expanduser().resolve()
                spec = importlib.util.spec_from_file_location(f"emoconv_plugin_{path.stem}", path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"no module at {path}")
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            else:
                importlib.import_module(item)
        except Exception as exc:
            raise ConfigError(f"plugin {item}: cannot be imported ({type(exc).__name__}: {exc}); "
                              f"check --plugin / ${PLUGINS_ENV}") from None
        _IMPORTED.add(item)
