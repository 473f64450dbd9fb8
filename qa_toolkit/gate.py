"""Moved to ``qa_toolkit.release.gate``; kept as an alias (issue #12).

Import from the new home (or from ``qa_toolkit``); this module only re-exports.
"""

import warnings

from qa_toolkit.agreement.label_agreement import label_agreement
from qa_toolkit.release.gate import CHECKS, GateResult, evaluate_gate, load_gate_config

__all__ = ["CHECKS", "GateResult", "evaluate_gate", "load_gate_config", "label_agreement"]

warnings.warn("qa_toolkit.gate moved to qa_toolkit.release.gate; import from there (or from qa_toolkit). "
              "This alias will be removed in a later release.", DeprecationWarning, stacklevel=2)
