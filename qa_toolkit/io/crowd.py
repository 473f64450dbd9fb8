"""Readers for the research crowdsourcing formats (the real data in ``datasets/``).

Each reader takes a path and returns the canonical long table (``task``,
``annotator``, ``label`` plus what the format has). Gold labels are read by
:mod:`qa_toolkit.datasets`, which knows where each dataset keeps them.

Formats
-------
zheng
    Zheng et al. (2017) truth-inference sets: ``answer.csv`` with ``question,worker,answer``
    (``id,worker,answer`` for D_PosSent).
snow
    Snow et al. (2008) ``*.standardized.tsv``: ``!amt_annotation_ids, !amt_worker_ids,
    orig_id, response, gold``.
gal
    Get-Another-Label ``labels.txt``: ``worker<TAB>object<TAB>label``, no header.
lewidi
    LeWiDi 2023 JSON: ``{item_id: {"annotations": "0,1,..", "annotators": "Ann1,..", "split": ..}}``.
cifar10n
    CIFAR-10N ``cifar10n_labels_DERIVED.csv`` with ``side_info_cifar10N.csv`` beside it.
dawid_skene
    Dawid & Skene (1979) ``patient;observer;response`` (observer 1 repeats: ``annotation_id``).
bluebirds
    Welinder et al. (2010) ``labels.yaml``: ``{worker: {image: true|false}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from qa_toolkit._validation import AnnotationFormatError, QAInputError
from qa_toolkit.table import canonical_frame

_F = TypeVar("_F", bound=Callable[..., Any])


def _layer(fmt: str) -> Callable[[_F], _F]:
    """The crowd readers' error layer: stray parsing errors become AnnotationFormatError naming the file."""
    import functools

    def deco(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return func(path, *args, **kwargs)
            except (AnnotationFormatError, QAInputError, FileNotFoundError):
                raise
            except (LookupError, TypeError, ValueError, AttributeError, RecursionError, OverflowError,
                    UnicodeError, OSError) as exc:
                raise AnnotationFormatError(
                    f"{path}: could not be read as {fmt}: {type(exc).__name__}: {str(exc)[:200]}"
                ) from None

        return wrapper  # type: ignore[return-value]

    return deco

__all__ = [
    "CROWD_FORMATS",
    "detect_crowd_format",
    "read_zheng",
    "read_snow",
    "read_gal",
    "read_lewidi",
    "read_lewidi_texts",
    "read_cifar10n",
    "read_dawid_skene",
    "read_bluebirds",
    "read_crowd",
]


def _path(path: Any, default_name: str | None = None) -> Path:
    p = Path(path)
    if p.is_dir() and default_name is not None:
        p = p / default_name
    if not p.exists():
        raise FileNotFoundError(f"File not found: {p} (expected an existing file or folder)")
    if p.stat().st_size == 0:
        raise AnnotationFormatError(f"{p} is empty: expected annotations.")
    return p


def _read_csv(p: Path, **kw: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(p, **kw)
    except UnicodeDecodeError as exc:
        raise AnnotationFormatError(f"{p} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise AnnotationFormatError(f"{p} could not be parsed as a table: {exc}") from None


def _need(df: pd.DataFrame, cols: list[str], p: Path, fmt: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise AnnotationFormatError(
            f"{p} is not a {fmt} file: expected columns {cols}, missing {missing}; "
            f"got {list(df.columns)}."
        )


@_layer("a Zheng answer.csv")
def read_zheng(path: Any) -> pd.DataFrame:
    """Read a Zheng et al. (2017) ``answer.csv`` (or its folder).

    Examples
    --------
    >>> from qa_toolkit.datasets import dataset_path
    >>> df = read_zheng(dataset_path("zheng2017_d_possent"))  # doctest: +SKIP
    """
    p = _path(path, "answer.csv")
    df = _read_csv(p, dtype={"question": str, "id": str, "worker": str})
    if "id" in df.columns and "question" not in df.columns:
        df = df.rename(columns={"id": "question"})
    _need(df, ["question", "worker", "answer"], p, "Zheng answer.csv")
    out = pd.DataFrame({"task": df["question"], "annotator": df["worker"], "label": df["answer"]})
    if pd.api.types.is_numeric_dtype(df["answer"]):
        out["value"] = df["answer"].astype(float)
    out["source"] = p.parent.name + "/" + p.name
    return canonical_frame(out)


@_layer("a Snow standardized.tsv")
def read_snow(path: Any) -> pd.DataFrame:
    """Read a Snow et al. (2008) ``*.standardized.tsv`` file.

    Numeric scales (affect, wordsim) also fill ``value``.
    """
    p = _path(path)
    df = _read_csv(p, sep="\t", dtype={"!amt_worker_ids": str, "orig_id": str})
    _need(df, ["!amt_worker_ids", "orig_id", "response"], p, "Snow standardized.tsv")
    out = pd.DataFrame(
        {
            "task": df["orig_id"],
            "annotator": df["!amt_worker_ids"],
            "label": df["response"],
            "annotation_id": df.get("!amt_annotation_ids"),
        }
    )
    if pd.api.types.is_numeric_dtype(df["response"]):
        out["value"] = df["response"].astype(float)
    out["source"] = p.name
    return canonical_frame(out)


@_layer("a GAL labels.txt")
def read_gal(path: Any) -> pd.DataFrame:
    """Read a Get-Another-Label ``labels.txt`` (worker, object, label; tab-separated, no header)."""
    p = _path(path, "labels.txt")
    df = _read_csv(p, sep="\t", header=None, dtype=str, quoting=3, keep_default_na=False)
    if df.shape[1] != 3:
        raise AnnotationFormatError(
            f"{p} is not a GAL labels.txt: expected 3 tab-separated fields "
            f"(worker, object, label), got {df.shape[1]}."
        )
    out = pd.DataFrame({"task": df[1], "annotator": df[0], "label": df[2]})
    out["source"] = p.parent.name + "/" + p.name
    return canonical_frame(out)


def _lewidi_list(v: Any, p: Path, key: str, field: str) -> list[str]:
    """A LeWiDi field: ``"0,1,1"``, a JSON list ``[0, 1, 1]`` or its text ``"[0, 1, 1]"``."""
    if isinstance(v, str) and v.strip().startswith("["):
        try:
            v = json.loads(v)
        except json.JSONDecodeError:
            raise AnnotationFormatError(f"{p}, item {key!r}: field {field!r} looks like a JSON list but "
                                        f"does not parse: {v[:40]!r}.") from None
    if isinstance(v, list):
        if not all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v):
            raise AnnotationFormatError(f"{p}, item {key!r}: field {field!r} must be a list of labels or "
                                        f"names (strings or numbers), got {str(v)[:40]}.")
        return [str(x) for x in v]
    if isinstance(v, (str, int)) and not isinstance(v, bool):
        return str(v).split(",")
    raise AnnotationFormatError(f"{p}, item {key!r}: field {field!r} must be a comma-separated string or a "
                                f"list, got {type(v).__name__}.")


@_layer("a LeWiDi JSON file")
def read_lewidi(path: Any) -> pd.DataFrame:
    """Read a LeWiDi 2023 JSON file; task ids are ``<split>_<item key>``.

    ``annotations`` and ``annotators`` are comma-separated strings in the release; JSON
    lists (or their text) are read as lists.
    """
    p = _path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise AnnotationFormatError(f"{p} is not UTF-8 text ({exc.reason}).") from None
    except json.JSONDecodeError as exc:
        raise AnnotationFormatError(f"{p} is not valid JSON: {exc.msg} at line {exc.lineno}.") from None
    if not isinstance(data, dict):
        raise AnnotationFormatError(f"{p}: expected a JSON object of items, got {type(data).__name__}.")
    tasks, annotators, labels, splits = [], [], [], []
    for key, item in data.items():
        if not isinstance(item, dict) or "annotations" not in item or "annotators" not in item:
            raise AnnotationFormatError(
                f"{p}, item {key!r}: expected fields 'annotations' and 'annotators' (LeWiDi format)."
            )
        labs = _lewidi_list(item["annotations"], p, key, "annotations")
        anns = _lewidi_list(item["annotators"], p, key, "annotators")
        if len(labs) != len(anns):
            raise AnnotationFormatError(
                f"{p}, item {key!r}: {len(labs)} annotations but {len(anns)} annotators."
            )
        split = item.get("split", p.stem.rsplit("_", 1)[-1])
        tasks += [f"{split}_{key}"] * len(labs)
        annotators += [a.strip() for a in anns]
        labels += [v.strip() for v in labs]
        splits += [split] * len(labs)
    out = pd.DataFrame({"task": tasks, "annotator": annotators, "label": labels, "split": splits})
    out = out[out["label"].ne("")]  # MD-Agreement/ConvAbuse pad with empty strings
    out["source"] = p.name
    return canonical_frame(out)


@_layer("a LeWiDi JSON file")
def read_lewidi_texts(path: Any) -> pd.Series:
    """Item texts of a LeWiDi JSON file, indexed by the same task ids as :func:`read_lewidi`."""
    p = _path(path)
    data = json.loads(p.read_text(encoding="utf-8"))
    return pd.Series(
        {f"{item.get('split', '')}_{k}": item.get("text") for k, item in data.items()}, name="text"
    ).rename_axis("task")


@_layer("CIFAR-10N")
def read_cifar10n(path: Any) -> pd.DataFrame:
    """Read CIFAR-10N: three human labels per CIFAR-10 train image with worker ids.

    ``random_label{k}`` comes from ``Worker{k}-id`` of the image's batch of ten in
    ``side_info_cifar10N.csv``; ``lead_time`` is the batch's work time divided by the
    batch size (the release gives time per batch, not per image). Label codes are the
    CIFAR-10 class indices 0-9.
    """
    p = _path(path, "cifar10n_labels_DERIVED.csv")
    labels = _read_csv(p)
    _need(labels, ["train_index", "random_label1", "random_label2", "random_label3"], p, "CIFAR-10N labels")
    side_p = p.parent / "side_info_cifar10N.csv"
    side = _read_csv(_path(side_p))
    bounds = side["Image-batch"].str.split("--", expand=True).astype(int)
    size = bounds[1] - bounds[0] + 1
    batch_of = np.repeat(np.arange(len(side)), size.to_numpy())
    start_of = np.repeat(bounds[0].to_numpy(), size.to_numpy())
    img_ids = start_of + np.concatenate([np.arange(s) for s in size.to_numpy()])
    order = np.empty(len(labels), dtype=np.int64)
    order[img_ids] = batch_of  # image index -> batch row
    b = order[labels["train_index"].to_numpy()]
    frames = []
    for k in (1, 2, 3):
        frames.append(
            pd.DataFrame(
                {
                    "task": labels["train_index"].to_numpy(),
                    "annotator": side[f"Worker{k}-id"].to_numpy()[b].astype(str),
                    "label": labels[f"random_label{k}"].to_numpy(),
                    "lead_time": side[f"Work-time-in-seconds-{k}"].to_numpy()[b] / size.to_numpy()[b],
                    "batch": b,
                }
            )
        )
    # stable sort on task keeps random_label1, 2, 3 in that order within each image
    out = pd.concat(frames, ignore_index=True).sort_values("task", kind="stable")
    out["source"] = p.name
    return canonical_frame(out)


@_layer("a Dawid-Skene table")
def read_dawid_skene(path: Any) -> pd.DataFrame:
    """Read the Dawid & Skene (1979) table (``patient;observer;response``).

    Observer 1 examined every patient three times: the repeats are kept as separate
    rows told apart by ``annotation_id`` (``<observer>-<k>``), as in the paper.
    """
    p = _path(path, "dawid_skene_1979_long.csv")
    df = _read_csv(p, sep=";")
    _need(df, ["patient", "observer", "response"], p, "Dawid-Skene")
    rep = df.groupby(["patient", "observer"]).cumcount()
    out = pd.DataFrame(
        {
            "task": df["patient"],
            "annotator": df["observer"],
            "label": df["response"],
            "annotation_id": df["observer"].astype(str) + "-" + rep.astype(str),
        }
    )
    out["source"] = p.name
    return canonical_frame(out)


_YAML_ROW = re.compile(r"^\s*([^:\s]+)\s*:\s*(true|false)\s*$", re.IGNORECASE)


def _read_bool_yaml(p: Path) -> dict[Any, Any]:
    import yaml

    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise AnnotationFormatError(f"{p} is not UTF-8 text ({exc.reason}).") from None
    except yaml.YAMLError as exc:
        raise AnnotationFormatError(f"{p} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise AnnotationFormatError(f"{p}: expected a YAML mapping, got {type(data).__name__}.")
    return data


@_layer("a bluebirds labels.yaml")
def read_bluebirds(path: Any) -> pd.DataFrame:
    """Read Welinder et al. (2010) ``labels.yaml`` ({worker: {image: true|false}}); labels 1/0.

    Only YAML booleans are labels: a quoted ``"false"``, ``maybe``, a number or an empty
    value is an error naming the worker and the image.
    """
    p = _path(path, "labels.yaml")
    data = _read_bool_yaml(p)
    tasks, annotators, labels = [], [], []
    for worker, row in data.items():
        if not isinstance(row, dict):
            raise AnnotationFormatError(f"{p}, worker {worker!r}: expected a mapping image -> true/false.")
        for image, v in row.items():
            if not isinstance(v, bool):
                raise AnnotationFormatError(
                    f"{p}, worker {worker!r}, image {image!r}: expected true or false, got {v!r}."
                )
        tasks += list(row.keys())
        annotators += [worker] * len(row)
        labels += [int(v) for v in row.values()]
    out = pd.DataFrame({"task": tasks, "annotator": annotators, "label": labels})
    out["source"] = p.name
    return canonical_frame(out)


CROWD_FORMATS: dict[str, Callable[..., pd.DataFrame]] = {
    "zheng": read_zheng,
    "snow": read_snow,
    "gal": read_gal,
    "lewidi": read_lewidi,
    "cifar10n": read_cifar10n,
    "dawid_skene": read_dawid_skene,
    "bluebirds": read_bluebirds,
}


def read_crowd(path: Any, *, format: str) -> pd.DataFrame:  # noqa: A002 - mirrors read_annotations
    """Read ``path`` in one of :data:`CROWD_FORMATS`."""
    from qa_toolkit._validation import check_option

    check_option("format", format, CROWD_FORMATS, func="read_crowd")
    return CROWD_FORMATS[format](path)


def detect_crowd_format(path: Any, head: bytes) -> str | None:
    """Guess a crowd format from the file's first bytes; ``None`` when none matches.

    Examples
    --------
    >>> detect_crowd_format("answer.csv", b"question,worker,answer\\n1,w,0\\n")
    'zheng'
    >>> detect_crowd_format("x.csv", b"a,b\\n") is None
    True
    """
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0].strip() if text.strip() else ""
    if first in ("question,worker,answer", "id,worker,answer"):
        return "zheng"
    if first.startswith("!amt_annotation_ids"):
        return "snow"
    if first.replace(" ", "") == "patient;observer;response":
        return "dawid_skene"
    if first.startswith("train_index,clean_label"):
        return "cifar10n"
    if re.match(r"^\s*[^\s:{]+\s*:\s*\{\s*[^\s:]+\s*:\s*(true|false)", text, re.IGNORECASE):
        return "bluebirds"
    if text.lstrip().startswith("{") and '"annotators"' in text and '"annotations"' in text:
        return "lewidi"
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if len(lines) >= 2 and all(ln.count("\t") == 2 for ln in lines[:-1]) and "," not in first:
        return "gal"
    return None
