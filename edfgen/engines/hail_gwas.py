"""The Hail GWAS engine: ``linear_regression_rows`` / ``logistic_regression_rows`` (Wald or Firth) over a
QC'd MatrixTable (entry ``x``), per missingness group of phenotypes, as ``AssociationResult`` arrays.
Runs unchanged on a Spark cluster; the importers and QC are in :mod:`edfgen.engines.hail`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from edfgen.kernels.association import AssociationResult, group_covariates, missingness_groups
from edfgen.kernels.logistic import warn_few_cases

log = logging.getLogger(__name__)


def _annotate_design(hl, mt, used_ids: np.ndarray, Y: np.ndarray, C: np.ndarray):
    """Attach y (NaN -> missing) and covariates to the MT columns as arrays, keyed by IID."""
    df = pd.DataFrame({"s": used_ids})
    df["y"] = [list(r) for r in np.where(np.isnan(Y), None, Y).tolist()]
    df["c"] = C.tolist()
    ht = hl.Table.from_pandas(df, key="s")
    ht = ht.annotate(y=ht.y.map(lambda v: hl.float64(v)))
    mt = mt.annotate_cols(**ht[mt.s])
    return mt


def hail_vif_too_high(hl, mt, used_ids: np.ndarray, C: np.ndarray, groups, P: int) -> np.ndarray:
    """Which variant x phenotype rows of ``mt`` are NA by the fast engine's VIF rule
    (:func:`edfgen.kernels.covariates.vif_too_high`: a predictor's variance inflation factor above
    :data:`~edfgen.kernels.covariates.MAX_VIF`, plink2 ``--glm``'s ``VIF_TOO_HIGH`` / ``CORR_TOO_HIGH``), on the
    genotypes mean-imputed in each group's samples as Hail's regressions impute them. Hail's regressions have no
    such rule: a genotype 99.98 % correlated with a covariate got an estimate where the fast engine and plink2
    write NA.

    One pass over ``mt``: each group's sums (calls, sum and sum of squares of ``x``, its products with the group's
    covariates ``c``) are aggregated and the rule evaluated in Hail (the products rotated onto the group's
    orthonormal covariate basis by constant matrices): only one flag per variant and group is collected.

    Parameters
    ----------
    hl
        The Hail module.
    mt : MatrixTable
        Column key ``s``, column field ``c`` (the covariates of ``used_ids``, :func:`_annotate_design`), entry
        ``x`` (dosage; missing: a missing call).
    used_ids : array of str
        The samples of the rows of ``C``.
    C : array [n, k]
        The covariates (all columns; each group uses its ``keep``), as ``mt.c`` holds them.
    groups : list of (mask, cols, keep)
        Each missingness group's samples (bool [n]), phenotype columns and independent covariates.
    P : int
        The number of phenotype columns.

    Returns
    -------
    bool array [M, P]
    """
    from edfgen.kernels.covariates import MAX_VIF, covariate_vif, unit_columns

    member = np.zeros((len(used_ids), len(groups)), dtype=bool)
    for g, (mask, _, _) in enumerate(groups):
        member[mask, g] = True
    ht = hl.Table.from_pandas(pd.DataFrame({"s": np.asarray(used_ids, dtype=str), "g": member.tolist()}), key="s")
    mt = mt.annotate_cols(__in=ht[mt.s].g)
    x = mt.x
    sums = []
    for g, (_, _, keep) in enumerate(groups):
        cs = hl.array([mt.c[int(j)] for j in keep]) if len(keep) else hl.empty_array(hl.tfloat64)
        sums.append(hl.agg.filter(hl.coalesce(mt.__in[g], False) & hl.is_defined(x), hl.struct(
            nc=hl.agg.count(), s1=hl.agg.sum(x), s2=hl.agg.sum(x * x),
            cx=hl.agg.array_sum(cs.map(lambda v: v * x)), cc=hl.agg.array_sum(cs))))
    mt = mt.annotate_rows(__sums=hl.array(sums))
    flags = [_vif_flag(hl, mt.__sums[g], C[np.ix_(mask, keep)], MAX_VIF, covariate_vif, unit_columns)
             for g, (mask, _, keep) in enumerate(groups)]
    rt = mt.annotate_rows(__flags=hl.array(flags)).rows()
    got = rt.select(f=rt.__flags).key_by().drop("locus", "alleles").to_pandas()["f"].tolist()
    flag = np.array(got, dtype=bool).reshape(len(got), len(groups))
    out = np.zeros((len(got), P), dtype=bool)
    for g, (_, cols, _) in enumerate(groups):
        out[:, cols] = flag[:, g][:, None]
    return out


def _vif_flag(hl, a, Cg: np.ndarray, max_vif: float, covariate_vif, unit_columns):
    """The Hail expression of :func:`edfgen.kernels.covariates.vif_too_high_from_sums` for one group: ``a`` its
    row sums (``nc`` calls, ``s1``, ``s2``, ``cx``/``cc`` the covariates' sums over the called samples, times
    ``x`` and plain), ``Cg`` its covariates; the genotype mean-imputed as Hail's regressions impute it."""
    n, K = Cg.shape
    if K == 0:
        return hl.bool(False)
    norms = np.linalg.norm(Cg, axis=0)
    U = unit_columns(Cg)
    Q, R = np.linalg.qr(U)
    T = np.linalg.solve(R.T, np.diag(1.0 / np.where(norms > 0, norms, 1.0)))    # Q'g = R^-T U'g = T C'g
    vif = covariate_vif(U, Q, R, warn=False)
    # whole arrays, not one constant per entry: the expression's size must not grow with K^2 (with every entry of
    # T written in, K = 145 covariates took 223 s to compile per call, review s41)
    mean = hl.float64(a.s1) / hl.float64(a.nc)
    v = hl.nd.array(a.cx) + mean * (hl.nd.array(Cg.sum(0)) - hl.nd.array(a.cc))
    qg = hl.nd.array(T) @ v
    g2 = a.s2 + hl.float64(n - a.nc) * mean ** 2
    rss = g2 - (qg * qg).sum()
    centred = g2 - n * mean ** 2
    own = (rss <= 1e-8 * hl.max(g2, 1e-300)) | (centred > max_vif * rss)
    W = vif.weights[vif.checked]
    if len(W):
        wq = hl.nd.array(W) @ qg
        base = hl.literal(vif.base[vif.checked].tolist())
        cov = hl.any(hl.range(len(W)).map(lambda i: base[i] + wq[i] ** 2 / rss > max_vif))
    else:
        cov = hl.bool(False)
    return hl.coalesce(own | cov, False)


