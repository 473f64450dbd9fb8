"""Warning classes of the agreement engine (all subclasses of :class:`qa_toolkit.QAWarning`)."""

from __future__ import annotations

import warnings

from qa_toolkit._validation import QAWarning

__all__ = [
    "AgreementWarning",
    "LowOverlapWarning",
    "PrevalenceParadoxWarning",
    "SingleLabelWarning",
    "SpanOverlapWarning",
    "UndefinedAgreementWarning",
]


class AgreementWarning(QAWarning):
    """Base class of the warnings emitted by :mod:`qa_toolkit.agreement`."""


class LowOverlapWarning(AgreementWarning):
    """Too few pairable tasks (tasks with two or more labels) to judge agreement."""


class PrevalenceParadoxWarning(AgreementWarning):
    """Raw agreement is high but the chance-corrected coefficient is low (skewed prevalence)."""


class SingleLabelWarning(AgreementWarning):
    """Only one label is in use: chance-corrected coefficients are undefined or degenerate."""


class SpanOverlapWarning(AgreementWarning):
    """Overlapping spans of one annotator were merged before token-level agreement."""


class UndefinedAgreementWarning(AgreementWarning):
    """A coefficient is mathematically undefined (0/0); ``replace_undefined_by`` is returned."""


def warn(cls: type[AgreementWarning], message: str) -> None:
    warnings.warn(message, cls, stacklevel=3)
