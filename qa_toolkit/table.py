"""The canonical long annotation table, its validation and its named matrix converters.

One row per label an annotator gave: columns ``task``, ``annotator``, ``label`` and,
where the source has them, the optional columns in :data:`OPTIONAL_COLUMNS`.
Regions (boxes, polygons, spans) give several rows per task and annotator.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAWarning, check_option

__all__ = [
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "AnnotationWarning",
    "validate_annotations",
    "to_wide",
    "to_counts",
    "from_wide",
    "canonical_frame",
    "KINDS",
    "DEFAULT_FIELD",
    "get_assignments",
    "infer_kinds",
    "with_kinds",
    "AssignmentFrame",
]

REQUIRED_COLUMNS = ("task", "annotator", "label")
#: Optional columns with their meaning everywhere in qa_toolkit.
OPTIONAL_COLUMNS = (
    "created_at",  # UTC datetime
    "lead_time",  # seconds
    "x_min", "y_min", "x_max", "y_max",  # boxes, pixels
    "points",  # polygons: list of (x, y) pixel pairs
    "start", "end", "text",  # spans, character offsets
    "value",  # numeric ratings
    "score",  # model confidence
    "ground_truth",  # bool
    "source",  # which file / tool the row came from
    "image_width", "image_height",  # pixels, for boxes
)
_BOX = ["x_min", "y_min", "x_max", "y_max"]


class AnnotationWarning(QAWarning):
    """Rows were skipped or repaired while reading or validating annotations."""


def canonical_frame(records: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Build a table with the canonical columns first, in the canonical order.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        Rows with at least ``task``, ``annotator`` and ``label``.

    Returns
    -------
    pandas.DataFrame
        Columns ``task, annotator, label`` followed by the optional columns present,
        then any other column; a fresh ``RangeIndex``.

    Examples
    --------
    >>> canonical_frame([{"label": "cat", "annotator": "a", "task": 1}]).columns.tolist()
    ['task', 'annotator', 'label']
    """
    df = records.copy() if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(records)
    for col in REQUIRED_COLUMNS:
        if col not in df.columns:
            df[col] = pd.Series(dtype=object)
    order = list(REQUIRED_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in df.columns]
    order += [c for c in df.columns if c not in order]
    df = df[order].reset_index(drop=True)
    if "created_at" in df.columns and not isinstance(df["created_at"].dtype, pd.DatetimeTZDtype):
        raw = df["created_at"]
        when = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
        lost = raw.notna() & when.isna()
        if lost.any():  # never a silent NaT: count them and name the first
            i = int(np.flatnonzero(lost.to_numpy())[0])
            warnings.warn(
                f"{int(lost.sum())} unparseable 'created_at' value(s) set to NaT (first: {raw.iloc[i]!r} "
                f"in {record_name(df, i)}); expected ISO 8601 dates.",
                AnnotationWarning,
                stacklevel=2,
            )
        df["created_at"] = when
    return df


def _where(source: str | None) -> str:
    return f" in {source}" if source else ""


from qa_toolkit._table_checks import (  # noqa: E402
    box_problems,
    non_scalar,
    point_problems,
    py_value,
    record_name,
    rows_phrase,
)


