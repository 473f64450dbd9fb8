"""Notebook widgets over qa_toolkit (stock ipywidgets), imported as ``qa_toolkit.widgets``.

The code lives in the repository's top-level ``widgets/`` folder and is installed as the
``qa_toolkit.widgets`` subpackage (setuptools ``package-dir`` mapping in pyproject.toml),
never as a top-level ``widgets`` package, so a user's own ``widgets.py`` beside their
notebook cannot shadow it. The ``qa_toolkit`` core never imports this package.

Examples
--------
>>> from qa_toolkit.widgets import ReviewPanel
>>> ReviewPanel.__module__
'qa_toolkit.widgets.review_panel'
"""

from .cluster_gallery import ClusterGallery
from .dashboard import AnnotatorDashboard, annotator_basics, annotator_confusion
from .review_panel import ReviewPanel

__all__ = ["AnnotatorDashboard", "ClusterGallery", "ReviewPanel", "annotator_basics", "annotator_confusion"]
