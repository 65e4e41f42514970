"""Every real ECG in ``../shared/data/ecg`` through ``edfgen extract`` and the biomarker measurements, checked
against what each source says about its records.

1. **Extract** (``edfgen.commands.extract.extract_edfs``, default options) on each source folder (``cinc2021``,
   ``cinc2021_extra``, ``ludb_dev``, ``ptbxl``, ``ptbxl_extra``): records read, rejected (reasons), the kinds of
   notes (``edfgen.kernels.ecg.record.note_kind``: trimmed edges, zeroed leads, pacing, ...) and records per second.
2. **Measurements against labels** (``edfgen.kernels.ecg.biomarkers.measure_biomarkers``):
   (a) LUDB 1-100: PR, QRS, QT against the cardiologists' boundaries (``benchmarks/ludb_delineation.py``'s global
   reference), heart rate against the annotated QRS peaks of lead II; the 10 worst records with their rhythm,
   conduction and pacing labels (``ludb.csv``);
   (b) heart rate against the rhythm labels: CinC 2021 SNOMED-CT (sinus bradycardia 426177001 -> < 60 bpm, sinus
   tachycardia 427084000 -> > 100, atrial fibrillation 164889003 / flutter 164890007 -> no PR, pacing 10370003)
   and PTB-XL ``scp_codes`` (SBRAD, STACH, SR, AFIB, AFLT, PACE; CRBBB / CLBBB -> QRS >= 120 ms) and
   ``heart_axis`` (MID -30..90 deg, LAD/ALAD -> left of -30, RAD/ARAD -> right of 90; 15 deg tolerance);
   (c) internal consistency: QT > QRS, PR present in sinus rhythm, the R-peak heart rate vs XQRS is in
   ``benchmarks/extract_real_ecg.py``.
3. **Resampled inputs**: LUDB 1-100 resampled from 500 Hz (``scipy.signal.resample_poly``: decimated to 100, 250,
   257 and 360 Hz, upsampled to 1000 Hz): median, 90th percentile and maximum of the absolute differences of the
   measurements to the 500 Hz ones, and median and maximum absolute errors of PR, QRS and QT against the
   cardiologists, the paced records (``ludb.csv`` 'Cardiac pacing': 8 of 100) apart from the others; the EDFs of LUDB 1-40 written as WFDB at each rate and extracted: correlation with the
   500 Hz EDFs (per record over the EDF dimensions, and per EDF over the records).

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/real_ecg_sources.py``
-> ``benchmarks/results/real_ecg_sources.{json,md}`` (about 2 minutes on one core; ``--render`` rewrites the .md
from the .json).
"""

from __future__ import annotations

import ast
import json
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import EdfgenError
from edfgen.formats.atomic import atomic_write
from edfgen.formats.ecg.records import read_wfdb
from edfgen.kernels.ecg.biomarkers import measure_biomarkers
from edfgen.kernels.ecg.leads import canonicalise_leads
from edfgen.kernels.ecg.record import note_kind

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ECG = (ROOT / ".." / "shared" / "data" / "ecg").resolve()
SOURCES = ("cinc2021", "cinc2021_extra", "ludb_dev", "ptbxl", "ptbxl_extra")
RATES = (100, 250, 257, 360, 1000)
MEASURES = ["heart_rate_bpm", "pr_interval_ms", "qrs_duration_ms", "qt_interval_ms", "qrs_axis_deg"]
INTERVALS = ["pr_interval_ms", "qrs_duration_ms", "qt_interval_ms"]


