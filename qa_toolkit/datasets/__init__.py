"""Real multi-annotator datasets: bundled ones and the larger shared research sets.

Datasets with a permissive licence are bundled with the package as package data
(``qa_toolkit/_data/<folder>``, each with SOURCE.md and its licence; read with
:mod:`importlib.resources`, so they are there in an installed wheel too; the repository's
top-level ``datasets/README.md`` indexes them). The others are read from a data home:
the ``data_home=`` argument, else the ``QA_TOOLKIT_DATA_HOME`` environment variable,
else ``../shared/datasets`` beside the checkout. Nothing is downloaded.

Examples
--------
>>> from qa_toolkit.datasets import load_dataset
>>> ds = load_dataset("dawid_skene_1979")
>>> ds.annotations.shape[0], ds.annotations["task"].nunique()
(315, 45)
"""

from __future__ import annotations

import atexit
import contextlib
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.datasets.registry import _FOLDERS, _REGISTRY, _Spec

__all__ = ["Dataset", "list_datasets", "load_dataset", "dataset_path", "bundled_home", "shared_home"]

_PKG_ROOT = Path(__file__).resolve().parents[2]
_BUNDLED: Path | None = None


def bundled_home() -> Path:
    """The bundled, permissively licensed data: the package data folder ``qa_toolkit/_data``.

    Found with :func:`importlib.resources.files`, so it is the same folder in a checkout,
    an editable install and an installed wheel. A zipped install's data is extracted once
    to a temporary folder (removed at exit).

    Examples
    --------
    >>> (bundled_home() / "welinder2010_bluebirds" / "labels.yaml").is_file()
    True
    """
    global _BUNDLED
    if _BUNDLED is None:
        root = resources.files("qa_toolkit") / "_data"
        if isinstance(root, Path):
            _BUNDLED = root
        else:  # pragma: no cover - zip imports only (pip never installs a wheel zipped)
            extracted = contextlib.ExitStack()
            atexit.register(extracted.close)
            _BUNDLED = Path(extracted.enter_context(resources.as_file(root)))
    return _BUNDLED


def shared_home(data_home: str | os.PathLike | None = None) -> Path:
    """Where the non-bundled research datasets live (see the module docstring)."""
    if data_home is not None:
        return Path(data_home)
    env = os.environ.get("QA_TOOLKIT_DATA_HOME")
    if env:
        return Path(env)
    return (_PKG_ROOT.parent / "shared" / "datasets").resolve()


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset.

    Attributes
    ----------
    name : str
    annotations : pandas.DataFrame
        The canonical long table.
    gold : pandas.Series or None
        Ground truth indexed by ``task`` (name ``gold``), where the dataset has it.
    description : str
    path : pathlib.Path
        The folder the data came from.
    items : pandas.DataFrame or None
        Item contents (e.g. texts) indexed by ``task``, where available.
    notes : dict
        Facts about loading (rows dropped as exact duplicates, gold coverage...).
    """

    name: str
    annotations: pd.DataFrame
    gold: pd.Series | None
    description: str
    path: Path
    items: pd.DataFrame | None = None
    notes: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        a = self.annotations
        g = "no gold" if self.gold is None else f"gold for {len(self.gold)} tasks"
        return (
            f"Dataset({self.name!r}: {len(a)} labels, {a['task'].nunique()} tasks, "
            f"{a['annotator'].nunique()} annotators, {g})"
        )


def list_datasets() -> pd.DataFrame:
    """The datasets :func:`load_dataset` knows, one row per name.

    Returns
    -------
    pandas.DataFrame
        Index ``name``; columns ``bundled`` (shipped with the package), ``available``
        (found on this machine), ``folder`` and ``description``.

    Examples
    --------
    >>> names = list_datasets()
    >>> bool(names.loc["welinder2010_bluebirds", "bundled"])
    True
    """
    rows = []
    for name, spec in sorted(_REGISTRY.items()):
        home = bundled_home() if spec.bundled else shared_home()
        rows.append(
            {
                "name": name,
                "bundled": spec.bundled,
                "available": (home / spec.folder).exists(),
                "folder": spec.folder,
                "description": spec.description,
            }
        )
    return pd.DataFrame(rows).set_index("name")


def _locate(folder: str, bundled: bool, data_home) -> Path:
    candidates = []
    if data_home is not None:
        candidates.append(Path(data_home) / folder)
    if bundled:
        candidates.append(bundled_home() / folder)
    if data_home is None:  # an explicit data_home is authoritative
        candidates.append(shared_home() / folder)
    for c in candidates:
        if c.exists():
            return c
    raise FileNotFoundError(
        f"Dataset folder {folder!r} not found; looked in: {', '.join(str(c) for c in candidates)}. "
        "The research datasets that are not bundled live in ../shared/datasets beside the "
        "checkout; pass data_home= or set QA_TOOLKIT_DATA_HOME to their location."
    )


def _spec(name: str) -> _Spec:
    if name not in _REGISTRY:
        from difflib import get_close_matches

        close = get_close_matches(str(name), list(_REGISTRY) + list(_FOLDERS), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise QAInputError(
            f"Unknown dataset {name!r}.{hint} Known: {sorted(_REGISTRY)} (list_datasets() describes them)."
        )
    return _REGISTRY[name]


def dataset_path(name: str, *, data_home: str | os.PathLike | None = None) -> Path:
    """The folder holding dataset ``name`` (a registered dataset or a raw folder name).

    Raises
    ------
    FileNotFoundError
        Naming every place looked in, when the folder is absent.

    Examples
    --------
    >>> dataset_path("cleanlab_label_errors").name
    'cleanlab_label_errors'
    """
    if name in _FOLDERS:
        folder, bundled = _FOLDERS[name]
    else:
        spec = _spec(name)
        folder, bundled = spec.folder, spec.bundled
    return _locate(folder, bundled, data_home)


def load_dataset(name: str, *, data_home: str | os.PathLike | None = None) -> Dataset:
    """Load a dataset as the canonical table plus its gold labels.

    Parameters
    ----------
    name : str
        A name from :func:`list_datasets` (snake_case after the folder).
    data_home : path-like, optional
        Folder holding the non-bundled datasets (default: ``QA_TOOLKIT_DATA_HOME`` or
        ``../shared/datasets``).

    Returns
    -------
    Dataset
        With ``.annotations`` (canonical table) and ``.gold`` (Series indexed by task,
        or None).

    Raises
    ------
    QAInputError
        Unknown name (the message lists the known ones).
    FileNotFoundError
        The data is not on this machine (the message says where it looked).

    Examples
    --------
    >>> ds = load_dataset("welinder2010_bluebirds")
    >>> ds.annotations["annotator"].nunique(), len(ds.gold)
    (39, 108)
    """
    spec = _spec(name)
    path = _locate(spec.folder, spec.bundled, data_home)
    annotations, gold, items, notes = spec.loader(path)
    return Dataset(
        name=name,
        annotations=annotations,
        gold=gold,
        description=spec.description,
        path=path,
        items=items,
        notes=notes,
    )
