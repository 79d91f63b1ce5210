"""Typed configuration: frozen dataclasses built from plain dicts (YAML) with validation.

``from_dict(Cls, data, where="recipe.train")`` rejects unknown keys and wrong types
with a :class:`~emoconv.errors.ConfigError` that names the offending key. Value
checks live in each dataclass's ``__post_init__`` and raise ``ConfigError`` too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import dacite

from .errors import ConfigError
from .fileio import stable_hash

C = TypeVar("C")


class _Bool:
    """A YAML boolean met where a number is expected: fails dacite's type check, printed as the bool."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


_Bool.__name__ = "bool"


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return _Bool(value)
    if isinstance(value, int):
        return float(value)
    return value


def _to_int(value: Any) -> Any:
    return _Bool(value) if isinstance(value, bool) else value


_DACITE = dacite.Config(strict=True, cast=[tuple, Path], type_hooks={float: _to_float, int: _to_int})


def _check_sequences(cls: type, data: dict[str, Any], where: str) -> None:
    """A scalar (or mapping) given for a list setting: one line naming the key, before dacite's cast."""
    import typing

    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # pragma: no cover - unresolvable annotations: let dacite report
        return
    for key, value in data.items():
        tp = hints.get(key)
        origins = {typing.get_origin(tp)} | {typing.get_origin(a) for a in typing.get_args(tp)}
        optional = type(None) in typing.get_args(tp)
        if tuple in origins and not (value is None and optional) and not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}.{key}: expected a list, got {type(value).__name__} {value!r}; "
                              f"write it as [{value!r}]")


def from_dict(cls: type[C], data: Any, where: str = "config") -> C:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types are ConfigErrors.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Opt:
    ...     lr: float = 1e-3
    >>> from_dict(Opt, {"lr": 1})
    Opt(lr=1.0)
    >>> from_dict(Opt, {"lr": "fast"}, where="train")
    Traceback (most recent call last):
    ...
    emoconv.errors.ConfigError: train.lr: expected float, got str 'fast'; fix the value
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    _check_sequences(cls, data, where)
    try:
        return dacite.from_dict(cls, data, config=_DACITE)
    except dacite.UnexpectedDataError as exc:
        known = ", ".join(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        keys = ", ".join(sorted(exc.keys))
        raise ConfigError(f"{where}: unknown key(s) {keys}; known keys: {known}") from None
    except dacite.WrongTypeError as exc:
        got = exc.value
        raise ConfigError(
            f"{where}.{exc.field_path}: expected {_type_name(exc.field_type)}, "
            f"got {type(got).__name__} {got!r}; fix the value"
        ) from None
    except dacite.MissingValueError as exc:
        raise ConfigError(f"{where}.{exc.field_path}: required setting is missing") from None
    except dacite.DaciteError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:  # a cast dacite could not make
        raise ConfigError(f"{where}: a setting has the wrong type ({exc}); check the values") from None


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain-dict (JSON-ready) form of a config dataclass; tuples become lists."""
    return _plain(dataclasses.asdict(cfg))


def config_hash(cfg: Any, *extra: Any, length: int = 16) -> str:
    """Hash of a config's canonical JSON plus the package version and any extras."""
    from . import __version__

    return stable_hash([type(cfg).__name__, to_dict(cfg), __version__, list(extra)], length)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def check(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless ``condition``; for ``__post_init__`` checks."""
    if not condition:
        raise ConfigError(message)