def extract_sources(tmp: Path) -> dict:
    """Part 1: extract_edfs on each source folder with default options."""
    from edfgen.commands.extract import extract_edfs

    out = {}
    for src in SOURCES:
        t0 = time.perf_counter()
        try:
            r = extract_edfs([ECG / src], tmp / f"{src}.tsv")
        except EdfgenError as exc:   # every record rejected: the command stops with one line
            out[src] = {"error": str(exc), "seconds": round(time.perf_counter() - t0, 1)}
            continue
        sec = time.perf_counter() - t0
        rej = pd.read_csv(r.rejects, sep="\t", dtype=str)
        notes = pd.read_csv(r.notes, sep="\t", dtype=str) if r.notes and Path(r.notes).exists() else pd.DataFrame()
        kinds = notes.groupby(notes["note"].map(note_kind))["record"].nunique() if len(notes) else pd.Series()
        out[src] = {"records": r.n_records, "rejected": r.n_rejected, "seconds": round(sec, 1),
                    "records_per_s": round(r.n_records / sec, 1),
                    "rejects": dict(zip(rej["record"], rej["reason"])),
                    "records_with_note": {str(k): int(v) for k, v in kinds.items()},
                    "paced": sorted(notes.loc[notes["note"].str.startswith("paced"), "record"]) if len(notes) else [],
                    "zeroed": sorted(notes.loc[notes["note"].str.startswith("zeroed"), "record"]) if len(notes) else []}
    return out


def _measure(hea: Path) -> dict:
    rec = canonicalise_leads(read_wfdb(hea))
    return measure_biomarkers(rec.signal, rec.fs).iloc[0].to_dict()


def ludb_truth() -> tuple[dict, pd.DataFrame]:
    """Part 2a: per-record interval errors against LUDB's cardiologists."""
    from ludb_delineation import load_ludb

    recs = load_ludb()
    meta = pd.read_csv(ECG / "ludb_dev" / "ludb.csv").set_index("ID")
    rows = []
    for r in recs:
        m = measure_biomarkers(r["signal"], r["fs"]).iloc[0]
        t = r["tables"][1]
        pk = t.loc[t.wave == "qrs", "peak"].to_numpy()
        row = {"record": r["record"], "hr_ref": 60 * r["fs"] / np.mean(np.diff(pk)), "hr": m["heart_rate_bpm"]}
        for k in ("pr_interval_ms", "qrs_duration_ms", "qt_interval_ms"):
            row[k + "_ref"], row[k] = r["reference"][k], m[k]
        for col in ("Rhythms", "Conduction abnormalities", "Cardiac pacing"):
            v = meta.loc[r["record"], col]
            row[col] = "" if pd.isna(v) else "; ".join(str(v).split("\n"))
        rows.append(row)
    df = pd.DataFrame(rows)
    summary = {}
    for k, goal in (("pr_interval_ms", 8), ("qrs_duration_ms", 6), ("qt_interval_ms", 10)):
        e = (df[k] - df[k + "_ref"]).dropna()
        summary[k] = {"n": len(e), "median_abs_ms": float(e.abs().median()), "bias_ms": float(e.median()),
                      "p90_abs_ms": float(e.abs().quantile(0.9)),
                      "missing": int((df[k + "_ref"].notna() & df[k].isna()).sum()),
                      "extra": int((df[k + "_ref"].isna() & df[k].notna()).sum())}
        df[k + "_err"] = df[k] - df[k + "_ref"]
    summary["heart_rate_bpm"] = {"median_abs": float((df.hr - df.hr_ref).abs().median()),
                                 "max_abs": float((df.hr - df.hr_ref).abs().max())}
    df["score"] = sum((df[k + "_err"].abs() / g).fillna(0) for k, g in
                      (("pr_interval_ms", 8), ("qrs_duration_ms", 6), ("qt_interval_ms", 10)))
    return summary, df.sort_values("score", ascending=False).head(10)


