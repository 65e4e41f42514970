"""Report of :mod:`scale`: :func:`write_report` fits and projects the stored cases
(:func:`_scale_fit.fit_and_project`) and writes ``scale.json``, ``scale.md`` and the plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from _scale_cases import AXES, BASE, RIDGE_N_M, RIDGE_POINTS
from _scale_fit import (NEALE_CPU_H, REGENIE_H, STEP1_M, TARGET, TERMS, _is_base, _ridge_b, fit_and_project, predict,
                        ridge_cpu, ridge_flops, rss_fit)
from _scale_plot import plot, plot_hail


def write_report(store: dict, out: Path) -> dict:
    """Fit the scaling laws to the measured cases, project to ``TARGET`` and write scale.json/.md and plots."""
    result, g = fit_and_project(store)
    (out / "scale.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, g["lin"], g["ridge"], g["clump"], g["extract"], out)
    plot_hail(result, out)
    (out / "scale.md").write_text(markdown(result, g["ok"], g["missing"], g["lin"], g["ridge"], g["step2"], g["clump"],
                                           g["extract"], g["bgen"]) + "\n")
    return result


def markdown(res: dict, ok, missing, lin, ridge, step2, clump, extract, bgen) -> str:
    T, fits, proj = res["target"], res["fits"], res["projection_cpu_hours"]
    md = ["# Scaling of edfgen (gwas linear / ridge-loco, clump, extract) and the UK Biobank-size projection", "",
          f"Measured {min(c['measured'] for c in ok)} – {max(c['measured'] for c in ok)} on a shared 2-core machine "
          "(other jobs running: load average per row). Every case is one child command at **1 thread** under "
          "`nice`; **CPU = user + sys of the whole process tree** (`/usr/bin/time -v` around a child subreaper), "
          "peak RSS of the largest process; wall is shown but depends on the other jobs. One axis varies at a "
          f"time around N = {BASE['n']:,} samples, M = {BASE['m']:,} variants, P = {BASE['p']} phenotypes. "
          "Genotypes: a simulated block of 997 variants (HWE, frequencies 0.05–0.5, no missing calls) written as "
          "PLINK .bed bytes and repeated along the variant axis (new ids/positions; 22 chromosomes) — the fast "
          "engine's per-variant cost does not depend on genotype values, so a repeat costs what a new variant "
          "would (see `scale.py`'s docstring). Script: `benchmarks/scale.py`; data in `scale.json`.", "",
          "## Measured cases", "",
          "| tool | model / input | N | M | P (ECGs) | CPU s | peak RSS MiB | wall s | load |",
          "|---|---|---|---|---|---|---|---|---|"]
    for c in sorted(ok, key=lambda c: (c["tool"], c.get("model") or "", c.get("axis") == "bgen", c.get("n", 0),
                                       c.get("m", 0), c.get("p", c.get("ecgs", 0)))):
        model = c.get("input", c.get("model", "")) if c.get("axis") == "bgen" else c.get("model", "")
        if c["tool"] == "extract":
            md.append(f"| extract | default checkpoint, workers 0 | | | {c['ecgs']:,} ECGs | {c['cpu_s']} | "
                      f"{c['peak_rss_mib']} | {c['wall_s']} | {c['load_1min']} |")
        else:
            md.append(f"| {c['tool']} | {model} | {c['n']:,} | {c['m']:,} | {c['p']} | {c['cpu_s']} | "
                      f"{c['peak_rss_mib']} | {c['wall_s']} | {c['load_1min']} |")
    if missing:
        md += ["", "**Not measured** (killed at the time limit, not extrapolated into the table): " + "; ".join(
            f"{k} ({c.get('note', c['status'])})" for k, c in missing) + "."]
    rep = res.get("repeat_base_linear")
    if rep:
        base = next((c for c in ok if c["tool"] == "gwas" and c.get("model") == "linear" and _is_base(c)), None)
        md += ["", "Noise: the base point (gwas linear) measured again later at a higher load: "
               + ", ".join(f"{r['cpu_s']} CPU s (load {r['load_1min']})" for r in rep)
               + (f" against {base['cpu_s']} (load {base['load_1min']}) in the table: CPU seconds inflate by up "
                  f"to {max(r['cpu_s'] for r in rep) / base['cpu_s']:.2f}× under contention." if base else "")]
    md += ["", "## Scaling laws", "", "Power-law exponents (slope of log CPU on log size, one axis at a time; "
           "`last two` = between the two largest sizes, closer to the asymptotic exponent):", "",
           "| tool | N exponent (last two) | M exponent (last two) | P exponent (last two) | "
           "peak RSS exponents N / M / P |", "|---|---|---|---|---|"]
    for name, sl in res["slopes"].items():
        rs = res["rss_slopes"].get(name, {})
        cell = lambda a: f"{sl[a]['exponent']} ({sl[a]['last_two']})" if a in sl else "–"  # noqa: E731
        md.append(f"| {name} | {cell('n')} | {cell('m')} | {cell('p')} | "
                  + " / ".join(str(rs[a]["exponent"]) if a in rs else "–" for a in "nmp") + " |")
    md += ["", "Cost models (non-negative least squares on relative errors; CPU seconds; residuals in "
           "`scale_residuals.png`):", ""]
    for name, f in fits.items():
        terms = " + ".join(f"{v:.3g}·[{k}]" for k, v in f["coef"].items() if v > 0)
        md.append(f"- **{name}**: CPU = {terms} ({f['points']} points; residuals "
                  f"{', '.join(f'{x:+.1f}%' for x in f['residual_pct'])}; max |residual| {f['max_abs_residual_pct']} %)")
    if "ridge-loco step 1" in fits:
        fr = fits["ridge-loco step 1"]
        rates = res.get("ridge_kernel_rates", {})
        md.append("- **ridge-loco step 1** = measured ridge-loco − step 2 (linear fit × the measured step-2 ratio), "
                  "fitted to the kernel's own work (`_ridge_counts`): BLAS multiply-adds (level 0: syrk XᵀX N·M·b/2, "
                  "XᵀY N·M·P, coefficients folds·M·b·P·R, held-out predictions N·M·P·R; level 1: P·(N·k²/2 + "
                  "folds·N·k), k = R·M/b), eigendecompositions (Σ b³: folds·M/b blocks of size b, P·folds of size k), "
                  "passes over the genotypes (N·M) and the LOCO text (N·P). Per measured point, multiply-adds / Σb³: "
                  + ", ".join(f"{k}: {v:.2g} / {fr['model_eig_b3'][k]:.2g}" for k, v in fr["model_flops"].items())
                  + f". At 500k × {STEP1_M:,} × 128 the kernel picks b = {_ridge_b(TARGET['n'], STEP1_M, TARGET['p'])}"
                  f": {fr['target_flops']:.2g} multiply-adds, Σb³ {fr['target_eig_b3']:.2g}; its level-0 predictions "
                  f"are {fr['target_level0_gb']:,.0f} GB (spilled to a temporary file, as REGENIE's `--lowmem` does).")
        if fr["coef"].get("per BLAS multiply-add"):
            md.append(f"- Fitted rates: {1 / fr['coef']['per BLAS multiply-add'] / 1e9:.1f} G BLAS multiply-adds per "
                      "CPU-s" + (f", {fr['coef']['per eigendecomposition b³']:.2g} CPU-s per b³ of eigendecomposition"
                                 if fr["coef"].get("per eigendecomposition b³") else "")
                      + (f"; measured on this machine (`ridge_kernel_rates`, 1 thread): syrk "
                         f"{rates['syrk_madd_per_s'] / 1e9:.1f} G and gemm {rates['gemm_madd_per_s'] / 1e9:.1f} G "
                         f"multiply-adds per CPU-s at b = 2,000, eigh {rates['eigh_250_s_per_b3']:.2g} / "
                         f"{rates['eigh_1000_s_per_b3']:.2g} / {rates['eigh_2000_s_per_b3']:.2g} CPU-s per b³ at "
                         "b = 250 / 1,000 / 2,000" if rates else "") + ".")
        if fr.get("target_from_rates_cpu_h") is not None:
            md.append(f"- Cross-check of the step-1 projection: the target's multiply-adds and eigendecompositions at "
                      f"the measured BLAS / eigh rates (b = 2,000) plus the fitted N·M and N·P terms give "
                      f"**{fr['target_from_rates_cpu_h']:.1f} CPU-hours** against "
                      f"{predict(fr, TERMS['ridge step 1'], TARGET['n'], STEP1_M, TARGET['p']) / 3600:.1f} from the fit "
                      "(the measured points use b = 200–500, the target b = 2,000: the fit extrapolates in b).")
        sn = res.get("slopes", {}).get("gwas ridge-loco", {}).get("n")
        if sn and sn["last_two"] > 1:
            top = max(AXES["n"])
            md.append(f"- N beyond the measured {top:,}: the fit is linear in N, while CPU grew as N^{sn['last_two']} "
                      f"between the two largest N (M = {RIDGE_N_M:,}); had that exponent held from {top:,} to "
                      f"{TARGET['n']:,}, step 1 would cost {(TARGET['n'] / top) ** (sn['last_two'] - 1):.2f}× the "
                      "projection below (contention noise on a shared machine, or cache effects of N-long arrays; "
                      "not resolved here).")
    not_run = [(ax, n, m, p) for ax, n, m, p in RIDGE_POINTS
               if res.get("cases", {}).get(f"gwas_ridge-loco_n{n}_m{m}_p{p}", {}).get("status") != "ok"]
    if not_run:
        md.append("- ridge-loco **not measured** at " + "; ".join(
            f"N = {n:,}, M = {m:,}, P = {p} ({res.get('cases', {}).get(f'gwas_ridge-loco_n{n}_m{m}_p{p}', {}).get('note', 'not run in the time')})"
            for _, n, m, p in not_run) + ".")
    if res.get("bgen_decode_cpu_s_per_entry") is not None:
        b = bgen[0]
        md.append(f"- **BGEN decode**: `gwas --bgen` (plink2-exported BGEN 1.2, 8-bit, zlib) at the base point "
                  f"{b['cpu_s']} CPU s vs .bed {next(c['cpu_s'] for c in lin if _is_base(c))} CPU s: "
                  f"**{res['bgen_decode_cpu_s_per_entry']:.3g} CPU s per variant × sample** more.")
    rat = [(r, next((c for c in lin if (c['n'], c['m'], c['p']) == (r['n'], r['m'], r['p'])), None)) for r in ridge]
    if any(c for _, c in rat):
        md.append("- **ridge-loco / linear CPU**: " + ", ".join(
            f"{r['cpu_s'] / c['cpu_s']:.1f}× at N={r['n'] // 1000}k M={r['m'] // 1000}k P={r['p']}" for r, c in rat
            if c) + (f"; step 2 alone (`--loco-predictions`) / linear: {res['ridge_step2_over_linear']:.2f}× "
                     f"(mean over {len(step2)} run(s): " + ", ".join(f"N={x['n'] // 1000}k M={x['m'] // 1000}k P={x['p']}" for x in step2) + ")" if res.get("ridge_step2_over_linear") else ""))
    if extract:
        md.append("- **extract**: " + ", ".join(
            f"{e['ecgs']:,} ECGs {1e3 * e['cpu_s'] / e['ecgs']:.1f} CPU-ms/ECG ({e['ecgs'] / e['cpu_s']:.0f} ECGs "
            f"per CPU-s; {e['ecgs'] / e['wall_s']:.0f} ECGs/s wall)" for e in sorted(extract, key=lambda e: e["ecgs"]))
            + (f"; marginal cost {1e3 * fits['extract']['coef']['per ECG']:.1f} CPU-ms per ECG, fixed "
               f"{fits['extract']['coef']['fixed']:.1f} CPU s (model load, imports)" if "extract" in fits else ""))
    if "ridge-loco step 1" in fits:
        under = []
        for c in res.get("cases", {}).values():
            if c.get("model") == "ridge-loco" and c.get("cpu_s_lower_bound"):
                pred = ridge_cpu(res, c["n"], c["m"], c["p"])
                under.append(f"N = {c['n']:,}: more than {c['cpu_s_lower_bound']} CPU-s used against {pred:.0f} "
                             f"predicted (≥ {c['cpu_s_lower_bound'] / pred:.2f}×)")
        if under:
            lb = max((c for c in res.get("cases", {}).values() if c.get("model") == "ridge-loco"
                      and c.get("cpu_s_lower_bound")), key=lambda c: c["cpu_s_lower_bound"] / ridge_cpu(
                          res, c["n"], c["m"], c["p"]))
            s2 = (res.get("ridge_step2_over_linear") or 1.0) * predict(fits["gwas linear"], TERMS["gwas"], lb["n"],
                                                                        lb["m"], lb["p"])
            rate = (lb["cpu_s_lower_bound"] - s2) / ridge_flops(lb["n"], lb["m"], lb["p"])
            alt = rate * fits["ridge-loco step 1"]["target_flops"] / 3600
            md.append("- **The ridge-loco fit rests on 2 points (P axis)**; the killed N-axis cases bound it from "
                      "below: " + "; ".join(under) + ". Read the ridge-loco step-1 projection as a lower bound: "
                      f"calibrating the operation count on the N = {lb['n']:,} bound instead gives **≥ {alt:,.0f} "
                      f"CPU-hours for step 1** ({alt / TARGET['p']:.2f} per EDF) at UK Biobank size.")
    md += ridge_p_text(res)
    md += ridge_profile_text(res)
    md += ["", "## Scaling bug found and fixed: ridge-loco's spilled level-0 predictions", "",
           "Beyond 1 GB the level-0 predictions (P × N × B·R doubles) go to a temporary memory-mapped file. "
           "Laid out [P, N, B·R], every block wrote R values into every N-row, touching every page of the file "
           "once per block: at N = 10k, M = 100k, P = 64 (a 5.5 GB file) the run had **written 18.1 GB after "
           "4 minutes** (`/proc/PID/io`), on its way to B = 220 rewrites. Fixed in `edfgen/kernels/ridge.py` "
           "(tests in `tests/test_association_models.py`): layout [P, B·R, N] and one contiguous write per "
           "block, gathered over the folds; an intermediate version (per-fold writes) measured 21.7 GB written "
           "for the same 5.5 GB file over the whole run (≈ 4×, the folds); the final one writes each page "
           "once. The first run's ridge-loco rows (superseded above) ran with that intermediate version (CPU "
           "seconds are not affected by the kernel's write-back; wall time is)."
           + (f" At UK Biobank size the file is {fits['ridge-loco step 1']['target_level0_gb']:,.0f} GB (below), so "
              "the old layout could not have finished." if "ridge-loco step 1" in fits else ""),
           "", f"## Projection to N = {T['n']:,}, M = {T['m']:,} imputed variants, P = {T['p']} EDFs", "",
           "| component | CPU-hours | per phenotype |", "|---|---|---|"]
    for k, v in proj.items():
        md.append(f"| {k} | {v:,.1f} | {v / T['p']:.3f} |")
    md += [f"| **total, linear** (extract + gwas + BGEN + clump) | **{res['total_cpu_hours_linear']:,.0f}** | "
           f"**{res['per_phenotype_linear']:.2f}** |",
           f"| **total, ridge-loco** | **{res['total_cpu_hours_ridge']:,.0f}** | **{res['per_phenotype_ridge']:.2f}** |",
           "", extra_text(res, lin)]
    return "\n".join(md)


def ridge_p_text(res: dict) -> list[str]:
    """ridge-loco's largest P (``--ridge-p256``): CPU, peak RSS and bytes written against the spilled level-0 file
    (P N B R doubles at the kernel's block size) and the P axis's other points."""
    fixed = dict(n=10_000, m=100_000)
    rows = sorted((c for c in res.get("cases", {}).values() if c.get("model") == "ridge-loco" and c["status"] == "ok"
                   and all(c[k] == v for k, v in fixed.items())), key=lambda c: c["p"])
    if len(rows) < 2 or rows[-1]["p"] <= 64:
        return []
    top, prev = rows[-1], rows[-2]
    n, m, p = top["n"], top["m"], top["p"]
    b = _ridge_b(n, m, p)
    level0 = p * n * 5 * -(-m // b) * 8 / 1e9
    lin = next((c for c in res["cases"].values() if c.get("model") == "linear" and c["status"] == "ok"
                and (c["n"], c["m"], c["p"]) == (n, m, p)), None)
    return [f"- **ridge-loco at P = {p}** (N = {n:,}, M = {m:,}; measured {top['measured']}, load "
            f"{top['load_1min']}): **{top['cpu_s']} CPU-s** ({top['user_s']:.1f} user + {top['sys_s']:.1f} sys), "
            f"**peak RSS {top['peak_rss_mib']:,} MiB** (" + ", ".join(f"P = {c['p']}: {c['peak_rss_mib']:,}"
                                                                    for c in rows[:-1])
            + f"; up to 1 GB the level-0 predictions stay in memory, beyond it they are spilled), "
            f"{top.get('written_mib', float('nan')) * 2**20 / 1e9:.1f} GB written by the whole run (its output files "
            f"included, not broken down) where the spilled level-0 predictions are P·N·B·R doubles = {level0:.1f} GB "
            f"at the kernel's b = {b:,} (b = {_ridge_b(n, m, prev['p']):,} at P = {prev['p']}): no page rewritten "
            "per block. CPU grew as P^"
            f"{np.log(top['cpu_s'] / prev['cpu_s']) / np.log(p / prev['p']):.2f} from P = {prev['p']} to {p}"
            + (f"; {top['cpu_s'] / lin['cpu_s']:.1f}× linear's CPU at P = {p}" if lin else "") + "."]


def ridge_profile_text(res: dict) -> list[str]:
    """The ridge-loco profile (before / after the fixes) and the first run's superseded ridge-loco rows."""
    prof, old = res.get("ridge_profile"), res.get("superseded_ridge_cases", {})
    if not prof:
        return []
    b, a = prof["before"], prof["after"]
    per_run, at_target = 20_000 * 8 * 23, TARGET["n"] * TARGET["p"] * 23      # values: genome + 22 chromosomes
    md = ["", "## ridge-loco: where the time went, and the fixes", "",
          f"Profile: {prof['case']} ({prof['measured']}). Commit {b['commit']} (before) against this one (after), "
          "CPU seconds:", "", "| part | before | after the first fixes (LOCO text, level 0 products) |", "|---|---|---|"]
    for key, lab in [("loco_files", "`<out>/loco/*.loco.tsv.gz` text (22 chromosomes + genome per sample, phenotype)"),
                     ("step1", "step 1 kernel (`ridge_loco_predictions`)"), ("standardise", "… standardising blocks"),
                     ("eigh", "… eigendecompositions (level 0 + 1)"), ("level1", "… level 1"),
                     ("step2", "step 2 (association pass)"), ("cpu_s", "**whole run** (user + sys)")]:
        md.append(f"| {lab} | {b.get(key, '–')} | {a.get(key, '–')} |")
    md += ["", f"(The whole run before: {b['user_s']} user + {b['sys_s']} sys at load ~11; an earlier run of the same "
           f"code at load {prof['first_before_run']['load']}: {prof['first_before_run']['cpu_s']} CPU s — system "
           "time inflates under contention, user time is stable.)", "",
           f"- **LOCO files** (half of the run, and linear in N·P: ≈ {b['loco_files'] / per_run * 1e6:.0f} µs a value, "
           f"{b['loco_files'] / per_run * at_target / 3600:.1f} CPU-hours at 500k × 128, now "
           f"{a['loco_files'] / per_run * 1e6:.1f} µs, {a['loco_files'] / per_run * at_target / 3600:.2f} CPU-hours): "
           "pandas `to_csv(float_format='%.17g')` then gzip level 9. Now `float.__repr__` (the shortest text that "
           "reads back as the same double) joined per row and gzip level 1 (17-digit text compresses ~2.1× at level 1,"
           " 2.3× at 9, 12× faster): 17×. Values read back bit for bit with a correctly rounded parser "
           "(`tests/test_association_models.py::test_write_loco_predictions__shortest_exact_text_read_back_bit_for_bit`).",
           "- **Level 0**: each fold's rows were gathered (`X[rows]`, a copy) three times per block and fold, XᵀX "
           "ran as a general product of two copies (gemm), and the held-out predictions went through X_f·V "
           "(n_f·m² per fold: N·m² per block, as much as XᵀX). Now the samples are sorted by fold once per block "
           "(one gather, then slices), XᵀX is BLAS syrk (half the work), and the coefficients V·diag(1/(s+λ))·VᵀXᵀY "
           "[m, P·R] are formed first (folds·m²·P·R) and applied once (N·m·P·R): level 0 is now ≈ N·M·(b/2 + P·(R+1)) "
           "multiply-adds instead of ≈ N·M·(2b + P·R). Standardising a block takes fewer passes over memory "
           "(variance from the sums of squares, in place). Level 1's XᵀX is syrk too.",
           "- Nothing scaled worse than linearly in N: every step-1 term is N × (something in M, P, b), and the "
           "eigendecompositions (10·folds·b³ per block, 10·folds·k³ per phenotype) do not depend on N. The "
           "first run's N = 50k/100k cases were slow, not super-linear (its 2-point fit had a 42 CPU-s fixed cost "
           "that made them look cheap). The spilled level-0 file (block-major, one write per block) and step 2 "
           "were not hot spots (< 3 % each).",
           *_buffers_text(res),
           f"- Results: LOCO predictions differ by at most {prof['loco_max_rel_diff']:.0e} of the largest value "
           f"({prof['loco_max_abs_diff']:.0e} absolute) between the two commits at this size; the summary "
           "statistics files are identical; the per-fold naive-ridge reference test "
           "(`test_ridge_loco_predictions__equal_a_naive_per_fold_ridge`) now holds at rtol 1e-10 (was 1e-7)."]
    if old:
        md += ["", "The first run's ridge-loco cases (code before these fixes; superseded, kept in `scale.json` under "
               "`superseded_ridge_cases`):", ""]
        cases = res.get("cases", {})
        for k, c in old.items():
            now = cases.get(k, {})
            md.append(f"- N = {c['n']:,}, M = {c['m']:,}, P = {c['p']}: "
                      + (f"{c['cpu_s']} CPU s, {c['peak_rss_mib']} MiB" if c["status"] == "ok" else
                         f"not measured ({c.get('note', c['status'])})")
                      + (f" → now {now['cpu_s']} CPU s, {now['peak_rss_mib']} MiB"
                         + (f" ({c['cpu_s'] / now['cpu_s']:.1f}× less CPU)" if c["status"] == "ok" else "")
                         if now.get("status") == "ok" else ""))
    return md


def _buffers_text(res: dict) -> list[str]:
    """The second fix (reused buffers), from the N = 100k profile and the N axis measured before and after it."""
    q, before = res.get("ridge_profile_n100k"), res.get("ridge_cases_without_buffers", {})
    if not q:
        return []
    r = q["ratio_to_n20k"]
    now = res.get("cases", {})
    pairs = [(k, c, now.get(k)) for k, c in sorted(before.items(), key=lambda kv: (kv[1]["m"], kv[1]["p"], kv[1]["n"]))]
    return [f"- **A second profile at N = 100k** (M = 20k, P = 8: {q['cpu_s']} CPU-s, {q['user_s']:.0f} user + "
            f"{q['sys_s']:.0f} sys) against N = 20k: for 5× the samples the whole run took {r['total']}×, but "
            f"standardising blocks {r['standardise']}× and the rest of the level-0 loop {r['step1_self']}×, with "
            "30 % system time. Every N × b temporary beyond glibc's 32 MB mmap threshold (N·b·8 bytes: 29 MB at "
            "N = 20k, 146 MB at 100k) was mapped fresh and zeroed page by page by the kernel, several times per "
            "block. Fixed: the block's arrays (standardised block, its fold-sorted copy, the predictions) are "
            "buffers reused from block to block (`_work` in `edfgen/kernels/ridge.py`), level 1 standardises its "
            "predictors in place and skips the masked copy when no phenotype value is missing (the same operations: "
            "LOCO predictions and summary statistics bit-identical at N = 100k). Measured CPU s before → after this fix (user + sys of the whole run; "
            "`ridge_cases_without_buffers` in `scale.json`): "
            + ", ".join(f"N = {c['n'] // 1000}k M = {c['m'] // 1000}k P = {c['p']}: {c['cpu_s']} → "
                        + (f"{a['cpu_s']}" if a and a.get("status") == "ok" and a.get("user_s") is not None
                           else "not rerun") for k, c, a in pairs)
            + " (load " + "/".join(f"{c['load_1min']:.0f}" for _, c, _a in pairs) + " before, "
            + "/".join(f"{a['load_1min']:.0f}" for _, _c, a in pairs if a) + " after: part of the difference is "
            "contention on the shared machine; CPU grew as N^0.98 between N = 50k and 100k after, "
            "against N^1.11 before)."]


def extra_text(res: dict, lin) -> str:
    T = res["target"]
    cases = [c for c in res.get("cases", {}).values() if c["status"] == "ok"]
    hail = [c for c in cases if c.get("model") == "linear-hail"]
    ridge = [c for c in cases if c.get("model") == "ridge-loco"]
    rl, rr = rss_fit(lin), rss_fit(ridge, STEP1_M)
    bg = next((c for c in cases if c.get("axis") == "bgen"), None)
    lines = ["## One 64-core machine", "",
             f"CPU-bound: spread over 64 cores (independent variant ranges: `--chr`/`--extract` shards or "
             f"`--threads 64`; the work per variant block is independent, not measured beyond 2 cores here), the "
             f"linear total is ≈ **{res['total_cpu_hours_linear'] / 64:,.1f} h wall** and ridge-loco "
             f"≈ **{res['total_cpu_hours_ridge'] / 64:,.1f} h wall**, if the cores are kept busy."]
    if rl:
        lines.append(f"Memory: peak RSS fitted as a + b·N + c·N·P + d·M (max residual {rl['max_abs_residual_pct']} %) "
                     f"gives ≈ **{rl['target_gib']:.1f} GiB** for one linear process at 500k × 128"
                     + (f", ≈ **{rr['target_gib']:.1f} GiB** for ridge-loco step 1 on {STEP1_M:,} variants (max residual "
                        f"{rr['max_abs_residual_pct']} %, a linear extrapolation; level 1 holds N × R·M/b doubles per phenotype, "
                        f"{T['n'] * 5 * -(-STEP1_M // _ridge_b(T['n'], STEP1_M, T['p'])) * 8 / 2**30:.1f} GiB at the "
                        "target, in a few copies at once; the LOCO predictions are streamed to disk, not held)"
                        if rr else "")
                     + "; 64 single-threaded shards multiply the per-process part, so on a 256–512 GB machine "
                     "run fewer, multi-threaded processes.")
    if bg:
        per_entry = bg.get("bytes", 0) / (bg["n"] * bg["m"])
        tb = per_entry * T["n"] * T["m"] / 1e12
        wall = max(res["total_cpu_hours_linear"] / 64, 1e-9)
        lines.append(f"I/O: the hard-call BGEN written here is {per_entry:.3f} B per variant × sample (8-bit, zlib; "
                     "probabilities 0/1 compress well), a lower bound; imputed dosages stored as two 8-bit "
                     "probabilities are up to 2 B per entry. 500k × 10M is then "
                     f"{tb:.1f}–{2 * T['n'] * T['m'] / 1e12:.0f} TB: {tb * 1e3 / 3600:.1f}–"
                     f"{2 * T['n'] * T['m'] / 1e9 / 3600:.1f} h per genotype pass at 1 GB/s, against "
                     f"≈ {wall:.1f} h of CPU wall on 64 cores. So a 64-core run needs "
                     f"≈ {tb * 1e3 / 3600 / wall:.1f}–{2 * T['n'] * T['m'] / 1e9 / 3600 / wall:.1f} GB/s of reads to "
                     "stay CPU-bound: local NVMe yes, network storage often not (then I/O-bound, and CPU-hours are "
                     "not the cost). The BGEN decode cost above was measured on the hard-call file; dosage BGEN "
                     "inflates more bytes per entry (UK Biobank's imputed v3 BGEN is ≈ 2.1 TB for 97M mostly "
                     "rare variants).")
    lines += ["", "## A Spark cluster", ""]
    lines += hail_text(res) if hail else [
        "`--engine hail` (Spark local[1]) was **not measured**: its first case (N = 10k, M = 100k, P = 8) "
        "was killed at the 2,400 s wall limit, its JVM having used more than 4.5 CPU-minutes by then "
        "(`ps`, not the case's measurement) where the fast engine needs 7.7 CPU-s for the whole run "
        "at this size (> 35×, a lower bound including the JVM start). No Spark-engine CPU-hours are "
        "extrapolated from that."]
    lines.append("The fast engine on a cluster: variant ranges are independent, so K cluster jobs (`--chr`, "
                 "`--extract` shards; one job per node) cost the single-machine CPU-hours plus the fixed cost per "
                 f"job ({res['fits'].get('gwas linear', {}).get('coef', {}).get('fixed', float('nan')):.1f} CPU s "
                 "each, negligible): the same CPU-hours per phenotype as above, minus nothing for Spark.")
    hp = (res.get("hail") or {}).get("target_cpu_hours_per_phenotype")
    alt = [a["target_cpu_hours"] / res["target"]["p"] for a in (res.get("hail") or {}).get(
        "p_term_alternatives", {}).values()]
    hr = f"{min(alt):.2g}–{max(alt):.2g}" if alt else "–"
    nmax = max((q["n"] for q in (res.get("hail") or {}).get("points", [])), default=0)
    lines += ["", "## Against published figures", "",
              f"- Neale lab, Hail, UK Biobank (~4,000 phenotypes, ~200,000 CPU-hours): **≈ {NEALE_CPU_H:.0f} CPU-hours "
              f"per phenotype**; projected edfgen: **{res['per_phenotype_linear']:.2f} (linear)** and "
              f"**{res['per_phenotype_ridge']:.2f} (ridge-loco)** CPU-hours per EDF, i.e. "
              f"{NEALE_CPU_H / max(res['per_phenotype_linear'], 1e-9):,.0f}× and "
              f"{NEALE_CPU_H / max(res['per_phenotype_ridge'], 1e-9):,.0f}× less. Not like for like: the Neale "
              "runs used a 2017–2018 Hail on binary and continuous traits over ~10M+ imputed variants; 128 EDFs "
              "sharing one genotype pass is the fast engine's best case."
              + (f" Hail as edfgen drives it here, extrapolated from N ≤ {nmax:,} (above): **{hp:.2g} CPU-hours per "
                 f"phenotype** (range {hr}) for the association pass at 128 EDFs per run ({hp / NEALE_CPU_H:.2g}× the Neale-lab "
                 f"figure), {res['hail']['target_cpu_hours_one_phenotype_per_run']:,.0f} with one phenotype per run "
                 f"({res['hail']['target_cpu_hours_one_phenotype_per_run'] / NEALE_CPU_H:.1f}×); the Neale figure "
                 "lies between (not like for like: Hail version, cluster, input format and phenotypes per pass "
                 "differ)." if hp else ""),
              f"- REGENIE v2.0.2 on UK Biobank (n = 400k, 469k step-1 SNPs, 11.4M step-2 variants), as benchmarked "
              f"by Jiang et al. 2021 (fastGWA-GLMM, Nat Genet 53:1616, Supplementary Table 6, quoted in "
              "github.com/rgcgithub/regenie/issues/208): 614 h for 50 traits, "
              f"**≈ {REGENIE_H} h per "
              "trait** (27.5 h for a single trait); REGENIE's own benchmark (Mbatchou et al. 2021, Nat Genet 53:1097, "
              "doi:10.1038/s41588-021-00870-7; rgcgithub.github.io/regenie/performance: 50 quantitative UK Biobank "
              "traits, 469,336 step-1 SNPs, 11.4M step-2 SNPs): 151× faster than BOLT-LMM in step 1, "
              "11.5× in step 2, 12.9 GB peak memory for the 50 traits. Ridge-loco projected here: "
              f"**{res['per_phenotype_ridge']:.2f} CPU-hours per EDF** at 128 EDFs.",
              "", "## Assumptions and limits", "",
              "- Extrapolation: the largest measured products N·M are 1e10 (N = 100k × M = 100k, N = 10k × M = 1M); "
              "the target is 5e12, 2.7 orders of magnitude beyond. The fitted models keep the measured per-entry "
              "costs constant: no cache or memory-bandwidth cliff is modelled (blocks are streamed, so the working "
              "set does not grow with M; it grows with N × P).",
              "- CPU-bound, 1 thread per core; hard-call genotypes with no missing calls and one missingness pattern "
              "of the phenotypes (more patterns cost more per-pattern products); no relatedness filtering, no plots.",
              f"- Ridge-loco: step 1 on {STEP1_M:,} array SNPs as REGENIE recommends (not on the 10M imputed "
              "variants), the auto-chosen block size; step 2 as measured with `--loco-predictions` relative to "
              "linear; only quantitative EDFs (no Firth).",
              "- Clump: synthetic GWAS-SSF with a fixed number of loci per EDF (independent of M), 64 EDFs per call, "
              "scaled linearly to 128; LD from the study genotypes (all N) or from a 10k reference panel.",
              "- Extract: the default checkpoint on CPU, 1 thread, 500k ECGs (one per participant); a GPU would "
              "change this component, not the genetics.",
              f"- Machine: shared 2-core VM with other jobs (load {min(c['load_1min'] for c in cases):.0f}–"
              f"{max(c['load_1min'] for c in cases):.0f}): CPU seconds inflate under contention "
              "(cache, memory bandwidth, hyper-threads), so the figures are upper bounds for a quiet machine."]
    return "\n".join(lines)


def hail_text(res: dict) -> list[str]:
    """The Hail engine's measured points, its scaling law and its extrapolation to ``TARGET``
    (``res["hail"]`` from :func:`_scale_fit.hail_analysis`)."""
    h, T = res["hail"], res["target"]
    md = ["`gwas --engine hail` (Hail `linear_regression_rows` via `--spark-master local[1]`, `--threads 1`, "
          "PLINK .bed input imported, QC'd and checkpointed by Hail, then one association pass; CPU = user + sys "
          "of the whole process tree, the JVM included), **measured** beside the fast engine at the same points "
          "(same command without `--engine hail`):", "",
          "| N | M | P | Hail CPU s | fast CPU s | Hail / fast | Hail peak RSS MiB | fast peak RSS MiB | "
          "Hail wall s | load |", "|---|---|---|---|---|---|---|---|---|---|"]
    for q in h["points"]:
        md.append(f"| {q['n']:,} | {q['m']:,} | {q['p']} | {q['cpu_s']} | {q['fast_cpu_s'] or '–'} | "
                  f"{q['ratio'] or '–'}× | {q['peak_rss_mib']} | {q['fast_peak_rss_mib'] or '–'} | {q['wall_s']} | "
                  f"{q['load_1min']} |")
    cell = lambda sl, a: f"{sl[a]['exponent']} ({sl[a]['last_two']})" if a in sl else "–"  # noqa: E731
    fx = h["fixed"]
    md += ["", "Power-law exponents of CPU (slope of log CPU on log size; `last two` between the two largest "
           f"sizes): N axis at M = {fx['n']['m']:,}, P = {fx['n']['p']}; M axis at N = {fx['m']['n']:,}; P axis at "
           f"N = {fx['p']['n']:,}, M = {fx['p']['m']:,}:", "", "| engine | N | M | P |", "|---|---|---|---|",
           "| Hail | " + " | ".join(cell(h["slopes"], a) for a in "nmp") + " |",
           "| fast, same points | " + " | ".join(cell(h["fast_slopes"], a) for a in "nmp") + " |", ""]
    if "fit" in h:
        f = h["fit"]
        terms = " + ".join(f"{v:.3g}·[{k}]" for k, v in f["coef"].items() if v > 0)
        md.append(f"Cost model (the fast engine's terms, non-negative least squares on relative errors): Hail CPU = "
                  f"{terms} ({f['points']} points; residuals {', '.join(f'{x:+.1f}%' for x in f['residual_pct'])}).")
        lf = res["fits"].get("gwas linear", {}).get("coef", {})
        pairs = [(k, f["coef"].get(k, 0.0), lf.get(k, 0.0)) for k in ("fixed", "per variant x sample",
                                                                       "per variant x sample x phenotype")]
        md.append(f"Term by term, Hail against the fast engine's fit ({res['fits']['gwas linear']['points']} points "
                  "above): " + "; ".join(
            f"{k} {a:.3g} vs {b:.3g} CPU-s" + (f" (**{a / b:,.0f}×**)" if a > 0 and b > 0 else "")
            for k, a, b in pairs) + ". The per-entry terms, not the JVM start, set the cost at biobank size.")
        md.append(f"**Extrapolated** (not measured) to {T['n']:,} × {T['m']:,} × {T['p']}: "
                  f"**{h['target_cpu_hours']:,.0f} CPU-hours, {h['target_cpu_hours_per_phenotype']:.2g} per "
                  f"phenotype** with {T['p']} EDFs in one run; **{h['target_cpu_hours_one_phenotype_per_run']:,.0f} "
                  "CPU-hours per phenotype** when each run carries one phenotype. The fast engine's fit at the same "
                  "target: "
                  f"{h.get('fast_target_cpu_hours_per_phenotype', float('nan')):.2g} CPU-hours per phenotype at "
                  f"{T['p']} ({h.get('fast_target_cpu_hours_one_phenotype_per_run', float('nan')):.2g} for one "
                  "phenotype per run); Neale lab ≈ 50.")
        alt = h.get("p_term_alternatives", {})
        if alt:
            ns = h.get("p_varied_at_n", [])
            md.append(("The P axis was measured at one N only, so the data do not tell" if len(ns) < 2 else
                       f"P was varied at N = {', '.join(f'{n:,}' for n in ns)}, to tell")
                      + " a per-phenotype cost per variant (M·P: output rows) from one per genotype entry (N·M·P: "
                      "products); each fitted alone, with the fixed, M and N·M terms: " + "; ".join(
                          f"{k}: max |residual| {a['fit']['max_abs_residual_pct']} %, **{a['target_cpu_hours']:,.0f} "
                          f"CPU-hours at P = {T['p']} ({a['target_cpu_hours'] / T['p']:.2g} per phenotype)**, "
                          f"{a['target_cpu_hours_one_phenotype_per_run']:,.0f} at P = 1" for k, a in alt.items())
                      + (". Read the P = 128 figure as that range." if len(ns) < 2 else
                         ". The smaller residual marks the better-supported one; the range is the model uncertainty."))
        for k in h.get("killed", []):
            md.append(f"Check against the first Hail case, killed at the time limit (N = {k['n']:,}, M = {k['m']:,}, "
                      f"P = {k['p']}: more than {k['cpu_s_lower_bound']} CPU-s used by then, a lower bound): the cost "
                      f"model predicts {k['predicted_cpu_s']:,.0f} CPU-s there"
                      + (" — consistent with the bound." if k["predicted_cpu_s"] >= k["cpu_s_lower_bound"] else
                         f" — below the bound: the model underestimates there by ≥ "
                         f"{k['cpu_s_lower_bound'] / k['predicted_cpu_s']:.2f}×."))
    big = max(q["n"] * q["m"] for q in h["points"])
    rep, base = res.get("repeat_base_linear"), res.get("cases", {}).get(
        f"gwas_linear_n{BASE['n']}_m{BASE['m']}_p{BASE['p']}", {})
    infl = max(r["cpu_s"] for r in rep) / base["cpu_s"] if rep and base.get("cpu_s") else None
    md.append(f"What is measured: the points above only (at most {big:.1e} genotype entries, N ≤ "
              f"{max(q['n'] for q in h['points']):,}). What is extrapolated: everything at the target "
              f"({T['n'] * T['m']:.0e} entries, {np.log10(T['n'] * T['m'] / big):.1f} orders of magnitude beyond), "
              "with the per-entry costs held constant; at these sizes the JVM start and Spark's per-stage costs "
              "are a large part of every run (the fixed term: exponents below 1 above are that share, not economies "
              "of scale), so the per-entry terms rest on few points. "
              f"Load differed between the points ({min(q['load_1min'] for q in h['points'])}–"
              f"{max(q['load_1min'] for q in h['points'])})" + (
                  f"; CPU seconds inflate by up to {infl:.2f}× under contention (the base point measured again, "
                  "above), as large as the P = 8 → 64 difference at N = 10k, so the per-phenotype terms are the "
                  "least certain. " if infl else ". ")
              + "One Spark core (local[1]); a cluster divides wall time, not CPU-hours. BGEN import by Hail "
              "(`index_bgen`) was not measured.")
    return md
