"""The P-wave gate (``edfgen.kernels.ecg.p_wave``) on the labelled real records of ``../shared/data/ecg``.

Records and labels: LUDB 1-100 (``ludb.csv`` rhythm: atrial fibrillation, atrial flutter, else sinus) and CinC
2021 (``cinc2021``, ``cinc2021_extra``; ``#Dx`` SNOMED 164889003 AF, 164890007 flutter, sinus = 426783006,
426177001, 427084000 or 427393009, else other). For each record: PR of the delineator without the gate
(``p_rr_irregular = 2``: never fires) and with the shipped settings, the RR irregularity and the P consistency.
The held-out LUDB PR error against the cardiologists is ``benchmarks/ludb_delineation.py``'s.

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/p_wave_gate.py``
-> ``benchmarks/results/p_wave_gate.md`` (about a minute on one core).
"""

from __future__ import annotations

import csv
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.formats.ecg.records import read_wfdb
from edfgen.kernels.ecg import biomarkers as B
from edfgen.kernels.ecg.leads import canonicalise_leads
from edfgen.kernels.ecg.p_wave import p_consistency, rr_irregularity

ROOT = Path(__file__).resolve().parents[1]
ECG = (ROOT / ".." / "shared" / "data" / "ecg").resolve()
AF, FLUTTER = "164889003", "164890007"
SINUS = {"426783006", "426177001", "427084000", "427393009"}
NO_GATE = dataclasses.replace(B.DEFAULT_SETTINGS, p_rr_irregular=2.0)


def labelled_records():
    """``(record, header path, label)`` with label AF, flutter, sinus or other."""
    for row in csv.DictReader(open(ECG / "ludb_dev" / "ludb.csv")):
        rh = row["Rhythms"].strip().lower()
        lab = "AF" if "fibrillation" in rh else "flutter" if "flutter" in rh else "sinus"
        yield f"LUDB {row['ID']}", ECG / "ludb_dev" / "data" / f"{row['ID']}.hea", lab
    for folder in ("cinc2021", "cinc2021_extra"):
        for h in sorted((ECG / folder).glob("*.hea")):
            dx = set()
            for line in h.read_text().splitlines():
                if line.replace(" ", "").startswith("#Dx:"):
                    dx = set(line.split(":", 1)[1].strip().split(","))
            yield h.stem, h, "AF" if AF in dx else "flutter" if FLUTTER in dx else "sinus" if dx & SINUS else "other"


def measure(path: Path) -> dict | None:
    rec = canonicalise_leads(read_wfdb(path))
    if not np.isfinite(rec.signal).all():
        return None
    mb = B.median_beat(rec.signal, rec.fs)
    if mb is None:
        return None
    gated, plain = B.delineate_beat(mb), B.delineate_beat(mb, NO_GATE)
    ms = 1000.0 / rec.fs
    return {"pr_before": (plain.qrs_onset - plain.p_onset) * ms, "pr_after": (gated.qrs_onset - gated.p_onset) * ms,
            "rr_irregularity": rr_irregularity(mb.r_peaks),
            "p_consistency": p_consistency(mb.beats, plain.p_window) if plain.p_window else np.nan}


def main() -> None:
    t0 = time.time()
    rows = [{"record": r, "label": lab, **m} for r, p, lab in labelled_records() if (m := measure(p)) is not None]
    df = pd.DataFrame(rows)
    md = ["# P-wave gate on labelled real records", "",
          f"`OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/p_wave_gate.py` "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.time() - t0:.0f} s). In-sample: the "
          "thresholds (45 % irregular RR steps, P consistency 0.7) were read off these records.", "",
          "| label | records | with a PR before the gate | with a PR after |", "|---|---|---|---|"]
    for lab in ("AF", "flutter", "sinus", "other"):
        d = df[df.label == lab]
        md.append(f"| {lab} | {len(d)} | {int(d.pr_before.notna().sum())} | {int(d.pr_after.notna().sum())} |")
    show = df[df.label.isin(["AF", "flutter"]) | (df.pr_before.notna() & df.pr_after.isna())]
    md += ["", "AF / flutter records, and every record that loses its PR:", "",
           "| record | label | PR before (ms) | PR after (ms) | RR irregularity | P consistency |", "|---|---|---|---|---|---|"]
    md += [f"| {r.record} | {r.label} | {r.pr_before:.1f} | {r.pr_after:.1f} | {r.rr_irregularity:.3f} | "
           f"{r.p_consistency:.3f} |" for r in show.itertuples()]
    out = ROOT / "benchmarks" / "results" / "p_wave_gate.md"
    out.write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
