"""The dataset registry: one loader per research dataset, turning its files into the long table.

Each entry of ``_REGISTRY`` names the folder (bundled under ``qa_toolkit/_data`` or in the
shared data home), a one-line description and a loader ``Path -> (annotations, gold, items,
notes)``; :func:`qa_toolkit.datasets.load_dataset` finds the folder and calls the loader.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qa_toolkit.io import crowd
from qa_toolkit.table import from_wide


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


def _manifest() -> str:  # pragma: no cover - used to write a MANIFEST.json of the registry
    return json.dumps({n: s.description for n, s in sorted(_REGISTRY.items())}, indent=1)