def label_checks() -> dict:
    """Part 2b/c: heart rate, PR, QRS and axis against the rhythm, conduction and axis labels."""
    rows = []
    for hea in sorted(ECG.glob("cinc2021*/*.hea")):
        dx = next((ln.split(":", 1)[1].strip() for ln in hea.read_text().splitlines()
                   if ln.replace(" ", "").lower().startswith("#dx")), "").split(",")
        codes = {"SBRAD": "426177001", "STACH": "427084000", "SR": "426783006", "AFIB": "164889003",
                 "AFLT": "164890007", "PACE": "10370003", "CRBBB": "713427006", "CLBBB": "733534002"}
        lab = {k for k, v in codes.items() if v in dx} | ({"CRBBB"} if "59118001" in dx else set()) \
            | ({"CLBBB"} if "164909002" in dx else set())
        rows.append({"source": "cinc", "record": hea.stem, "labels": lab, "axis": None, **_measure(hea)})
    db = pd.read_csv(ECG / "ptbxl" / "ptbxl_database.csv")
    for r in db.itertuples():
        rows.append({"source": "ptbxl", "record": str(r.ecg_id), "labels": set(ast.literal_eval(r.scp_codes)),
                     "axis": r.heart_axis if isinstance(r.heart_axis, str) else None,
                     **_measure(ECG / "ptbxl" / f"{r.filename_hr}.hea")})
    df = pd.DataFrame(rows)
    has = lambda code: df["labels"].map(lambda s: code in s)   # noqa: E731
    hr, pr, qrs = df.heart_rate_bpm, df.pr_interval_ms, df.qrs_duration_ms
    checks = {"sinus bradycardia: HR < 62": (has("SBRAD"), hr < 62),
              "sinus tachycardia: HR > 98": (has("STACH"), hr > 98),
              "sinus rhythm (PTB-XL SR, CinC 426783006): HR 45-105": (has("SR"), hr.between(45, 105)),
              "AF / flutter: no PR": (has("AFIB") | has("AFLT"), pr.isna()),
              "sinus rhythm, tachycardia or bradycardia, not paced: PR measured":
                  ((has("SR") | has("STACH") | has("SBRAD")) & ~has("PACE") & ~has("AFIB") & ~has("AFLT"), pr.notna()),
              "CRBBB / CLBBB: QRS >= 110 ms": (has("CRBBB") | has("CLBBB"), qrs >= 110),
              "every record: QT > QRS": (pd.Series(True, index=df.index), df.qt_interval_ms > qrs)}
    lim = {"MID": (-30, 90), "LAD": (-90, -30), "ALAD": (-90, -30), "RAD": (90, 180), "ARAD": (90, 180)}
    ax = df["axis"].map(lambda a: a in lim)
    inside = df.apply(lambda r: r.axis in lim and lim[r.axis][0] - 15 <= r.qrs_axis_deg <= lim[r.axis][1] + 15, axis=1)
    checks["PTB-XL heart_axis: QRS axis in its range +-15 deg"] = (ax, inside)
    out = {}
    for name, (sel, ok) in checks.items():
        bad = df[sel & ~ok]
        out[name] = {"n": int(sel.sum()), "agree": int((sel & ok).sum()),
                     "disagree": [f"{r.source}:{r.record} ({','.join(sorted(r.labels))[:60]}; HR {r.heart_rate_bpm:.0f}, "
                                  f"PR {r.pr_interval_ms:.0f}, QRS {r.qrs_duration_ms:.0f}, axis {r.qrs_axis_deg:.0f})"
                                  for r in bad.itertuples()]}
    return out


