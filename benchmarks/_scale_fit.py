"""Fits and projection of :mod:`scale`: the cost terms of each tool, non-negative least squares on relative
errors, power-law slopes per axis, ridge-loco step 1's operation counts, peak-RSS fits, and
:func:`fit_and_project` (the measured cases -> fitted laws -> CPU-hours at ``TARGET``).
"""

from __future__ import annotations

import numpy as np

from _scale_cases import AXES, BASE, CLUMP_P, RIDGE_N_M

TARGET = dict(n=500_000, m=10_000_000, p=128)
#: REGENIE step 1 runs on ~500k LD-pruned array SNPs (469,336 in Mbatchou et al. 2021's UK Biobank runs)
STEP1_M = 469_336
#: Neale lab UK Biobank GWAS on Hail: ~200,000 CPU-hours for ~4,000 phenotypes (issue 23)
NEALE_CPU_H = 50.0
#: REGENIE v2.0.2 on UK Biobank (n = 400,000), benchmarked by the fastGWA-GLMM authors (Jiang et al. 2021
#: Nat Genet 53:1616, Supplementary Table 6): 614.0 h for 50 traits = 12.3 h per trait (27.5 h for 1 trait)
REGENIE_H = 12.3
#: cost terms of each fitted model (N samples, M variants, P phenotypes; k ECGs)
TERMS = {
    "gwas": [("fixed", lambda n, m, p: 1.0), ("per variant", lambda n, m, p: m),
             ("per variant x sample", lambda n, m, p: m * n), ("per variant x phenotype", lambda n, m, p: m * p),
             ("per variant x sample x phenotype", lambda n, m, p: m * n * p)],
    # clump: reading (per variant), LD of the planted loci's variants (a fixed count: per sample) and of the
    # null variants with p < p2 in the windows (their number grows with M: per variant x sample)
    "clump": [("fixed", lambda n, m, p: 1.0), ("per variant", lambda n, m, p: m), ("per sample", lambda n, m, p: n),
              ("per variant x sample", lambda n, m, p: m * n)],
    "extract": [("fixed", lambda k: 1.0), ("per ECG", lambda k: k)],
}


