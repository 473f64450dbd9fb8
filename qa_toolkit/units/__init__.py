"""Agreement units: every kind of field reduced to ``(unit, annotator, value)``.

``kinds`` resolves and describes fields; ``geometry`` holds the similarity kernels;
``matching`` groups regions of all annotators into objects; ``reduce`` builds the units.
"""

from qa_toolkit.units.kinds import (
    DEFAULT_FIELD,
    KINDS,
    REGION_KINDS,
    check_one_label,
    describe_fields,
    field_kinds,
    select_field,
)
from qa_toolkit.units.matching import match_objects
from qa_toolkit.units.reduce import ABSENT, to_units

__all__ = ["ABSENT", "DEFAULT_FIELD", "KINDS", "REGION_KINDS", "check_one_label", "describe_fields",
           "field_kinds", "match_objects", "select_field", "to_units"]