def resampled(tmp: Path, n_edf: int = 40) -> dict:
    """Part 3: measurements and EDFs of LUDB records decimated to other sampling rates."""
    import wfdb
    from scipy.signal import resample_poly

    from edfgen.commands.extract import extract_edfs
    from ludb_delineation import load_ludb

    recs = load_ludb()
    meta = pd.read_csv(ECG / "ludb_dev" / "ludb.csv").set_index("ID")
    paced = np.array([isinstance(meta.loc[r["record"], "Cardiac pacing"], str)
                      and bool(meta.loc[r["record"], "Cardiac pacing"].strip()) for r in recs])
    ref = pd.DataFrame([r["reference"] for r in recs])[INTERVALS]
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    base = pd.DataFrame([measure_biomarkers(r["signal"], 500.0).iloc[0][MEASURES] for r in recs]).reset_index(drop=True)
    out: dict = {"measures": {}, "cardiologists": {}, "edf": {}, "paced_records": [r["record"] for r, p in zip(recs, paced) if p]}
    tables = {}
    for fs in (500, *RATES):
        f = Fraction(fs, 500)
        sig = [r["signal"] if fs == 500 else resample_poly(r["signal"], f.numerator, f.denominator, axis=1)
               for r in recs]
        got = base if fs == 500 else pd.DataFrame([measure_biomarkers(x, float(fs)).iloc[0][MEASURES]
                                                   for x in sig]).reset_index(drop=True)
        err = (got[INTERVALS] - ref).abs()
        out["cardiologists"][fs] = {
            group: {"median_abs": err[sel].median().round(1).to_dict(), "max_abs": err[sel].max().round(1).to_dict(),
                    "n": err[sel].notna().sum().astype(int).to_dict()}
            for group, sel in (("unpaced", ~paced), ("paced", paced))}
        if fs != 500:
            d = (got - base).abs()
            out["measures"][fs] = {group: {"median_abs": d[sel].median().round(2).to_dict(),
                                           "p90_abs": d[sel].quantile(0.9).round(1).to_dict(),
                                           "max_abs": d[sel].max().round(1).to_dict()}
                                   for group, sel in (("unpaced", ~paced), ("paced", paced))}
        folder = tmp / f"fs{fs}"
        folder.mkdir()
        for r, x in zip(recs[:n_edf], sig):
            wfdb.wrsamp(f"r{r['record']}", fs=fs, units=["mV"] * 12, sig_name=names, p_signal=x.T, fmt=["16"] * 12,
                        adc_gain=[1000] * 12, baseline=[0] * 12, write_dir=str(folder))
        res = extract_edfs([folder], tmp / f"edf{fs}.tsv")
        tables[fs] = pd.read_csv(res.table, sep="\t", dtype={"IID": str}).set_index("IID")
    edf500 = tables[500]
    for fs in RATES:
        both = edf500.index.intersection(tables[fs].index)    # a rate may reject a record: compared on the rest
        a, e = edf500.loc[both], tables[fs].loc[both]
        per_rec = [np.corrcoef(a.loc[i], e.loc[i])[0, 1] for i in both]
        per_edf = [np.corrcoef(a[c], e[c])[0, 1] for c in a.columns]
        out["edf"][fs] = {"records": len(both), "missing": sorted(set(edf500.index) - set(both)),
                          "per_record_r_median": round(float(np.median(per_rec)), 4), "per_record_r_min": round(float(np.min(per_rec)), 4),
                          "per_edf_r_median": round(float(np.median(per_edf)), 4), "per_edf_r_min": round(float(np.min(per_edf)), 4)}
    return out


def _ms(v) -> str:
    return "NaN" if v is None or v != v else f"{v:.0f}"


