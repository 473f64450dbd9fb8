"""Notebook widgets over qa_toolkit (stock ipywidgets). ``qa_toolkit`` never imports this package."""

from .dashboard import AnnotatorDashboard, annotator_basics, annotator_confusion
from .review_panel import ReviewPanel

__all__ = ["AnnotatorDashboard", "ReviewPanel", "annotator_basics", "annotator_confusion"]
