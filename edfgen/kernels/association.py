"""Association kernels of ``edfgen gwas``: pure functions on arrays, no files, no Hail.

Phenotype transform (rank-based inverse normal), covariate design (explicit intercept, categorical
indicators), missingness groups, the multi-phenotype linear kernel (Frisch–Waugh–Lovell: phenotypes
residualised once, one product ``G^T [Q, Y_res]`` per variant block) and the logistic Wald kernel
(Newton–Raphson vectorised over a block of variants), and the genomic-control lambda. The file-level
wrapper, engines and outputs are in :mod:`edfgen.commands.gwas`; the tests check these kernels against
statsmodels, Hail and plink2.

References
----------
Beasley TM, Erickson S, Allison DB (2009) Rank-based inverse normal transformations are increasingly
used, but are they merited? Behav Genet 39:580. doi:10.1007/s10519-009-9281-0
Blom G (1958) Statistical estimates and transformed beta-variables. Wiley.
McCullagh P, Nelder JA (1989) Generalized Linear Models, 2nd ed. Chapman & Hall.
doi:10.1007/978-1-4899-3242-6
Devlin B, Roeder K (1999) Genomic control for association studies. Biometrics 55:997.
doi:10.1111/j.0006-341x.1999.00997.x
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: its import alone takes ~0.5 s of every command

from edfgen.exceptions import InputError
from edfgen.formats.validate import number_fraction, numeric_values, plain

log = logging.getLogger(__name__)

MISSING_GENOTYPES = ("mean-impute", "drop")

# ----------------------------------------------------------------------------------------------
# phenotype transform and covariate design (pure functions)
# ----------------------------------------------------------------------------------------------
def inverse_normal_transform(values: np.ndarray, *, offset: float = 3.0 / 8.0) -> np.ndarray:
    """Rank-based inverse-normal transform of each column, ignoring missing values.

    ``z = Phi^-1((r - c) / (n - 2c + 1))`` with ``r`` the rank among the ``n`` non-missing values
    (ties get their average rank) and ``c = 3/8`` (Blom's offset, as in PLINK/REGENIE pipelines).

    Parameters
    ----------
    values : array [N] or [N, P]
        Phenotypes; NaN = missing (kept NaN).
    offset : float
        Blom offset ``c`` (``0.5`` gives the rankit transform).

    Returns
    -------
    array of the same shape, float64.

    References
    ----------
    Beasley TM et al. (2009) Behav Genet 39:580. doi:10.1007/s10519-009-9281-0
    """
    x = np.asarray(values, dtype=float)
    one_d = x.ndim == 1
    x = x.reshape(len(x), -1)
    out = np.full_like(x, np.nan)
    for p in range(x.shape[1]):  # loop over phenotypes (few), not samples
        ok = ~np.isnan(x[:, p])
        n = int(ok.sum())
        if n == 0:
            continue
        r = pd.Series(x[ok, p]).rank(method="average").to_numpy()  # scipy.stats.rankdata; pandas is loaded
        out[ok, p] = special.ndtri((r - offset) / (n - 2 * offset + 1))  # = scipy.stats.norm.ppf
    return out[:, 0] if one_d else out


_RANGE = re.compile(r"^(.*?)(\d+)\.\.(?:\1)?(\d+)$")


def expand_columns(spec: Sequence[str]) -> list[str]:
    """Expand ranges: ``["age", "PC1..PC4"]`` -> ``["age", "PC1", "PC2", "PC3", "PC4"]`` (``PC1..4`` too;
    zero padding kept: ``edf_001..edf_003`` -> ``edf_001, edf_002, edf_003``)."""
    out: list[str] = []
    for item in spec:
        m = _RANGE.match(item.strip())
        if m:
            prefix, a, b = m.group(1), int(m.group(2)), int(m.group(3))
            width = len(m.group(2)) if m.group(2).startswith("0") else 0  # edf_001..edf_064 keeps zero padding
            step = 1 if b >= a else -1
            out.extend(f"{prefix}{i:0{width}d}" for i in range(a, b + step, step))
        else:
            out.append(item.strip())
    return out


@dataclass(frozen=True)
class CovariateDesign:
    """Covariate matrix with an explicit intercept and indicator columns for categorical covariates.

    Attributes
    ----------
    matrix : array [N, K]
        Column 0 is the intercept; NaN rows are samples with a missing covariate.
    columns : list of str
        Names of the ``K`` columns (``intercept``, ``age``, ``centre=B``, ...).
    categorical : dict
        Categorical covariate -> levels (the first level is the reference, dropped).
    ids : array [N]
        Sample IDs (IID) in row order.
    """

    matrix: np.ndarray
    columns: list[str]
    categorical: dict[str, list[str]]
    ids: np.ndarray


def covariate_design(table: pd.DataFrame, columns: Sequence[str] | None = None, *,
                     categorical: Sequence[str] = (), id_column: str = "IID",
                     source: str = "covariates") -> CovariateDesign:
    """Build the covariate design matrix from a per-participant table.

    Parameters
    ----------
    table : DataFrame
        ``IID`` plus covariate columns.
    columns : list of str, optional
        Covariates to use (ranges like ``PC1..PC10`` expanded); default all columns but ``IID``/``FID``.
    categorical : list of str
        Columns to treat as categorical even if numeric. An undeclared column is categorical only when
        none of its values is a number (all text, e.g. ``centre`` = ``A``, ``B``); a column of numbers
        with a stray word is an error naming the row and value. Each categorical column with L levels
        becomes L-1 indicators (first sorted level dropped).
    source : str
        File name used in error messages.

    Raises
    ------
    InputError
        A named column is absent, a numeric column is constant (collinear with the intercept) or holds
        ``inf`` or a non-numeric value (named with its row).
    """
    cols = expand_columns(columns) if columns else [c for c in table.columns if c not in (id_column, "FID", "#FID")]
    missing = [c for c in cols + list(categorical) if c not in table.columns]
    if missing:
        raise InputError(f"{source}: covariate column(s) {', '.join(missing)} not found "
                         f"(has: {', '.join(map(str, table.columns[:15]))})")
    parts = [np.ones(len(table))]
    names = ["intercept"]
    levels_of: dict[str, list[str]] = {}
    bad_rows = np.zeros(len(table), dtype=bool)
    ids = table[id_column].astype(str).to_numpy() if id_column in table.columns else None
    for c in cols:
        s = table[c]
        is_cat = c in categorical or not pd.api.types.is_numeric_dtype(s)
        if is_cat and c not in categorical and number_fraction(s) > 0:
            # numbers with a stray word ('age' = 61, 58, 'old'): an error, not a many-level categorical
            numeric_values(s, source=source, column=c, ids=ids)
        if not is_cat:
            s = pd.Series(numeric_values(s, source=source, column=c, ids=ids), index=s.index)  # refuses inf
        if is_cat:
            miss = s.isna().to_numpy()
            vals = s.astype(str).where(~s.isna())
            levels = sorted(vals.dropna().unique(), key=lambda v: (len(v), v))
            levels_of[c] = list(levels)
            bad_rows |= miss
            for lev in levels[1:]:
                parts.append((vals == lev).to_numpy(dtype=float))
                names.append(f"{c}={lev}")
        else:
            v = s.to_numpy(dtype=float)
            bad_rows |= np.isnan(v)
            if np.isnan(v).all():
                raise InputError(f"{source}: covariate {c!r} has no values")
            if np.nanstd(v) == 0:
                raise InputError(f"{source}: covariate {c!r} is constant (collinear with the intercept)")
            parts.append(v)
            names.append(c)
    mat = np.column_stack(parts)
    mat[bad_rows] = np.nan
    return CovariateDesign(matrix=mat, columns=names, categorical=levels_of,
                           ids=table[id_column].astype(str).to_numpy())


def check_phenotypes(Y: np.ndarray, names: Sequence[str], *, source: str = "phenotypes",
                     n_samples_label: str = "analysed samples") -> None:
    """Every phenotype column must vary: an all-missing or constant phenotype has nothing to test
    (it gave beta 0, SE 0 or a message naming a column number). Raises :class:`InputError` naming it."""
    Y = np.asarray(Y, dtype=float)
    for j, name in enumerate(names):
        y = Y[:, j]
        y = y[~np.isnan(y)]
        if y.size == 0:
            raise InputError(f"{source}: phenotype {str(name)!r} has no values in the {Y.shape[0]} {n_samples_label}")
        if np.all(y == y[0]):
            raise InputError(f"{source}: phenotype {str(name)!r} is constant ({plain(y[0]):g} in all {y.size} "
                             f"{n_samples_label} with a value): nothing to test")


def missingness_groups(phenotypes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Group phenotype columns by their missingness pattern.

    Parameters
    ----------
    phenotypes : array [N, P], NaN = missing

    Returns
    -------
    list of (sample_mask [N] bool, column_indices [P_g]) in order of first appearance.
    """
    present = ~np.isnan(phenotypes)
    groups: dict[bytes, list[int]] = {}
    for p in range(present.shape[1]):
        groups.setdefault(np.packbits(present[:, p]).tobytes(), []).append(p)
    return [(present[:, cols[0]].copy(), np.asarray(cols)) for cols in groups.values()]


# ----------------------------------------------------------------------------------------------
# the association kernel (pure numpy)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AssociationResult:
    """Per-variant, per-phenotype statistics; every array is ``[M, P]``.

    ``beta`` is the change in the (transformed) phenotype per copy of the effect allele (log-odds for
    logistic models); ``effect_allele_frequency`` is computed in the samples of that phenotype.
    """

    beta: np.ndarray
    standard_error: np.ndarray
    p_value: np.ndarray
    n: np.ndarray
    effect_allele_frequency: np.ndarray


@dataclass
class PreparedPhenotypes:
    """Phenotypes residualised on covariates once, per missingness group (see :func:`prepare_phenotypes`)."""

    covariates: np.ndarray            # [N, K]
    phenotypes: np.ndarray            # [N, P]
    groups: list = field(default_factory=list)  # (mask, cols, Q [n_g, K], Y_res [n_g, P_g], yy [P_g])


def collinear_covariates(C: np.ndarray, names: Sequence[str] | None = None, *, tol: float = 1e-9) -> list[str] | None:
    """The first covariate that is a linear combination of earlier ones, followed by those ones.

    ``None`` when the columns of ``C [n, k]`` are linearly independent (relative tolerance ``tol``).
    Used to name the culprits in "collinear covariates" errors.
    """
    C = np.asarray(C, dtype=float)
    names = list(names) if names is not None else [f"column {j}" for j in range(C.shape[1])]
    kept: list[int] = []
    scale = np.abs(C).max() if C.size else 1.0
    for j in range(C.shape[1]):
        if kept:
            coef, *_ = np.linalg.lstsq(C[:, kept], C[:, j], rcond=None)
            resid = C[:, j] - C[:, kept] @ coef
        else:
            coef, resid = np.zeros(0), C[:, j]
        if np.linalg.norm(resid) <= tol * max(scale, 1.0) * np.sqrt(max(len(C), 1)):
            deps = [names[i] for i, b in zip(kept, coef) if abs(b) > 1e-8]
            return [names[j], *deps]
        kept.append(j)
    return None


def _names_of(cols, names) -> list:
    return [str(names[int(c)]) if names is not None else int(c) for c in cols]


def prepare_phenotypes(phenotypes: np.ndarray, covariates: np.ndarray, *, names: Sequence[str] | None = None,
                       covariate_names: Sequence[str] | None = None) -> PreparedPhenotypes:
    """Residualise each missingness group of phenotypes on the covariates (done once per GWAS).

    Parameters
    ----------
    phenotypes : array [N, P], NaN = missing
    covariates : array [N, K], complete (include the intercept column yourself)
    names, covariate_names : list of str, optional
        Phenotype and covariate names for error messages.

    Raises
    ------
    InputError
        The covariates are rank deficient in a group (naming the collinear covariates), or a group
        has too few samples (naming its phenotypes).
    """
    Y = np.asarray(phenotypes, dtype=float)
    C = np.asarray(covariates, dtype=float)
    if np.isnan(C).any():
        raise InputError("linear_association: covariates contain missing values (drop those samples first)")
    prep = PreparedPhenotypes(covariates=C, phenotypes=Y)
    k = C.shape[1]
    for mask, cols in missingness_groups(Y):
        n = int(mask.sum())
        if n <= k + 1:
            shown = ", ".join(map(repr, _names_of(cols[:3], names))) + (" ..." if len(cols) > 3 else "")
            raise InputError(f"linear_association: only {n} samples with phenotype(s) {shown} "
                             f"for {k} covariates")
        Q, R = np.linalg.qr(C[mask])
        rank = int((np.abs(np.diag(R)) > 1e-9 * np.abs(R).max()).sum())
        if rank < k:
            culprits = collinear_covariates(C[mask], covariate_names) or []
            what = (f"covariate {culprits[0]!r} is a linear combination of {', '.join(map(repr, culprits[1:]))}"
                    if len(culprits) > 1 else f"covariate {culprits[0]!r} is constant or zero" if culprits
                    else "covariates are collinear")
            raise InputError(f"linear_association: {what} (rank {rank} < {k}) in the {n} samples of phenotype "
                             f"{_names_of(cols[:1], names)[0]!r}: drop one of them")
        Yg = Y[np.ix_(mask, cols)]
        Yres = Yg - Q @ (Q.T @ Yg)
        prep.groups.append((mask, cols, Q, Yres, (Yres ** 2).sum(0)))
    return prep


def _t_p(t: np.ndarray, df) -> np.ndarray:
    """Two-sided Student-t p-value (scipy.special.stdtr: the C routine, without scipy.stats overhead)."""

    return 2.0 * special.stdtr(df, -np.abs(t))


def linear_association(genotypes: np.ndarray, prepared: PreparedPhenotypes, *,
                       missing_genotypes: str = "mean-impute",
                       call_stats: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> AssociationResult:
    """Additive linear association of a block of variants with all phenotypes.

    Parameters
    ----------
    genotypes : array [N, M]
        Effect-allele counts or dosages, NaN = missing call. Same sample order as ``prepared``.
    prepared : PreparedPhenotypes
        From :func:`prepare_phenotypes`.
    missing_genotypes : {"mean-impute", "drop"}
        ``mean-impute`` (Hail) or ``drop`` (plink2: the sample leaves that variant's regression).
    call_stats : (n_called [M], sum [M], sum of squares [M]) over all N rows, optional
        Per-variant sums of the called genotypes (e.g. from genotype counts); saves two passes over
        the block for phenotype groups that contain every sample.

    Returns
    -------
    AssociationResult with arrays ``[M, P]``. Monomorphic variants get NaN statistics.

    Notes
    -----
    t-test with ``n - k - 1`` degrees of freedom (``k`` covariates including the intercept), as
    Hail's ``linear_regression_rows`` and plink2 ``--glm``.
    """
    if missing_genotypes not in MISSING_GENOTYPES:
        raise InputError(f"linear_association: missing_genotypes={missing_genotypes!r} "
                         f"(choose {', '.join(MISSING_GENOTYPES)})")
    G = np.asarray(genotypes, dtype=float)
    M, P = G.shape[1], prepared.phenotypes.shape[1]
    out = {name: np.full((M, P), np.nan) for name in ("beta", "standard_error", "p_value", "effect_allele_frequency")}
    n_out = np.zeros((M, P), dtype=np.int64)
    k = prepared.covariates.shape[1]
    for mask, cols, Q, Yres, yy in prepared.groups:
        whole = bool(mask.all())
        Gg = G if whole else G[mask]
        n = int(mask.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            if whole and call_stats is not None:
                n_called, s1, s2 = (np.asarray(v, dtype=float) for v in call_stats)
                nan_cols = np.flatnonzero(n_called < n)
                mean = s1 / n_called
                g2 = s2 + (n - n_called) * mean ** 2               # imputed calls contribute mean^2
            else:
                total = Gg.sum(0)
                nan_cols = np.flatnonzero(np.isnan(total))           # variants with a missing call here
                mean = total / n
                g2 = None
            any_missing = len(nan_cols) > 0
            QY = np.hstack([Q, Yres])
            prod = Gg.T @ QY                                # [M, K + P_g]: the one big product
            if any_missing:                                 # rows of variants with missing calls: NaN, redone
                sub = Gg[:, nan_cols]                       # on their mean-imputed columns only (no block copy)
                called_sub = ~np.isnan(sub)
                mean[nan_cols] = np.where(called_sub, sub, 0.0).sum(0) / called_sub.sum(0)
                imputed = np.where(called_sub, sub, mean[nan_cols])
                prod[nan_cols] = imputed.T @ QY
            Qg, gy = prod[:, :k], prod[:, k:]
            if g2 is None:
                g2 = np.einsum("ij,ij->j", Gg, Gg)
                if any_missing:
                    g2[nan_cols] = np.einsum("ij,ij->j", imputed, imputed)
            gg = g2 - np.einsum("ij,ij->i", Qg, Qg)
            gg = np.where(gg > 1e-8 * np.maximum(g2, 1e-300), gg, np.nan)
            beta = gy / gg[:, None]
            df = n - k - 1
            rss = yy[None, :] - beta * gy
            se = np.sqrt(np.maximum(rss, 0) / df / gg[:, None])
            p = _t_p(beta / se, df)
        out["beta"][:, cols] = beta
        out["standard_error"][:, cols] = se
        out["p_value"][:, cols] = p
        out["effect_allele_frequency"][:, cols] = (mean / 2.0)[:, None]
        n_out[:, cols] = n
        if missing_genotypes == "drop" and any_missing:
            j = nan_cols
            res = _drop_missing_ols(sub, called_sub, prepared.covariates[mask],
                                    prepared.phenotypes[np.ix_(mask, cols)])
            for name, arr in zip(("beta", "standard_error", "p_value"), res[:3]):
                out[name][np.ix_(j, cols)] = arr
            n_out[np.ix_(j, cols)] = res[3][:, None]
    return AssociationResult(beta=out["beta"], standard_error=out["standard_error"], p_value=out["p_value"],
                             n=n_out, effect_allele_frequency=out["effect_allele_frequency"])


def _drop_missing_ols(G: np.ndarray, called: np.ndarray, C: np.ndarray, Y: np.ndarray):
    """Exact OLS per variant on its called samples only (plink2 behaviour), batched over variants.

    Builds the (K+1)x(K+1) normal equations of every variant with matrix products over the
    call indicator ``R`` ([n, m]) and solves them in one batched call.
    """
    R = called.astype(float)
    G0 = np.where(called, G, 0.0)
    n, K = C.shape
    P = Y.shape[1]
    m = G.shape[1]
    A = np.empty((m, K + 1, K + 1))
    A[:, :K, :K] = (R.T @ (C[:, :, None] * C[:, None, :]).reshape(n, K * K)).reshape(m, K, K)
    A[:, :K, K] = G0.T @ C
    A[:, K, :K] = A[:, :K, K]
    A[:, K, K] = (G0 ** 2).sum(0)
    B = np.empty((m, K + 1, P))
    B[:, :K, :] = (R.T @ (C[:, :, None] * Y[:, None, :]).reshape(n, K * P)).reshape(m, K, P)
    B[:, K, :] = G0.T @ Y
    yy = R.T @ (Y ** 2)
    nv = R.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        try:
            coef = np.linalg.solve(A, B)
            Ainv_gg = np.linalg.solve(A, np.broadcast_to(np.eye(K + 1)[:, K:], (m, K + 1, 1)))[:, K, 0]
        except np.linalg.LinAlgError:  # a singular variant: fall back to pseudo-inverse per batch
            Ainv = np.linalg.pinv(A)
            coef = Ainv @ B
            Ainv_gg = Ainv[:, K, K]
        rss = yy - np.einsum("mkp,mkp->mp", coef, B)
        df = nv - K - 1
        beta = coef[:, K, :]
        se = np.sqrt(np.maximum(rss, 0) / df[:, None] * Ainv_gg[:, None])
        p = _t_p(beta / se, df[:, None])
    return beta, se, p, nv.astype(np.int64)


# ----------------------------------------------------------------------------------------------
# the logistic kernel (pure numpy): Newton-Raphson for a block of variants at once
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogisticAssociationResult(AssociationResult):
    """:class:`AssociationResult` of a logistic fit plus ``converged`` ``[M, P]`` (False: statistics NaN)."""

    converged: np.ndarray = None


@dataclass(frozen=True)
class PreparedLogistic:
    """Null (covariates-only) logistic fits, once per phenotype (see :func:`prepare_logistic`).

    ``groups``: one ``(sample_mask [N], columns [P_g], null_coefficients [K, P_g])`` per missingness
    pattern of the phenotypes.
    """

    covariates: np.ndarray            # [N, K]
    phenotypes: np.ndarray            # [N, P], 0/1, NaN = missing
    groups: tuple
    max_iterations: int
    tolerance: float
    offset: np.ndarray | None = None  # [N, P] known part of the linear predictor (ridge-LOCO prediction)


def _logistic_newton(X: np.ndarray, y: np.ndarray, b: np.ndarray, *, max_iterations: int, tolerance: float,
                     offset: np.ndarray | None = None):
    """Newton-Raphson for one small logistic model (the null fit); Hail's stopping rule."""
    from scipy.special import expit

    for _ in range(max_iterations):
        mu = expit(X @ b if offset is None else X @ b + offset)
        H = X.T @ (X * (mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(H, X.T @ (y - mu))
        except np.linalg.LinAlgError:
            return b, False
        if not np.isfinite(step).all():
            return b, False
        if np.abs(step).max() < tolerance:
            return b, True
        b = b + step
    return b, False


def prepare_logistic(phenotypes: np.ndarray, covariates: np.ndarray, *, names: Sequence[str] | None = None,
                     max_iterations: int = 25, tolerance: float = 1e-6,
                     offset: np.ndarray | None = None) -> PreparedLogistic:
    """Fit the covariates-only logistic model of every phenotype once (the start of every variant's fit).

    Parameters
    ----------
    phenotypes : array [N, P]
        0/1 outcomes, NaN = missing (each missingness group is fitted on its own samples).
    covariates : array [N, K]
        Complete; the first column must be the intercept (Hail starts the null fit at
        ``logit(mean(y))`` for it and 0 for the others).
    names : list of str, optional
        Phenotype names for error messages.
    max_iterations, tolerance : int, float
        Newton stops when every coefficient changes by less than ``tolerance`` (Hail's defaults).
    offset : array [N, P], optional
        A known term added to each phenotype's linear predictor (coefficient fixed at 1), e.g. the
        leave-one-chromosome-out prediction of whole-genome ridge regression (REGENIE step 2).

    Raises
    ------
    InputError
        A phenotype without both cases and controls, or whose null model does not converge.
    """
    Y = np.asarray(phenotypes, dtype=float)
    C = np.asarray(covariates, dtype=float)
    if np.isnan(C).any():
        raise InputError("logistic_association: covariates contain missing values (drop those samples first)")
    names = list(names) if names is not None else [f"column {p}" for p in range(Y.shape[1])]
    k = C.shape[1]
    groups = []
    for mask, cols in missingness_groups(Y):
        b0 = np.zeros((k, len(cols)))
        for j, p in enumerate(cols):  # loop over phenotypes (few), not variants
            y = Y[mask, p]
            avg = y.mean()
            if not 0 < avg < 1 or mask.sum() <= k + 1:
                raise InputError(f"--binary phenotype {names[p]!r}: needs both cases and controls "
                                 f"({int(y.sum())} cases in {int(mask.sum())} samples)")
            start = np.zeros(k)
            start[0] = np.log(avg / (1 - avg))
            b, ok = _logistic_newton(C[mask], y, start, max_iterations=max_iterations, tolerance=tolerance,
                                     offset=None if offset is None else offset[mask, p])
            if not ok:
                raise InputError(f"--binary phenotype {names[p]!r}: the covariates-only logistic model does not "
                                 f"converge (a covariate separates cases from controls?)")
            b0[:, j] = b
        groups.append((mask, cols, b0))
    return PreparedLogistic(covariates=C, phenotypes=Y, groups=tuple(groups), max_iterations=max_iterations,
                            tolerance=tolerance, offset=None if offset is None else np.asarray(offset, dtype=float))


def _mean_impute(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Missing calls (NaN) -> the mean of the called genotypes of their column; returns (G, means)."""
    total = G.sum(0)
    mean = total / len(G)
    nan_cols = np.flatnonzero(np.isnan(total))
    if len(nan_cols) == 0:
        return G, mean
    sub = G[:, nan_cols]
    called = ~np.isnan(sub)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean[nan_cols] = np.where(called, sub, 0.0).sum(0) / called.sum(0)
    G = G.copy()
    G[:, nan_cols] = np.where(called, sub, mean[nan_cols])
    return G, mean


def _solve_stacked(H: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.linalg.solve`` on a stack ``H [m, d, d]``, ``rhs [m, d, r]``; singular systems give NaN and
    ``failed [m]`` instead of an exception for the whole stack."""
    failed = np.zeros(len(H), dtype=bool)
    try:
        x = np.linalg.solve(H, rhs)
    except np.linalg.LinAlgError:
        sign, _ = np.linalg.slogdet(H)
        failed = ~(sign != 0)
        H = H.copy()
        H[failed] = np.eye(H.shape[1])
        try:
            x = np.linalg.solve(H, rhs)
        except np.linalg.LinAlgError:  # numerically singular but non-zero determinant: give up on the block
            return np.full(rhs.shape, np.nan), np.ones(len(H), dtype=bool)
    failed |= ~np.isfinite(x).all(axis=(1, 2))
    x[failed] = np.nan
    return x, failed


def logistic_association(genotypes: np.ndarray, prepared: PreparedLogistic) -> LogisticAssociationResult:
    """Additive logistic regression (Wald test) of a block of variants with all binary phenotypes.

    For every variant ``j`` and phenotype ``p``: ``logit P(y_p = 1) = C b + g_j beta`` fitted by
    Newton-Raphson (IRLS), vectorised over the block: per iteration, one product
    ``[C_a C_b]^T W`` (``W = mu (1 - mu)`` as an ``[n, m]`` matrix) gives ``C^T W_j C`` of every
    still-iterating variant, and the ``[m, K+1, K+1]`` systems are solved in one batched call. Each fit
    starts from the null fit with ``beta = 0`` and stops, as Hail's ``logistic_regression_rows``, when
    every coefficient's Newton step is below ``prepared.tolerance`` (the step is then *not* applied), after
    at most ``prepared.max_iterations`` solves.

    Parameters
    ----------
    genotypes : array [N, M]
        Effect-allele counts or dosages, NaN = missing call (mean-imputed within each phenotype's
        samples, as Hail). Same sample order as ``prepared``.
    prepared : PreparedLogistic
        From :func:`prepare_logistic`.

    Returns
    -------
    LogisticAssociationResult
        Arrays ``[M, P]``: ``beta`` (log-odds ratio per effect allele), ``standard_error`` (square root of
        the last diagonal element of the inverse Fisher information at the final coefficients),
        ``p_value`` (two-sided normal p of the Wald ``z = beta / se``), ``n``, ``effect_allele_frequency``,
        ``converged``. Fits that do not converge, explode or have a singular Fisher matrix (monomorphic
        variants, separation) are NaN with ``converged`` False, as Hail's ``fit.converged = False``.

    References
    ----------
    McCullagh P, Nelder JA (1989) Generalized Linear Models, 2nd ed. Chapman & Hall, section 4.4
    (Fisher scoring / IRLS). doi:10.1007/978-1-4899-3242-6
    Hail Team, ``hail.methods.logistic_regression_rows`` (test='wald'), Hail 0.2.
    https://hail.is/docs/0.2/methods/stats.html#hail.methods.logistic_regression_rows
    """
    from scipy.special import expit, ndtr

    G = np.asarray(genotypes, dtype=float)
    C = prepared.covariates
    M, P = G.shape[1], prepared.phenotypes.shape[1]
    n_cov = C.shape[1]
    d = n_cov + 1
    iu, ju = np.triu_indices(n_cov)
    out = {name: np.full((M, P), np.nan) for name in ("beta", "standard_error", "p_value", "effect_allele_frequency")}
    n_out = np.zeros((M, P), dtype=np.int64)
    converged = np.zeros((M, P), dtype=bool)
    last = np.zeros((d, 1))
    last[-1] = 1.0
    for mask, cols, b0 in prepared.groups:
        Cg = C[mask]
        G0, mean = _mean_impute(G if mask.all() else G[mask])
        n = int(mask.sum())
        n_out[:, cols] = n
        out["effect_allele_frequency"][:, cols] = (mean / 2.0)[:, None]
        CC = Cg[:, iu] * Cg[:, ju]                      # [n, K(K+1)/2]: products of covariate pairs
        polymorphic = np.ptp(G0, axis=0) > 0            # constant genotypes: singular Fisher matrix
        # [n, m] work arrays allocated once per group and reused (fresh 100-MB arrays per iteration cost
        # more in page faults than the arithmetic)
        work = [np.empty(n * M) for _ in range(5)]

        def view(buf, m):
            return buf[: n * m].reshape(n, m)

        for j, p in enumerate(cols):                    # loop over phenotypes (few), not variants
            y = prepared.phenotypes[mask, p][:, None]
            off = None if prepared.offset is None else prepared.offset[mask, p]
            B = np.repeat(b0[:, j][:, None], M, axis=1)  # [K, M] covariate coefficients per variant
            bg = np.zeros(M)
            active = np.flatnonzero(polymorphic)
            for it in range(prepared.max_iterations):
                m = len(active)
                if m == 0:
                    break
                if m == M:
                    Ga = G0
                else:
                    Ga = view(work[4], m)
                    np.take(G0, active, axis=1, out=Ga)
                mu, W, R, WG = (view(w, m) for w in work[:4])
                with np.errstate(over="ignore", invalid="ignore"):
                    if it:
                        np.matmul(Cg, B[:, active], out=mu)
                        np.multiply(Ga, bg[active], out=W)
                        mu += W
                        if off is not None:
                            mu += off[:, None]
                        expit(mu, out=mu)
                        np.multiply(mu, mu, out=W)
                        np.subtract(mu, W, out=W)         # W = mu (1 - mu)
                        np.subtract(y, mu, out=R)
                        np.multiply(W, Ga, out=WG)
                        cwc = (CC.T @ W).T                  # [m, K(K+1)/2]
                        score_c = (Cg.T @ R).T
                        score_g = np.einsum("ij,ij->j", Ga, R)
                    else:  # every variant is at the null fit: mu and W are one column
                        mu0 = expit(Cg @ b0[:, j] if off is None else Cg @ b0[:, j] + off)
                        w0 = mu0 * (1.0 - mu0)
                        np.multiply(Ga, w0[:, None], out=WG)
                        cwc = CC.T @ w0
                        score_c = Cg.T @ (y[:, 0] - mu0)
                        score_g = Ga.T @ (y[:, 0] - mu0)
                    H = np.empty((m, d, d))
                    H[:, iu, ju] = cwc
                    H[:, ju, iu] = cwc
                    H[:, :n_cov, n_cov] = (Cg.T @ WG).T
                    H[:, n_cov, :n_cov] = H[:, :n_cov, n_cov]
                    H[:, n_cov, n_cov] = np.einsum("ij,ij->j", WG, Ga)
                    rhs = np.empty((m, d, 2))
                    rhs[:, :n_cov, 0] = score_c
                    rhs[:, n_cov, 0] = score_g
                    rhs[:, :, 1] = last[:, 0]
                    x, failed = _solve_stacked(H, rhs)
                step, inv_last = x[:, :, 0], x[:, n_cov, 1]
                done = ~failed & (np.abs(step).max(1) < prepared.tolerance)
                if done.any():
                    idx = active[done]
                    with np.errstate(invalid="ignore"):
                        se = np.sqrt(inv_last[done])
                    out["beta"][idx, p] = bg[idx]
                    out["standard_error"][idx, p] = se
                    out["p_value"][idx, p] = 2.0 * ndtr(-np.abs(bg[idx] / se))
                    converged[idx, p] = np.isfinite(se)
                go = ~failed & ~done
                B[:, active[go]] += step[go, :n_cov].T
                bg[active[go]] += step[go, n_cov]
                active = active[go]
    for name in ("beta", "standard_error", "p_value"):
        out[name][~converged] = np.nan
    return LogisticAssociationResult(beta=out["beta"], standard_error=out["standard_error"], p_value=out["p_value"],
                                     n=n_out, effect_allele_frequency=out["effect_allele_frequency"],
                                     converged=converged)


def lambda_gc(p_values: np.ndarray) -> float:
    """Genomic inflation: median chi-square(1) of the p-values / 0.4549 (NaN-safe)."""
    p = np.asarray(p_values, dtype=float)
    p = p[np.isfinite(p)]
    if p.size == 0:
        return float("nan")
    # the chi-square quantile is monotone in p: the median chi-square comes from the middle p-value(s)
    k = p.size // 2
    part = np.partition(p, [k - 1, k] if p.size > 1 else [0])
    mid = part[k] if p.size % 2 else np.array([part[k - 1], part[k]])
    return float(np.mean(special.chdtri(1, mid)) / special.chdtri(1, 0.5))
