"""Dawid-Skene EM (full confusion matrices or one-coin), vectorised, gold-aware."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    AnnotationFormatError,
    QAInputError,
    check_option,
    check_positive_int,
)
from qa_toolkit.aggregation._tensors import (
    _factorize,
    _posteriors,
    _stats_init,
    _stats_step,
    codes_from_triples,
    ds_coded_from_codes,
    gold_codes,
    gold_series,
    prefetch_kernel,
)

__all__ = ["DawidSkene"]

_TINY = 1e-300
#: ``precision='auto'`` runs the E-step in float32 from this many tasks on.
FLOAT32_TASKS = 200_000


class DawidSkene:
    """Dawid-Skene truth inference by expectation-maximisation.

    Each annotator ``a`` has a confusion matrix ``theta[a, j, l]`` = P(annotator says
    ``l`` | true label ``j``); true labels have priors ``pi[j]``. EM alternates the
    posterior of every task's true label (E-step) and the maximum-a-posteriori
    confusion matrices and priors (M-step). Both steps are sparse matrix products on a
    (task × annotator·label) count matrix: there is no Python loop over tasks or
    annotators.

    Parameters
    ----------
    model : {'full', 'one_coin'}, default='full'
        ``'full'``: one K × K confusion matrix per annotator (Dawid & Skene 1979).
        ``'one_coin'``: one accuracy ``p_a`` per annotator, errors spread uniformly
        over the other K - 1 labels.
    max_iter : int, default=100
        Maximum number of EM iterations.
    tol : float, default=1e-7
        Stop when the log-likelihood changes by less than ``tol`` times its absolute
        value between two iterations.
    smoothing : float, default=0.01
        Dirichlet (additive) pseudo-count added to every confusion cell (and to the
        correct/incorrect counts of the one-coin model) before normalising, and to every
        class count of the learned priors (see ``prior_smoothing``). It keeps rows with
        little or no evidence from degenerating: an annotator who never (or almost never)
        saw true class ``j`` gets a row close to uniform instead of a [0, 1] row whose
        zero lets one vote veto a class (``log 0``). The default 0.01 is a hundredth of
        one observation: it moves estimates backed by data by less than 1 % of one
        label, yet puts a floor of about ``0.01 / n`` under every probability. ``0``
        gives the plain maximum-likelihood EM of the paper (zero probabilities clipped
        at 1e-300 inside logarithms) and the results of releases before issue 12.
    prior_smoothing : float, optional
        Pseudo-count added to every class count of the learned priors; default: the
        value of ``smoothing``. ``smoothing=s, prior_smoothing=0`` is the behaviour of
        ``smoothing=s`` before issue 12 (confusion cells only).
    init : {'soft', 'majority'}, default='soft'
        Majority-vote initialisation of the posteriors: ``'soft'`` = each task's vote
        proportions (the paper's start, and crowd-kit's); ``'majority'`` = one-hot
        majority vote (ties split evenly).
    class_priors : {'learned', 'uniform'}, default='learned'
        ``'learned'``: priors re-estimated in each M-step (the paper). ``'uniform'``:
        fixed at 1/K. On multi-class sets with low agreement the one-coin model with
        learned priors can collapse onto one class (S_Rel: every task becomes class 1);
        fixed uniform priors prevent that.
    classes : list, optional
        The label set (and its column order). Default: the sorted labels of ``data``.
    precision : {'auto', 'float64', 'float32'}, default='float64'
        Floating type of the E-step and of the M-step sums (parameters and the
        log-likelihood are always float64). ``'auto'``: float32 from
        ``FLOAT32_TASKS`` (200,000) tasks on, where it halves the memory traffic and the
        convergence threshold ``tol * |log-likelihood|`` dwarfs float32 rounding;
        float64 below (results identical to the float64 path there). The default stays
        float64, so results equal earlier releases to 1e-6 at every size; float32 moves
        posteriors by up to ~1e-4 (labels unchanged) and measured no end-to-end speed-up here.

    Attributes
    ----------
    classes_ : pandas.Index
        Labels, named ``label``.
    annotators_ : pandas.Index
        Annotators (sorted), named ``annotator``.
    posteriors_ : pandas.DataFrame of shape (n_tasks, n_classes)
        P(true label | votes); index ``task``, columns ``classes_``; rows sum to 1.
    labels_ : pandas.Series
        Index ``task``, name ``agg_label``: the label of highest posterior (the first
        in ``classes_`` order on exact ties).
    confusion_ : pandas.DataFrame of shape (n_annotators * n_classes, n_classes)
        Rows: MultiIndex (``annotator``, ``true_label``); columns: observed ``label``.
        ``confusion_.loc[a]`` is annotator ``a``'s K × K matrix, rows summing to 1.
    priors_ : pandas.Series
        Class priors ``pi``, index ``label``, name ``prior``.
    annotator_accuracy_ : pandas.Series
        Index ``annotator``, name ``accuracy``: ``sum_j pi_j theta[a, j, j]``, the
        probability the annotator is right on a random task under the priors.
    history_ : list of float
        Observed-data log-likelihood after each iteration (non-decreasing when
        ``smoothing=0``; with smoothing EM climbs the posterior, which adds the
        log Dirichlet prior, and the likelihood alone may dip slightly).
    n_iter_ : int
        Iterations run.
    converged_ : bool
        Whether ``tol`` was reached before ``max_iter``.
    gold_ : pandas.Series or None
        The gold labels that were clamped (only tasks present in ``data``).

    Notes
    -----
    Gold-aware DS: ``fit(data, gold=series)`` clamps the posterior of every gold task
    to its gold label throughout EM, so the annotators' confusion matrices are learned
    from known answers on those tasks and from inferred ones elsewhere. Gold tasks
    absent from ``data`` are ignored; gold labels outside the label set raise.

    Repeated labels of one annotator on one task count as repeated observations (as
    observer 1 in Dawid & Skene's data, who rated every patient three times).

    DS is not identifiable everywhere: an annotator who used a single label is as well
    explained by "always says it" as by "is right"; with few overlapping annotators
    such tasks may follow the priors rather than the vote.

    References
    ----------
    Dawid, A. P., Skene, A. M. (1979). Maximum likelihood estimation of observer
    error-rates using the EM algorithm. JRSS C 28(1), 20-28. doi:10.2307/2346806

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "task": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    ...     "annotator": ["a", "b", "c"] * 3,
    ...     "label": ["x", "x", "y", "y", "y", "y", "x", "y", "x"]})
    >>> ds = DawidSkene().fit(df)
    >>> ds.labels_.tolist()
    ['x', 'y', 'x']
    >>> ds.posteriors_.shape, ds.confusion_.shape
    ((3, 2), (6, 2))
    >>> bool(np.allclose(ds.posteriors_.sum(axis=1), 1.0))
    True
    """

    def __init__(
        self,
        *,
        model: Literal["full", "one_coin"] = "full",
        max_iter: int = 100,
        tol: float = 1e-7,
        smoothing: float = 0.01,
        prior_smoothing: float | None = None,
        init: Literal["soft", "majority"] = "soft",
        class_priors: Literal["learned", "uniform"] = "learned",
        classes: list | None = None,
        precision: Literal["auto", "float64", "float32"] = "float64",
    ) -> None:
        self.model = model
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.prior_smoothing = prior_smoothing
        self.init = init
        self.class_priors = class_priors
        self.classes = classes
        self.precision = precision

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        check_option("model", self.model, ("full", "one_coin"), func="DawidSkene")
        check_option("init", self.init, ("soft", "majority"), func="DawidSkene")
        check_option("class_priors", self.class_priors, ("learned", "uniform"), func="DawidSkene")
        check_option("precision", self.precision, ("auto", "float64", "float32"), func="DawidSkene")
        check_positive_int("max_iter", self.max_iter, func="DawidSkene")
        for name in ("tol", "smoothing", "prior_smoothing"):
            v = getattr(self, name)
            if name == "prior_smoothing" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not v >= 0:
                raise QAInputError(
                    f"The {name!r} parameter of DawidSkene must be a number >= 0. Got {v!r} instead."
                )

    def fit(self, data, *, gold: pd.Series | None = None, engine: str = "auto", client=None) -> DawidSkene:
        """Run EM on the long table ``data``; ``gold`` (Series by task) clamps known labels.

        Parameters
        ----------
        data : pandas.DataFrame or columnar source
            Canonical long table (``task``, ``annotator``, ``label``), or a Parquet
            file / folder (hive partitions), ``pyarrow.Table`` / ``Dataset``, Polars
            frame or DuckDB relation (see :mod:`qa_toolkit.engines`).
        gold : pandas.Series, optional
            Known true labels indexed by task; those tasks' posteriors are fixed.
        engine : {'auto', 'pandas', 'duckdb', 'dask'}, default='auto'
            Where the sufficient statistics (the (task, annotator, label) counts) are
            computed: in memory, out of core with DuckDB (``'auto'`` above
            ``qa_toolkit.engines.AUTO_ROWS`` rows), or on a Dask cluster, where the
            E-step and the M-step sums also run per partition on the workers.
        client : distributed.Client or str, optional
            Dask only: a client or a scheduler address (``'tcp://host:8786'``).

        Returns
        -------
        DawidSkene
            ``self``, fitted.
        """
        from qa_toolkit.engines import choose_engine

        self._check_params()
        engine = choose_engine(data, engine, func="DawidSkene.fit")
        if engine == "pandas" and isinstance(data, pd.DataFrame):
            c = _factorize(data, func="DawidSkene.fit", classes=self.classes)
            prefetch_kernel(c, self._dtype(len(c.tasks)))
            tasks, annotators, classes = c.tasks, c.annotators, c.classes
            clamp_idx, clamp_lab = gold_codes(gold, c.tasks, c.classes)
            part = replace(ds_coded_from_codes(c, self._dtype(len(tasks))), clamp_idx=clamp_idx, clamp_lab=clamp_lab)
            fitted = self._em(lambda fn, *args: [fn(part, *args)], len(tasks), len(annotators), len(classes))
        else:
            fitted, tasks, annotators, classes = self._fit_engine(data, gold, engine, client)
        log_pi, theta, history, converged, (t_tasks, t, n_ann, is_gold) = fitted
        if not t_tasks.equals(tasks):  # partitions come back in any order: sort by task
            order = t_tasks.get_indexer(tasks)
            t, n_ann, is_gold = t[order], n_ann[order], is_gold[order]
        k, n_a = len(classes), len(annotators)
        pi = np.exp(log_pi)
        self.classes_ = classes
        self.annotators_ = annotators
        self.posteriors_ = pd.DataFrame(t, index=tasks, columns=classes, copy=False)  # no second copy
        self.labels_ = pd.Series(classes.take(np.argmax(t, axis=1)), index=tasks, name="agg_label")
        rows = pd.MultiIndex.from_product([annotators, classes], names=["annotator", "true_label"])
        self.confusion_ = pd.DataFrame(theta.reshape(n_a * k, k), index=rows, columns=classes)
        self.priors_ = pd.Series(pi, index=classes, name="prior")
        diag = np.einsum("ajj->aj", theta)
        self.annotator_accuracy_ = pd.Series(diag @ pi, index=annotators, name="accuracy")
        self.history_ = history
        self.n_iter_ = len(history)
        self.converged_ = converged
        self.gold_ = (
            None if gold is None
            else pd.Series(classes.take(np.argmax(t[is_gold], axis=1)), index=tasks[is_gold], name="gold")
        )
        self._n_annotations = n_ann.astype(np.int64, copy=False)
        self._is_gold = is_gold
        return self

    def _fit_engine(self, data, gold, engine, client):
        """Sufficient statistics from DuckDB (task buckets spilled to disk, one in memory at a time,
        above ``engines._spill.SPILL_MIN_ROWS`` rows; else one in-memory partition) or Dask."""
        from qa_toolkit.engines import aggregates, ds_triples
        from qa_toolkit.engines._spill import use_spill
        from qa_toolkit.io.parquet_dataset import open_source

        func = "DawidSkene.fit"
        src = open_source(data, func=func)
        if engine == "duckdb" and use_spill(src):  # large: EM over task buckets spilled to disk
            from qa_toolkit.aggregation._ds_engines import spill_ds_fit

            return spill_ds_fit(src, classes=self.classes, gold=gold, dtype=self._dtype, func=func,
                                run_em=self._em, gold_codes=gold_series)
        if engine == "dask":
            agg = aggregates(src, engine="dask", client=client, func=func)
            al = agg.annotator_label
            if agg.n_rows == 0:
                raise AnnotationFormatError(f"{func}: {src.describe()} is empty; expected at least one row.")
        else:
            al = tri = ds_triples(src, engine=engine, client=client)
            if len(tri) == 0:
                raise AnnotationFormatError(f"{func}: {src.describe()} is empty; expected at least one row.")
        for col in ("annotator", "label") + (("task",) if engine != "dask" else ()):
            if al[col].isna().any():
                raise AnnotationFormatError(f"{func}: field {col!r} is missing (null) in {src.describe()}; "
                                            "expected a value in every row.")
        annotators = pd.Index(pd.unique(al["annotator"]), name="annotator").sort_values()
        classes = (pd.Index(pd.unique(al["label"])).sort_values() if self.classes is None
                   else pd.Index(list(self.classes)))
        classes = classes.rename("label")
        unknown = set(pd.unique(al["label"])) - set(classes)
        if unknown:
            raise AnnotationFormatError(f"{func}: label(s) {sorted(map(str, unknown))[:5]} in data are not in "
                                        f"the 'classes' parameter {list(classes)[:20]}.")
        n_a, k = len(annotators), len(classes)
        if engine == "dask":
            from qa_toolkit.engines._dask import dask_ds_fit

            tasks = pd.Index(pd.unique(agg.task_label["task"]), name="task").sort_values()
            gold_codes = gold_series(gold, classes, tasks)
            fitted = dask_ds_fit(src, annotators=annotators, classes=classes, gold=gold_codes, client=client,
                                 func=func, run_em=lambda mapper: self._em(mapper, len(tasks), n_a, k),
                                 code_triples=codes_from_triples, dtype=self._dtype(len(tasks)))
            return fitted, tasks, annotators, classes
        tasks = pd.Index(pd.unique(tri["task"]), name="task").sort_values()
        part = codes_from_triples(tri, annotators=annotators, classes=classes,
                                  gold=gold_series(gold, classes, tasks), dtype=self._dtype(len(tasks)))
        fitted = self._em(lambda fn, *args: [fn(part, *args)], len(part.tasks), n_a, k)
        return fitted, part.tasks, annotators, classes

    def _dtype(self, n_tasks: int):
        if self.precision == "auto":
            return np.float32 if n_tasks >= FLOAT32_TASKS else np.float64
        return np.dtype(self.precision).type

    def _em(self, mapper, n_t: int, n_a: int, k: int):
        """The EM loop over partitions; ``mapper(fn, *args)`` applies ``fn`` to each.

        Each call returns per-partition M-step statistics, summed here in partition
        order; the parameters (priors, confusion matrices) go back to the partitions.
        """
        stats = mapper(_stats_init, self.init)
        history: list[float] = []
        converged = False
        for _ in range(self.max_iter):
            log_pi, theta = self._m_step(stats, n_t, n_a, k)
            lto = np.log(np.maximum(theta, _TINY)).transpose(0, 2, 1).reshape(n_a * k, k)
            stats = mapper(_stats_step, log_pi, lto)
            history.append(float(sum(s[2] for s in stats)))
            if len(history) > 1 and abs(history[-1] - history[-2]) <= self.tol * abs(history[-2]):
                converged = True
                break
        last = (log_pi, lto)  # the parameters of the last E-step
        log_pi, theta = self._m_step(stats, n_t, n_a, k)
        if hasattr(mapper, "gather"):  # out of core: posteriors written once, in global task order
            return log_pi, theta, history, converged, mapper.gather(_posteriors, *last)
        post = mapper(_posteriors, *last)
        out = post[0] if len(post) == 1 else (pd.Index(np.concatenate([p[0].to_numpy() for p in post]), name="task"),
                                              *(np.concatenate([p[j] for p in post]) for j in (1, 2, 3)))
        return log_pi, theta, history, converged, out

    def _m_step(self, stats, n_t: int, n_a: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        S = stats[0][0] if len(stats) == 1 else np.sum([s[0] for s in stats], axis=0)
        class_sums = stats[0][1] if len(stats) == 1 else np.sum([s[1] for s in stats], axis=0)
        if self.class_priors == "learned":
            ps = self.smoothing if self.prior_smoothing is None else self.prior_smoothing
            pi = (class_sums + ps) / (n_t + k * ps) if ps else class_sums / n_t
        else:
            pi = np.full(k, 1.0 / k)
        counts = S.reshape(n_a, k, k).transpose(0, 2, 1)  # (a, true, observed)
        if self.model == "full":
            counts = counts + self.smoothing
            totals = counts.sum(axis=2, keepdims=True)
            theta = np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)
        else:
            right = np.einsum("ajj->a", counts) + self.smoothing
            # pseudo-counts on "right" and "wrong"; a single class has no wrong answer
            total = counts.sum(axis=(1, 2)) + (2 if k > 1 else 1) * self.smoothing
            p = np.divide(right, total, out=np.full_like(right, 0.5), where=total > 0)
            off = (1.0 - p) / max(k - 1, 1)
            theta = np.broadcast_to(off[:, None, None], (n_a, k, k)).copy()
            theta[:, np.arange(k), np.arange(k)] = p[:, None]
        return np.log(np.maximum(pi, _TINY)), theta

    # ----------------------------------------------------------------- results
    def _check_is_fitted(self) -> None:
        if not hasattr(self, "posteriors_"):
            raise QAInputError("This DawidSkene instance is not fitted yet; call fit(data) first.")

    def fit_predict(self, data: pd.DataFrame, *, gold: pd.Series | None = None) -> pd.Series:
        """Fit and return the inferred labels.

        Parameters
        ----------
        data : pandas.DataFrame
            Canonical long table (``task``, ``annotator``, ``label``).
        gold : pandas.Series, optional
            Known true labels indexed by task (clamped, see :meth:`fit`).

        Returns
        -------
        pandas.Series
            :attr:`labels_`: index ``task``, name ``agg_label``.
        """
        return self.fit(data, gold=gold).labels_

    def fit_predict_proba(self, data: pd.DataFrame, *, gold: pd.Series | None = None) -> pd.DataFrame:
        """Fit and return the posterior probabilities of the true labels.

        Parameters
        ----------
        data : pandas.DataFrame
            Canonical long table (``task``, ``annotator``, ``label``).
        gold : pandas.Series, optional
            Known true labels indexed by task (clamped, see :meth:`fit`).

        Returns
        -------
        pandas.DataFrame of shape (n_tasks, n_classes)
            :attr:`posteriors_`: index ``task``, one column per label, rows sum to 1.
        """
        return self.fit(data, gold=gold).posteriors_

    def label_table(self) -> pd.DataFrame:
        """Tidy per-task result: the inferred label and its posterior.

        Returns
        -------
        pandas.DataFrame
            Index ``task``; columns ``label`` (inferred), ``confidence`` (its posterior,
            in [1/K, 1]; lower = less certain), ``n_annotations`` and ``is_gold``
            (posterior clamped to a gold label).
        """
        self._check_is_fitted()
        return pd.DataFrame(
            {
                "label": self.labels_,
                "confidence": self.posteriors_.to_numpy().max(axis=1),
                "n_annotations": self._n_annotations,
                "is_gold": self._is_gold,
            },
            index=self.posteriors_.index,
        )

