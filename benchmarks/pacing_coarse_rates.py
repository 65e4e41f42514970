"""Pacing below 375 Hz, where 4 ms is one sample: the stimulus test's false and missed trains, before and after.

At 250-360 Hz a stimulus that falls between two samples is split over both, and the leading-edge test
(``|x[t - 1] - base| <= 0.3 |dev|``) fails it: LUDB 74 decimated to 250 Hz one sample off its 500 Hz grid, or
to 257 Hz, was not found paced (QRS 208 ms, cardiologists 147). The tree before (``--before``, default the
merge base with main) and this tree's :mod:`edfgen.kernels.ecg.pacing`, each patched into
:mod:`edfgen.kernels.ecg.biomarkers` in turn:

1. **False trains**: ``detect_pacing`` at the record's own rate on every unpaced labelled real record sampled at
   500 Hz or more (PTB-XL ``records500`` without ``PACE``, CinC 2021 and extra without SNOMED 10370003, LUDB without
   pacing: the truth of ``benchmarks/paced_delineation.py``), decimated with ``resample_poly`` to 250, 257, 300 and
   360 Hz, from sample 0 and from sample 1.
2. **Paced LUDB records** (8, 34, 45, 72, 74, 90, 93, 95): ``measure_record``'s QRS duration and
   ``detect_pacing``'s decision and beat fraction at 500 Hz and decimated as above, beside the cardiologists' QRS.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. /work/main/.venv/bin/python benchmarks/pacing_coarse_rates.py``
-> ``benchmarks/results/pacing_coarse_rates.{json,md}`` (about 5 min on one core).
"""

from __future__ import annotations

import argparse
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from _measure import before_and_after, before_ref, run_record, write_results
from paced_delineation import DATA, LUDB, ludb_paced

RATES = ((250, 0), (250, 1), (257, 0), (257, 1), (300, 0), (300, 1), (360, 0), (360, 1))
PACED = (8, 34, 45, 72, 74, 90, 93, 95)


def _decimated(x: np.ndarray, fs0: float, fs: int, off: int) -> np.ndarray:
    f = Fraction(fs / fs0).limit_denominator(1000)
    return resample_poly(x[:, off:], f.numerator, f.denominator, axis=1)


def unpaced_records():
    """(data set, record, [12, T] signal, fs) of every unpaced labelled real record at 500 Hz or more."""
    import ast
    import csv

    from edfgen.formats.ecg.records import read_ecg
    from edfgen.kernels.ecg.leads import canonicalise_leads

    with open(DATA / "ptbxl" / "ptbxl_database.csv", newline="") as fh:
        ptb = {f"{int(r['ecg_id']):05d}_hr": "PACE" in ast.literal_eval(r["scp_codes"]) for r in csv.DictReader(fh)}

    def cinc(p):
        return any("10370003" in [c.strip() for c in ln.split(":", 1)[1].split(",")]
                   for ln in p.read_text().splitlines() if ln.lstrip("# ").lower().startswith("dx"))

    lt = ludb_paced()
    sets = {"ptbxl": (sorted((DATA / "ptbxl" / "records500").glob("*/*.hea")), lambda p: ptb.get(p.stem)),
            "cinc2021": (sorted((DATA / "cinc2021").glob("*.hea")), cinc),
            "cinc2021_extra": (sorted((DATA / "cinc2021_extra").glob("*.hea")), cinc),
            "ludb": (sorted((LUDB / "data").glob("*.hea"), key=lambda p: int(p.stem)), lambda p: lt[int(p.stem)])}
    for name, (paths, truth) in sets.items():
        for p in paths:
            if truth(p) is not False:
                continue
            try:
                rec = canonicalise_leads(read_ecg(p))
            except Exception:  # noqa: BLE001 - the census of paced_delineation.py names the unreadable ones
                continue
            if rec.fs >= 500:
                yield name, p.stem, np.nan_to_num(np.asarray(rec.signal, dtype=float)), float(rec.fs)