def render(res: dict) -> str:
    """The markdown report of a result dict (``--render`` rewrites it from the stored JSON)."""
    md = ["# Real ECGs: extract, measurements against labels, resampled inputs (`benchmarks/real_ecg_sources.py`)", "",
          "## 1. `edfgen extract` (default options) per source", "",
          "| source | records | rejected | s | records/s | records with a note (kind: n) |", "|---|---|---|---|---|---|"]
    for src, v in res["extract"].items():
        if "error" in v:
            md.append(f"| {src} | | all | {v['seconds']} | | stopped: {v['error'][:160]} |")
            continue
        md.append(f"| {src} | {v['records']} | {v['rejected']} | {v['seconds']} | {v['records_per_s']} | "
                  + ", ".join(f"{k}: {n}" for k, n in v["records_with_note"].items()) + " |")
    md += ["", "Rejects: " + ("; ".join(f"{s}/{k}: {r}" for s, v in res["extract"].items()
                                        for k, r in v.get("rejects", {}).items()) or "none"), ""]
    md += ["## 2a. LUDB 1-100 against the cardiologists", "", "| interval | n | median abs (ms) | bias | p90 abs | missing | extra |",
           "|---|---|---|---|---|---|---|"]
    for k, v in res["ludb"].items():
        if k != "heart_rate_bpm":
            md.append(f"| {k} | {v['n']} | {v['median_abs_ms']:.1f} | {v['bias_ms']:.1f} | {v['p90_abs_ms']:.1f} | "
                      f"{v['missing']} | {v['extra']} |")
    hr = res["ludb"]["heart_rate_bpm"]
    md += ["", f"Heart rate vs the annotated QRS peaks of lead II: median abs {hr['median_abs']:.2f} bpm, max {hr['max_abs']:.2f}.",
           "", "10 worst records (sum of |error| / goal: PR 8, QRS 6, QT 10 ms):", "",
           "| record | PR ref / got | QRS ref / got | QT ref / got | rhythm | conduction | pacing |", "|---|---|---|---|---|---|---|"]
    for w in res["ludb_worst"]:
        md.append(f"| {w['record']} | " + " | ".join(f"{_ms(w[k + '_ref'])} / {_ms(w[k])}" for k in
                                                    ("pr_interval_ms", "qrs_duration_ms", "qt_interval_ms"))
                  + f" | {w['Rhythms']} | "
                  f"{w['Conduction abnormalities']} | {w['Cardiac pacing']} |")
    md += ["", "## 2b/c. Measurements against the sources' labels (CinC 2021 SNOMED-CT, PTB-XL scp_codes / heart_axis)", "",
           "| check | records | agree | disagreeing records |", "|---|---|---|---|"]
    for k, v in res["labels"].items():
        md.append(f"| {k} | {v['n']} | {v['agree']} | {'; '.join(v['disagree'])} |")
    rs = res["resampled"]
    md += ["", "## 3. Resampled inputs (LUDB 1-100 from 500 Hz; EDFs: LUDB 1-40)", "",
           f"Paced records (ludb.csv): {', '.join(map(str, rs['paced_records']))}.", "",
           "Differences to the 500 Hz measurements (median / p90 / max abs):", "",
           "| Hz | records | " + " | ".join(MEASURES) + " | EDF r per record (median, min) | EDF r per dimension (median, min) |",
           "|---|---|" + "---|" * (len(MEASURES) + 2)]
    for fs in map(str, RATES):
        e = rs["edf"][fs]
        for group, m in rs["measures"][fs].items():
            md.append(f"| {fs} | {group} | " + " | ".join(f"{m['median_abs'][c]:.2f} / {m['p90_abs'][c]:.1f} / "
                                                      f"{m['max_abs'][c]:.1f}" for c in MEASURES)
                      + (f" | {e['per_record_r_median']:.4f}, {e['per_record_r_min']:.4f} | "
                         f"{e['per_edf_r_median']:.4f}, {e['per_edf_r_min']:.4f} |" if group == "unpaced" else " | | |"))
    md += ["", "Against the cardiologists (median / max abs error, ms; n records with both):", "",
           "| Hz | records | " + " | ".join(INTERVALS) + " |", "|---|---|" + "---|" * len(INTERVALS)]
    for fs, groups in rs["cardiologists"].items():
        for group, m in groups.items():
            md.append(f"| {fs} | {group} | " + " | ".join(f"{m['median_abs'][c]:.1f} / {m['max_abs'][c]:.1f} (n {m['n'][c]})"
                                                      for c in INTERVALS) + " |")
    return "\n".join(md) + "\n"


def main() -> None:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ext = extract_sources(Path(tmp))
        ludb, worst = ludb_truth()
        res = {"benchmark": "real_ecg_sources", "extract": ext, "ludb": ludb,
               "ludb_worst": json.loads(worst.to_json(orient="records")), "labels": label_checks()}
        (Path(tmp) / "r").mkdir()
        res["resampled"] = json.loads(json.dumps(resampled(Path(tmp) / "r")))
    res["seconds"] = round(time.perf_counter() - t0, 1)
    RESULTS.mkdir(exist_ok=True)
    with atomic_write(RESULTS / "real_ecg_sources.json") as fh:
        fh.write(json.dumps(res, indent=1, default=str))
    with atomic_write(RESULTS / "real_ecg_sources.md") as fh:
        fh.write(render(res))
    print(render(res))


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if "--render" in sys.argv:
        with atomic_write(RESULTS / "real_ecg_sources.md") as fh:
            fh.write(render(json.loads((RESULTS / "real_ecg_sources.json").read_text())))
    else:
        main()
