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
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from qa_toolkit._validation import QAInputError
from qa_toolkit.io import crowd
from qa_toolkit.table import from_wide

__all__ = ["Dataset", "list_datasets", "load_dataset", "dataset_path", "bundled_home", "shared_home"]

_PKG_ROOT = Path(__file__).resolve().parents[1]
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


@dataclass(frozen=True)
class _Spec:
    folder: str
    bundled: bool
    description: str
    loader: Callable[[Path], tuple[pd.DataFrame, pd.Series | None, pd.DataFrame | None, dict]]


def _gold(series: pd.Series) -> pd.Series:
    return series.rename("gold").rename_axis("task")


# --- loaders -----------------------------------------------------------------------


def _dedupe(df: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    key = [c for c in ("task", "annotator", "label", "annotation_id") if c in df.columns]
    dup = df.duplicated(key)
    return df.loc[~dup].reset_index(drop=True), {"exact_duplicate_rows_dropped": int(dup.sum())}


def _zheng(sub: str):
    def load(home: Path):
        folder = home / sub
        df = crowd.read_zheng(folder)
        truth = pd.read_csv(folder / "truth.csv", dtype=str)
        truth.columns = ["task", "truth"]
        label_is_num = pd.api.types.is_numeric_dtype(df["label"])
        gold = truth.set_index("task")["truth"]
        if label_is_num:
            gold = pd.to_numeric(gold)
        gold = _gold(gold)
        items = None
        if (folder / "items_product.txt").exists():
            items = _product_items(folder / "items_product.txt")
        notes = {"gold_tasks": len(gold), "gold_tasks_with_labels": int(gold.index.isin(df["task"]).sum())}
        df, d = _dedupe(df)
        return df, gold, items, {**notes, **d}

    return load


def _product_items(p: Path) -> pd.DataFrame | None:
    try:
        raw = pd.read_csv(p, sep="\t", header=None, dtype=str, quoting=3, on_bad_lines="skip")
    except (pd.errors.ParserError, UnicodeDecodeError):
        return None
    if raw.shape[1] < 2:
        return None
    raw = raw.iloc[:, :2]
    raw.columns = ["task", "text"]
    return raw.drop_duplicates("task").set_index("task")


def _snow(name: str):
    def load(home: Path):
        p = home / f"{name}.standardized.tsv"
        df = crowd.read_snow(p)
        raw = pd.read_csv(p, sep="\t", dtype={"orig_id": str})
        gold = _gold(raw.drop_duplicates("orig_id").set_index("orig_id")["gold"])
        df, d = _dedupe(df)
        return df, gold, None, d

    return load


def _gal(sub: str, gold_file: str | None):
    def load(home: Path):
        df = crowd.read_gal(home / sub)
        # HITspam-UsingMTurk labels YES/NO while its gold says Yes/No: normalise case.
        df["label"] = df["label"].str.lower()
        gold: pd.Series | None = None
        notes: dict[str, int | str] = {}
        if gold_file is not None:
            g = pd.read_csv(home / sub / gold_file, sep="\t", header=None, dtype=str, quoting=3)
            gold = _gold(g.set_index(0)[1].str.lower())
            notes["gold_tasks"] = len(gold)
            notes["gold_tasks_with_labels"] = int(gold.index.isin(df["task"]).sum())
            if notes["gold_tasks_with_labels"] == 0:
                notes["gold_warning"] = (
                    "gold.txt keys are HIT URLs while labels.txt uses HIT ids: no gold task has labels"
                )
                gold = None
        df, d = _dedupe(df)
        return df, gold, None, {**notes, **d}

    return load


def _lewidi(sub: str):
    def load(home: Path):
        frames, texts = [], []
        for split in ("train", "dev", "test"):
            p = home / sub / f"{sub}_{split}.json"
            if p.exists():
                frames.append(crowd.read_lewidi(p))
                texts.append(crowd.read_lewidi_texts(p))
        df = pd.concat(frames, ignore_index=True)
        df["label"] = pd.to_numeric(df["label"])
        items = pd.concat(texts).to_frame()
        return df, None, items, {}

    return load


def _cifar10n(home: Path):
    df = crowd.read_cifar10n(home)
    clean = pd.read_csv(home / "cifar10n_labels_DERIVED.csv", usecols=["train_index", "clean_label"])
    gold = _gold(clean.set_index("train_index")["clean_label"])
    return df, gold, None, {}


def _dawid_skene(home: Path):
    return crowd.read_dawid_skene(home), None, None, {}


def _bluebirds(home: Path):
    df = crowd.read_bluebirds(home)
    gt = crowd._read_bool_yaml(home / "gt.yaml")
    gold = _gold(pd.Series({k: int(bool(v)) for k, v in gt.items()}))
    return df, gold, None, {}


def _wide(filename: str, *, annotators_in_rows: bool):
    def load(home: Path):
        raw = pd.read_csv(home / filename, index_col=0)
        wide = raw.T if annotators_in_rows else raw
        df = from_wide(wide)
        df["source"] = filename
        return df, None, None, {}

    return load


_AFFECT = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "valence")

