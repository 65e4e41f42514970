"""Association kernels of ``edfgen gwas``: pure functions on arrays, no files, no Hail.

Phenotype transform (rank-based inverse normal), phenotype checks, missingness groups, the
multi-phenotype linear kernel (Frisch–Waugh–Lovell: phenotypes residualised once, one product
``G^T [Q, Y_res]`` per variant block) and the genomic-control lambda; the logistic Wald kernel is in
:mod:`edfgen.kernels.logistic`. The phenotype/covariate tables become arrays in
:mod:`edfgen.commands.gwas_design`; engines are in :mod:`edfgen.engines`, the command and its outputs
in :mod:`edfgen.commands.gwas`; the tests check these kernels against statsmodels, Hail and plink2.

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
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: its import alone takes ~0.5 s of every command

from edfgen.exceptions import InputError
from edfgen.kernels.covariates import (MAX_VIF, collinear_covariates, column_names,  # noqa: F401 (re-exported)
                                       covariate_vif, group_covariates, independent_column_indices, unit_columns)

log = logging.getLogger(__name__)

MISSING_GENOTYPES = ("mean-impute", "drop")


# ----------------------------------------------------------------------------------------------
# phenotype transform and checks (pure functions)
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


def check_phenotypes(Y: np.ndarray, names: Sequence[str], *, source: str = "phenotypes",
                     n_samples_label: str = "analysed samples", min_values: int = 1) -> None:
    """Every phenotype column must vary and have ``min_values`` values: an all-missing or constant phenotype
    has nothing to test (it gave beta 0, SE 0 or a message naming a column number), and one with a handful of
    values beside well-filled ones was tested on a few degrees of freedom (run alone it was refused). Raises
    :class:`InputError` naming it.

    Parameters
    ----------
    Y : array [n, P]
        Phenotype columns of the analysed samples (NaN = missing).
    names : list of str [P]
        Column names, for the message.
    source : str, default "phenotypes"
        Name of the input in the message.
    n_samples_label : str, default "analysed samples"
        What the rows are, in the message.
    min_values : int, default 1
        Fewest non-missing values a column needs.

    Returns
    -------
    None

    Raises
    ------
    InputError
        Naming the first column that is empty, too sparse or constant.
    """
    Y = np.asarray(Y, dtype=float)
    for j, name in enumerate(names):
        y = Y[:, j]
        y = y[~np.isnan(y)]
        if y.size == 0:
            raise InputError(f"{source}: phenotype {str(name)!r} has no values in the {Y.shape[0]} {n_samples_label}")
        if y.size < min_values:
            raise InputError(f"{source}: phenotype {str(name)!r} has {y.size} values in the {Y.shape[0]} "
                             f"{n_samples_label} (need >= {min_values}): leave it out of the phenotype columns")
        if np.all(y == y[0]):
            raise InputError(f"{source}: phenotype {str(name)!r} is constant ({float(y[0]):g} in all {y.size} "
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

    def rows(self, order: np.ndarray) -> "AssociationResult":
        """The statistics of the variants ``order`` (rows taken in that order), as a plain result."""
        return AssociationResult(**{k: getattr(self, k)[order] for k in AssociationResult.__dataclass_fields__})


@dataclass
class PreparedPhenotypes:
    """Phenotypes residualised on covariates once, per missingness group (see :func:`prepare_phenotypes`)."""

    covariates: np.ndarray            # [N, K]
    phenotypes: np.ndarray            # [N, P]
    groups: list = field(default_factory=list)  # (mask, cols, Q [n_g, K], Y_res [n_g, P_g], yy [P_g])
    covariate_vif: list = field(default_factory=list)  # per group: CovariateVIF (none: the check is skipped)


def prepare_phenotypes(phenotypes: np.ndarray, covariates: np.ndarray, *, names: Sequence[str] | None = None,
                       covariate_names: Sequence[str] | None = None, warn: bool = True) -> PreparedPhenotypes:
    """Residualise each missingness group of phenotypes on the covariates (done once per GWAS).

    Parameters
    ----------
    phenotypes : array [N, P], NaN = missing
    covariates : array [N, K], complete (include the intercept column yourself)
    names, covariate_names : list of str, optional
        Phenotype and covariate names for messages.
    warn : bool, default True
        Warn about a covariate left out of a group's regressions (False: a caller preparing the same groups again).

    Each group is residualised on its own independent covariates (:func:`group_covariates`: one constant or
    collinear among the group's samples is left out of that group's regressions with a WARNING, as plink2;
    ``warn`` False: without it, for a caller that prepares the same groups again).

    Returns
    -------
    PreparedPhenotypes
        Per missingness group: sample mask, phenotype columns, orthonormal covariate basis ``Q [n_g, K]``,
        residualised phenotypes ``[n_g, P_g]`` and their residual sums of squares ``[P_g]``.

    Raises
    ------
    InputError
        A group has too few samples for its covariates (naming its phenotypes).
    """
    Y = np.asarray(phenotypes, dtype=float)
    C = np.asarray(covariates, dtype=float)
    if np.isnan(C).any():
        raise InputError("linear_association: covariates contain missing values (drop those samples first)")
    prep = PreparedPhenotypes(covariates=C, phenotypes=Y)
    for mask, cols in missingness_groups(Y):
        n = int(mask.sum())
        keep = group_covariates(C[mask], cols, names=names, covariate_names=covariate_names, warn=warn)
        k = len(keep)
        if n <= k + 1:
            shown = ", ".join(map(repr, column_names(cols[:3], names))) + (" ..." if len(cols) > 3 else "")
            raise InputError(f"linear_association: only {n} samples with phenotype(s) {shown} "
                             f"for {k} covariates")
        U = unit_columns(C[np.ix_(mask, keep)])                 # (unit columns: as independent_column_indices)
        Q, R = np.linalg.qr(U)
        named = covariate_names is not None and len(covariate_names) == C.shape[1]    # (else "column j")
        prep.covariate_vif.append(covariate_vif(U, Q, R, warn=warn, names=[covariate_names[j] for j in keep]
                                                if named else None))
        Yg = Y[np.ix_(mask, cols)]
        Yres = Yg - Q @ (Q.T @ Yg)
        prep.groups.append((mask, cols, Q, *_explained_away(Yg, Yres, cols, names)))
    return prep


def _explained_away(Yg: np.ndarray, Yres: np.ndarray, cols, names) -> tuple[np.ndarray, np.ndarray]:
    """``(Yres, yy)`` with ``yy`` the residual sums of squares; a phenotype that the covariates explain
    completely (``yy`` <= 1e-12 of its sum of squares about the mean: rounding noise, e.g. the phenotype is also
    a covariate) gets ``yy`` NaN and a zero residual, so its results are NA (not SE 0 and p 0), with a WARNING."""
    yy = (Yres ** 2).sum(0)
    dead = yy <= 1e-12 * ((Yg - Yg.mean(0)) ** 2).sum(0)
    if dead.any():
        shown = ", ".join(map(repr, column_names(cols[dead][:3], names))) + (" ..." if dead.sum() > 3 else "")
        log.warning("phenotype(s) %s: the covariates explain them completely (residual variance 0: one of them is "
                    "the phenotype or a copy of it?): results NA", shown)
        Yres = Yres.copy()
        Yres[:, dead] = 0.0
        yy = np.where(dead, np.nan, yy)
    return Yres, yy


#: multiply-adds of one product ``G^T [Q, Y_res]`` from which it may use more than one BLAS thread
THREADED_PRODUCT_MIN = 2 ** 28
_blas = None          # threadpoolctl's controller of the loaded BLAS libraries, made at the first small product


def _product(Gt: np.ndarray, QY: np.ndarray) -> np.ndarray:
    """``Gt @ QY``, on one BLAS thread when it has fewer than :data:`THREADED_PRODUCT_MIN` multiply-adds.

    These tall-skinny products read the whole block from memory for a few multiply-adds per element: a
    second thread hardly shortens them (4096 variants x 2,000 samples x 5 columns: 28 ms on one thread,
    40 ms on two, this 2-core machine under load), while each threaded call waits for both threads to be
    scheduled and its workers compete with the decoding thread: the association pass of 2,000 samples x
    30k variants in 524-variant blocks took 0.59 CPU-s (0.60 s wall) with 2 BLAS threads vs 0.25 (0.30) with
    1 (``benchmarks/results/gwas_pass_blocks_s29_threads.md``). Larger products (many phenotypes and samples)
    keep the threads the caller set (``--threads``).
    """
    global _blas
    if Gt.shape[0] * Gt.shape[1] * QY.shape[1] >= THREADED_PRODUCT_MIN:
        return Gt @ QY
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            return Gt @ QY
        _blas = ThreadpoolController().select(user_api="blas")   # ~1 ms once; a limit below is ~0.1 ms
    with _blas.limit(limits=1):
        return Gt @ QY


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
    AssociationResult with arrays ``[M, P]``. Monomorphic variants (with ``drop``: not identified among their
    called samples), exact fits (:func:`exact_fit`) and genotypes collinear with the covariates (variance
    inflation factor above :data:`MAX_VIF`, plink2 ``--glm``'s ``VIF_TOO_HIGH``/``CORR_TOO_HIGH``: the genotype's
    own on the covariates, or a covariate's with the genotype in the model: ``CovariateVIF``; with ``drop``, a
    variant with a missing call: both on its called samples) get NaN statistics.

    Notes
    -----
    t-test with ``n - k - 1`` degrees of freedom (``k`` covariates including the intercept), as
    Hail's ``linear_regression_rows`` and plink2 ``--glm``. With no covariate at all (``k = 0``, no intercept
    either) the model is the regression through the origin ``y ~ g`` (``n - 1`` degrees of freedom).
    """
    if missing_genotypes not in MISSING_GENOTYPES:
        raise InputError(f"linear_association: missing_genotypes={missing_genotypes!r} "
                         f"(choose {', '.join(MISSING_GENOTYPES)})")
    G = np.asarray(genotypes, dtype=float)
    M, P = G.shape[1], prepared.phenotypes.shape[1]
    out = {name: np.full((M, P), np.nan) for name in ("beta", "standard_error", "p_value", "effect_allele_frequency")}
    n_out = np.zeros((M, P), dtype=np.int64)
    vifs = prepared.covariate_vif if len(prepared.covariate_vif) == len(prepared.groups) else [None] * len(prepared.groups)
    for (mask, cols, Q, Yres, yy), vif in zip(prepared.groups, vifs):
        k = Q.shape[1]                                      # the group's covariates (group_covariates)
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
            prod = _product(Gg.T, QY)                       # [M, K + P_g]: the one big product
            if any_missing:                                 # rows of variants with missing calls: NaN, redone
                sub = Gg[:, nan_cols]                       # on their mean-imputed columns only (no block copy)
                called_sub = ~np.isnan(sub)
                mean[nan_cols] = np.where(called_sub, sub, 0.0).sum(0) / called_sub.sum(0)
                imputed = np.where(called_sub, sub, mean[nan_cols])
                prod[nan_cols] = _product(imputed.T, QY)
            Qg, gy = prod[:, :k], prod[:, k:]
            if g2 is None:
                g2 = np.einsum("ij,ij->j", Gg, Gg)
                if any_missing:
                    g2[nan_cols] = np.einsum("ij,ij->j", imputed, imputed)
            gg = g2 - np.einsum("ij,ij->i", Qg, Qg)
            gg = np.where(gg > 1e-8 * np.maximum(g2, 1e-300), gg, np.nan)
            gg[(g2 - n * mean ** 2) > MAX_VIF * gg] = np.nan   # VIF = centred SS / residual SS (plink2 --vif)
            if vif is not None:                                # and each covariate's with g in the model
                gg[vif.too_high(Qg, gg)] = np.nan
            beta = gy / gg[:, None]
            df = n - k - 1
            rss = yy[None, :] - beta * gy
            beta[exact_fit(rss, yy[None, :])] = np.nan
            se = np.sqrt(np.maximum(rss, 0) / df / gg[:, None])
            se[np.isnan(beta)] = np.nan
            p = _t_p(beta / se, df)
        beta[:, np.isnan(yy)] = np.nan                      # explained away (_explained_away): NA
        out["beta"][:, cols] = beta
        out["standard_error"][:, cols] = se
        out["p_value"][:, cols] = p
        out["effect_allele_frequency"][:, cols] = (mean / 2.0)[:, None]
        n_out[:, cols] = n
        if missing_genotypes == "drop" and any_missing:
            j = nan_cols
            res = _drop_missing_ols(sub, called_sub, Q, Yres, vif)
            for name, arr in zip(("beta", "standard_error", "p_value"), res[:3]):
                out[name][np.ix_(j, cols)] = np.where(np.isnan(yy), np.nan, arr)
            n_out[np.ix_(j, cols)] = res[3][:, None]
    return AssociationResult(beta=out["beta"], standard_error=out["standard_error"], p_value=out["p_value"],
                             n=n_out, effect_allele_frequency=out["effect_allele_frequency"])


