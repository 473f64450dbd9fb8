"""qa_toolkit: annotation quality assurance in the notebook.

The canonical long table (``task``, ``annotator``, ``label`` plus optional geometry,
span and time columns) flows through every function.
"""

from qa_toolkit._validation import AnnotationFormatError, QAInputError, QAWarning
from qa_toolkit.table import (
    AnnotationWarning,
    canonical_frame,
    to_counts,
    to_wide,
    validate_annotations,
)

__version__ = "0.1.0"

__all__ = [
    "AnnotationFormatError",
    "AnnotationWarning",
    "QAInputError",
    "QAWarning",
    "canonical_frame",
    "to_counts",
    "to_wide",
    "validate_annotations",
    "__version__",
]
