"""Name -> object registries (models, corpora, feature kinds, protocol kinds, executors, report layouts).

Every registry is filled one way: the module that defines an item decorates it with
``REGISTRY.register(name)``. A registry names the modules that register into it (``modules``); they are
imported on the first lookup that needs them, so importing a package face stays light and one bundle
does not import every system. A name whose first dotted part names one of those modules (``mts.a2`` ->
``...models.mts``) loads that module alone first.
"""

from __future__ import annotations

import importlib
from typing import Callable, Generic, Iterator, Sequence, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection filled by a decorator, its registering modules imported on demand.

    Args:
        kind: what the items are, for messages (``"model"``).
        modules: absolute names of the modules that register items; imported on the first
            ``get`` that misses, and by ``names()``, iteration and ``in``.
        optional: module names among ``modules`` whose import may fail (an extra that is not
            installed); such a module is skipped and its items are simply absent.

    >>> THINGS: Registry[int] = Registry("thing")
    >>> _ = THINGS.register("one")(1)
    >>> THINGS.get("one")
    1
    >>> THINGS.get("two")
    Traceback (most recent call last):
    ...
    emoconv.errors.ConfigError: unknown thing 'two'; known: one
    >>> Registry("model", modules=["emoconv.models.ecnet"]).names()  # a fresh registry: nothing registers there
    []
    """

    def __init__(self, kind: str, modules: Sequence[str] = (), optional: Sequence[str] = ()) -> None:
        self.kind = kind
        self.modules = tuple(modules)
        self.optional = frozenset(optional)
        self._items: dict[str, T] = {}
        self._loaded: set[str] = set()

    def register(self, name: str) -> Callable[[T], T]:
        def add(item: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = item
            return item

        return add

    def _import(self, module: str) -> None:
        if module in self._loaded:
            return
        self._loaded.add(module)
        try:
            importlib.import_module(module)
        except ImportError:
            if module not in self.optional:
                raise

    def load(self, name: str | None = None) -> None:
        """Import the registering modules: the one ``name``'s prefix names first, all of them if still missing."""
        if name is not None:
            if name in self._items:
                return
            head = name.split(".")[0]
            for module in self.modules:
                if module.rsplit(".", 1)[-1] == head:
                    self._import(module)
            if name in self._items:
                return
        for module in self.modules:
            self._import(module)

    def get(self, name: str) -> T:
        self.load(name)
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        self.load()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.load(name)
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
