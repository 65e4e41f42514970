"""A U wave after the T wave on real sinus records: is it timed as the P wave (PR), or as part of the T (QT)?

Each LUDB 1-100 record in sinus rhythm (``ludb.csv`` 'Rhythms' naming sinus: 89 records, 50-115/min) gets a U wave
after every beat's T wave: a Gaussian of SD 40 ms whose peak lies 90 ms after the T end (``delineate``'s T end on
the record itself, placed on every R peak), largest in V2-V3 (lead weights I 0.2, II 0.27, III 0.07, aVR -0.23,
aVL 0.06, aVF 0.17, V1 0.33, V2 1, V3 1, V4 0.67, V5 0.4, V6 0.27 times the amplitude), as in hypokalaemia. The
record is measured (``measure_record``) with and without the U wave, with the P search of the settings before
and T search (``p_last_wave_rel=None, t_first_wave_rel=None``, the largest deflection of each window) and after
(``DEFAULT_SETTINGS``: the P peak sought after the baseline before the P window's last wave, the T peak before the
nadir between the T wave and a later wave). Counted: records whose PR (or QT) with the U wave is more
than 20 ms from the same record's without it, or is NaN on one side only; and the PR / QT median |error| against the
cardiologists on the records without a U wave.

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/ecg_u_wave.py``
-> ``benchmarks/results/ecg_u_wave_s41.{json,md}`` (about 2 minutes on one core).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from edfgen.formats.atomic import atomic_write
from edfgen.kernels.ecg.biomarkers import DEFAULT_SETTINGS, DelineationSettings, delineate, measure_record

from ludb_delineation import LUDB, RESULTS, load_ludb

U_WEIGHTS = np.array([0.2, 0.27, 0.07, -0.23, 0.06, 0.17, 0.33, 1, 1, 0.67, 0.4, 0.27])
AMPLITUDES_MV = (0.1, 0.2)
SETTINGS = {"before (largest deflection)": DelineationSettings(p_last_wave_rel=None, t_first_wave_rel=None),
            "after": DEFAULT_SETTINGS}


def with_u_wave(sig: np.ndarray, fs: float, u_mv: float, after_s: float = 0.09, sd_s: float = 0.04) -> np.ndarray:
    """``sig`` [12, T] with a U wave peaking ``after_s`` after each beat's T end."""
    d = delineate(sig, fs, SETTINGS["before (largest deflection)"])
    t = np.arange(sig.shape[1]) / fs
    centres = (d.r_peaks + d.t_end - d.r_index) / fs + after_s
    bumps = np.exp(-0.5 * ((t[None, :] - centres[:, None]) / sd_s) ** 2).sum(0)
    return sig + u_mv * U_WEIGHTS[:, None] * bumps[None, :]


def main() -> None:
    t0 = time.time()
    meta = pd.read_csv(LUDB / "ludb.csv").set_index("ID")
    recs = [r for r in load_ludb() if "sinus" in str(meta.loc[r["record"], "Rhythms"]).lower()]
    res: dict = {"records": len(recs), "rows": {}}
    for u_mv in AMPLITUDES_MV:
        with_u = {r["record"]: with_u_wave(r["signal"], r["fs"], u_mv) for r in recs}
        for name, st in SETTINGS.items():
            rows = []
            for r in recs:
                clean, u = measure_record(r["signal"], r["fs"], st), measure_record(with_u[r["record"]], r["fs"], st)
                rows.append({"record": r["record"], "hr": clean["heart_rate_bpm"],
                             **{f"{k}_{w}": m[f"{k}_interval_ms"] for k in ("pr", "qt") for w, m in
                                (("clean", clean), ("u", u))},
                             "pr_ref": r["reference"]["pr_interval_ms"], "qt_ref": r["reference"]["qt_interval_ms"]})
            df = pd.DataFrame(rows)
            out = {}
            for k in ("pr", "qt"):
                off = ((df[f"{k}_u"] - df[f"{k}_clean"]).abs() > 20) | (df[f"{k}_u"].isna() != df[f"{k}_clean"].isna())
                band = df.hr.between(70, 95)
                out[k] = {"off": int(off.sum()), "off_70_95": int((off & band).sum()), "n_70_95": int(band.sum()),
                          "records_off": [int(x) for x in df.record[off]],
                          "clean_median_abs_ms": float((df[f"{k}_clean"] - df[f"{k}_ref"]).abs().median())}
            res["rows"][f"{u_mv:g} mV / {name}"] = out
    res["seconds"] = round(time.time() - t0)
    md = ["# A U wave after the T wave on real sinus records (`benchmarks/ecg_u_wave.py`)", "",
          f"{res['records']} LUDB sinus records, a U wave added 90 ms after each T end (SD 40 ms, largest in V2-V3); "
          f"off = PR (QT) with the U wave > 20 ms from the record's own without it, or NaN on one side only "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {res['seconds']} s).", "",
          "| U amplitude / P search | PR off | of them at 70-95/min | PR median abs vs cardiologists, no U (ms) "
          "| QT off | QT median abs, no U (ms) | records with PR off | records with QT off |",
          "|---|---|---|---|---|---|---|---|"]
    for name, o in res["rows"].items():
        md.append(f"| {name} | {o['pr']['off']} | {o['pr']['off_70_95']} / {o['pr']['n_70_95']} | "
                  f"{o['pr']['clean_median_abs_ms']:.1f} | {o['qt']['off']} | {o['qt']['clean_median_abs_ms']:.1f} | "
                  f"{', '.join(map(str, o['pr']['records_off']))} | {', '.join(map(str, o['qt']['records_off']))} |")
    with atomic_write(RESULTS / "ecg_u_wave_s41.json") as fh:     # a run stopped midway leaves the old results
        fh.write(json.dumps(res, indent=1))
    with atomic_write(RESULTS / "ecg_u_wave_s41.md") as fh:
        fh.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
