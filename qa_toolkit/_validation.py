"""Input validation shared by every public function.

Validate once, at the public boundary, with a message that names the parameter,
the allowed values and what was received.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "AnnotationFormatError",
    "QAInputError",
    "QAWarning",
    "check_option",
    "check_random_state",
    "check_positive_int",
    "check_fraction",
    "check_columns",
]


class QAInputError(ValueError, TypeError):
    """Raised when a parameter of a qa_toolkit function has a wrong value or type."""


class AnnotationFormatError(ValueError):
    """Raised when annotations (a file or a table) do not have the expected form.

    The message names the file (when there is one), the record and the field,
    what was expected and what came.
    """


class QAWarning(UserWarning):
    """Base class of the warnings qa_toolkit emits."""


def check_option(name: str, value: Any, options: Iterable[Any], *, func: str | None = None) -> Any:
    """Return ``value`` if it is one of ``options``, else raise :class:`QAInputError`.

    Examples
    --------
    >>> check_option("level", "nominal", ["nominal", "interval"])
    'nominal'
    >>> check_option("level", "nomimal", ["nominal", "interval"], func="krippendorff_alpha")
    Traceback (most recent call last):
    ...
    qa_toolkit._validation.QAInputError: The 'level' parameter of krippendorff_alpha must be one of {'nominal', 'interval'}. Got 'nomimal' instead.
    """
    options = list(options)
    if value not in options:
        where = f" of {func}" if func else ""
        allowed = "{" + ", ".join(repr(o) for o in options) + "}"
        raise QAInputError(
            f"The {name!r} parameter{where} must be one of {allowed}. Got {value!r} instead."
        )
    return value


def check_positive_int(name: str, value: Any, *, minimum: int = 1, func: str | None = None) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``."""
    where = f" of {func}" if func else ""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise QAInputError(
            f"The {name!r} parameter{where} must be an integer >= {minimum}. Got {value!r} instead."
        )
    return int(value)


def check_fraction(
    name: str, value: Any, *, low: float = 0.0, high: float = 1.0, func: str | None = None
) -> float:
    """Return ``value`` as float if it lies in ``[low, high]``."""
    where = f" of {func}" if func else ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = np.nan
    if not (low <= v <= high):
        raise QAInputError(
            f"The {name!r} parameter{where} must be a number in [{low}, {high}]. Got {value!r} instead."
        )
    return v


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``random_state`` (None, int, Generator or RandomState) into a local Generator.

    Nothing here touches numpy's global random state.

    Examples
    --------
    >>> g = check_random_state(0)
    >>> int(g.integers(10)) == int(check_random_state(0).integers(10))
    True
    """
    if random_state is None or isinstance(random_state, (int, np.integer)):
        if isinstance(random_state, bool):
            raise QAInputError(f"random_state must be None, an int or a numpy Generator. Got {random_state!r}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32 - 1))
    raise QAInputError(
        "The 'random_state' parameter must be None, an int or a numpy.random.Generator. "
        f"Got {type(random_state).__name__} instead."
    )


def check_columns(data: Any, required: Iterable[str], *, name: str = "data", func: str | None = None) -> None:
    """Raise :class:`AnnotationFormatError` when ``data`` is not a DataFrame with ``required`` columns."""
    import pandas as pd

    where = f" of {func}" if func else ""
    if not isinstance(data, pd.DataFrame):
        raise AnnotationFormatError(
            f"The {name!r} parameter{where} must be a pandas DataFrame in the canonical long form "
            f"(columns 'task', 'annotator', 'label'). Got {type(data).__name__} instead."
        )
    missing = [c for c in required if c not in data.columns]
    if missing:
        raise AnnotationFormatError(
            f"The {name!r} table{where} lacks the required column(s) {missing}; "
            f"it has {list(map(str, data.columns))}."
        )