def _vif_na(arrays: dict, too_high: np.ndarray) -> None:
    """The statistics of the ``too_high`` rows (:func:`hail_vif_too_high`) NA, in place (as the fast engine)."""
    for k in ("beta", "standard_error", "p_value"):
        arrays[k][too_high] = np.nan


#: up to this many missingness patterns, one plain-list ``linear_regression_rows`` per pattern is used
#: (each a pass over the checkpointed MatrixTable); beyond it, one chained (list-of-lists) call. In Hail
#: 0.2.139 the chained form is ~12x slower per pass (measured: 2078 variants x 5000 samples x 32
#: phenotypes, 14-18 s chained vs 1.1 s plain).
CHAINED_ABOVE_GROUPS = 8


def hail_linear(hl, mt, used_ids, Y, C, *, names=None, cov_names=None) -> AssociationResult:
    """Hail ``linear_regression_rows`` per missingness group (plain list of y), or chained for many groups.

    Each group's regressions get only its independent covariates (:func:`group_covariates`, with a WARNING
    naming the one left out, as plink2): a covariate constant among one group's samples gave silently wrong
    statistics (review s33b F1). The rows over the VIF limit in a group (:func:`hail_vif_too_high`, one more
    pass over the data) are NA, as the fast engine's and plink2's ``VIF_TOO_HIGH`` / ``CORR_TOO_HIGH``.
    ``names``, ``cov_names``: phenotype and covariate names for that warning.
    """
    mt = _annotate_design(hl, mt, used_ids, Y, C)
    M, P = mt.count_rows(), Y.shape[1]
    arrays = {k: np.full((M, P), np.nan) for k in ("beta", "standard_error", "p_value", "effect_allele_frequency")}
    n = np.zeros((M, P), dtype=np.int64)
    by_covariates: dict[tuple, list] = {}
    for mask, cols in missingness_groups(Y):
        keep = group_covariates(C[mask], cols, names=names, covariate_names=cov_names)
        by_covariates.setdefault(tuple(keep), []).append((mask, cols))
    for keep, groups in by_covariates.items():
        covs = [mt.c[i] for i in keep]
        fit = _linear_plain if len(groups) <= CHAINED_ABOVE_GROUPS else _linear_chained
        fit(hl, mt, groups, covs, arrays, n)
    if M and P:
        _vif_na(arrays, hail_vif_too_high(hl, mt, used_ids, C, [(mask, cols, list(keep)) for keep, groups in
                                                                by_covariates.items() for mask, cols in groups], P))
    return AssociationResult(n=n, **arrays)