def ludb_paced_records():
    """(record, [12, T] at 500 Hz, cardiologists' QRS ms) of LUDB's paced records."""
    import wfdb

    from edfgen.kernels.ecg import LEADS
    from edfgen.kernels.ecg.delineation_score import global_reference, reference_intervals, wave_table

    for rid in PACED:
        base = str(LUDB / "data" / str(rid))
        rec = wfdb.rdrecord(base)
        names = [n.lower() for n in rec.sig_name]
        sig = np.asarray(rec.p_signal.T[[names.index(n.lower()) for n in LEADS]], dtype=float)
        tables = [wave_table(*(lambda a: (a.sample, a.symbol))(wfdb.rdann(base, n.lower()))) for n in LEADS]
        yield rid, sig, reference_intervals(global_reference(tables, rec.fs), rec.fs)["qrs_duration_ms"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="commit of the 'before' tree (default: merge base with main)")
    a = ap.parse_args(argv)
    ref = before_ref(a.before)
    from edfgen.kernels.ecg import biomarkers
    from edfgen.kernels.ecg.biomarkers import _INDEPENDENT, detect_r_peaks, measure_record

    mods = before_and_after(ref, "edfgen/kernels/ecg/pacing.py", "pacing_coarse_")
    res = {"run": run_record("pacing_coarse_rates.py", ref), "false": {}, "paced": {}}
    for tree, mod in mods.items():
        biomarkers.detect_pacing = mod.detect_pacing
        n, flagged, top = {}, {}, {}
        for name, stem, x, fs0 in unpaced_records():
            for fs, off in RATES:
                key = f"{fs} Hz offset {off}"
                y = _decimated(x, fs0, fs, off)[_INDEPENDENT]
                pc = mod.detect_pacing(y, float(fs), detect_r_peaks(y, float(fs)))
                n[key] = n.get(key, 0) + 1
                if pc.paced:
                    flagged.setdefault(key, []).append(f"{name} {stem}")
                elif pc.beat_fraction > top.get(key, (0.0, ""))[0]:
                    top[key] = (round(pc.beat_fraction, 3), f"{name} {stem}")
        res["false"][tree] = {"records": n, "flagged": flagged, "largest_fraction_not_flagged": top}
        rows = {}
        for rid, sig, ref_qrs in ludb_paced_records():
            row = {"cardiologists_qrs_ms": round(float(ref_qrs), 1)}
            for fs, off in ((500, 0),) + RATES:
                y = sig if fs == 500 else _decimated(sig, 500.0, fs, off)
                ind = y[_INDEPENDENT]
                pc = mod.detect_pacing(ind, float(fs), detect_r_peaks(ind, float(fs)))
                row[f"{fs} Hz offset {off}"] = {"qrs_ms": round(float(measure_record(y, float(fs))["qrs_duration_ms"]), 1),
                                                "paced": pc.paced, "beat_fraction": round(pc.beat_fraction, 2)}
            rows[str(rid)] = row
        res["paced"][tree] = rows

    keys = [f"{fs} Hz offset {off}" for fs, off in RATES]
    md = ["# Pacing below 375 Hz: split stimuli (`benchmarks/pacing_coarse_rates.py`)", "",
          f"Before: `{ref[:10]}`; after: `{res['run']['commit']}`; {res['run']['date']}.", "",
          "## False trains on unpaced real records (flagged / records)", "",
          "| rate | " + " | ".join(mods) + " | largest beat fraction not flagged (after) |", "|---|---|---|---|"]
    for k in keys:
        cells = [f"{len(res['false'][t]['flagged'].get(k, []))} / {res['false'][t]['records'].get(k, 0)}"
                 + (f" ({', '.join(res['false'][t]['flagged'][k])})" if res['false'][t]['flagged'].get(k) else "")
                 for t in mods]
        md.append(f"| {k} | " + " | ".join(cells) + f" | {res['false']['after']['largest_fraction_not_flagged'].get(k)} |")
    md += ["", "## Paced LUDB records: QRS ms (P = flagged paced at the record's own rate), before -> after", "",
           "| record | cardiologists | 500 Hz | " + " | ".join(keys) + " |", "|---" * (len(keys) + 3) + "|"]
    for rid, row in res["paced"]["after"].items():
        old = res["paced"]["before"][rid]

        def cell(k):
            return (f"{old[k]['qrs_ms']:.0f}{'P' if old[k]['paced'] else ''} -> "
                    f"{row[k]['qrs_ms']:.0f}{'P' if row[k]['paced'] else ''}")
        md.append(f"| {rid} | {row['cardiologists_qrs_ms']:.0f} | " + " | ".join(cell(k) for k in ["500 Hz offset 0"] + keys) + " |")
    write_results("pacing_coarse_rates", res, md)


if __name__ == "__main__":
    main()
