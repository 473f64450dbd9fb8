"""Fields, kinds and assignments of the canonical long table (docs/DATA_MODEL.md).

Re-exported by :mod:`qa_toolkit.table`: ``get_assignments``, ``infer_kinds``, ``with_kinds``,
``KINDS``, ``DEFAULT_FIELD`` and :class:`AssignmentFrame`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError, check_columns

__all__ = ["KINDS", "DEFAULT_FIELD", "AssignmentFrame", "get_assignments", "infer_kinds", "with_kinds"]

#: The kinds a field can have (docs/DATA_MODEL.md).
KINDS = ("categorical", "multilabel", "ordinal", "interval", "span", "box", "polygon", "keypoints", "text")
#: The field of flat tables without a ``field`` column.
DEFAULT_FIELD = "label"
REQUIRED_COLUMNS = ("task", "annotator", "label")
_BOX = ["x_min", "y_min", "x_max", "y_max"]


class AssignmentFrame(pd.DataFrame):
    """The ``task, annotator[, annotation_id]`` table stored in ``data.attrs["assignments"]``.

    A plain DataFrame in every respect except equality with another AssignmentFrame, which
    is :meth:`~pandas.DataFrame.equals` (a bool). pandas compares ``attrs`` with ``==`` when
    it concatenates frames; with a plain DataFrame in ``attrs`` that comparison raises
    "truth value of a DataFrame is ambiguous".
    """

    @property
    def _constructor(self) -> type:
        return AssignmentFrame

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        if isinstance(other, AssignmentFrame):
            return self.equals(other)
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


def get_assignments(data: pd.DataFrame, assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Who was given which task: the stored or given assignments plus every labelled pair.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table; its ``attrs["assignments"]`` (set by the importers, including
        annotations with an empty result) is used when ``assignments`` is None.
    assignments : pandas.DataFrame or iterable of (task, annotator) pairs, optional
        For flat tables: the pairs that were assigned, labelled or not.

    Returns
    -------
    pandas.DataFrame
        One row per (task, annotator): columns ``task``, ``annotator`` (and
        ``annotation_id`` when the assignments have it). ``attrs["empties_counted"]`` is
        True when assignments were known (so an assigned annotator without rows marked
        nothing), False when only the labelled pairs are available.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1], "annotator": ["a"], "label": ["x"]})
    >>> out = get_assignments(df, [(1, "a"), (2, "a")])
    >>> out[["task", "annotator"]].values.tolist(), out.attrs["empties_counted"]
    ([[1, 'a'], [2, 'a']], True)
    >>> get_assignments(df).attrs["empties_counted"]
    False
    """
    check_columns(data, ("task", "annotator"), func="get_assignments")
    given = assignments if assignments is not None else data.attrs.get("assignments")
    seen = data[["task", "annotator"]]
    if given is None:
        out = seen.drop_duplicates().reset_index(drop=True)
        out.attrs = {"empties_counted": False}
        return out
    if not isinstance(given, pd.DataFrame):
        try:
            pairs = [tuple(p) for p in given]
        except TypeError:
            raise QAInputError(
                "The 'assignments' parameter of get_assignments must be a DataFrame with columns "
                f"'task', 'annotator' or an iterable of (task, annotator) pairs. Got {type(given).__name__}."
            ) from None
        if any(len(p) != 2 for p in pairs):
            bad = next(p for p in pairs if len(p) != 2)
            raise QAInputError(
                f"The 'assignments' parameter of get_assignments must hold (task, annotator) pairs; got {bad!r}."
            )
        given = pd.DataFrame(pairs, columns=["task", "annotator"])
    check_columns(given, ("task", "annotator"), name="assignments", func="get_assignments")
    keep = [c for c in ("task", "annotator", "annotation_id") if c in given.columns]
    out = pd.DataFrame(pd.concat([pd.DataFrame(given[keep]).astype({c: object for c in keep}), seen],
                                 ignore_index=True))
    out = out.drop_duplicates(["task", "annotator"]).reset_index(drop=True)
    out.attrs = {"empties_counted": True}
    return out


def _py(v: Any) -> Any:
    """numpy scalars as Python scalars, for messages."""
    return v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v


def _field_series(data: pd.DataFrame) -> pd.Series:
    if "field" in data.columns:
        return data["field"].where(data["field"].notna(), DEFAULT_FIELD)
    return pd.Series(DEFAULT_FIELD, index=data.index, dtype=object)


def _has(rows: pd.DataFrame, cols: list[str] | tuple[str, ...]) -> bool:
    """Every row has a value in at least one of ``cols``."""
    present = [c for c in cols if c in rows.columns]
    if not present:
        return False
    return bool(rows[present].notna().any(axis=1).all())


def _numeric_labels(rows: pd.DataFrame) -> tuple[bool, object]:
    """(all numeric, first offending label) for ordinal / interval fields."""
    if "value" in rows.columns and rows["value"].notna().all():
        vals = pd.to_numeric(rows["value"], errors="coerce")
        if vals.notna().all():
            return True, None
    lab_col = rows["label"]  # vectorised fast path (issue 11: 10^6 ratings in < 2 s)
    if lab_col.dtype.kind in "iuf" or (lab_col.dtype == object and pd.to_numeric(lab_col, errors="coerce").notna().all()
                                       and not lab_col.map(type).eq(bool).any()):
        return True, None
    for lab in rows["label"]:
        if isinstance(lab, bool):
            return False, lab
        try:
            float(lab)
        except (TypeError, ValueError):
            return False, lab
    return True, None