def _ridge_counts(n: int, m: int, p: int, folds: int = 5, r: int = 5) -> tuple[float, float]:
    """``(BLAS multiply-adds, sum of b³ over the eigendecompositions)`` of ridge-loco step 1 as
    :mod:`edfgen.kernels.ridge` does it, at the block size ``b`` the kernel picks
    (:func:`edfgen.kernels.ridge.auto_block_size`), ``k = r M / b`` level-1 predictors. Multiply-adds: level 0
    the folds' XᵀX by syrk (N M b / 2), XᵀY (N M P), the coefficients (folds M b P r) and the held-out
    predictions (N M P r); level 1 per phenotype XᵀX by syrk (N k² / 2) and the LOCO products (folds N k).
    Eigendecompositions: one per block and fold (folds M / b of size b), one per phenotype and fold (size k)."""
    from edfgen.kernels.ridge import auto_block_size

    b = auto_block_size(n, m, p, folds=folds, n_shrinkage=r)
    k = r * -(-m // b)
    blas = n * m * b / 2 + n * m * p + folds * m * b * p * r + n * m * p * r + p * (n * k * k / 2 + folds * n * k)
    eig = folds * -(-m // b) * float(b) ** 3 + p * folds * float(k) ** 3
    return float(blas), eig


def ridge_flops(n: int, m: int, p: int) -> float:
    """BLAS multiply-adds of ridge-loco step 1 (:func:`_ridge_counts`)."""
    return _ridge_counts(n, m, p)[0]


def ridge_eig(n: int, m: int, p: int) -> float:
    """Sum of b³ over step 1's eigendecompositions (:func:`_ridge_counts`)."""
    return _ridge_counts(n, m, p)[1]


#: step 1's terms: BLAS multiply-adds, eigendecompositions (b³), passes over the N x M genotypes (decode,
#: standardisation, the fold gather) and the LOCO text (22 + 1 values per sample and phenotype)
TERMS["ridge step 1"] = [("fixed", lambda n, m, p: 1.0), ("per BLAS multiply-add", ridge_flops),
                         ("per eigendecomposition b³", ridge_eig),
                         ("per variant x sample", lambda n, m, p: n * m), ("per sample x phenotype", lambda n, m, p: n * p)]


#: the point each ridge-loco axis holds fixed (its N axis runs at M = RIDGE_N_M)
RIDGE_FIXED = dict(n=dict(m=RIDGE_N_M, p=8), m=dict(n=10_000, p=8), p=dict(n=10_000, m=100_000))


#: the point each axis of the Hail engine's cases holds fixed (``HAIL_POINTS``: N 2k/5k/10k at M = 20k, M 10k/20k/50k
#: at N = 5k, P 1/8/64 at N = 5k x M = 20k)
HAIL_FIXED = dict(n=dict(m=20_000, p=8), m=dict(n=5_000, p=8), p=dict(n=5_000, m=20_000))


def axis_rows(rows: list[dict], axis: str, fixed: dict) -> list[dict]:
    """The cases on ``axis`` whose other two sizes are ``fixed[axis]``, by size."""
    return sorted((r for r in rows if all(r[k] == v for k, v in fixed[axis].items())), key=lambda r: r[axis])


def ridge_axis(rows: list[dict], axis: str) -> list[dict]:
    """The ridge-loco cases on ``axis`` (the other two sizes at :data:`RIDGE_FIXED`)."""
    return axis_rows(rows, axis, RIDGE_FIXED)


def ridge_slopes(rows: list[dict], key: str = "cpu_s", fixed: dict = RIDGE_FIXED) -> dict:
    """:func:`slopes` over the points of each axis at ``fixed`` (ridge-loco's, by default)."""
    out = {}
    for axis in AXES:
        pts = [(r[axis], r[key]) for r in axis_rows(rows, axis, fixed)]
        if len(pts) >= 2:
            x, y = np.log([q[0] for q in pts]), np.log([q[1] for q in pts])
            out[axis] = dict(exponent=round(float(np.polyfit(x, y, 1)[0]), 2),
                             last_two=round(float((y[-1] - y[-2]) / (x[-1] - x[-2])), 2), sizes=len(pts))
    return out


def fit(rows: list[dict], terms, args) -> dict:
    """Non-negative least squares of CPU on the cost ``terms``, weighted by 1/CPU (relative errors), with the
    per-point residuals (%)."""
    from scipy.optimize import nnls

    A = np.array([[f(*args(r)) for _, f in terms] for r in rows])
    y = np.array([r["cpu_s"] for r in rows])
    coef = nnls(A / y[:, None], np.ones(len(y)))[0]
    pred = A @ coef
    return dict(coef={name: float(c) for (name, _), c in zip(terms, coef)}, points=len(rows),
                residual_pct=[round(100 * (p_ - y_) / y_, 1) for p_, y_ in zip(pred, y)],
                max_abs_residual_pct=round(float(np.max(np.abs(100 * (pred - y) / y))), 1))


def _ridge_b(n: int, m: int, p: int) -> int:
    from edfgen.kernels.ridge import auto_block_size

    return auto_block_size(n, m, p)


def ridge_cpu(res: dict, n: int, m: int, p: int) -> float:
    """Fitted ridge-loco CPU: step 2 (linear x measured ratio) + fitted step 1."""
    return ((res.get("ridge_step2_over_linear") or 1.0) * predict(res["fits"]["gwas linear"], TERMS["gwas"], n, m, p)
            + predict(res["fits"]["ridge-loco step 1"], TERMS["ridge step 1"], n, m, p))


def predict(f: dict, terms, *args) -> float:
    return float(sum(f["coef"].get(name, 0.0) * g(*args) for name, g in terms))


def slopes(rows: list[dict], key: str = "cpu_s") -> dict:
    """Per axis: least-squares slope of log ``key`` on log size (the power-law exponent) over the axis's
    points, and the slope between its two largest sizes (closer to the asymptotic exponent)."""
    out = {}
    for axis in AXES:
        pts = sorted((r[axis], r[key]) for r in rows if r["axis"] == axis or _is_base(r))
        pts = list(dict(pts).items())
        if len(pts) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            out[axis] = dict(exponent=round(float(np.polyfit(x, y, 1)[0]), 2),
                             last_two=round(float((y[-1] - y[-2]) / (x[-1] - x[-2])), 2), sizes=len(pts))
    return out


def _is_base(r: dict) -> bool:
    """The base point (clump: at its own P)."""
    return r.get("n") == BASE["n"] and r.get("m") == BASE["m"] and (r.get("p") == BASE["p"] or r["tool"] == "clump")


def fit_and_project(store: dict) -> tuple[dict, dict]:
    """Fit the scaling laws to the measured cases of ``store`` and project them to ``TARGET``: the result
    (``store`` plus fits, slopes, projection) and the groups of measured cases (``ok``, ``missing``, ``lin``,
    ``ridge``, ``step2``, ``clump``, ``extract``, ``bgen``) the report is written from."""
    cases = store.get("cases", {})
    ok = [c for c in cases.values() if c["status"] == "ok"]
    missing = [(k, c) for k, c in cases.items() if c["status"] != "ok"]
    sel = lambda tool, model=None: [c for c in ok if c["tool"] == tool and c.get("model") == model  # noqa: E731
                                    and c["axis"] not in ("bgen", "hail")
                                    and not c["axis"].startswith("beside hail")]
    lin, ridge, step2 = sel("gwas", "linear"), sel("gwas", "ridge-loco"), sel("gwas", "ridge-step2")
    clump, extract = [c for c in ok if c["tool"] == "clump"], [c for c in ok if c["tool"] == "extract"]
    bgen = [c for c in ok if c.get("axis") == "bgen"]
    nmp = lambda r: (r["n"], r["m"], r["p"])  # noqa: E731
    fits, proj = {}, {}
    T = TARGET
    if len(lin) >= 5:
        fits["gwas linear"] = fit(lin, TERMS["gwas"], nmp)
    if len(clump) >= 3:
        fits["clump (64 phenotypes)"] = fit(clump, TERMS["clump"], nmp)
    if len(extract) >= 2:
        fits["extract"] = fit(extract, TERMS["extract"], lambda r: (r["ecgs"],))
    base_lin = next((c for c in lin if _is_base(c)), None)
    decode = None
    if bgen and base_lin:
        b = bgen[0]
        decode = max(b["cpu_s"] - base_lin["cpu_s"], 0.0) / (b["n"] * b["m"])
    if "gwas linear" in fits:
        f = fits["gwas linear"]
        proj["gwas linear, .bed-equivalent decode"] = predict(f, TERMS["gwas"], T["n"], T["m"], T["p"]) / 3600
        if decode is not None:
            proj["BGEN decode (8-bit zlib), added to every genotype pass"] = decode * T["n"] * T["m"] / 3600
    ratio2 = None
    if step2:
        pairs = [(s["cpu_s"], next((c["cpu_s"] for c in lin if nmp(c) == nmp(s)), None)) for s in step2]
        pairs = [(a, b) for a, b in pairs if b]
        ratio2 = float(np.mean([a / b for a, b in pairs])) if pairs else None
    if len(ridge) >= 2 and "gwas linear" in fits:
        # step 1 = ridge-loco - step 2 (step 2 = linear x the measured step-2 ratio), fitted to the kernel's
        # operation count: CPU = fixed + c x flops(N, M, P, auto block size)
        fl, r2 = fits["gwas linear"], ratio2 or 1.0
        s1 = [dict(r, cpu_s=max(r["cpu_s"] - r2 * predict(fl, TERMS["gwas"], *nmp(r)), 1e-3)) for r in ridge]
        t1 = TERMS["ridge step 1"]
        fits["ridge-loco step 1"] = fr = fit(s1, t1 if len(s1) >= 6 else t1[1:] if len(s1) >= 4 else t1[:2], nmp)
        fr["model_flops"] = {f"{r['n']},{r['m']},{r['p']}": ridge_flops(*nmp(r)) for r in ridge}
        fr["model_eig_b3"] = {f"{r['n']},{r['m']},{r['p']}": ridge_eig(*nmp(r)) for r in ridge}
        fr["target_flops"] = ridge_flops(T["n"], STEP1_M, T["p"])
        fr["target_eig_b3"] = ridge_eig(T["n"], STEP1_M, T["p"])
        rates = store.get("ridge_kernel_rates")
        if rates:
            # cross-check: the BLAS and eigh parts at the rates measured at block size 2,000, plus the fitted
            # per-entry terms (genotype passes, LOCO text)
            blas_rate = min(rates["syrk_madd_per_s"], rates["gemm_madd_per_s"])
            fr["target_from_rates_cpu_h"] = (fr["target_flops"] / blas_rate + fr["target_eig_b3"] * rates[
                "eigh_2000_s_per_b3"] + fr["coef"].get("per variant x sample", 0.0) * T["n"] * STEP1_M
                + fr["coef"].get("per sample x phenotype", 0.0) * T["n"] * T["p"]) / 3600
        fr["target_level0_gb"] = T["p"] * T["n"] * 5 * -(-STEP1_M // _ridge_b(T["n"], STEP1_M, T["p"])) * 8 / 1e9
        step1 = predict(fr, TERMS["ridge step 1"], T["n"], STEP1_M, T["p"]) / 3600
        proj["ridge-loco step 1 (469k array SNPs)"] = max(step1, 0.0)
        proj["ridge-loco step 2 extra over linear (x%.2f)" % r2] = (r2 - 1) * proj[
            "gwas linear, .bed-equivalent decode"]
    if "clump (64 phenotypes)" in fits:
        fc = fits["clump (64 phenotypes)"]
        proj["clump, LD from all 500k samples"] = predict(fc, TERMS["clump"], T["n"], T["m"], 0) * T["p"] / CLUMP_P / 3600
        proj["(alt.) clump, LD from a 10k-sample reference panel"] = predict(fc, TERMS["clump"], 10_000, T["m"], 0) * \
            T["p"] / CLUMP_P / 3600
    if clump:
        sl = slopes(clump)
        big = max((c for c in clump if c["axis"] == "n" or _is_base(c)), key=lambda c: c["n"])
        if "n" in sl and "m" in sl:
            a_n, b_m = sl["n"]["last_two"], sl["m"]["last_two"]
            proj[f"(alt.) clump, power law from N = {big['n']:,} (N^{a_n}, M^{b_m})"] = (
                big["cpu_s"] * (T["n"] / big["n"]) ** a_n * (T["m"] / big["m"]) ** b_m * T["p"] / CLUMP_P / 3600)
    if "extract" in fits:
        proj["extract, 500k ECGs"] = predict(fits["extract"], TERMS["extract"], T["n"]) / 3600
    main_keys = [k for k in proj if not k.startswith("(alt.)")]
    total_linear = sum(v for k, v in proj.items() if k in main_keys and "ridge" not in k)
    total_ridge = sum(proj[k] for k in main_keys)
    result = dict(store, base=BASE, axes=AXES, target=T, step1_variants=STEP1_M, fits=fits,
                  slopes={name: fn(rows) for name, rows, fn in [("gwas linear", lin, slopes),
                                                                 ("gwas ridge-loco", ridge, ridge_slopes),
                                                                 ("clump", clump, slopes)] if rows},
                  rss_slopes={name: fn(rows, "peak_rss_mib") for name, rows, fn in [
                      ("gwas linear", lin, slopes), ("gwas ridge-loco", ridge, ridge_slopes),
                      ("clump", clump, slopes)] if rows},
                  bgen_decode_cpu_s_per_entry=decode, ridge_step2_over_linear=ratio2,
                  projection_cpu_hours=proj, total_cpu_hours_linear=total_linear, total_cpu_hours_ridge=total_ridge,
                  per_phenotype_linear=total_linear / T["p"], per_phenotype_ridge=total_ridge / T["p"],
                  neale_hail_cpu_hours_per_phenotype=NEALE_CPU_H, regenie_hours_per_trait=REGENIE_H)
    hail = hail_analysis(ok, fits.get("gwas linear"), [c for _, c in missing if c.get("model") == "linear-hail"
                                                       and c.get("cpu_s_lower_bound")])
    if hail:
        result["hail"] = hail
    groups = dict(ok=ok, missing=missing, lin=lin, ridge=ridge, step2=step2, clump=clump, extract=extract,
                  bgen=bgen)
    return result, groups


def rss_fit(rows: list[dict], m: int | None = None) -> dict | None:
    """Peak RSS (MiB) = a + b N + c N P + d M (non-negative least squares) and its value at ``TARGET`` (at ``m``
    variants: ridge-loco's step 1 runs on :data:`STEP1_M`)."""
    from scipy.optimize import nnls

    if len(rows) < 4:
        return None
    A = np.array([[1.0, r["n"], r["n"] * r["p"], r["m"]] for r in rows])
    y = np.array([r["peak_rss_mib"] for r in rows])
    c = nnls(A / y[:, None], np.ones(len(y)))[0]
    T = TARGET
    return dict(coef=[float(v) for v in c], target_gib=float(c @ [1.0, T["n"], T["n"] * T["p"], m or T["m"]]) / 1024,
                max_abs_residual_pct=round(float(np.max(np.abs(100 * (A @ c - y) / y))), 1))


def hail_analysis(ok: list[dict], linear_fit: dict | None, killed: list[dict] = ()) -> dict | None:
    """``gwas --engine hail`` (Spark local[1]) against the fast engine at the same points: per point CPU, peak
    RSS and the ratio; power-law slopes per axis (:data:`HAIL_FIXED`); the cost model of the fast engine
    (``TERMS["gwas"]``) fitted to Hail's CPU; and the extrapolation to ``TARGET`` (P = 128 in one run, and one
    phenotype per run); ``killed``: Hail cases stopped at the time limit, with the CPU they had used (a lower
    bound) to check the cost model against."""
    hail = [c for c in ok if c.get("model") == "linear-hail"]
    if not hail:
        return None
    nmp = lambda r: (r["n"], r["m"], r["p"])  # noqa: E731
    fast = {nmp(c): c for c in ok if c["tool"] == "gwas" and c.get("model") == "linear"}
    pts = []
    for c in sorted(hail, key=nmp):
        f = fast.get(nmp(c))
        pts.append(dict(n=c["n"], m=c["m"], p=c["p"], cpu_s=c["cpu_s"], peak_rss_mib=c["peak_rss_mib"],
                        wall_s=c["wall_s"], load_1min=c["load_1min"], fast_cpu_s=f and f["cpu_s"],
                        fast_peak_rss_mib=f and f["peak_rss_mib"], ratio=f and round(c["cpu_s"] / f["cpu_s"], 1)))
    out = dict(points=pts, fixed=HAIL_FIXED, slopes=ridge_slopes(hail, fixed=HAIL_FIXED),
               rss_slopes=ridge_slopes(hail, "peak_rss_mib", fixed=HAIL_FIXED),
               fast_slopes=ridge_slopes([fast[nmp(c)] for c in hail if nmp(c) in fast], fixed=HAIL_FIXED))
    T = TARGET
    if len(hail) >= len(TERMS["gwas"]):
        f = out["fit"] = fit(hail, TERMS["gwas"], nmp)
        out["target_cpu_hours"] = predict(f, TERMS["gwas"], T["n"], T["m"], T["p"]) / 3600
        out["target_cpu_hours_per_phenotype"] = out["target_cpu_hours"] / T["p"]
        out["target_cpu_hours_one_phenotype_per_run"] = predict(f, TERMS["gwas"], T["n"], T["m"], 1) / 3600
        # the P axis runs at one N only, so a per-phenotype cost per variant (M P) and per entry (N M P) are not
        # told apart by the data: fit each alone (with the fixed, M and N M terms) to bound the P = 128 target
        t = dict(TERMS["gwas"])
        out["p_varied_at_n"] = sorted({c["n"] for c in hail if c["p"] != 8})
        out["p_term_alternatives"] = {}
        for name in ("per variant x phenotype", "per variant x sample x phenotype"):
            terms = [(k, t[k]) for k in ("fixed", "per variant", "per variant x sample", name)]
            fa = fit(hail, terms, nmp)
            out["p_term_alternatives"][name] = dict(
                fit=fa, target_cpu_hours=predict(fa, terms, T["n"], T["m"], T["p"]) / 3600,
                target_cpu_hours_one_phenotype_per_run=predict(fa, terms, T["n"], T["m"], 1) / 3600)
        out["killed"] = [dict(n=c["n"], m=c["m"], p=c["p"], cpu_s_lower_bound=c["cpu_s_lower_bound"],
                              predicted_cpu_s=predict(f, TERMS["gwas"], *nmp(c))) for c in killed]
    if linear_fit:
        out["fast_target_cpu_hours_per_phenotype"] = predict(linear_fit, TERMS["gwas"], *nmp(T)) / 3600 / T["p"]
        out["fast_target_cpu_hours_one_phenotype_per_run"] = predict(linear_fit, TERMS["gwas"], T["n"], T["m"],
                                                                     1) / 3600
    return out
