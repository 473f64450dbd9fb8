"""Package discovery only; everything else is in pyproject.toml.

The widgets live in the repository's top-level ``widgets/`` folder but install as
``qa_toolkit.widgets`` (``package-dir`` mapping in pyproject.toml), never as a top-level
``widgets`` package that a user's own ``widgets.py`` could shadow. pyproject.toml alone
cannot combine that mapping with automatic discovery, so the packages are found here:
every ``qa_toolkit`` subpackage and every subpackage of ``widgets/``, without a list to
keep up to date. The bundled data under ``qa_toolkit/_data`` is package data (the
``_data/**/*`` glob in pyproject.toml); its folders are listed as namespace packages
only so that setuptools does not warn, once per folder, that data sits in a folder with
an importable name.
"""

from setuptools import find_namespace_packages, find_packages, setup

setup(
    packages=[
        *find_packages(include=["qa_toolkit", "qa_toolkit.*"]),
        "qa_toolkit._data",
        *(f"qa_toolkit._data.{name}" for name in find_namespace_packages("qa_toolkit/_data")),
        "qa_toolkit.widgets",
        *(f"qa_toolkit.widgets.{name}" for name in find_packages("widgets")),
    ]
)
