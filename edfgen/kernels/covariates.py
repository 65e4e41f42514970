"""Which covariates enter a regression: rank decisions relative to each column's own size, and the covariates
left out of one phenotype's fit where they are constant or collinear among its samples (as plink2 ``--glm``).
Used by the linear (:mod:`edfgen.kernels.association`) and logistic (:mod:`edfgen.kernels.logistic`) kernels and
the Hail engine; re-exported by :mod:`edfgen.kernels.association`.

The warning naming a covariate left out is said once per phenotype and covariate within
:func:`covariate_warnings_once` (``edfgen gwas`` runs in it): the fast engine prepares the autosomes', X's and
Y's designs and the Hail engine one regression per chromosome (``--model ridge-loco``), each of which said it
again (review s34e F1: 22 times on a genome). :func:`first_time` gives other per-phenotype warnings of a design
the same rule (the logistic null model's non-convergence, :func:`edfgen.kernels.logistic.prepare_logistic`), whose
warning names the levels and covariates separating the cases (:func:`separating_levels`).
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

#: the (phenotype, covariate) pairs already warned about, within :func:`covariate_warnings_once`; None outside
#: (a module value, not a context variable: the fast engine's worker threads see it too)
_said: set | None = None


@contextmanager
def covariate_warnings_once():
    """Within the block, :func:`group_covariates` warns about each phenotype's covariate left out once only (the
    first time: with that design's sample count), however many designs or chromosomes fit it again; usable as
    a decorator (each call its own block). Outside it, every call warns.

    Returns
    -------
    context manager
        Yields nothing.
    """
    global _said
    outer, _said = _said, set()
    try:
        yield
    finally:
        _said = outer


def first_time(key: tuple) -> bool:
    """Whether a warning about ``key`` is to be said: True outside :func:`covariate_warnings_once`, and within it
    the first time only (``key`` then marked said).

    Parameters
    ----------
    key : tuple
        What the warning is about, e.g. ``("logistic null model", phenotype)``.

    Returns
    -------
    bool
    """
    if _said is None:
        return True
    new = key not in _said
    _said.add(key)
    return new


def unit_columns(C: np.ndarray) -> np.ndarray:
    """``C`` with each column divided by its length (an all-zero column left zero), so rank decisions are
    relative to each column's own size.

    Parameters
    ----------
    C : array [n, k]
        Covariate matrix.

    Returns
    -------
    array [n, k]
    """
    norms = np.linalg.norm(C, axis=0)
    return C / np.where(norms > 0, norms, 1.0)


#: a column whose centred root mean square is at most this x its largest absolute value is constant
#: (:func:`constant_columns`): its variation is rounding (1.7 written as ``0.1 * 17`` by one sample: 1 ulp), not data;
#: a covariate ``1e6 + x`` with ``x`` ~ 1e-3 (a variation 1e-9 of its size) is kept
CONSTANT_RTOL = 1e-13


def constant_columns(C: np.ndarray, *, rtol: float = CONSTANT_RTOL) -> np.ndarray:
    """Which columns of ``C`` are constant apart from rounding: their root mean square about their mean at most
    ``rtol`` x their largest absolute value (missing values, NaN, ignored; an all-missing column is constant).
    Scaled to variance 1, a column 1.7 everywhere but 1.7 + 1 ulp in one sample became that sample's indicator, a
    one-person dummy (linear statistics off plink2's, which excludes it as constant; every ``--binary`` fit failed).

    Parameters
    ----------
    C : array [n, k]
        Covariate matrix.
    rtol : float, default :data:`CONSTANT_RTOL`
        Relative spread at or below which a column is constant.

    Returns
    -------
    bool array [k]
    """
    C = np.asarray(C, dtype=float)
    if not len(C):
        return np.ones(C.shape[1], dtype=bool)
    mean = np.nanmean if np.isnan(C).any() else np.mean
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # (an all-missing column's mean of nothing)
        D = C - mean(C, 0)
        D -= mean(D, 0)                # (again: the first mean of 1e6 + x is off by ~1e-10)
        rms = np.sqrt(mean(np.square(D, out=D), 0))
        size = np.fmax(np.fmax.reduce(C, 0), -np.fmin.reduce(C, 0))
    return ~(rms > rtol * size)


def standardize_covariates(C: np.ndarray) -> np.ndarray:
    """``C`` with every column that varies centred on its mean and divided by its standard deviation, when ``C``
    has a constant non-zero column (the intercept); ``C`` as it is otherwise (no intercept: centring would change
    the model). The columns span the same space, so every genotype's beta, SE and p are the same (plink2
    ``--covar-variance-standardize``), but the matrix is well conditioned: the logistic and mixed-model fits
    solve normal equations ``C' W C``, whose condition number is the square of ``C``'s. A covariate such as
    ``1e6 + x`` with ``x`` ~ 1e-3 (relative variation 1e-9: squared, below double precision) beside the
    intercept made ``--binary``'s covariates-only model fail for every phenotype (all variants NA) and
    ``--model lmm-loco`` report nonsense (lambda_GC 560; review s40num); raw units (age in days, PCs ~ 1e-3)
    cost the linear test digits too. A column constant apart from rounding (:func:`constant_columns`) is left as
    it is, not scaled up into a one-person indicator. The result is the only ``n x k`` array made (at 500,000
    samples x 170 covariates each is 680 MB).

    Parameters
    ----------
    C : array [n, k]
        Covariate matrix (complete), the intercept among its columns.

    Returns
    -------
    array [n, k]
        Constant columns unchanged, the others with mean 0 and standard deviation 1.
    """
    C = np.asarray(C, dtype=float)
    if not len(C):
        return C
    const = constant_columns(C)
    if not (const & (C[0] != 0)).any():
        return C
    D = C - C.mean(0)
    D -= D.mean(0)                 # (again: the first mean of 1e6 + x is off by ~1e-10, x's 1e-7)
    D /= np.where(const, 1.0, np.sqrt(np.einsum("ij,ij->j", D, D) / len(D)))
    D[:, const] = C[:, const]
    return D


def collinear_covariates(C: np.ndarray, names: Sequence[str] | None = None, *, tol: float = 1e-9) -> list[str] | None:
    """The first covariate that is a linear combination of earlier ones, followed by those ones.

    ``None`` when the columns of ``C [n, k]`` are linearly independent: column ``j`` is dependent when its
    residual on the earlier columns is at most ``tol`` x its own length (each column is scaled to unit length
    first, so a covariate with large values, a date in seconds, does not make the intercept or a 0/1 column
    look dependent). Used to name the culprits in "collinear covariates" errors.

    Parameters
    ----------
    C : array [n, k]
        Covariate matrix (intercept included when the model has one).
    names : list of str [k], optional
        Column names (default ``"column j"``).
    tol : float, default 1e-9
        Relative residual length at or below which a column counts as dependent.

    Returns
    -------
    list of str or None
        The dependent covariate's name then those of the earlier columns it combines; None when independent.
    """
    C = unit_columns(np.asarray(C, dtype=float))
    names = list(names) if names is not None else [f"column {j}" for j in range(C.shape[1])]
    kept: list[int] = []
    for j in range(C.shape[1]):
        if kept:
            coef, *_ = np.linalg.lstsq(C[:, kept], C[:, j], rcond=None)
            resid = C[:, j] - C[:, kept] @ coef
        else:
            coef, resid = np.zeros(0), C[:, j]
        if np.linalg.norm(resid) <= tol:
            deps = [names[i] for i, b in zip(kept, coef) if abs(b) > 1e-8]
            return [names[j], *deps]
        kept.append(j)
    return None


def independent_column_indices(C: np.ndarray, *, tol: float = 1e-9) -> list[int]:
    """The columns of ``C [n, k]`` kept when each column that is constant or a linear combination of the columns
    kept before it is left out (a user's ``sex`` among males only; the last of a one-hot set beside the
    intercept): column ``j`` is kept where its residual on the columns kept before it is longer than ``tol`` x its
    own length ``||C[:, j]||``, so the decision does not depend on the scale of any column (a date in seconds,
    ~1e9, beside the 0/1 sex column or the intercept; before stop 29 the limit was ``tol`` x the largest ``|C|`` x
    sqrt(rows), which dropped those).

    The residuals come from one left-to-right Gram-Schmidt pass against an orthonormal basis of the kept
    columns (each projection removed twice, which keeps the basis orthogonal to working precision: Giraud et
    al. 2005), ``O(N K^2)``: the same residuals, hence the same columns, as one least-squares fit per column
    (``O(N K^3)``, edfgen before stop 29). A pivoted QR would rank the columns by norm instead of keeping the
    earlier ones (the intercept, the first dummies), so it would leave out other columns than these.

    References
    ----------
    Giraud L, Langou J, Rozloznik M, van den Eshof J (2005) Rounding error analysis of the classical
    Gram-Schmidt orthogonalization process. Numer Math 101:87. doi:10.1007/s00211-005-0615-4

    Parameters
    ----------
    C : array [n, k]
        Covariate matrix (intercept included), in the order of precedence.
    tol : float, default 1e-9
        Relative residual length at or below which a column is dependent.

    Returns
    -------
    list of int
        Indices of the kept columns, increasing.
    """
    n, k = C.shape
    basis = np.empty((n, min(n, k)))
    kept: list[int] = []
    for j in range(k):
        resid = np.asarray(C[:, j], dtype=float)
        for _ in range(2 if kept else 0):
            Q = basis[:, :len(kept)]
            resid = resid - Q @ (Q.T @ resid)
        norm = float(np.linalg.norm(resid))
        if norm > tol * float(np.linalg.norm(C[:, j])) and len(kept) < n:
            basis[:, len(kept)] = resid / norm
            kept.append(j)
    return kept


def group_covariates(C: np.ndarray, cols, *, names: Sequence[str] | None = None,
                     covariate_names: Sequence[str] | None = None, warn: bool = True) -> list[int]:
    """The covariate columns of one missingness group's samples ``C [n_g, k]`` that enter its regressions
    (:func:`independent_column_indices`), with a WARNING naming each left out and the group's phenotypes
    ``cols``, as plink2 ``--glm`` ("Not including covariate 'sex' in --glm regression on phenotype 'qt_f'"): a
    covariate constant, or a combination of the others, among the samples of one phenotype (a sex-specific
    trait with ``sex``; a trait measured in 3 of 4 centres) is not identified there; left in, the fit was
    refused, lost or silently wrong (review s33b F1-F3). The span of the covariates, hence every variant's
    statistics, is that of all of them.

    Parameters
    ----------
    C : array [n_g, k]
        The covariates of the group's samples.
    cols : array of int
        The group's phenotype columns (for the warning).
    names, covariate_names : list of str, optional
        Phenotype and covariate names for the warning (``column j`` without them).
    warn : bool, default True
        False: no warning (said once already). Within :func:`covariate_warnings_once`, each phenotype and
        covariate is said once.

    Returns
    -------
    list of int
        The covariate columns kept (:func:`independent_column_indices`).
    """
    keep = independent_column_indices(C)
    if len(keep) < C.shape[1] and warn:
        gone = [str(covariate_names[j]) if covariate_names is not None else f"column {j}"
                for j in range(C.shape[1]) if j not in keep]
        for phenotypes, covariates in _not_said(column_names(cols, names), gone).items():
            shown = ", ".join(map(repr, phenotypes[:3])) + (" ..." if len(phenotypes) > 3 else "")
            log.warning("not including covariate(s) %s in the regression on phenotype(s) %s: constant or a linear "
                        "combination of the other covariates in its %d samples (as plink2 --glm)",
                        ", ".join(map(repr, covariates)), shown, C.shape[0])
    return keep


#: a predictor whose variance inflation factor on the other predictors of the regression (``1 / (1 - R²)``) is above
#: this makes the variant NA (:func:`edfgen.kernels.association.linear_association`), as plink2 ``--glm`` (``--vif``
#: 50: ERRCODE ``VIF_TOO_HIGH``; its ``--max-corr`` 0.999, ``CORR_TOO_HIGH``, is a VIF of at least 500, so inside
#: this rule): the genotype's own VIF on the covariates, and each covariate's with the genotype in the model
MAX_VIF = 50.0


@dataclass
class CovariateVIF:
    """What a group's covariates' variance inflation factors with a genotype added need (:func:`covariate_vif`).

    ``VIF_j(with g) = base_j + (weights @ b)_j² / rss_g``, with ``b = Q' g`` the genotype's coefficients on the
    group's orthonormal covariate basis ``Q`` and ``rss_g`` its residual sum of squares on the covariates.
    """

    base: np.ndarray       # [k'] each non-constant covariate's VIF on the other covariates
    weights: np.ndarray    # [k', K] sqrt(centred SS_j) x row j of R^-1 (C = Q R)
    checked: np.ndarray    # [k'] bool: base <= MAX_VIF (one already above is warned about, not checked per variant)
    R: np.ndarray = None   # [K, K] the covariates' triangular factor (C = Q R), for subsets of samples (too_high_on)

    def too_high(self, qg: np.ndarray, rss_g: np.ndarray) -> np.ndarray:
        """Whether some covariate's VIF with the genotype in the model is above :data:`MAX_VIF`.

        Parameters
        ----------
        qg : array [M, K]
            Each genotype's products with the basis ``Q`` (``g' Q``).
        rss_g : array [M]
            Each genotype's residual sum of squares on the covariates (NaN: NA already).

        Returns
        -------
        bool array [M]
        """
        if not self.checked.any():
            return np.zeros(len(rss_g), dtype=bool)
        w = qg @ self.weights[self.checked].T                              # [M, k']
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.base[self.checked] + w ** 2 / rss_g[:, None] > MAX_VIF).any(1)


    def too_high_on(self, called: np.ndarray, Q: np.ndarray, Ainv: np.ndarray, qg: np.ndarray, c: np.ndarray,
                    rss_g: np.ndarray) -> np.ndarray:
        """:meth:`too_high` on each variant's own samples ``S`` (``--missing-genotypes drop``): with ``C_S = Q_S R``,
        ``(C_S' C_S)^-1 = R^-1 A^-1 R^-T`` (``A = Q_S' Q_S``) and the genotype's coefficients on ``C_S``
        ``R^-1 (A^-1 qg + c)``; a covariate constant in ``S`` (the intercept) or already above :data:`MAX_VIF`
        without the genotype there is left out, as in :meth:`too_high`.

        Parameters
        ----------
        called : array [n, m]
            Call indicators (the samples ``S`` of each variant).
        Q : array [n, K]
            The group's orthonormal covariate basis.
        Ainv : array [m, K, K]
            ``(Q_S' Q_S)^-1`` of each variant.
        qg, c : arrays [m, K]
            ``Q_S' g~_S`` (the genotype residualised on ``Q`` over the group, on ``S``) and ``Q' g`` (the
            mean-imputed genotype over the group): ``Q_S' g_S = qg + A c``.
        rss_g : array [m]
            The genotype's residual sum of squares on the covariates in ``S``.

        Returns
        -------
        bool array [m]
        """
        Rinv = np.linalg.inv(self.R)
        U = Q @ self.R
        W = np.asarray(called, dtype=float)
        nS = W.sum(0)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            centred = W.T @ U ** 2 - (W.T @ U) ** 2 / nS                               # [m, K]
            inv_diag = np.einsum("jk,mkl,jl->mj", Rinv, Ainv, Rinv)                    # [(C_S'C_S)^-1]_jj
            b = np.einsum("jk,mk->mj", Rinv, np.einsum("mkl,ml->mk", Ainv, qg) + c)
            base = centred * inv_diag
            vif = base + centred * b ** 2 / rss_g[:, None]
            use = (centred > 1e-12 * (W.T @ U ** 2)) & (base <= MAX_VIF)
            return (use & (vif > MAX_VIF)).any(1)


def covariate_vif(U: np.ndarray, Q: np.ndarray, R: np.ndarray, *, names: Sequence[str] | None = None,
                  warn: bool = True) -> CovariateVIF:
    """The covariates' variance inflation factors, without and (:meth:`CovariateVIF.too_high`) with a genotype.

    With ``X = [C, g]`` the block inverse gives ``[(X'X)^-1]_jj = [(C'C)^-1]_jj + b_j² / rss_g``
    (``b = (C'C)^-1 C' g = R^-1 Q' g``), and ``VIF_j = centred SS_j x [(X'X)^-1]_jj``; a constant column (the
    intercept) has none, as in plink2's correlation matrix.

    Parameters
    ----------
    U : array [n, K]
        The group's covariates that enter its regressions (any column scaling: a VIF does not depend on it).
    Q, R : arrays [n, K], [K, K]
        ``U = Q R`` (``numpy.linalg.qr``).
    names : list of str, optional
        The columns' names, for the warning.
    warn : bool, default True
        Warn about a covariate whose VIF on the other covariates alone is above :data:`MAX_VIF` (plink2 ``--glm``
        skips the phenotype; edfgen's fit, on an orthonormal basis, loses no digits to it, so it fits it).

    Returns
    -------
    CovariateVIF
    """
    Rinv = np.linalg.inv(R)
    ss = (U ** 2).sum(0)
    centred = ((U - U.mean(0)) ** 2).sum(0)
    varying = centred > 1e-12 * np.maximum(ss, 1e-300)
    base = centred[varying] * (Rinv[varying] ** 2).sum(1)
    weights = np.sqrt(centred[varying])[:, None] * Rinv[varying]
    checked = base <= MAX_VIF
    if warn and not checked.all():
        idx = np.flatnonzero(varying)[~checked]
        shown = [f"{names[j] if names is not None else f'column {j}'!r} ({base[~checked][i]:.0f})"
                 for i, j in enumerate(idx)]
        if first_time(("covariate VIF", *(names[j] if names is not None else j for j in idx))):   # (VIFs differ by group)
            log.warning("covariate(s) %s: variance inflation factor on the other covariates above %g (plink2 --glm "
                        "skips the phenotype, VIF_TOO_HIGH; centre a covariate before squaring it); edfgen fits them, "
                        "and its per-variant VIF check leaves them out", ", ".join(shown), MAX_VIF)
    return CovariateVIF(base=base, weights=weights, checked=checked, R=R)


def vif_too_high(G: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Which genotypes make some predictor's variance inflation factor exceed :data:`MAX_VIF` (the genotype's own
    on the covariates, or a covariate's with it in the model): plink2 ``--glm``'s ``VIF_TOO_HIGH`` /
    ``CORR_TOO_HIGH``, on the unweighted predictors, for the regressions that do not residualise (logistic, Firth).

    Parameters
    ----------
    G : array [n, M]
        Genotypes (complete: mean-imputed).
    C : array [n, K]
        The covariates that enter the regression (independent: :func:`group_covariates`), intercept included.

    Returns
    -------
    bool array [M]
    """
    U = unit_columns(C)
    Q, R = np.linalg.qr(U)
    return vif_too_high_from_sums(U, Q, R, G.T @ Q, np.einsum("ij,ij->j", G, G), G.mean(0))


def vif_too_high_from_sums(U: np.ndarray, Q: np.ndarray, R: np.ndarray, qg: np.ndarray, g2: np.ndarray,
                           mean: np.ndarray) -> np.ndarray:
    """:func:`vif_too_high` from each genotype's sums over the samples (an engine that never holds the genotypes,
    Hail, aggregates them).

    Parameters
    ----------
    U : array [n, K]
        ``unit_columns`` of the covariates that enter the regression, intercept included.
    Q, R : arrays [n, K], [K, K]
        ``U = Q R`` (``numpy.linalg.qr``).
    qg : array [M, K]
        Each (complete: mean-imputed) genotype's products with ``Q`` (``g' Q``).
    g2, mean : arrays [M]
        Each genotype's sum of squares and mean over the ``n`` samples.

    Returns
    -------
    bool array [M]
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        rss = g2 - np.einsum("ij,ij->i", qg, qg)
        centred = g2 - U.shape[0] * mean ** 2
        own = (rss <= 1e-8 * np.maximum(g2, 1e-300)) | (centred > MAX_VIF * rss)
        return own | covariate_vif(U, Q, R, warn=False).too_high(qg, np.where(own, np.nan, rss))


def separating_levels(C: np.ndarray, y: np.ndarray, names: Sequence[str] | None = None) -> str:
    """The categorical levels and two-valued covariates whose samples at one value are only cases or only
    controls, as text for the warning of a logistic null model that does not converge (a genotyping batch of one
    person: its coefficient runs off, so every variant's Wald fit fails; plink2 falls back to Firth); empty when
    there is none.

    A level is a column named ``name=level`` (its indicator, standardized or not: the level's samples are at its
    largest value); the reference level of ``name`` (no column of its own) is the samples at the smallest value
    of every ``name=`` column. Any other two-valued column is a covariate, checked at both its values (the
    commoner one all controls separates as well as the rarer one).

    Parameters
    ----------
    C : array [n, k]
        The covariates fitted (intercept included).
    y : array [n]
        0/1 outcomes.
    names : list of str [k], optional
        The covariates' names (``column j`` without them).

    Returns
    -------
    str
        E.g. ``"covariate 'batch=b100' (1 sample, all controls) separates its cases from controls: merge or drop
        such levels"``, or ``""``.
    """
    names = [str(v) for v in names] if names is not None else [f"column {j}" for j in range(C.shape[1])]
    levels, covariates = [], []

    def check(held: np.ndarray, label: str, found: list, where: str = "") -> None:
        if held.any() and np.ptp(y[held]) == 0:
            count = int(held.sum())
            found.append(f"{label} ({count} sample{'s' if count > 1 else ''}{where}, "
                         f"all {'cases' if y[held][0] else 'controls'})")

    groups: dict[str, list[int]] = {}
    for j, name in enumerate(names):          # loop over covariates (few), not samples
        values = np.unique(C[:, j])
        if len(values) != 2:
            continue
        if "=" in name:
            groups.setdefault(name.split("=", 1)[0], []).append(j)
            check(C[:, j] == values[1], repr(name), levels)
        else:
            for value in values:
                check(C[:, j] == value, repr(name), covariates, " at one of its 2 values")
    for group, cols in groups.items():
        block = C[:, cols]
        check((block == block.min(0)).all(1), f"{group!r} reference level", levels)
    found = levels + covariates
    if not found:
        return ""
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    advice = "; ".join(["merge or drop such levels"] * bool(levels)
                       + ["drop or recode such covariates"] * bool(covariates))
    return (f"covariate{'s' if len(found) > 1 else ''} {shown} separate{'' if len(found) > 1 else 's'} its cases "
            f"from controls: {advice}")


def _not_said(phenotypes: list, covariates: list[str]) -> dict[tuple, list[str]]:
    """The ``covariates`` left out of ``phenotypes`` still to be warned about, grouped by the phenotypes each one
    is to be said of (all of them outside :func:`covariate_warnings_once`; within it, those pairs not said yet,
    marked said)."""
    said = _said
    out: dict[tuple, list[str]] = {}
    for cov in covariates:
        new = tuple(p for p in phenotypes if said is None or (p, cov) not in said)
        if new:
            out.setdefault(new, []).append(cov)
        if said is not None:
            said.update((p, cov) for p in new)
    return out


def column_names(cols, names) -> list:
    """The names of phenotype columns ``cols`` (indices) for messages: ``names[c]`` as text, or the index itself
    without ``names``.

    Parameters
    ----------
    cols : sequence of int
        Column indices.
    names : sequence, optional
        The columns' names.

    Returns
    -------
    list
        One name (or index) per column of ``cols``.
    """
    return [str(names[int(c)]) if names is not None else int(c) for c in cols]