def _drop_missing_ols(G: np.ndarray, called: np.ndarray, Q: np.ndarray, Yres: np.ndarray, vif=None):
    """Exact OLS per variant on its called samples only (plink2 behaviour), batched over variants.

    Parameters
    ----------
    G, called : array [n, m]
        Genotypes (NaN = missing) and their call indicator, of the variants with a missing call.
    Q, Yres : array [n, K], [n, P]
        The group's orthonormal covariate basis and its phenotypes residualised on it
        (:func:`prepare_phenotypes`).
    vif : CovariateVIF, optional
        The group's covariates' VIF terms: a covariate's VIF with the genotype in the model, on ``S``, above
        :data:`MAX_VIF` is NA too (none: the genotype's own VIF only).

    Returns
    -------
    beta, standard_error, p_value : arrays [m, P]; n : array [m] (called samples).

    Notes
    -----
    On a variant's called samples ``S`` the model ``y_S ~ C_S + g_S`` has the same beta and residuals as
    ``Yres_S ~ Q_S + g~_S`` with ``g~`` the mean-imputed genotype residualised on ``Q`` (each is the other plus
    terms in the span of the covariates), and every term of the latter is of the size of the residuals, not
    of the raw values: a covariate ``1e8 + age`` or a phenotype ``7 + 1e-9 x`` loses no digits (the normal
    equations of the raw values did, and wrote null variants as hits; review s32a F1, F2). Per variant,
    Frisch-Waugh-Lovell on ``S`` with the K x K matrix ``Q_S' Q_S``. NA (as plink2) where the variant is
    not identified among its called samples: ``n_S <= K + 1``, called genotypes constant, covariates
    collinear in ``S`` or the genotype collinear with them (its VIF, or with ``vif`` a covariate's with it, above
    :data:`MAX_VIF`); and where the fit is
    exact (:func:`exact_fit`).
    """
    R = called.astype(float)
    n, K = Q.shape
    nv = R.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(called, G, 0.0).sum(0) / np.maximum(nv, 1)
        g = np.where(called, G, mean)
        centred_ss = (R * (g - mean) ** 2).sum(0)           # sum over S of (g - its mean in S)^2
        c = Q.T @ g                                         # [K, m]
        g = (g - Q @ c) * R                                 # g~ on S, 0 elsewhere
        A, qy = _called_products(R, Q, Yres)                           # Q_S' Q_S [m, K, K], Q_S' Yres_S [m, K, P]
        if K:
            w, V = np.linalg.eigh(A)
            cov_ok = w[:, 0] > 1e-10 * w[:, -1]             # Q_S has full rank K
            Ainv = (V / np.where(cov_ok[:, None], w, 1.0)[:, None, :]) @ V.transpose(0, 2, 1)
        else:                                               # no covariate at all: a regression through the origin
            cov_ok, Ainv = np.ones(len(nv), dtype=bool), A
        qg = g.T @ Q                                                     # [m, K]
        gg = (g ** 2).sum(0) - np.einsum("mk,mkl,ml->m", qg, Ainv, qg)
        gy = g.T @ Yres - np.einsum("mk,mkl,mlp->mp", qg, Ainv, qy)
        yy = R.T @ Yres ** 2 - np.einsum("mkp,mkl,mlp->mp", qy, Ainv, qy)
        constant = np.where(called, G, -np.inf).max(0) == np.where(called, G, np.inf).min(0)
        df = nv - K - 1
        ok = (df > 0) & cov_ok & ~constant & (gg > 1e-8 * centred_ss) & (centred_ss <= MAX_VIF * gg)   # (VIF)
        if vif is not None and vif.R is not None and ok.any():
            ok[ok] = ~vif.too_high_on(called[:, ok], Q, Ainv[ok], qg[ok], c.T[ok], gg[ok])
        beta = np.where(ok[:, None], gy / gg[:, None], np.nan)
        rss = yy - beta * gy
        beta[exact_fit(rss, yy)] = np.nan
        se = np.sqrt(rss / df[:, None] / gg[:, None])
        se[np.isnan(beta)] = np.nan
        p = _t_p(beta / se, df[:, None])
    return beta, se, p, nv.astype(np.int64)