_REGISTRY: dict[str, _Spec] = {
    "dawid_skene_1979": _Spec(
        "dawid_skene_1979", True,
        "Dawid & Skene (1979): 45 patients, 5 observers (observer 1 three times), 4 classes.",
        _dawid_skene,
    ),
    "welinder2010_bluebirds": _Spec(
        "welinder2010_bluebirds", True,
        "Welinder et al. (2010) bluebirds: 108 images x 39 annotators (complete), binary, with gold.",
        _bluebirds,
    ),
    "gal_hitspam_mturk": _Spec(
        "ipeirotis_gal", True,
        "GAL HITspam via MTurk: 5,840 HITs, 135 workers, yes/no spam (gold keys do not match).",
        _gal("HITspam-UsingMTurk", "gold.txt"),
    ),
    "gal_hitspam_crowdflower": _Spec(
        "ipeirotis_gal", True,
        "GAL HITspam via CrowdFlower: 5,380 HITs, 153 workers, yes/no spam, 101 gold.",
        _gal("HITspam-UsingCrowdflower", "gold.txt"),
    ),
    "gal_barzan_mozafari": _Spec(
        "ipeirotis_gal", True,
        "GAL BarzanMozafari: 1,000 items, 83 workers, no gold.",
        _gal("BarzanMozafari", None),
    ),
    "krippendorff2011_example_c": _Spec(
        "agreement_classics", True,
        "Krippendorff (2011) example C: 4 observers x 12 units, values 1-5 with gaps.",
        _wide("krippendorff2011_exampleC_4obs_x_12units.csv", annotators_in_rows=True),
    ),
    "wikipedia_krippendorff": _Spec(
        "agreement_classics", True,
        "Wikipedia 'Krippendorff's alpha' example: 3 coders x 15 units.",
        _wide("wikipedia_krippendorff_example_3coders_x_15units.csv", annotators_in_rows=True),
    ),
    "fleiss1971_diagnoses": _Spec(
        "agreement_classics", True,
        "Fleiss (1971) psychiatric diagnoses: 30 patients x 6 raters, 5 categories.",
        _wide("fleiss1971_diagnoses_30patients_x_6raters_codes.csv", annotators_in_rows=False),
    ),
    "gwet2014_raw_4raters": _Spec(
        "agreement_classics", True,
        "Gwet (2014) Handbook: 4 raters x 12 units with missing ratings (irrCAC raw_4raters).",
        _wide("irrCAC_gwet_datasets/raw_4raters.csv", annotators_in_rows=False),
    ),
    "cifar10n": _Spec(
        "cifar10n", False,
        "CIFAR-10N (Wei et al. 2022): 50,000 train images x 3 MTurk labels with worker ids; gold = clean label.",
        _cifar10n,
    ),
    "lewidi2023_hs_brexit": _Spec(
        "lewidi2023", False,
        "LeWiDi 2023 HS-Brexit: 1,120 tweets, the same 6 annotators on every item, hate speech 0/1.",
        _lewidi("HS-Brexit"),
    ),
    "lewidi2023_md_agreement": _Spec(
        "lewidi2023", False,
        "LeWiDi 2023 MD-Agreement: ~10,750 tweets, 5 of 819 annotators per item, offensive 0/1.",
        _lewidi("MD-Agreement"),
    ),
    "lewidi2023_convabuse": _Spec(
        "lewidi2023", False, "LeWiDi 2023 ConvAbuse: conversations, abuse 0/1.", _lewidi("ConvAbuse"),
    ),
    "lewidi2023_armis": _Spec(
        "lewidi2023", False, "LeWiDi 2023 ArMIS: Arabic tweets, misogyny 0/1.", _lewidi("ArMIS"),
    ),
}
for _sub, _desc in {
    "D_Product": "product matching, 8,315 tasks, 176 workers, binary",
    "D_PosSent": "tweet sentiment, 1,000 tasks, 85 workers, binary",
    "S_Rel": "TREC relevance, 20,232 tasks (4,460 gold), 766 workers, 4 grades",
    "S_Adult": "adult content, 11,040 sites, 825 workers, 4 grades (1,517 gold, 333 with labels)",
    "S_Dog": "dog breeds, 807 images, 109 workers, 4 classes",
    "S_Face": "face sentiment, 584 images, 27 workers, 4 classes",
    "N_Emotion": "emotion intensity, 700 items, 38 workers, numeric -100..100",
}.items():
    _REGISTRY[f"zheng2017_{_sub.lower()}"] = _Spec(
        "zheng2017_truth_inference", False, f"Zheng et al. (2017) {_sub}: {_desc}.", _zheng(_sub)
    )
for _name, _desc in {
    "rte": "recognising textual entailment, 800 items, 164 workers, binary",
    "temp": "temporal ordering, 462 items, 76 workers, binary (1/2)",
    "wsd": "word-sense disambiguation, 177 items, 34 workers, 3 senses",
    **{a: f"affect '{a}', 100 headlines, 38 workers, numeric" for a in _AFFECT},
    "wordsim": "word similarity, 30 pairs, 10 workers, numeric 0-10",
}.items():
    _REGISTRY[f"snow2008_{_name}"] = _Spec(
        "snow2008_mturk", False, f"Snow et al. (2008) {_name}: {_desc}.", _snow(_name)
    )

#: Folders that hold arrays rather than one annotation table (use :func:`dataset_path`).
_FOLDERS = {
    "cleanlab_label_errors": ("cleanlab_label_errors", True),
    "cifar10h": ("cifar10h", False),
    "agreement_classics": ("agreement_classics", True),
    "zheng2017_truth_inference": ("zheng2017_truth_inference", False),
    "snow2008_mturk": ("snow2008_mturk", False),
    "lewidi2023": ("lewidi2023", False),
    "ipeirotis_gal": ("ipeirotis_gal", True),
}


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


def _manifest() -> str:  # pragma: no cover - used to write a MANIFEST.json of the registry
    return json.dumps({n: s.description for n, s in sorted(_REGISTRY.items())}, indent=1)
