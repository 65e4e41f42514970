"""Typical lead amplitudes that put z-scored ECGs (``ptbxl_extra``, units ``z``) back on a millivolt scale.

``../shared/data/ecg/ptbxl_extra`` holds PTB-XL records band-passed 0.5-40 Hz (Butterworth order 4, ``filtfilt``)
and z-scored per lead: each lead has SD 1 and its amplitude in mV is lost. For self-supervised pre-training
edfgen multiplies each lead by a fixed, typical SD in mV (:data:`edfgen.formats.ecg.units.Z_LEAD_SD_MV`) so that
these records enter the encoder at the amplitude of ordinary records. This script measures those constants on
the labelled PTB-XL records at 500 Hz (``../shared/data/ecg/ptbxl/records500``, mV): the same band-pass, then
per lead the median over records of the lead's SD (mV).

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/z_lead_scale.py``
-> ``benchmarks/results/z_lead_scale.{json,md}``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PTBXL500 = (ROOT / ".." / "shared" / "data" / "ecg" / "ptbxl" / "records500").resolve()


def lead_sd(folder: Path = PTBXL500) -> tuple[dict[str, float], int]:
    """Median over records of each lead's SD (mV) after a 0.5-40 Hz Butterworth band-pass (order 4, filtfilt)."""
    from scipy.signal import butter, sosfiltfilt

    from edfgen.formats.ecg.records import discover_records, read_records
    from edfgen.kernels.ecg import LEADS
    from edfgen.kernels.ecg.leads import canonicalise_leads

    sds = []
    for rec in read_records(discover_records([folder])):
        rec = canonicalise_leads(rec)
        sos = butter(4, [0.5, 40.0], btype="band", fs=rec.fs, output="sos")
        x = sosfiltfilt(sos, np.nan_to_num(rec.signal.astype(np.float64)), axis=-1)
        sds.append(x.std(axis=-1))
    med = np.median(np.array(sds), axis=0)
    return {lead: round(float(v), 3) for lead, v in zip(LEADS, med)}, len(sds)


def main() -> dict:
    t0 = time.time()
    sd, n = lead_sd()
    res = {"benchmark": "z_lead_scale", "records": n, "folder": "ptbxl/records500", "lead_sd_mv": sd,
           "seconds": round(time.time() - t0, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "z_lead_scale.json").write_text(json.dumps(res, indent=1) + "\n")
    md = ["# Typical lead SD (mV) after a 0.5-40 Hz band-pass: the scale of z-scored records in pre-training", "",
          f"`benchmarks/z_lead_scale.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}): median over "
          f"{n} PTB-XL records (500 Hz, mV) of each lead's SD. These are `edfgen.formats.ecg.units.Z_LEAD_SD_MV`.", "",
          "| " + " | ".join(sd) + " |", "|" + "---|" * len(sd), "| " + " | ".join(f"{v:.3f}" for v in sd.values()) + " |", ""]
    (RESULTS / "z_lead_scale.md").write_text("\n".join(md))
    print("\n".join(md))
    return res


if __name__ == "__main__":
    main()
