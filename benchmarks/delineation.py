"""P/QRS/T delineation of ``edfgen.kernels.ecg.biomarkers``: simulator truth, neurokit2 on real ECGs, and a figure.

Three checks of the PR, QRS and QT intervals that ``edfgen interpret --measure-from`` measures, each run
on the delineator as it is now ("after") and as it was before the trapezium-area T end / P onset
("before": ``edfgen/kernels/ecg/biomarkers.py`` at commit ``BEFORE_COMMIT``, loaded with ``git show``):

1. **Simulator truth**: ``random_physiology`` + ``synthesize_batch`` (noisy, 500 Hz, 10 s); bias, mean
   absolute error and max |error| per interval. The simulator defines QT and PR by the tangent method.
2. **Independent reference on real ECGs**: the 353 PTB-XL 500 Hz records and the 40 CinC 2021 records in
   ``../shared/data/ecg`` against neurokit2 (``ecg_clean``, ``ecg_peaks``, ``ecg_delineate`` with methods
   ``dwt``, ``cwt`` and ``peak`` on lead II). Each neurokit2 fiducial (P onset, QRS onset/offset, T end) is
   taken relative to the nearest edfgen R peak and its median over beats placed on edfgen's median beat,
   so fiducials are compared directly (neurokit2's own QRS onsets are unusable, which rules out comparing
   its intervals). Reported: median signed and median absolute difference, and the same between
   neurokit2's methods, which bounds what agreement with any one of them can show.
3. **By eye**: ``delineation.png``, median beats (II, V2, V5 and the 8-lead spatial magnitude) of 6 NORM
   and 6 abnormal PTB-XL records with edfgen's fiducials (after, before) and neurokit2's (``dwt``, lead II).

Run: ``OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/delineation.py [--n-sim 200]``
-> ``benchmarks/results/delineation.{json,md,png}`` (~2 min on an idle core; neurokit2 dominates).
neurokit2 and PyWavelets are needed only here (``pip install neurokit2 PyWavelets``), not by edfgen.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SHARED = (ROOT / ".." / "shared" / "data" / "ecg").resolve()
PTBXL = SHARED / "ptbxl"
CINC = SHARED / "cinc2021"
BEFORE_COMMIT = "6d7e429"
INTERVALS = ("pr_interval_ms", "qrs_duration_ms", "qt_interval_ms")


def load_before():
    """``edfgen.kernels.ecg.biomarkers`` as of :data:`BEFORE_COMMIT`, imported from ``git show`` as a module."""
    src = subprocess.run(["git", "show", f"{BEFORE_COMMIT}:edfgen/ecg/biomarkers.py"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    # that commit's module paths, as the package is laid out now
    src = src.replace("from edfgen.ecg.simulate import DOWER_LEADS, INVERSE_DOWER",
                      "from edfgen.kernels.ecg.leads import DOWER_LEADS, INVERSE_DOWER")
    src = src.replace("from edfgen.ecg import LEADS", "from edfgen.kernels.ecg import LEADS")
    path = Path(tempfile.mkdtemp()) / "biomarkers_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("biomarkers_before", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_real() -> list[dict]:
    """Every real 500 Hz record in ``../shared/data/ecg`` (PTB-XL ``records500`` and CinC 2021)."""
    from edfgen.formats.ecg.records import discover_records, read_record
    from edfgen.kernels.ecg.leads import canonicalise_leads

    db = pd.read_csv(PTBXL / "ptbxl_database.csv", index_col="ecg_id")
    out = []
    for source, folder in (("ptbxl", PTBXL / "records500"), ("cinc2021", CINC)):
        for ref in discover_records([folder]):
            rec = canonicalise_leads(read_record(ref))
            label = ""
            if source == "ptbxl":
                codes = ast.literal_eval(db.loc[int(ref.record_id.split("_")[0]), "scp_codes"])
                label = ",".join(k for k, v in codes.items() if v >= 50 or k == "NORM")
            out.append({"record": ref.record_id, "source": source, "fs": rec.fs,
                        "signal": np.nan_to_num(rec.signal.astype(np.float64)), "label": label})
    return out


def _pad(v, n: int) -> np.ndarray:
    v = np.asarray(v, dtype=float)[:n]
    return np.concatenate([v, np.full(n - len(v), np.nan)])


NK_FIDUCIALS = {"p_on": "ECG_P_Onsets", "qrs_on": "ECG_R_Onsets", "qrs_off": "ECG_R_Offsets", "t_end": "ECG_T_Offsets"}


def neurokit_lead(x: np.ndarray, fs: float, methods=("dwt", "cwt", "peak")) -> dict:
    """neurokit2's R peaks and per-beat fiducials (absolute sample indices, NaN = not found) on one lead:
    ``{"r": [B], "dwt": {"p_on": [B], ...}, ...}``."""
    import neurokit2 as nk

    out: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            clean = nk.ecg_clean(x, sampling_rate=int(fs))
            _, info = nk.ecg_peaks(clean, sampling_rate=int(fs))
            out["r"] = np.asarray(info["ECG_R_Peaks"], dtype=float)
        except Exception:          # noqa: BLE001  a reference failure is a missing value, not a crash
            return out
        for m in methods:
            try:
                _, w = nk.ecg_delineate(clean, info["ECG_R_Peaks"], sampling_rate=int(fs), method=m)
            except Exception:      # noqa: BLE001
                w = {}
            out[m] = {k: _pad(w[v], len(out["r"])) for k, v in NK_FIDUCIALS.items() if v in w}
    return out


def neurokit_table(records: list[dict]) -> list[dict]:
    """neurokit2 on lead II of every record (see :func:`neurokit_lead`)."""
    return [neurokit_lead(r["signal"][1], r["fs"]) for r in records]


def nk_in_beat(nk: dict, d, method: str) -> dict:
    """neurokit2's per-record fiducials in the coordinates of edfgen's median beat ``d``: each beat's
    fiducial relative to the nearest edfgen R peak (within 100 ms), median over beats."""
    out = {}
    if "r" not in nk or method not in nk or len(d.r_peaks) == 0:
        return out
    k = np.clip(np.searchsorted(d.r_peaks, nk["r"]), 1, len(d.r_peaks) - 1)
    near = np.where(np.abs(d.r_peaks[k - 1] - nk["r"]) < np.abs(d.r_peaks[k] - nk["r"]), d.r_peaks[k - 1], d.r_peaks[k])
    matched = np.abs(near - nk["r"]) <= 0.1 * d.fs
    for name, v in nk[method].items():
        rel = (v - near)[matched]
        rel = rel[np.isfinite(rel)]
        out[name] = d.r_index + float(np.median(rel)) if len(rel) else np.nan
    return out


FIDUCIALS = ("p_on", "qrs_on", "qrs_off", "t_end")


def real_table(records: list[dict], nk: list[dict], before, after) -> pd.DataFrame:
    """Per record: edfgen's fiducials (median-beat indices; "before" from its PR/QRS/QT around the
    unchanged QRS onset), edfgen's lead-II T end / P onset, and neurokit2's fiducials mapped onto the
    same median beat; plus the seconds per record of each edfgen version."""
    rows = []
    secs = {"before": 0.0, "after": 0.0}
    for rec, n in zip(records, nk):
        x, fs = rec["signal"], rec["fs"]
        t0 = time.perf_counter()
        b = before.measure_record(x, fs)
        t1 = time.perf_counter()
        a = after.measure_record(x, fs)
        secs["before"] += t1 - t0
        secs["after"] += time.perf_counter() - t1
        d = after.delineate(x, fs)
        row = {"record": rec["record"], "source": rec["source"], "label": rec["label"], "fs": fs}
        row.update({f"before_{c}": b[c] for c in INTERVALS})
        row.update({f"after_{c}": a[c] for c in INTERVALS})
        if d is not None and np.isfinite(d.qrs_onset):
            ms = 1000.0 / fs
            row.update(after_p_on=d.p_onset, after_qrs_on=d.qrs_onset, after_qrs_off=d.qrs_offset,
                       after_t_end=d.t_end, after_t_end_II=d.t_end_leads[1], after_p_on_II=d.p_onset_leads[1],
                       before_qrs_on=d.qrs_onset, before_qrs_off=d.qrs_onset + b["qrs_duration_ms"] / ms,
                       before_t_end=d.qrs_onset + b["qt_interval_ms"] / ms,
                       before_p_on=d.qrs_onset - b["pr_interval_ms"] / ms)
            for m in ("dwt", "cwt", "peak"):
                row.update({f"nk_{m}_{k}": v for k, v in nk_in_beat(n, d, m).items()})
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["seconds_per_record"] = {k: v / len(records) for k, v in secs.items()}
    return df


def diff_stats(df: pd.DataFrame, a: str, b: str) -> dict:
    """Median signed and median absolute difference ``a - b`` in ms (records where both exist)."""
    d = ((df[a] - df[b]) * 1000.0 / df["fs"]).dropna()
    return {"n": int(len(d)), "median_diff_ms": round(float(d.median()), 1) if len(d) else None,
            "median_abs_diff_ms": round(float(d.abs().median()), 1) if len(d) else None}


#: (edfgen column, neurokit2 column) pairs compared; fiducials in median-beat samples
COMPARISONS = [
    ("T end, global", "t_end", "nk_dwt_t_end"), ("T end, global", "t_end", "nk_peak_t_end"),
    ("T end, global", "t_end", "nk_cwt_t_end"), ("T end, lead II", "t_end_II", "nk_dwt_t_end"),
    ("T end, lead II", "t_end_II", "nk_peak_t_end"),
    ("P onset, global", "p_on", "nk_dwt_p_on"), ("P onset, global", "p_on", "nk_peak_p_on"),
    ("P onset, lead II", "p_on_II", "nk_dwt_p_on"), ("P onset, lead II", "p_on_II", "nk_peak_p_on"),
    ("QRS onset", "qrs_on", "nk_dwt_qrs_on"), ("QRS onset", "qrs_on", "nk_cwt_qrs_on"),
    ("QRS offset", "qrs_off", "nk_dwt_qrs_off"), ("QRS offset", "qrs_off", "nk_cwt_qrs_off"),
]
NK_PAIRS = [("T end", "nk_dwt_t_end", "nk_peak_t_end"), ("T end", "nk_dwt_t_end", "nk_cwt_t_end"),
            ("P onset", "nk_dwt_p_on", "nk_peak_p_on"), ("QRS onset", "nk_dwt_qrs_on", "nk_cwt_qrs_on"),
            ("QRS offset", "nk_dwt_qrs_off", "nk_cwt_qrs_off")]


def agreement(df: pd.DataFrame) -> dict:
    out = {}
    for src in ("ptbxl", "cinc2021"):
        sub = df[df.source == src]
        res = {"edfgen_vs_neurokit2": [], "neurokit2_between_methods": []}
        for what, ours, ref in COMPARISONS:
            if ref not in sub:
                continue
            row = {"fiducial": what, "reference": ref}
            for ver in ("before", "after"):
                col = f"{ver}_{ours}"
                if col in sub:
                    row[ver] = diff_stats(sub, col, ref)
            res["edfgen_vs_neurokit2"].append(row)
        for what, a, b in NK_PAIRS:
            if a in sub and b in sub:
                res["neurokit2_between_methods"].append({"fiducial": what, "a": a, "b": b, **diff_stats(sub, a, b)})
        res["intervals_after_minus_before"] = {
            c: {"median_ms": round(float((sub[f"after_{c}"] - sub[f"before_{c}"]).median()), 1),
                "median_before_ms": round(float(sub[f"before_{c}"].median()), 1),
                "median_after_ms": round(float(sub[f"after_{c}"].median()), 1),
                "n_nan_before": int(sub[f"before_{c}"].isna().sum()), "n_nan_after": int(sub[f"after_{c}"].isna().sum())}
            for c in INTERVALS}
        out[src] = res
    return out


def simulator(n: int, before, after, seed: int = 20261129) -> dict:
    """Errors against the simulator's truth (tangent-method QT and PR) for ``n`` noisy records."""
    from edfgen.simulate.ecg import random_physiology, synthesize_batch

    truth = random_physiology(n, rng=np.random.default_rng(seed))
    ecg = synthesize_batch(truth, seed=seed, noise=True)
    res = {}
    for name, mod in (("before", before), ("after", after)):
        m = mod.measure_biomarkers(ecg)
        res[name] = {}
        for c in INTERVALS:
            err = (m[c] - truth[c]).to_numpy()
            res[name][c] = {"bias_ms": round(float(np.nanmean(err)), 1), "mae_ms": round(float(np.nanmean(np.abs(err))), 1),
                            "max_abs_ms": round(float(np.nanmax(np.abs(err))), 1), "n_nan": int(np.isnan(err).sum()),
                            "r": round(float(pd.Series(m[c]).corr(truth[c])), 4)}
    return res