#: bytes of one block of samples' products in :func:`_called_products` (n x K x (K + P) at most this)
CALLED_PRODUCTS_BYTES = 64 * 2**20


def _called_products(R: np.ndarray, Q: np.ndarray, Yres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Q_S' Q_S`` and ``Q_S' Yres_S`` for every variant's called samples ``S`` (the columns of ``R``), summed
    over blocks of samples of at most :data:`CALLED_PRODUCTS_BYTES`: the products ``Q_i Q_i'`` and
    ``Q_i Yres_i'`` of all samples at once were an ``n x K x P`` array (10 GB at 500,000 people, 20 covariates,
    128 EDFs), for each block of variants with a missing call.

    Returns
    -------
    A : array [m, K, K]; qy : array [m, K, P]
    """
    n, K = Q.shape
    P, m = Yres.shape[1], R.shape[1]
    A, qy = np.zeros((m, K * K)), np.zeros((m, K * P))
    step = max(1, CALLED_PRODUCTS_BYTES // (8 * max(K, 1) * (K + P)))   # (K = 0: no covariate at all)
    for i in range(0, n, step):
        q, r = Q[i:i + step], R[i:i + step].T
        A += r @ (q[:, :, None] * q[:, None, :]).reshape(len(q), K * K)
        qy += r @ (q[:, :, None] * Yres[i:i + step, None, :]).reshape(len(q), K * P)
    return A.reshape(m, K, K), qy.reshape(m, K, P)


#: a residual sum of squares at most this fraction of the phenotype's (after the covariates) is within
#: rounding of zero: beta, SE and p are written NA, as plink2's INVALID_RESULT (review s32a F4)
EXACT_FIT_RSS = 1e-10


def exact_fit(rss: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Where the variant fits the phenotype exactly or nearly (``rss <= EXACT_FIT_RSS x yy``, ``t`` above
    ~``1e5 sqrt(df)``): ``rss = yy - beta gy`` has then lost its digits to cancellation, so the SE would be
    rounding noise (SE 0, p 0 for a perfect fit). Such rows are NA, not counted as hits.

    Parameters
    ----------
    rss : array
        Residual sum of squares with the variant (``yy - beta gy``).
    yy : array
        Residual sum of squares of the null model, broadcastable against ``rss``.

    Returns
    -------
    bool array
        True where the fit is exact to rounding.
    """
    return rss <= EXACT_FIT_RSS * yy


def lambda_gc(p_values: np.ndarray) -> float:
    """Genomic inflation: median chi-square(1) of the p-values / 0.4549 (NaN-safe).

    Parameters
    ----------
    p_values : array
        p-values (non-finite ones ignored).

    Returns
    -------
    float
        ``λ_GC``; NaN when no p-value is finite.

    References
    ----------
    Devlin B, Roeder K (1999) Biometrics 55:997. doi:10.1111/j.0006-341X.1999.00997.x
    """
    p = np.asarray(p_values, dtype=float)
    p = p[np.isfinite(p)]
    if p.size == 0:
        return float("nan")
    # the chi-square quantile is monotone in p: the median chi-square comes from the middle p-value(s)
    k = p.size // 2
    part = np.partition(p, [k - 1, k] if p.size > 1 else [0])
    mid = part[k] if p.size % 2 else np.array([part[k - 1], part[k]])
    return float(np.mean(special.chdtri(1, mid)) / special.chdtri(1, 0.5))