def _collected(ht, table) -> pd.DataFrame:
    """``table`` (a selection of ``ht``) as a data frame, then ``ht`` unpersisted.

    Hail's ``linear_regression_rows``/``logistic_regression_rows`` persist their result table (variants x
    phenotypes) under Hail's temp folder; it was never removed, so every run left its results there (review
    s33d F7).

    Parameters
    ----------
    ht
        The Hail Table a regression returned (persisted).
    table
        What to collect: ``ht`` or a selection of it.

    Returns
    -------
    pandas.DataFrame
        ``table.to_pandas()``.
    """
    try:
        return table.to_pandas()
    finally:
        ht.unpersist()


def _frame(res, col, width) -> np.ndarray:
    return pd.DataFrame(res[col].tolist(), index=range(len(res)), columns=range(width)).to_numpy(dtype=float)


def _linear_plain(hl, mt, groups, covs, arrays: dict, n: np.ndarray) -> None:
    """One plain-list ``linear_regression_rows`` per group, into ``arrays`` and ``n`` (columns of the groups)."""
    for _, cols in groups:
        ht = hl.linear_regression_rows(y=[mt.y[int(p)] for p in cols], x=mt.x, covariates=covs)
        res = _collected(ht, ht.select("n", "sum_x", "beta", "standard_error", "p_value").key_by().drop(
            "locus", "alleles"))
        for f in ("beta", "standard_error", "p_value"):
            arrays[f][:, cols] = _frame(res, f, len(cols))
        ng = res["n"].to_numpy(dtype=float)
        n[:, cols] = ng[:, None]
        arrays["effect_allele_frequency"][:, cols] = (res["sum_x"].to_numpy(dtype=float) / (2 * ng))[:, None]


def _linear_chained(hl, mt, groups, covs, arrays: dict, n: np.ndarray) -> None:
    """One chained (list-of-lists) ``linear_regression_rows`` of all ``groups``, into ``arrays`` and ``n``."""
    ys = [[mt.y[int(p)] for p in cols] for _, cols in groups]
    ht = hl.linear_regression_rows(y=ys, x=mt.x, covariates=covs, block_size=64)
    # Hail 0.2.139 returns one entry per *phenotype* (each group's arrays repeated once per member of the
    # group), not one per group: take each group's entry at its flattened offset (also right if a later
    # Hail returns one entry per group), flattening in Hail so the driver never collects the P-fold copies.
    try:
        first = ht.head(1).n.collect()
        per_group = not first or len(first[0]) == len(groups)
        offsets = list(range(len(groups))) if per_group else [int(o) for o in
                                                               np.cumsum([0] + [len(c) for _, c in groups[:-1]])]
        flat = {f: hl.flatten(hl.array([ht[f][o] for o in offsets])) for f in ("beta", "standard_error", "p_value")}
        res = ht.select(n=hl.array([ht.n[o] for o in offsets]), sum_x=hl.array([ht.sum_x[o] for o in offsets]),
                        **flat)
        res = res.key_by().drop("locus", "alleles").to_pandas()
    finally:
        ht.unpersist()     # (as _collected)
    order = np.concatenate([cols for _, cols in groups])
    for f in ("beta", "standard_error", "p_value"):
        arrays[f][:, order] = _frame(res, f, len(order))
    n_g, sx_g = _frame(res, "n", len(groups)), _frame(res, "sum_x", len(groups))
    per_pheno = np.concatenate([[g] * len(cols) for g, (_, cols) in enumerate(groups)])
    n[:, order] = n_g[:, per_pheno]
    arrays["effect_allele_frequency"][:, order] = sx_g[:, per_pheno] / (2 * n_g[:, per_pheno])