def plot(records: list[dict], nk: list[dict], before, after, path: Path, seed: int = 3) -> list[str]:
    """Median beats of 6 NORM and 6 abnormal PTB-XL records with the fiducials of edfgen (after:
    solid, before: dashed) and neurokit2 dwt (lead II: dotted); leads II, V2, V5 and the
    8-lead spatial magnitude that the global T end and P onset are timed on."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    ptb = [i for i, r in enumerate(records) if r["source"] == "ptbxl"]
    norm = [i for i in ptb if records[i]["label"].split(",")[0] == "NORM"]
    abn = [i for i in ptb if "NORM" not in records[i]["label"].split(",")]
    pick = list(rng.choice(norm, 6, replace=False)) + list(rng.choice(abn, 6, replace=False))
    fig, axes = plt.subplots(4, 3, figsize=(18, 22))
    colours = {"p_on": "tab:green", "qrs_on": "tab:blue", "qrs_off": "tab:purple", "t_end": "tab:red"}
    shown = []
    for ax, i in zip(axes.flat, pick):
        rec = records[i]
        x, fs = rec["signal"], rec["fs"]
        d = after.delineate(x, fs)
        b = before.measure_record(x, fs)
        ms = 1000.0 / fs
        t = (np.arange(d.beat.shape[1]) - d.r_index) * ms
        mag = np.sqrt((d.beat[after._INDEPENDENT] ** 2).sum(0))
        for k, (name, y) in enumerate((("II", d.beat[1]), ("V2", d.beat[7]), ("V5", d.beat[10]), ("|8 leads|", mag))):
            ax.plot(t, y - 1.6 * k, "k", lw=0.9)
            ax.text(t[0] + 5, -1.6 * k + 0.25, name, fontsize=8)
        new = {"p_on": d.p_onset, "qrs_on": d.qrs_onset, "qrs_off": d.qrs_offset, "t_end": d.t_end}
        old = {"p_on": d.qrs_onset - b["pr_interval_ms"] / ms, "qrs_on": d.qrs_onset,
               "qrs_off": d.qrs_onset + b["qrs_duration_ms"] / ms, "t_end": d.qrs_onset + b["qt_interval_ms"] / ms}
        ref = nk_in_beat(nk[i], d, "dwt")
        for f, c in colours.items():
            for val, ls, lab in ((new.get(f), "-", "after"), (old.get(f), "--", "before"), (ref.get(f), ":", "neurokit2 dwt II")):
                if val is not None and np.isfinite(val):
                    ax.axvline((val - d.r_index) * ms, color=c, ls=ls, lw=1.3 if ls == "-" else 1.0,
                               label=f"{f} {lab}")
        ax.set_xlim(-320, min(650, t[-1]))
        ax.set_title(f"PTB-XL {rec['record']}  {rec['label'][:40]}\nQT {b['qt_interval_ms']:.0f} -> "
                     f"{(d.t_end - d.qrs_onset) * ms:.0f} ms, PR {b['pr_interval_ms']:.0f} -> "
                     f"{(d.qrs_onset - d.p_onset) * ms:.0f} ms", fontsize=9)
        ax.grid(alpha=0.3)
        shown.append(rec["record"])
    h, lab = axes.flat[0].get_legend_handles_labels()
    fig.legend(h, lab, loc="lower center", ncol=6, fontsize=9)
    fig.suptitle("edfgen delineation on 12-lead median beats (ms from R); solid = after, dashed = before, "
                 "dotted = neurokit2 dwt on lead II", fontsize=12)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return shown


def write_md(res: dict, path: Path) -> None:
    L = ["# Delineation: simulator truth, neurokit2 on real ECGs, figure", "",
         f"`{res['command']}` ({res['date']}, {res['wall_s']:.0f} s, load {res['load']}). "
         f"Before = `edfgen/kernels/ecg/biomarkers.py` at {BEFORE_COMMIT} (tangent T end and P onset on one lead); "
         "after = trapezium-area T end / P onset on the 8-lead spatial magnitude (module docstring).", "",
         f"## 1. Simulator truth ({res['simulator']['n']} noisy records, 500 Hz; QT and PR defined by the tangent method)", "",
         "| interval | before bias / MAE / max (ms) | after bias / MAE / max (ms) |", "|---|---|---|"]
    for c in INTERVALS:
        b, a = res["simulator"]["before"][c], res["simulator"]["after"][c]
        L.append(f"| {c} | {b['bias_ms']:+.1f} / {b['mae_ms']:.1f} / {b['max_abs_ms']:.1f} | "
                 f"{a['bias_ms']:+.1f} / {a['mae_ms']:.1f} / {a['max_abs_ms']:.1f} |")
    L += ["", "The simulator's T wave is a cos² half-wave; its tangent end (the truth) lies 4.7 % of QT before the wave "
          "reaches zero, so a return-to-baseline end is later by design. The QRS bias (+7 ms, onset ~5 ms early, offset "
          "~2 ms late) comes from the 40 Hz low-pass of the median beat: with a 100 Hz low-pass it is below 1 ms on the "
          "simulator (measured while developing), but that shortens real QRS durations by a median 4 ms, which are "
          "already at the low end of published norms, so the QRS boundaries were kept as they were.", ""]
    for src, n_rec in (("ptbxl", res["n_records"]["ptbxl"]), ("cinc2021", res["n_records"]["cinc2021"])):
        a = res["real"][src]
        L += [f"## 2. {src}: {n_rec} real records, edfgen vs neurokit2 (lead II), fiducials on the same median beat", "",
              "Median signed difference (edfgen − neurokit2) and median absolute difference, ms.", "",
              "| fiducial | reference | before: median / median abs | after: median / median abs | n |", "|---|---|---|---|---|"]
        for row in a["edfgen_vs_neurokit2"]:
            b = row.get("before", {})
            f = row["after"]
            bs = f"{b['median_diff_ms']:+.1f} / {b['median_abs_diff_ms']:.1f}" if b and b.get("n") else "–"
            fs_ = f"{f['median_diff_ms']:+.1f} / {f['median_abs_diff_ms']:.1f}" if f.get("n") else "–"
            L.append(f"| {row['fiducial']} | {row['reference']} | {bs} | {fs_} | {f['n']} |")
        L += ["", "Between neurokit2's own methods (bounds what agreement with either can show):", "",
              "| fiducial | a − b | median / median abs (ms) | n |", "|---|---|---|---|"]
        for row in a["neurokit2_between_methods"]:
            if row["n"]:
                L.append(f"| {row['fiducial']} | {row['a']} − {row['b']} | {row['median_diff_ms']:+.1f} / "
                         f"{row['median_abs_diff_ms']:.1f} | {row['n']} |")
        L += ["", "Intervals, after − before (median over records) and medians:", "",
              "| interval | median change (ms) | median before | median after | NaN before / after |", "|---|---|---|---|---|"]
        for c, v in a["intervals_after_minus_before"].items():
            L.append(f"| {c} | {v['median_ms']:+.1f} | {v['median_before_ms']:.1f} | {v['median_after_ms']:.1f} | "
                     f"{v['n_nan_before']} / {v['n_nan_after']} |")
        L.append("")
    L += ["## 3. By eye", "", f"`delineation.png`: PTB-XL records {', '.join(res['figure_records'])}.", "",
          f"Speed: {1000 * res['seconds_per_record']['before']:.1f} ms/record before, "
          f"{1000 * res['seconds_per_record']['after']:.1f} ms/record after (`measure_record`, one core, shared machine).", ""]
    L += ["## What this shows and does not show", "",
          "- No cardiologist annotations are in `../shared`; neurokit2 is an algorithm, not a reader. Its `dwt` and `peak` "
          "T ends agree with each other within the median absolute difference shown above; its `cwt` T end is ~16 ms "
          "earlier, so agreement closer than the `dwt`–`peak` spread cannot be claimed. The goal (QT within 10 ms of "
          "cardiologists) is judged on the held-out annotated set, not here.",
          "- neurokit2's QRS onsets are not usable as a reference (`dwt` puts them a median 110 ms before the R peak, in "
          "the PR segment; reported in neuropsychology/NeuroKit#1042), so the QRS rows are shown, not claimed; edfgen's "
          "QRS boundaries are unchanged, so its PR and QT changes come from P onset and T end alone.",
          "- neurokit2 times lead II; edfgen's global T end is timed on the 8-lead magnitude, which returns to baseline "
          "with the leads whose T waves are large. In an exploratory run during development (neurokit2 `dwt` on all 8 "
          "independent leads of 30 PTB-XL records, every 12th; not part of this script, and before the last edge guard), "
          "edfgen's global T end was a median 1 ms before neurokit2's median lead and 7.5 ms before its latest lead "
          "(leads with T >= 25 % of the largest); the tangent end used before was 4.5 and 13.9 ms before them.",
          "- The simulator defines QT by the tangent method, which ends before its cos² T wave returns to baseline, so "
          "the return-to-baseline end is later than the simulator's truth by design (+2 ms of the QT bias above; the "
          "rest is the early QRS onset). Reaching further after the T peak (120 ms instead of 100 ms) matched "
          "neurokit2's latest lead within 2.5 ms but put the simulator's QT bias at +12 ms (max 17 ms), past the "
          "simulator tests' per-record 15 ms tolerance; 100 ms was kept.", ""]
    path.write_text("\n".join(L) + "\n")


def main(argv=None) -> None:
    import os

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-sim", type=int, default=200)
    ap.add_argument("--cache", type=Path, default=None, help="pickle of neurokit2's results (reused if present)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from edfgen.kernels.ecg import biomarkers as after

    t0 = time.time()
    before = load_before()
    records = load_real()
    if args.cache and args.cache.exists():
        nk = pd.read_pickle(args.cache)
    else:
        nk = neurokit_table(records)
        if args.cache:
            pd.to_pickle(nk, args.cache)
    df = real_table(records, nk, before, after)
    res = {"command": "OMP_NUM_THREADS=1 nice -n 15 .venv/bin/python benchmarks/delineation.py"
                      + (f" --n-sim {args.n_sim}" if args.n_sim != 200 else ""),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "n_records": {s: int((df.source == s).sum()) for s in ("ptbxl", "cinc2021")},
           "seconds_per_record": df.attrs["seconds_per_record"],
           "real": agreement(df)}
    res["simulator"] = {"n": args.n_sim, **simulator(args.n_sim, before, after)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    res["figure_records"] = plot(records, nk, before, after, RESULTS / "delineation.png")
    res["wall_s"] = time.time() - t0
    res["load"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
    (RESULTS / "delineation.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    write_md(res, RESULTS / "delineation.md")
    print((RESULTS / "delineation.md").read_text())


if __name__ == "__main__":
    main()
