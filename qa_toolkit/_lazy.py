"""Lazy re-exports for package ``__init__`` modules (PEP 562 module ``__getattr__``)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` that import ``package.<module>`` on first use.

    Parameters
    ----------
    package : str
        The package whose namespace is filled (its ``__name__``).
    exports : mapping of str to str
        Public name -> submodule (relative to ``package``) that defines it.
    submodules : iterable of str, optional
        Submodules reachable as attributes (``qa.datasets.list_datasets()`` after a bare
        ``import qa_toolkit as qa``), imported on first access.

    Returns
    -------
    tuple of callable
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.

    Examples
    --------
    >>> import types
    >>> getattr_, dir_ = lazy_exports("qa_toolkit", {"summary": "overview"}, ["datasets"])
    >>> isinstance(getattr_("datasets"), types.ModuleType), callable(getattr_("summary"))
    (True, True)
    >>> {"datasets", "summary"} <= set(dir_())
    True
    """
    subs = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        elif name in subs:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports) | subs)

    return __getattr__, __dir__
