"""Dawid-Skene EM (full confusion matrices or one-coin), vectorised, gold-aware."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from qa_toolkit._validation import (
    AnnotationFormatError,
    QAInputError,
    check_option,
    check_positive_int,
)
from qa_toolkit.aggregation._tensors import _count_matrix, _factorize, _vote_counts

__all__ = ["DawidSkene"]

_TINY = 1e-300


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
    smoothing : float, default=0.0
        Pseudo-count added to every confusion cell (and to the correct/incorrect
        counts of the one-coin model) before normalising. ``0`` gives the plain
        maximum-likelihood EM of the paper (zero probabilities are clipped at 1e-300
        inside logarithms); a small value such as 0.01 regularises annotators with
        few labels.
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
        Observed-data log-likelihood after each iteration.
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
        smoothing: float = 0.0,
        init: Literal["soft", "majority"] = "soft",
        class_priors: Literal["learned", "uniform"] = "learned",
        classes: list | None = None,
    ) -> None:
        self.model = model
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.init = init
        self.class_priors = class_priors
        self.classes = classes

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        check_option("model", self.model, ("full", "one_coin"), func="DawidSkene")
        check_option("init", self.init, ("soft", "majority"), func="DawidSkene")
        check_option("class_priors", self.class_priors, ("learned", "uniform"), func="DawidSkene")
        check_positive_int("max_iter", self.max_iter, func="DawidSkene")
        for name in ("tol", "smoothing"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not v >= 0:
                raise QAInputError(
                    f"The {name!r} parameter of DawidSkene must be a number >= 0. Got {v!r} instead."
                )

    def fit(self, data: pd.DataFrame, *, gold: pd.Series | None = None) -> DawidSkene:
        """Run EM on the long table ``data``; ``gold`` (Series by task) clamps known labels.

        Parameters
        ----------
        data : pandas.DataFrame
            Canonical long table (``task``, ``annotator``, ``label``).
        gold : pandas.Series, optional
            Known true labels indexed by task; those tasks' posteriors are fixed.

        Returns
        -------
        DawidSkene
            ``self``, fitted.
        """
        self._check_params()
        c = _factorize(data, func="DawidSkene.fit", classes=self.classes)
        n_t, n_a, k = len(c.tasks), len(c.annotators), len(c.classes)
        m = _count_matrix(c)  # (n_t, n_a * k)
        mt = m.T.tocsr()
        votes = _vote_counts(c)
        clamp_idx, clamp_lab = self._gold_codes(gold, c)

        if self.init == "soft":
            t = votes / votes.sum(axis=1, keepdims=True)
        else:
            top = (votes == votes.max(axis=1, keepdims=True)).astype(float)
            t = top / top.sum(axis=1, keepdims=True)
        t[clamp_idx] = 0.0
        t[clamp_idx, clamp_lab] = 1.0

        history: list[float] = []
        converged = False
        for _ in range(self.max_iter):
            log_pi, theta = self._m_step(t, mt, n_a, k)
            log_theta = np.log(np.maximum(theta, _TINY))  # (n_a, k_true, k_obs)
            # E-step: log P(votes_i, z_i = j) = log pi_j + sum_{a,l} n[i,a,l] log theta[a,j,l]
            # column-major: row-wise max/sum over k columns are ~50x faster than on C order
            log_joint = np.asfortranarray(m @ log_theta.transpose(0, 2, 1).reshape(n_a * k, k))
            log_joint += log_pi
            top = log_joint.max(axis=1, keepdims=True)
            np.subtract(log_joint, top, out=log_joint)
            t = np.exp(log_joint, out=log_joint)
            z = t.sum(axis=1, keepdims=True)
            t /= z
            log_norm = top + np.log(z)  # log P(votes_i), a stable log-sum-exp
            t[clamp_idx] = 0.0
            t[clamp_idx, clamp_lab] = 1.0
            history.append(float(log_norm.sum()))
            if len(history) > 1 and abs(history[-1] - history[-2]) <= self.tol * abs(history[-2]):
                converged = True
                break
        log_pi, theta = self._m_step(t, mt, n_a, k)

        pi = np.exp(log_pi)
        self.classes_ = c.classes
        self.annotators_ = c.annotators
        self.posteriors_ = pd.DataFrame(t, index=c.tasks, columns=c.classes)
        self.labels_ = pd.Series(c.classes.take(np.argmax(t, axis=1)), index=c.tasks, name="agg_label")
        rows = pd.MultiIndex.from_product([c.annotators, c.classes], names=["annotator", "true_label"])
        self.confusion_ = pd.DataFrame(theta.reshape(n_a * k, k), index=rows, columns=c.classes)
        self.priors_ = pd.Series(pi, index=c.classes, name="prior")
        diag = np.einsum("ajj->aj", theta)
        self.annotator_accuracy_ = pd.Series(diag @ pi, index=c.annotators, name="accuracy")
        self.history_ = history
        self.n_iter_ = len(history)
        self.converged_ = converged
        self.gold_ = (
            None if gold is None
            else pd.Series(c.classes.take(clamp_lab), index=c.tasks.take(clamp_idx), name="gold")
        )
        self._n_annotations = np.asarray(m.sum(axis=1)).ravel().astype(np.int64)
        self._is_gold = np.zeros(n_t, dtype=bool)
        self._is_gold[clamp_idx] = True
        return self

    def _m_step(self, t: np.ndarray, mt, n_a: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        pi = t.sum(axis=0) / t.shape[0] if self.class_priors == "learned" else np.full(k, 1.0 / k)
        counts = np.asarray(mt @ t).reshape(n_a, k, k).transpose(0, 2, 1)  # (a, true, observed)
        if self.model == "full":
            counts = counts + self.smoothing
            totals = counts.sum(axis=2, keepdims=True)
            theta = np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)
        else:
            right = np.einsum("ajj->a", counts) + self.smoothing
            total = counts.sum(axis=(1, 2)) + 2 * self.smoothing
            p = np.divide(right, total, out=np.full_like(right, 0.5), where=total > 0)
            off = (1.0 - p) / max(k - 1, 1)
            theta = np.broadcast_to(off[:, None, None], (n_a, k, k)).copy()
            theta[:, np.arange(k), np.arange(k)] = p[:, None]
        return np.log(np.maximum(pi, _TINY)), theta

    @staticmethod
    def _gold_codes(gold, c) -> tuple[np.ndarray, np.ndarray]:
        if gold is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if not isinstance(gold, pd.Series):
            raise QAInputError(
                "The 'gold' parameter of DawidSkene.fit must be a pandas Series of labels indexed "
                f"by task. Got {type(gold).__name__} instead."
            )
        g = gold.dropna()
        g = g[g.index.isin(c.tasks)]
        lab = c.classes.get_indexer(g.to_numpy())
        if (lab < 0).any():
            unknown = pd.unique(g[lab < 0])[:5].tolist()
            raise AnnotationFormatError(
                f"DawidSkene.fit: gold label(s) {unknown} are not among the labels "
                f"{list(c.classes)[:20]} (check the dtype: 1 and '1' differ)."
            )
        return c.tasks.get_indexer(g.index).astype(np.int64), lab.astype(np.int64)

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
