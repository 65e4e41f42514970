"""Invariance of ``measure_record``'s PR, QRS and QT to the sampling rate, the gain, baseline and noise (stop 42).

The same real LUDB record (``../shared/data/ecg/ludb_dev``, 500 Hz; the 50 odd-numbered records 1-99, of which
45, 93, 95 are paced, and the paced records 8, 34, 72, 74, 90: 47 unpaced, 8 paced) is measured as recorded and after each of:

- **rates**: ``scipy.signal.resample_poly`` to 250, 257, 360 and 1000 Hz;
- **gain**: x 0.5 and x 2 (another recorder's gain);
- **offset**: + 0.3 mV on every lead; **wander**: 0.5 mV at 0.2 Hz (a different phase per lead);
- **EMG**: white noise of 20 uV RMS (seed 42); **mains**: 50 Hz and 60 Hz hum of 50 uV amplitude.

Per condition and interval: the median, 90th percentile and maximum |difference| from the 500 Hz record, and the
records that gain or lose the interval (finite on one side only); for the rates also the spread (max - min over the
five rates) per record. The paced records are reported apart for the rates.

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/ecg_invariance.py OUT.json``
(~3 minutes on one core); ``--compare BEFORE.json AFTER.json`` prints the two side by side (markdown).
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy import signal as sps

from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.biomarkers import measure_record

ROOT = Path(__file__).resolve().parents[1]
LUDB = (ROOT / ".." / "shared" / "data" / "ecg" / "ludb_dev" / "data").resolve()
RECORDS = sorted(set(range(1, 100, 2)) | {8, 34, 72, 74, 90})
PACED = (8, 34, 45, 72, 74, 90, 93, 95)   # ludb.csv "Cardiac pacing"
RATES = (250, 257, 360, 1000)
INTERVALS = ("pr_interval_ms", "qrs_duration_ms", "qt_interval_ms")


def load(rid: int) -> np.ndarray:
    """LUDB record ``rid`` as ``[12, T]`` mV in :data:`edfgen.kernels.ecg.LEADS` order."""
    import wfdb

    rec = wfdb.rdrecord(str(LUDB / str(rid)))
    names = [n.lower() for n in rec.sig_name]
    return np.asarray(rec.p_signal.T[[names.index(n.lower()) for n in LEADS]], dtype=float)


def conditions(x: np.ndarray, fs: float = 500.0) -> dict[str, tuple[np.ndarray, float]]:
    """Every perturbed copy of ``x``: name -> (signal, rate)."""
    t = np.arange(x.shape[1]) / fs
    rng = np.random.default_rng(42)
    phase = np.linspace(0, 2 * np.pi, 12, endpoint=False)[:, None]
    out = {"500": (x, fs)}
    for r in RATES:
        q = Fraction(r, int(fs))
        out[str(r)] = (sps.resample_poly(x, q.numerator, q.denominator, axis=-1), float(r))
    out["gain_x0.5"] = (0.5 * x, fs)
    out["gain_x2"] = (2.0 * x, fs)
    out["offset_0.3mV"] = (x + 0.3, fs)
    out["wander_0.2Hz_0.5mV"] = (x + 0.5 * np.sin(2 * np.pi * 0.2 * t[None, :] + phase), fs)
    out["emg_20uV"] = (x + rng.normal(0.0, 0.02, x.shape), fs)
    out["mains_50Hz"] = (x + 0.05 * np.sin(2 * np.pi * 50 * t[None, :] + phase), fs)
    out["mains_60Hz"] = (x + 0.05 * np.sin(2 * np.pi * 60 * t[None, :] + phase), fs)
    return out


def run(path: str) -> None:
    res = {}
    for rid in RECORDS:
        x = load(rid)
        res[rid] = {name: {k: float(v) for k, v in measure_record(sig, r).items() if k in INTERVALS}
                    for name, (sig, r) in conditions(x).items()}
        print(rid, {k: round(v["qt_interval_ms"], 1) for k, v in res[rid].items()}, flush=True)
    Path(path).write_text(json.dumps(res, indent=1))


def summary(res: dict) -> dict:
    """Per condition and interval: (median, p90, max |diff| to 500 Hz, n changed > 10 ms, n gained/lost, worst)."""
    out = {}
    names = list(next(iter(res.values())))
    for group, recs in (("unpaced", [r for r in res if int(r) not in PACED]), ("paced", [r for r in res if int(r) in PACED])):
        for name in names[1:] + ["rate_spread"]:
            for c in INTERVALS:
                if name == "rate_spread":
                    v = np.array([[res[r][k][c] for k in ["500", *map(str, RATES)]] for r in recs])
                    fin = np.isfinite(v).all(1)
                    d = (v[fin].max(1) - v[fin].min(1))
                    flip = int((np.isfinite(v).any(1) & ~fin).sum())
                    rid = [r for r, f in zip(recs, fin) if f]
                else:
                    a = np.array([res[r]["500"][c] for r in recs])
                    b = np.array([res[r][name][c] for r in recs])
                    fin = np.isfinite(a) & np.isfinite(b)
                    d = np.abs(b - a)[fin]
                    flip = int((np.isfinite(a) != np.isfinite(b)).sum())
                    rid = [r for r, f in zip(recs, fin) if f]
                worst = sorted(zip(d, rid), reverse=True)[:3]
                out[(group, name, c)] = (float(np.median(d)) if len(d) else np.nan,
                                         float(np.quantile(d, 0.9)) if len(d) else np.nan,
                                         float(d.max()) if len(d) else np.nan, int((d > 10).sum()), flip,
                                         ", ".join(f"{r} ({v:.0f})" for v, r in worst))
    return out


def compare(before: str, after: str) -> None:
    sb, sa = summary(json.loads(Path(before).read_text())), summary(json.loads(Path(after).read_text()))
    print("| records | condition | interval | median abs diff (ms) | 90th pct | max | > 10 ms | gained/lost | worst after (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in sb:
        b, a = sb[key], sa[key]
        if key[0] == "paced" and key[1] not in (*map(str, RATES), "rate_spread"):
            continue
        print(f"| {key[0]} | {key[1]} | {key[2].split('_')[0].upper()} | {b[0]:.1f} → {a[0]:.1f} | {b[1]:.1f} → {a[1]:.1f} | "
              f"{b[2]:.1f} → {a[2]:.1f} | {b[3]} → {a[3]} | {b[4]} → {a[4]} | {a[5]} |")


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[1])
