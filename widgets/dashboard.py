"""``AnnotatorDashboard``: per-annotator table and plot; pick one to see confusions and examples."""

from __future__ import annotations

from typing import Any

import ipywidgets as W
import numpy as np
import pandas as pd
import traitlets

from qa_toolkit._validation import QAInputError, check_columns
from qa_toolkit.review import consensus_labels

from .renderers import fields_html

__all__ = ["AnnotatorDashboard", "annotator_basics", "annotator_confusion"]


def _reference(annotations: pd.DataFrame, gold: pd.Series | None) -> pd.Series:
    if gold is not None:
        return gold.rename("reference")
    return consensus_labels(annotations)["consensus_label"].rename("reference")


def annotator_basics(annotations: pd.DataFrame, *, gold: pd.Series | None = None) -> pd.DataFrame:
    """Per annotator: ``n_tasks``, ``n_labels``, ``agreement`` and ``n_disagreements``.

    With ``gold``, ``agreement`` is the share of labels equal to gold. Without it, it is the
    library's one per-annotator agreement (:func:`qa_toolkit.annotators.annotator_agreement`:
    leave-one-out share of the other labels on the task that match, with its CI), and
    ``n_disagreements`` counts labels that differ from the unique plurality of the *other*
    annotators (``n_compared``: labels where that plurality is unique).

    Examples
    --------
    >>> a = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"),
    ...                   "label": ["x", "x", "y", "y", "y", "y"]})
    >>> annotator_basics(a)["agreement"].round(2).to_dict()
    {'a': 0.75, 'b': 0.75, 'c': 0.5}
    """
    check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="annotator_basics")
    df = annotations[["task", "annotator", "label"]]
    if gold is not None:
        ref = df["task"].map(gold)
    else:  # leave-one-out plurality: the annotator's own label does not vote
        counts = df.groupby(["task", "label"]).size()
        per_task: dict = {}
        for (t, lab), n in counts.items():
            per_task.setdefault(t, {})[lab] = n

        def loo(t, lab):
            c = dict(per_task[t])
            c[lab] -= 1
            best = max(c.values())
            if best == 0:
                return np.nan
            top = [k for k, v in c.items() if v == best]
            return top[0] if len(top) == 1 else np.nan

        ref = pd.Series([loo(t, lab) for t, lab in zip(df["task"].tolist(), df["label"].tolist())], index=df.index,
                        dtype=object)
    known = ref.notna()
    match = (df["label"].astype(object) == ref.astype(object)) & known
    g = df.assign(_match=match, _known=known).groupby("annotator", sort=True)
    out = pd.DataFrame({"n_tasks": g["task"].nunique(), "n_labels": g.size(),
                        "n_compared": g["_known"].sum(), "n_disagreements": g["_known"].sum() - g["_match"].sum()})
    if gold is not None:
        out["agreement"] = (out["n_compared"] - out["n_disagreements"]) / out["n_compared"].replace(0, np.nan)
    else:
        from qa_toolkit.annotators import annotator_agreement

        ag = annotator_agreement(df)
        out = out.join(ag[["agreement", "agreement_ci_low", "agreement_ci_high"]])
    out.index.name = "annotator"
    return out


def annotator_confusion(annotations: pd.DataFrame, annotator: Any, *, gold: pd.Series | None = None) -> pd.DataFrame:
    """Counts of (reference label × this annotator's label); rows named ``reference``."""
    sub = annotations.loc[annotations["annotator"] == annotator]
    if sub.empty:
        raise QAInputError(f"The 'annotator' parameter must be an annotator of the table. Got {annotator!r}.")
    ref = sub["task"].map(_reference(annotations, gold))
    tab = pd.crosstab(ref.astype(str).rename("reference"), sub["label"].astype(str).rename(f"{annotator}"))
    return tab


class AnnotatorDashboard(W.VBox):
    """Per-annotator table (the annotator report when installed, else :func:`annotator_basics`)
    with an agreement plot; selecting an annotator shows their confusions and example items.

    Parameters
    ----------
    annotations : pandas.DataFrame
    gold : pandas.Series, optional
        Gold labels indexed by task; otherwise agreement is with the other annotators.
    n_examples : int, default=5
    log : qa_toolkit.review.DecisionLog, optional
        Review decisions, passed to the annotator report (accept / fix / reject rates).
    """

    annotator = traitlets.Any(None, allow_none=True, help="the annotator selected")

    def __init__(self, annotations: pd.DataFrame, *, gold: pd.Series | None = None, n_examples: int = 5,
                 log: Any = None) -> None:
        super().__init__()
        check_columns(annotations, ("task", "annotator", "label"), name="annotations", func="AnnotatorDashboard")
        self.annotations, self.gold, self.n_examples, self.decision_log = annotations, gold, int(n_examples), log
        self.table = self._table()
        self.table_html = W.HTML(self.table.round(3).to_html(classes="qa-annotators", max_rows=30))
        self.plot = W.Output()
        self.select = W.Dropdown(options=[(str(a), a) for a in self.table.index], description="annotator")
        self.detail = W.HTML()
        self.select.observe(lambda ch: setattr(self, "annotator", ch["new"]), names="value")
        self.observe(self._show_annotator, names="annotator")
        self.children = [W.HBox([self.table_html, self.plot]), self.select, self.detail]
        self._draw()
        if len(self.table):
            self.annotator = self.table.index[0]

    def _table(self) -> pd.DataFrame:
        from qa_toolkit.annotators import annotator_report

        decisions = None if self.decision_log is None else self.decision_log.read()
        report = annotator_report(self.annotations, gold=self.gold, decisions=decisions)
        if isinstance(report, pd.DataFrame) and len(report):
            return report
        return annotator_basics(self.annotations, gold=self.gold).sort_values("agreement", kind="stable")

    def _draw(self) -> None:
        from IPython.display import display

        from qa_toolkit.plotting.review import plot_annotator_agreement

        col = "agreement" if "agreement" in self.table.columns else self.table.select_dtypes("number").columns[0]
        with self.plot:
            ax = plot_annotator_agreement(self.table, column=col)
            ax.figure.tight_layout()
            display(ax.figure)
            import matplotlib.pyplot as plt

            plt.close(ax.figure)

    def _show_annotator(self, change) -> None:
        a = change["new"]
        if a is None:
            self.detail.value = ""
            return
        conf = annotator_confusion(self.annotations, a, gold=self.gold)
        sub = self.annotations.loc[self.annotations["annotator"] == a]
        ref = sub["task"].map(_reference(self.annotations, self.gold))
        wrong = sub.loc[ref.notna() & (sub["label"].astype(object) != ref.astype(object))]
        ex = wrong.assign(reference=ref[wrong.index]).head(self.n_examples)[["task", "label", "reference"]]
        stats = self.table.loc[a].to_dict() if a in self.table.index else {}
        self.detail.value = (f"<h4>annotator {a}</h4>" + fields_html(stats) + "<h5>confusions (rows: reference)</h5>"
                             + conf.to_html(classes="qa-confusion") + "<h5>example disagreements</h5>"
                             + ex.to_html(index=False, classes="qa-examples"))