_NEEDS = {
    "box": (_BOX, "box columns x_min, y_min, x_max, y_max"),
    "polygon": (("points", "rle"), "'points' or 'rle'"),
    "keypoints": (("keypoints", "points"), "'keypoints' or 'points'"),
    "span": (("start",), "'start' and 'end'"),
}


def _infer_one(rows: pd.DataFrame) -> str:
    if all(c in rows.columns for c in _BOX) and rows[_BOX].notna().all(axis=1).all():
        return "box"
    if "keypoints" in rows.columns and rows["keypoints"].notna().all():
        return "keypoints"
    if _has(rows, ("points", "rle")):
        return "polygon"
    if "start" in rows.columns and "end" in rows.columns and rows[["start", "end"]].notna().all(axis=1).all():
        return "span"
    # Several labels per (task, annotator) are never guessed to be multi-label: in a flat
    # table they may as well be test-retest repeats. The engines refuse them and name
    # ``kinds={field: "multilabel"}`` and ``intra_annotator_agreement`` (docs/DATA_MODEL.md).
    return "categorical"


def infer_kinds(data: pd.DataFrame, kinds: dict[str, str] | None = None) -> dict[str, str]:
    """The kind of every field: the ``kind`` column, else inferred; ``kinds`` overrides.

    Inference (docs/DATA_MODEL.md): box columns → ``box``, ``keypoints`` → ``keypoints``,
    ``points``/``rle`` → ``polygon``, ``start``/``end`` → ``span``, otherwise
    ``categorical``: several labels per (task, annotator) are not guessed to be
    multi-label (they may be test-retest repeats); say ``kinds={"label": "multilabel"}``.
    A table without a ``field`` column has the single field ``"label"``.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    kinds : dict of {field: kind}, optional
        Overrides, e.g. ``{"sentiment": "ordinal"}``; checked against the values.

    Returns
    -------
    dict of {str: str}
        Field → kind, fields in order of first appearance.

    Raises
    ------
    QAInputError
        An unknown kind or a field that is not in ``data``.
    AnnotationFormatError
        A ``kind`` column that is not constant within a field, or a kind that does not fit
        the values (``interval`` on text labels, ``box`` without box columns), naming the
        field and the first offending record.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 1], "annotator": ["a", "a", "b"], "label": ["x", "y", "x"]})
    >>> infer_kinds(df)
    {'label': 'categorical'}
    >>> infer_kinds(df, {"label": "multilabel"})
    {'label': 'multilabel'}
    >>> infer_kinds(pd.DataFrame({"task": [1], "annotator": ["a"], "label": ["4"]}), {"label": "ordinal"})
    {'label': 'ordinal'}
    """
    check_columns(data, REQUIRED_COLUMNS, func="infer_kinds")
    if "field" in data.columns:
        fields = _field_series(data)
        order = list(pd.unique(fields))
        groups = {f: data.loc[fields == f] for f in order} if len(order) != 1 else {order[0]: data}
    else:  # one field: no per-row field series to build and compare (issue 14: 0.4 s per 10^6 rows)
        order, groups = [DEFAULT_FIELD], {DEFAULT_FIELD: data}
    out: dict[str, str] = {}
    for f, rows in groups.items():
        if "kind" in rows.columns and rows["kind"].notna().any():
            found = pd.unique(rows["kind"].dropna())
            if len(found) > 1:
                raise AnnotationFormatError(
                    f"infer_kinds: field {f!r} has several kinds {sorted(map(str, found))}; "
                    "a field has one kind (split it into several fields)."
                )
            kind = found[0]
            if kind not in KINDS:
                raise AnnotationFormatError(
                    f"infer_kinds: field {f!r} has the unknown kind {kind!r}; expected one of {list(KINDS)}."
                )
            out[str(f)] = str(kind)
        else:
            out[str(f)] = _infer_one(rows)
    for f, kind in (kinds or {}).items():
        if kind not in KINDS:
            raise QAInputError(
                f"The 'kinds' parameter gives field {f!r} the unknown kind {kind!r}; expected one of {list(KINDS)}."
            )
        if f not in groups:
            raise QAInputError(
                f"The 'kinds' parameter names field {f!r}, which is not in the data; fields: {order[:20]}."
            )
        rows = groups[f]
        if kind in ("ordinal", "interval"):
            ok, bad = _numeric_labels(rows)
            if not ok:
                r = rows.loc[rows["label"].map(lambda v, b=bad: v is b or v == b)].iloc[0]
                raise AnnotationFormatError(
                    f"Field {f!r} cannot be of kind {kind!r}: its values are not numbers "
                    f"(label {bad!r} for task {_py(r['task'])!r}, annotator {_py(r['annotator'])!r}). "
                    "Use 'categorical' or 'multilabel', or map the labels to numbers in a 'value' column."
                )
        elif kind in _NEEDS:
            cols, what = _NEEDS[kind]
            if not _has(rows, cols):
                raise AnnotationFormatError(
                    f"Field {f!r} cannot be of kind {kind!r}: its rows lack {what}."
                )
        out[f] = kind
    return out


def with_kinds(data: pd.DataFrame, kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """Return a copy with ``field`` (default ``"label"``) and ``kind`` columns filled.

    ``kinds`` overrides as in :func:`infer_kinds`; ``attrs`` (assignments) are kept.
    """
    resolved = infer_kinds(data, kinds)
    out = data.copy()
    out["field"] = _field_series(data).to_numpy()
    out["kind"] = out["field"].map(resolved).to_numpy()
    out.attrs = dict(data.attrs)
    return out
