"""Moved to ``qa_toolkit.triage.sampling``; kept as an alias (issue #12).

Import from the new home (or from ``qa_toolkit``); this module only re-exports.
"""

import warnings

from qa_toolkit.triage.sampling import (
    PHASE_RATES,
    SamplingPlan,
    gold_leakage,
    sampling_plan,
    select_gold,
    wilson_interval,
    wilson_sample_size,
)

__all__ = ["PHASE_RATES", "SamplingPlan", "gold_leakage", "sampling_plan", "select_gold", "wilson_interval", "wilson_sample_size"]

warnings.warn("qa_toolkit.sampling moved to qa_toolkit.triage.sampling; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
