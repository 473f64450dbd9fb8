"""Release decisions: the pilot go/no-go and the release gate, per field and kind.

Modules: :mod:`~qa_toolkit.release.go_no_go` (the ``pilot_report`` router),
:mod:`~qa_toolkit.release.pilot` (categorical pilot, alpha with CI),
:mod:`~qa_toolkit.release.pilot_fields` (typed fields, pilot-size check),
:mod:`~qa_toolkit.release.gate` (config, the ``CHECKS`` registry, ``evaluate_gate``) and
:mod:`~qa_toolkit.release.gate_fields` (per-field and user-defined checks, provenance).
"""

from qa_toolkit.release.gate import CHECKS, GateResult, evaluate_gate, load_gate_config
from qa_toolkit.release.go_no_go import pilot_report
from qa_toolkit.release.pilot import PilotReport, alpha_with_ci
from qa_toolkit.release.pilot_fields import field_pilot_report, pilot_size_check

__all__ = [
    "CHECKS",
    "GateResult",
    "evaluate_gate",
    "load_gate_config",
    "pilot_report",
    "PilotReport",
    "alpha_with_ci",
    "field_pilot_report",
    "pilot_size_check",
]