def validate_annotations(
    data: pd.DataFrame,
    *,
    errors: str = "raise",
    source: str | None = None,
) -> pd.DataFrame:
    """Check a canonical annotation table and return it (a cleaned copy under ``errors='warn'``).

    Checks: the required columns exist; the table is not empty; no missing ``task``,
    ``annotator`` or ``label``; no exact duplicate rows; boxes have positive area and lie
    inside the image when its size is known; spans have ``start < end``; ``lead_time``
    is not negative.

    Parameters
    ----------
    data : pandas.DataFrame
        The canonical long table.
    errors : {'raise', 'warn'}, default='raise'
        ``'raise'``: the first problem raises :class:`AnnotationFormatError`.
        ``'warn'``: offending rows are dropped, counted and reported in one
        :class:`AnnotationWarning`; nothing is dropped silently.
    source : str, optional
        File name to cite in messages.

    Returns
    -------
    pandas.DataFrame
        The table (a copy without the offending rows under ``errors='warn'``).

    Raises
    ------
    AnnotationFormatError
        With a message naming the file, rows and field, what was expected and what came.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1], "annotator": ["a", "b"], "label": ["x", None]})
    >>> validate_annotations(df)
    Traceback (most recent call last):
    ...
    qa_toolkit._validation.AnnotationFormatError: Field 'label' is missing (NaN/None) in record task 1, annotator 'b'; expected a label for every row.
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     len(validate_annotations(df, errors="warn"))
    1
    """
    check_option("errors", errors, ["raise", "warn"], func="validate_annotations")
    where = _where(source)
    if not isinstance(data, pd.DataFrame):
        raise AnnotationFormatError(
            f"Annotations{where} must be a pandas DataFrame with columns 'task', 'annotator', "
            f"'label'. Got {type(data).__name__} instead."
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
    if missing:
        raise AnnotationFormatError(
            f"Annotations{where} lack the required column(s) {missing}; expected "
            f"{list(REQUIRED_COLUMNS)}, got columns {list(map(str, data.columns))}."
        )
    if len(data) == 0:
        raise AnnotationFormatError(f"Annotations{where} are empty: expected at least one row.")

    problems: list[tuple[str, np.ndarray]] = []
    notes: list[str] = []

    def rec(mask: np.ndarray) -> str:
        return rows_phrase(mask, data=data)

    for col in REQUIRED_COLUMNS:
        bad = data[col].isna().to_numpy()
        if bad.any():
            problems.append(
                (f"Field {col!r} is missing (NaN/None) in {rec(bad)}{where}; "
                 f"expected a {col} for every row.", bad)
            )
        bad = non_scalar(data[col])
        if bad.any():  # lists or dicts crash every analysis with "unhashable type"
            v = data[col][bad].iloc[0]
            problems.append(
                (f"Field {col!r} must hold single values (a string or number) in {rec(bad)}{where}; "
                 f"got {type(v).__name__} {str(v)[:40]}.", bad)
            )
    # Rows are duplicates when task, annotator, label, geometry, span, time and the
    # source's annotation id and control name (``field``) all agree (repeated readings,
    # e.g. Dawid & Skene's observer 1, stay distinct).
    key = [
        c for c in data.columns
        if c in REQUIRED_COLUMNS or c in _BOX or c in ("start", "end", "created_at", "annotation_id", "field", "_row")
    ]  # ``_row``: the importers have already merged exact duplicates (counted) and mark rows distinct
    try:
        dup = data[key].duplicated().to_numpy()
    except TypeError:  # unhashable cells (e.g. list labels): compare their text
        dup = data[key].astype(str).duplicated().to_numpy()
    if dup.any():
        problems.append(
            (f"{int(dup.sum())} duplicate row(s){where} ({rec(dup)}): the same task, annotator, "
             f"label{' and geometry' if len(key) > 3 else ''} appear more than once.", dup)
        )
    kind = data["kind"].to_numpy(dtype=object) if "kind" in data.columns else np.full(len(data), None, dtype=object)
    iw = ih = None
    for col in ("image_width", "image_height"):
        if col in data.columns:
            num = pd.to_numeric(data[col], errors="coerce")
            bad = (data[col].notna() & num.isna()).to_numpy()
            if bad.any():
                problems.append((f"Field {col!r} is not a number in {rec(bad)}{where}: expected the image size "
                                 f"in pixels, got {py_value(data[col][bad].iloc[0])!r}.", bad))
    if "image_width" in data.columns and "image_height" in data.columns:
        iw = pd.to_numeric(data["image_width"], errors="coerce").to_numpy(dtype=float)
        ih = pd.to_numeric(data["image_height"], errors="coerce").to_numpy(dtype=float)
    if all(c in data.columns for c in _BOX):
        problems += box_problems(data, kind, iw, ih, rec, where, notes)
    if "points" in data.columns:
        problems += point_problems(data, kind, iw, ih, rec, where)
    if "start" in data.columns and "end" in data.columns:
        st = pd.to_numeric(data["start"], errors="coerce").to_numpy(dtype=float)
        en = pd.to_numeric(data["end"], errors="coerce").to_numpy(dtype=float)
        span = np.isin(kind, ["span"]) | (~np.isnan(st) | ~np.isnan(en))
        checks = [
            (span & (np.isnan(st) != np.isnan(en)), "Span with only one of start/end", "expected both offsets"),
            (~np.isnan(st) & (st < 0), "Span with a negative start", "expected start >= 0"),
            (~np.isnan(st) & ~np.isnan(en) & (en <= st), "Span with end <= start", "expected start < end"),
        ]
        if "_doc_len" in data.columns:
            dl = pd.to_numeric(data["_doc_len"], errors="coerce").to_numpy(dtype=float)
            checks.append((~np.isnan(dl) & ~np.isnan(en) & (en > dl), "Span beyond the end of the text",
                           "expected end <= the text's length"))
        for bad, what, expected in checks:
            if bad.any():
                problems.append((f"{what} in {rec(bad)}{where}: {expected}.", bad))
    if "lead_time" in data.columns:
        lt = pd.to_numeric(data["lead_time"], errors="coerce").to_numpy(dtype=float)
        bad = lt < 0
        if bad.any():
            problems.append((f"Negative 'lead_time' in {rec(bad)}{where}: expected seconds >= 0.", bad))
    if notes:
        warnings.warn(f"Annotations{where}: " + " ".join(notes), AnnotationWarning, stacklevel=2)

    if not problems:
        return data
    if errors == "raise":
        raise AnnotationFormatError(problems[0][0])
    drop = np.zeros(len(data), dtype=bool)
    for _, mask in problems:
        drop |= mask
    warnings.warn(
        f"Dropped {int(drop.sum())} of {len(data)} record(s){where}: "
        + " ".join(msg for msg, _ in problems),
        AnnotationWarning,
        stacklevel=2,
    )
    return data.loc[~drop].reset_index(drop=True)


def _single_label(data: pd.DataFrame, func: str) -> pd.DataFrame:
    from qa_toolkit._validation import check_columns

    check_columns(data, REQUIRED_COLUMNS, func=func)
    d = data[list(REQUIRED_COLUMNS)]
    if d["label"].isna().any():
        raise AnnotationFormatError(
            f"{func}: field 'label' is missing (NaN) in {int(d['label'].isna().sum())} row(s); "
            "drop or fill them first (validate_annotations(df, errors='warn') drops them)."
        )
    return d


def to_wide(data: pd.DataFrame) -> pd.DataFrame:
    """Convert the long table to a task × annotator label matrix.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table with one label per (task, annotator).

    Returns
    -------
    pandas.DataFrame of shape (n_tasks, n_annotators)
        Index ``task`` (sorted), columns ``annotator`` (sorted); cells hold the label,
        NaN where the annotator did not label the task. This is cleanlab's
        multi-annotator orientation (transpose it for ``krippendorff.alpha``).

    Raises
    ------
    AnnotationFormatError
        When an annotator gave several labels to one task (regions): reduce them first.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    >>> to_wide(df)
    annotator  a    b
    task
    1          x    y
    2          x  NaN
    """
    d = _single_label(data, "to_wide")
    dup = d.duplicated(["task", "annotator"])
    if dup.any():
        first = d.loc[dup].iloc[0]
        raise AnnotationFormatError(
            f"to_wide needs one label per (task, annotator); task {first['task']!r} has several "
            f"labels from annotator {first['annotator']!r} ({int(dup.sum())} such extra rows). "
            "Region annotations must be matched or reduced before converting."
        )
    t_codes, tasks = pd.factorize(d["task"], sort=True)
    a_codes, annotators = pd.factorize(d["annotator"], sort=True)
    out = np.full((len(tasks), len(annotators)), np.nan, dtype=object)
    out[t_codes, a_codes] = d["label"].to_numpy(dtype=object)
    wide = pd.DataFrame(out, index=pd.Index(tasks, name="task"), columns=pd.Index(annotators, name="annotator"))
    return wide.infer_objects()


def to_counts(data: pd.DataFrame, *, labels: list | None = None) -> pd.DataFrame:
    """Convert the long table to a task × label count matrix.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical long table.
    labels : list, optional
        The label set and its column order; labels in ``data`` outside it raise.
        Default: the sorted distinct labels.

    Returns
    -------
    pandas.DataFrame of shape (n_tasks, n_labels)
        Index ``task`` (sorted), columns ``label``; cell = how many rows gave that label
        to that task (int64). The input of Fleiss' κ, of Krippendorff's α by value counts
        and of Dawid-Skene.

    Examples
    --------
    >>> df = pd.DataFrame({"task": [1, 1, 2], "annotator": ["a", "b", "a"], "label": ["x", "y", "x"]})
    >>> to_counts(df)
    label  x  y
    task
    1      1  1
    2      1  0
    """
    d = _single_label(data, "to_counts")
    t_codes, tasks = pd.factorize(d["task"], sort=True)
    if labels is None:
        l_codes, cats = pd.factorize(d["label"], sort=True)
    else:
        cats = pd.Index(list(labels))
        if cats.has_duplicates:
            raise AnnotationFormatError("to_counts: the 'labels' parameter has duplicates.")
        l_codes = cats.get_indexer(d["label"])
        if (l_codes < 0).any():
            unknown = pd.unique(d["label"][l_codes < 0])[:5].tolist()
            raise AnnotationFormatError(
                f"to_counts: label(s) {unknown} are not in the 'labels' parameter {list(cats)[:20]}."
            )
    flat = np.bincount(t_codes * len(cats) + l_codes, minlength=len(tasks) * len(cats))
    return pd.DataFrame(
        flat.reshape(len(tasks), len(cats)).astype(np.int64),
        index=pd.Index(tasks, name="task"),
        columns=pd.Index(cats, name="label"),
    )


def from_wide(wide: pd.DataFrame) -> pd.DataFrame:
    """Convert a task × annotator label matrix back to the canonical long table.

    Parameters
    ----------
    wide : pandas.DataFrame of shape (n_tasks, n_annotators)
        Index = tasks, columns = annotators, NaN = not labelled (cleanlab's orientation).

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``annotator``, ``label``; one row per non-missing cell,
        ordered by task then annotator.

    Examples
    --------
    >>> w = pd.DataFrame({"a": ["x", "x"], "b": ["y", None]}, index=[1, 2])
    >>> from_wide(w)
       task annotator label
    0     1         a     x
    1     1         b     y
    2     2         a     x
    """
    if not isinstance(wide, pd.DataFrame):
        raise AnnotationFormatError(
            f"from_wide expects a pandas DataFrame (tasks as rows, annotators as columns). "
            f"Got {type(wide).__name__} instead."
        )
    values = wide.to_numpy(dtype=object)
    present = ~pd.isna(values)
    t_idx, a_idx = np.nonzero(present)
    labels = pd.Series(values[t_idx, a_idx]).infer_objects()
    return pd.DataFrame(
        {
            "task": wide.index.to_numpy()[t_idx],
            "annotator": wide.columns.to_numpy()[a_idx],
            "label": labels.to_numpy(),
        }
    )



from qa_toolkit._kinds import (  # noqa: E402 - re-exported; _kinds does not import this module
    DEFAULT_FIELD,
    KINDS,
    AssignmentFrame,
    get_assignments,
    infer_kinds,
    with_kinds,
)