def hail_logistic(hl, mt, used_ids, Y, C, test: str, *, names=None, cov_names=None) -> AssociationResult:
    """Hail ``logistic_regression_rows`` per missingness group (Wald or Firth), each with its independent
    covariates (:func:`group_covariates`, as :func:`hail_linear`). The rows over the VIF limit in a group
    (:func:`hail_vif_too_high`, one more pass over the data) are NA, as the fast engine's, and not refitted.

    Firth returns no standard error: it is reported as ``|beta| / sqrt(chi_sq_stat)`` (the SE that
    reproduces the likelihood-ratio p-value). The polymorphic rows whose Hail Firth fit did not converge (one
    carrier, separation: the rows Firth is for) are refitted by edfgen's full Firth fit
    (:func:`refit_firth_failures`), so the run writes the rows the fast engine's firth-fallback writes (s36c).
    """
    mt = _annotate_design(hl, mt, used_ids, Y, C)
    groups = missingness_groups(Y)
    M, P = mt.count_rows(), Y.shape[1]
    arrays = {k: np.full((M, P), np.nan) for k in ("beta", "standard_error", "p_value", "effect_allele_frequency")}
    n = np.zeros((M, P), dtype=np.int64)
    keeps = [group_covariates(C[mask], cols, names=names, covariate_names=cov_names) for mask, cols in groups]
    for (mask, cols), keep in zip(groups, keeps):
        for p in cols:     # plink2's few-cases warning, as the fast engine says it (before Hail runs)
            warn_few_cases(names[p] if names is not None else f"column {p}", Y[mask, p], len(keep),
                           firth=test != "wald", hint="--logistic-test firth")   # (Hail has no firth-fallback)
    too_high = (hail_vif_too_high(hl, mt, used_ids, C, [(m, c, k) for (m, c), k in zip(groups, keeps)], P)
                if M and P else np.zeros((M, P), dtype=bool))
    for (mask, cols), keep in zip(groups, keeps):
        ids = hl.literal(set(used_ids[mask]))
        sub = mt.filter_cols(ids.contains(mt.s))
        sub = sub.annotate_rows(__af=hl.agg.mean(sub.x) / 2)
        ht = hl.logistic_regression_rows(test=test, y=[sub.y[int(p)] for p in cols], x=sub.x,
                                         covariates=[sub.c[i] for i in keep], pass_through=["__af"])
        r = _collected(ht, ht)
        for j, p in enumerate(cols):
            stats_ = pd.DataFrame(list(r["logistic_regression"].map(lambda a: a[j])))
            beta = stats_["beta"].to_numpy(dtype=float)
            if test == "firth":
                chi = stats_["chi_sq_stat"].to_numpy(dtype=float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    se = np.abs(beta) / np.sqrt(chi)
            else:
                se = stats_["standard_error"].to_numpy(dtype=float)
            arrays["beta"][:, p] = beta
            arrays["standard_error"][:, p] = se
            arrays["p_value"][:, p] = stats_["p_value"].to_numpy(dtype=float)
            arrays["effect_allele_frequency"][:, p] = r["__af"].to_numpy(dtype=float)
            n[:, p] = int(mask.sum())
            if test == "firth":                 # (not the VIF_TOO_HIGH rows: NA, as the fast engine's Firth)
                refit_firth_failures(hl, sub, used_ids[mask], Y[mask, p], C[mask][:, keep],
                                     {k: arrays[k][:, p] for k in ("beta", "standard_error", "p_value",
                                                                   "effect_allele_frequency")},
                                     skip=too_high[:, p])
    _vif_na(arrays, too_high)
    if test == "firth":
        warn_firth_failures(np.where(too_high, 0.0, arrays["beta"]), arrays["effect_allele_frequency"])
    return AssociationResult(n=n, **arrays)


def _failed(beta: np.ndarray, allele_frequency: np.ndarray) -> np.ndarray:
    """The polymorphic rows without an estimate."""
    af = np.nan_to_num(allele_frequency)
    return np.isnan(beta) & (af > 0) & (af < 1)


def refit_firth_failures(hl, sub, ids: np.ndarray, y: np.ndarray, C: np.ndarray, stats: dict,
                         skip: np.ndarray | None = None) -> int:
    """Refit by :func:`edfgen.kernels.firth.firth_full` (covariates refitted, all coefficients penalised, the
    penalised likelihood-ratio test: Hail's Firth test, which converges for fewer rows) the polymorphic rows of
    ``stats`` (``beta``, ``standard_error``, ``p_value``, ``effect_allele_frequency`` of one phenotype, arrays
    over the rows of ``sub``, filled in place) that Hail's Firth fit left without an estimate (review s31b F5:
    one carrier, separation). ``sub``: the MatrixTable of the samples ``ids`` (entry ``x``), ``y`` and ``C``
    theirs in this order. Only those rows' genotypes are collected, missing calls mean-imputed as Hail's test
    imputes them; ``skip`` (bool over the rows): rows not refitted (NA by the VIF rule). Returns how many were
    refitted and converged."""
    from edfgen.kernels.firth import firth_full, firth_null_fit

    failed = _failed(stats["beta"], stats["effect_allele_frequency"])
    rows = np.flatnonzero(failed if skip is None else failed & ~skip)
    if not len(rows):
        return 0
    sub = sub.add_row_index("__row")
    sub = sub.filter_rows(hl.literal(set(rows.tolist()), hl.tset(hl.tint64)).contains(sub.__row))
    got = sub.annotate_rows(__g=hl.agg.collect(hl.struct(s=sub.s, x=sub.x))).rows().select("__row", "__g").collect()
    where = pd.Index(ids)
    G = np.full((len(ids), len(got)), np.nan)
    for k, row in enumerate(got):
        G[where.get_indexer([e.s for e in row.__g]), k] = [np.nan if e.x is None else e.x for e in row.__g]
    G = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    fit = firth_full(C, G, y, start=firth_null_fit(C, y)[0])
    at = np.array([row.__row for row in got], dtype=np.int64)
    for key, values in (("beta", fit.beta), ("standard_error", fit.standard_error), ("p_value", fit.p_value)):
        stats[key][at] = values
    log.info("Hail's Firth fit did not converge for %d rows: refitted by edfgen's full Firth fit (%d converged)",
             len(at), int(fit.converged.sum()))
    return int(fit.converged.sum())


def warn_firth_failures(beta: np.ndarray, allele_frequency: np.ndarray) -> int:
    """WARNING with the number of polymorphic variant x phenotype rows (``[M, P]`` arrays) left without a Firth
    estimate by Hail's fit and by edfgen's refit (:func:`refit_firth_failures`). Returns it."""
    failed = int(_failed(beta, allele_frequency).sum())
    if failed:
        log.warning("the Firth fit did not converge for %d variant x phenotype rows (Hail's, then edfgen's full "
                    "Firth fit, as the fast engine's firth-fallback): left out", failed)
    return failed


def _contig_of(hl, mt, chromosome: str) -> str | None:
    """Hail's contig name (``chr1`` in GRCh38, ``1`` in GRCh37) of the output chromosome ``chromosome``."""
    rg = mt.locus.dtype.reference_genome
    for contig in rg.contigs:
        name = contig[3:] if contig.startswith("chr") else contig
        if (name if name != "M" else "MT") == chromosome:
            return contig
    return None


def hail_model_pass(hl, mt, used_ids: np.ndarray, variants: pd.DataFrame, Y: np.ndarray, C: np.ndarray, *,
                    binary: bool, logistic_test: str, loco=None, permutation: np.ndarray | None = None,
                    sex_by_id: pd.Series | None = None, names=None, cov_names=None):
    """``--model ridge-loco`` step 2 and the ``--multivariate`` permuted pass on Hail:
    ``(AssociationResult, permuted AssociationResult or None)`` over the rows of ``mt`` (``variants``, in the
    MatrixTable's order).

    ``loco`` (predictions of ``used_ids``: a :class:`edfgen.formats.loco.LocoStore` opened from
    ``--loco-predictions``, which reads one chromosome at a time from disk, or an in-memory
    :class:`edfgen.kernels.ridge.LocoPredictions`): the variants of each chromosome are tested, in one Hail
    pass restricted to that chromosome (``hl.filter_intervals``), against ``Y - loco(chromosome)`` (REGENIE
    step 2, the fast engine's :class:`edfgen.kernels.models.RidgeLocoModel`). Each chromosome's ``[N, P]``
    predictions are read once (both passes with ``permutation``), subtracted, and released
    (``loco.release()``) before its Hail pass, so the driver holds one chromosome's at most, not
    ``C x N x P`` (11 GB for 22 chromosomes x 500k samples x 128 phenotypes). Linear only: Hail's
    ``logistic_regression_rows`` takes no offset.

    ``permutation`` (an order of the samples, :data:`edfgen.engines.gwas_stream.MULTIVARIATE_PERMUTATION_SEED`):
    the fast engine tests sample ``i``'s phenotypes and covariates against sample ``permutation[i]``'s
    genotypes; here the phenotypes and covariates are permuted instead (sample ``k`` gets those of
    ``argsort(permutation)[k]``), the same regressions.

    X, Y and MT are tested as stored, on everyone; with ``sex_by_id`` (the genotype files') X's
    ``effect_allele_frequency`` counts one allele per male, as the QC's and plink2's (:func:`_with_x_frequency`).
    ``names``, ``cov_names``: phenotype and covariate names (the warning of :func:`hail_linear`).

    References
    ----------
    Mbatchou J. et al. (2021) Computationally efficient whole-genome regression for quantitative and binary
    traits. Nat Genet 53:1097-1103 (REGENIE; step 2 tests against the LOCO residual).
    """
    if loco is not None and binary:
        raise ValueError("hail_model_pass: ridge-loco on Hail is linear (Hail's logistic regression has no offset)")
    orders = [np.arange(len(used_ids))] + ([np.argsort(permutation)] if permutation is not None else [])

    def one(m, Yx, Cx) -> AssociationResult:
        named = {"names": names, "cov_names": cov_names}
        return (hail_logistic(hl, m, used_ids, Yx, Cx, logistic_test, **named) if binary
                else hail_linear(hl, m, used_ids, Yx, Cx, **named))

    if loco is None:
        res = [one(mt, Y[o], C[o]) for o in orders]
        return _with_x_frequency(hl, mt, used_ids, Y, sex_by_id, res[0]), (res[1] if len(res) > 1 else None)
    chroms = variants["chromosome"].astype(str).to_numpy()
    M, P = len(variants), Y.shape[1]
    outs = []
    for _ in orders:
        out = {k: np.full((M, P), np.nan) for k in ("beta", "standard_error", "p_value", "effect_allele_frequency")}
        outs.append(dict(out, n=np.zeros((M, P), dtype=np.int64)))
    release = getattr(loco, "release", lambda: None)
    for chrom in dict.fromkeys(chroms):
        rows = np.flatnonzero(chroms == chrom)
        contig = _contig_of(hl, mt, chrom)
        sub = (hl.filter_intervals(mt, [hl.parse_locus_interval(contig, reference_genome=mt.locus.dtype.reference_genome)])
               if contig is not None else mt.filter_rows(mt.locus.contig.replace("^chr", "") == chrom))
        resid = Y - loco.loco(chrom)          # this chromosome's predictions only, read from the store
        release()                             # ... and freed before Hail runs
        for order, out in zip(orders, outs):
            r = one(sub, resid[order], C[order])
            if len(r.beta) != len(rows):
                raise ValueError(f"hail_model_pass: chromosome {chrom}: {len(r.beta)} rows in Hail, {len(rows)} expected")
            for k in out:
                out[k][rows] = getattr(r, k)
        del resid
    res = [AssociationResult(**out) for out in outs]
    return _with_x_frequency(hl, mt, used_ids, Y, sex_by_id, res[0]), (res[1] if len(res) > 1 else None)


def _with_x_frequency(hl, mt, used_ids: np.ndarray, Y: np.ndarray, sex_by_id: pd.Series | None,
                      res: AssociationResult) -> AssociationResult:
    """``res`` (over the rows of ``mt``) with the ``effect_allele_frequency`` of its X rows counting one allele
    per male (:func:`edfgen.engines.sex_chromosomes.x_ploidy` of the files' ``sex_by_id``; :func:`_x_frequency`),
    as the fast engine's :func:`edfgen.engines.gwas_stream.model_pass`; unchanged without sex or X."""
    from edfgen.engines.sex_chromosomes import x_ploidy

    ploidy = None if sex_by_id is None else x_ploidy(sex_by_id.reindex(used_ids).fillna(0).to_numpy(dtype=np.int8))
    if ploidy is None:
        return res
    rt = mt.rows()
    rows = np.flatnonzero(np.asarray(rt.select(k=row_kind(hl, rt.locus)).k.collect(), dtype=object) == "X")
    if len(rows):
        counted = ploidy > 0
        ids = used_ids[counted]
        sub = mt.filter_rows(row_kind(hl, mt.locus) == "X")
        sub = sub.filter_cols(hl.literal(set(ids)).contains(sub.s))
        res.effect_allele_frequency[rows] = _x_frequency(hl, sub, ids, ploidy[counted], Y[counted])
    return res


def row_kind(hl, locus):
    """The kind of a Hail locus as :func:`edfgen.engines.sex_chromosomes.chromosome_kinds` names it: ``X`` (outside
    the reference's pseudo-autosomal regions: Hail's import labels PLINK's 25 X), ``Y``, ``MT`` or ``""``; a
    MatrixTable without a reference genome (a ``struct`` locus) by its contig names alone."""
    from edfgen.formats.chromosomes import SELECTION_NAMES

    if not isinstance(locus.dtype, hl.tlocus):
        names = {**{c: c for c in ("X", "Y", "MT")}, **SELECTION_NAMES}
        name = hl.literal(names).get(locus.contig.replace("(?i)^chr", "").upper(), "")
        return hl.if_else(hl.literal({"X", "Y", "MT"}).contains(name), name, "")
    return (hl.case().when(locus.in_x_nonpar(), "X").when(hl.literal({"Y", "chrY", "24"}).contains(locus.contig), "Y")
            .when(locus.in_mito(), "MT").default(""))


def sex_codes(hl, sex_by_id: pd.Series, s):
    """The sex code (1 male, 2 female, 0 unknown) of the column key ``s`` from ``sex_by_id``."""
    return hl.literal({str(k): int(v) for k, v in sex_by_id.items()}).get(s, 0)


def analysed_sex_hail(hl, mt, sex_by_id: pd.Series, ids, *, label: str = "the genotype files"):
    """``(mt, sex_by_id, both, n_y)`` for the QC of the samples ``ids`` as the fast engine's
    (:func:`edfgen.engines.sex_chromosomes.analysed_sex`, which logs, naming ``label``: where the sex was read):
    Y rows left out where no sample is male (``n_y`` of them), ``sex_by_id`` None where none has a known sex (X and
    Y as without sex), ``both``: males and females among them (else X's allele frequency counts everyone, unknown
    sex as diploid)."""
    from edfgen.engines.sex_chromosomes import MALE, FEMALE, analysed_sex

    n_kind = mt.aggregate_rows(hl.agg.counter(row_kind(hl, mt.locus)))
    kinds = np.repeat(np.array(list(n_kind), dtype=object), list(n_kind.values()))
    sex, tested = analysed_sex(kinds, sex_by_id.reindex(np.asarray(ids, dtype=str)).fillna(0).to_numpy(np.int8),
                                 label=label)
    if not tested.all():
        mt = mt.filter_rows(row_kind(hl, mt.locus) != "Y")
    both = sex is not None and bool((sex == MALE).any() and (sex == FEMALE).any())
    return mt, (None if sex is None else sex_by_id), both, int((~tested).sum())


def hail_by_sex(hl, mt, used_ids: np.ndarray, Y: np.ndarray, C: np.ndarray, cov_names,
                sex_by_id: pd.Series | None, logistic_test: str | None = None, names=None) -> AssociationResult:
    """:func:`hail_linear` (or :func:`hail_logistic` with ``logistic_test``) on each kind of chromosome with the
    samples, covariates and coding of :func:`edfgen.engines.sex_chromosomes.sex_designs` (X: sex covariate,
    samples of known sex; Y: males; Y and MT 0/1), as the fast engine (kinds by :func:`row_kind`);
    ``sex_by_id`` (:func:`edfgen.formats.genotypes.sex.source_sex`) or None; ``names``: the phenotypes'."""
    from edfgen.engines.sex_chromosomes import check_y_phenotypes, sex_designs

    def run(m, ids, Yd, Cd, cov_names_d):
        named = {"names": names, "cov_names": cov_names_d}
        return (hail_linear(hl, m, ids, Yd, Cd, **named) if logistic_test is None
                else hail_logistic(hl, m, ids, Yd, Cd, logistic_test, **named))

    sex = None if sex_by_id is None else sex_by_id.reindex(used_ids).fillna(0).to_numpy(dtype=np.int8)
    rt = mt.rows()
    kinds = np.asarray(rt.select(k=row_kind(hl, rt.locus)).k.collect(), dtype=object)
    designs = sex_designs(kinds, sex, C, cov_names)
    check_y_phenotypes(designs, Y, names)
    if set(kinds.tolist()) <= {""}:
        return run(mt, used_ids, Y, C, cov_names)
    M, P = len(kinds), Y.shape[1]
    out = {k: np.full((M, P), np.nan) for k in ("beta", "standard_error", "p_value", "effect_allele_frequency")}
    n = np.zeros((M, P), dtype=np.int64)
    for kind, d in designs.items():
        rows = np.flatnonzero(kinds == kind)
        if not len(rows):
            continue
        sub = mt.filter_rows(row_kind(hl, mt.locus) == kind)     # (in order: the rows of this kind)
        ids = used_ids if d.everyone else used_ids[d.mask]
        if not d.everyone:
            sub = sub.filter_cols(hl.literal(set(ids)).contains(sub.s))
        if d.haploid:
            sub = sub.annotate_entries(x=sub.x / 2)
        Yd = Y if d.everyone else Y[d.mask]
        r = run(sub, ids, Yd, d.C, d.names)
        for k in out:
            out[k][rows] = getattr(r, k)
        n[rows] = r.n
        if d.haploid:
            out["effect_allele_frequency"][rows] *= 2.0
        elif d.ploidy is not None:
            out["effect_allele_frequency"][rows] = _x_frequency(hl, sub, ids, d.ploidy, Yd)
    return AssociationResult(n=n, **out)


def _x_frequency(hl, mt, ids: np.ndarray, ploidy: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Effect-allele frequency [M, P] of X rows counting one allele per male (``ploidy`` 1 per ``ids``), in each
    phenotype group's samples (:func:`edfgen.engines.stream.haploid_allele_frequency` in Hail)."""
    groups = missingness_groups(Y)
    mt = mt.annotate_cols(__half=hl.literal(dict(zip(map(str, ids), (ploidy / 2.0).tolist())))[mt.s])
    sets = [hl.literal(set(map(str, ids[mask]))) for mask, _ in groups]
    num = hl.array([hl.agg.filter(s.contains(mt.s), hl.agg.sum(mt.x * mt.__half)) for s in sets])
    den = hl.array([hl.agg.filter(s.contains(mt.s) & hl.is_defined(mt.x), hl.agg.sum(2 * mt.__half))
                    for s in sets])
    rt = mt.annotate_rows(__num=num, __den=den).rows()
    res = rt.select(num=rt.__num, den=rt.__den).key_by().drop("locus", "alleles").to_pandas()
    out = np.full((len(res), Y.shape[1]), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for g, (_, cols) in enumerate(groups):
            out[:, cols] = (res["num"].map(lambda a: a[g]).to_numpy(float)
                            / res["den"].map(lambda a: a[g]).to_numpy(float))[:, None]
    return out
