"""Agreement of ``edfgen mr``'s Steiger, MR-PRESSO and MVMR with the reference formulas, in one run.

* Steiger (TwoSampleMR ``directionality_test`` / ``steiger_filtering``): the shared TwoSampleMR fixture
  (BMI -> CHD, 79 SNPs) with CHD as a case/control outcome (60,801 cases, prevalence 5 %); per-variant
  ``rsq.exposure`` (F quantile of p through the incomplete beta function), ``rsq.outcome`` (liability
  scale, 2x2 table solved by root finding, Lee 2012), ``steiger_pval`` (psych ``r.test``), and the pair's
  ``snp_r2``/``steiger_pval``.
* MR-PRESSO: the fixture with two planted pleiotropic variants against the loop re-implementation of the
  MRPRESSO R code in ``tests/test_mr_presso_fixture.py`` (statsmodels WLS): deterministic parts as
  relative differences, simulated p-values as absolute differences (independent streams, 3000 draws).
* MVMR: a simulated three-exposure lipid-like study (the fixture has no lipids) against statsmodels WLS
  and the MVMR package formulas re-implemented in ``tests/test_mr_multivariable.py``.

Writes ``benchmarks/results/mr_reference.json`` and ``.md``. Usage: ``python benchmarks/mr_reference.py``
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from test_mr_instruments import _liability_r2, _r_test_p  # noqa: E402
from test_mr_multivariable import _reference as mvmr_reference, _study  # noqa: E402
from test_mr_presso_fixture import _presso_reference  # noqa: E402

from edfgen.commands.mr import MRSettings, run_mr  # noqa: E402
from edfgen.kernels.mr import sensitivity as S  # noqa: E402
from edfgen.kernels.mr.multivariable import mvmr_ivw  # noqa: E402

DATA = HERE.parent.parent / "shared" / "data" / "mr"
if not DATA.exists():
    DATA = Path("/work/shared/data/mr")


def rel(a, b) -> float:
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return float(np.max(np.abs(a - b) / np.abs(b)))


def steiger() -> dict:
    from scipy import special

    exp = pd.read_csv(DATA / "twosamplemr_test_commondata_exp_dat.csv")
    out = pd.read_csv(DATA / "twosamplemr_test_commondata_out_dat.csv")
    out["ncase.outcome"], out["ncontrol.outcome"] = 60801, 184305 - 60801
    with tempfile.TemporaryDirectory() as tmp:
        exp.to_csv(Path(tmp) / "e.csv", index=False)
        out.to_csv(Path(tmp) / "o.csv", index=False)
        r = run_mr(Path(tmp) / "e.csv", Path(tmp) / "o.csv", None, clump=False, plots=False,
                   settings=MRSettings(nboot=20, presso=False, prevalence=0.05))
    h = r.harmonised[r.harmonised["mr_keep"]]
    e = exp.set_index("SNP").loc[h["variant_id"]]
    n_x = e["samplesize.exposure"].to_numpy(float)
    x = special.betaincinv((n_x - 1) / 2, 0.5, e["pval.exposure"].to_numpy(float))
    f = (n_x - 1) * (1 - x) / x
    rsq_x = f / (n_x - 2 + f)
    rsq_y = _liability_r2(h["beta_outcome"].to_numpy(), h["eaf_outcome"].to_numpy(), 60801.0, 184305.0 - 60801, 0.05)
    st = r.tables["mr_steiger"].iloc[0]
    return {"rsq_exposure": rel(h["rsq_exposure"], rsq_x), "rsq_outcome": rel(h["rsq_outcome"], rsq_y),
            "steiger_pval_per_variant": rel(h["steiger_pval"], _r_test_p(np.sqrt(rsq_x), np.sqrt(rsq_y), n_x, 184305.0)),
            "snp_r2_exposure": rel(st["r2_exposure"], rsq_x.sum()), "snp_r2_outcome": rel(st["r2_outcome"], rsq_y.sum()),
            "steiger_pval_pair": rel(st["steiger_pval"], _r_test_p(math.sqrt(rsq_x.sum()), math.sqrt(rsq_y.sum()),
                                                                    n_x.mean(), 184305.0))}


def presso(n_sim: int = 3000) -> dict:
    df = pd.read_csv(DATA / "twosamplemr_test_commondata_dat.csv")
    df = df[df["mr_keep"]]
    bx, sx = df["beta.exposure"].to_numpy(float), df["se.exposure"].to_numpy(float)
    by, sy = df["beta.outcome"].to_numpy(float).copy(), df["se.outcome"].to_numpy(float)
    by[[5, 40]] += [0.25, -0.2]
    ours = S.mr_presso(bx, by, sx, sy, n_sim=n_sim, rng=np.random.default_rng(11))
    ref = _presso_reference(bx, by, sx, sy, n_sim, np.random.default_rng(2024))
    return {"rss_obs": rel(ours.rss_obs, ref["rss_obs"]), "raw_b": rel(ours.raw.b, ref["raw"][0]),
            "raw_se": rel(ours.raw.se, ref["raw"][1]), "corrected_b": rel(ours.corrected.b, ref["corrected"][0]),
            "corrected_se": rel(ours.corrected.se, ref["corrected"][1]),
            "distortion_coef": rel(ours.distortion_coef, ref["distortion_coef"]),
            "outliers_equal": sorted(map(int, np.flatnonzero(ours.outliers))) == sorted(map(int, ref["outliers"])),
            "abs_diff_global_p": abs(ours.global_pval - ref["global_p"]),
            # per-variant empirical p before the Bonferroni factor k
            "abs_diff_outlier_p_max": float(np.max(np.abs(ours.outlier_pval - ref["outlier_p"]))) / len(bx),
            "abs_diff_distortion_p": abs(ours.distortion_pval - ref["distortion_p"]), "n_sim": n_sim}


def mvmr() -> dict:
    res = {}
    for pleio in (0.0, 1.0):
        bx, sx, by, sy = _study(np.random.default_rng(3), extra_pleio=pleio, y_noise=0.5 if pleio == 0 else 1.0)
        r = mvmr_ivw(bx, by, sx, sy)
        b, se, p, f, q, qp = mvmr_reference(bx, sx, by, sy)
        res["random" if pleio else "fixed"] = {"b": rel(r.b, b), "se": rel(r.se, se), "pval": rel(r.pval, p),
                                               "conditional_f": rel(r.conditional_f, f), "q_a": rel(r.q_a, q),
                                               "q_a_pval": rel(r.q_a_pval, qp)}
    return res


def main() -> None:
    res = {"steiger": steiger(), "presso": presso(), "mvmr": mvmr()}
    out = HERE / "results"
    (out / "mr_reference.json").write_text(json.dumps(res, indent=1) + "\n")
    md = ["# edfgen mr vs reference formulas: Steiger, MR-PRESSO, MVMR", "",
          "Max relative difference per quantity (simulated p-values of MR-PRESSO: absolute difference between "
          "two independent Monte Carlo runs).", ""]
    for k, v in res.items():
        md += [f"## {k}", "", "| quantity | value |", "|---|---|"]
        flat = {f"{a}.{b}": c for a, d in v.items() for b, c in d.items()} if k == "mvmr" else v
        md += [f"| {q} | {x:.3g} |" if isinstance(x, float) else f"| {q} | {x} |" for q, x in flat.items()]
        md.append("")
    (out / "mr_reference.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
