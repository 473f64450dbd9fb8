"""The public function the user called, for error messages raised deep inside (internal).

``agreement_report`` calls ``confidence_interval``, which calls ``fleiss_kappa``, which
validates the table in ``code_annotations``: an error found there must name the function
the user called, not the helper that happened to find it. Entry points are decorated with
:func:`entry_point`; validators ask :func:`caller_name`. The outermost entry point wins.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

__all__ = ["entry_point", "called_as", "caller_name"]

_ENTRY: ContextVar[str | None] = ContextVar("qa_toolkit_agreement_entry", default=None)
F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def called_as(name: str) -> Iterator[None]:
    """Within the block, :func:`caller_name` answers ``name`` unless an outer entry point is set."""
    if _ENTRY.get() is not None:
        yield
        return
    token = _ENTRY.set(name)
    try:
        yield
    finally:
        _ENTRY.reset(token)


def entry_point(name: str) -> Callable[[F], F]:
    """Decorator: calls of the function run inside ``called_as(name)``."""

    def wrap(f: F) -> F:
        @functools.wraps(f)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with called_as(name):
                return f(*args, **kwargs)

        return inner  # type: ignore[return-value]

    return wrap


def caller_name(func: str) -> str:
    """The outermost public function being called, else ``func``.

    Examples
    --------
    >>> caller_name("fleiss_kappa")
    'fleiss_kappa'
    >>> with called_as("agreement_report"):
    ...     caller_name("fleiss_kappa")
    'agreement_report'
    """
    return _ENTRY.get() or func
