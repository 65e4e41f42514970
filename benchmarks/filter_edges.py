"""Band-pass edge effects on real 10 s ECGs, and what a better edge padding would do to the shipped encoder.

Every 10 s record (PTB-XL, LUDB, most CinC) is filtered whole, so the zero-phase band-pass
(``edfgen.kernels.ecg.preprocess.bandpass_notch``: ``sosfiltfilt`` with scipy's default odd extension of
3 x (2 x sections + 1) samples, 66 ms at 500 Hz) leaves edge transients inside the window the encoder sees
(the first and last 0.5-1 s of the two 5 s crops), and a record shorter than the window carries one before its
zero padding.

1. **Edge error**: on the 500 Hz PTB-XL records, the middle 6 s of each record filtered alone against the same
   6 s cut from the whole record filtered (2 s of real signal each side: edge transients of a 0.5 Hz high-pass
   have decayed there), for odd/even/constant extensions of 66 ms, 0.5, 1 and 2 s. Reported: per record the
   largest absolute difference over leads and samples (median and 95th percentile over records), and the median
   of that largest difference 1 s away from the edges.
2. **The shipped encoder with the best padding** (even, 2 s: ``Preprocessing.filter_padding="even"``, the default
   of new checkpoints), without retraining: LUDB EDF ridge R² (``ludb_edf_r2.py``'s 5 folds) and the PTB-XL probe
   (``probe_baselines.py``, encoder and random weights), with the checkpoint's ``filter_padding`` overridden.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. nice -n 10 .venv/bin/python benchmarks/filter_edges.py [--records 150]
[--no-encoder]`` -> ``benchmarks/results/filter_edges.{json,md}`` (with ``ludb_edf_r2`` / ``probe_baselines``
results under ``filter_edges_{ludb,ptbxl}_{odd,even2s}``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.signal as sps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, write_results  # noqa: E402

from edfgen.kernels.ecg.preprocess import bandpass_notch  # noqa: E402  (the library's, kept before any patch)

PTBXL500 = (ROOT / ".." / "shared" / "data" / "ecg" / "ptbxl" / "records500").resolve()
VARIANTS = {"odd, 66 ms (shipped)": ("odd", None), "odd, 1 s": ("odd", 1.0), "odd, 2 s": ("odd", 2.0),
            "constant, 1 s": ("constant", 1.0), "even, 0.5 s": ("even", 0.5), "even, 1 s": ("even", 1.0),
            "even, 2 s": ("even", 2.0)}


def filtered(x: np.ndarray, sos: np.ndarray, fs: float, padtype: str, pad_s: float | None) -> np.ndarray:
    """``sosfiltfilt`` of ``x [L, T]`` with ``padtype`` extension of ``pad_s`` seconds (None: bandpass_notch's)."""
    padlen = 3 * (2 * len(sos) + 1) if pad_s is None else int(pad_s * fs)
    return sps.sosfiltfilt(sos, x, axis=-1, padtype=padtype, padlen=min(padlen, x.shape[-1] - 1))


def even_bandpass(x, *, prep, fs=None):
    """``bandpass_notch`` with ``filter_padding="even"`` whatever the checkpoint says (the shipped ones: odd)."""
    from dataclasses import replace

    return bandpass_notch(x, prep=replace(prep, filter_padding="even"), fs=fs)


def edge_errors(n_records: int) -> dict:
    from edfgen.formats.ecg.records import read_ecg
    from edfgen.kernels.ecg.preprocess import filter_sos
    from edfgen.model.checkpoint import load_checkpoint

    prep = load_checkpoint("small").preprocessing
    errs: dict[str, list] = {k: [] for k in VARIANTS}
    for f in sorted(PTBXL500.rglob("*.hea"))[:n_records]:
        rec = read_ecg(f)
        x, fs = np.asarray(rec.signal, dtype=np.float64), float(rec.fs)
        sos = filter_sos(fs, prep.highpass_hz, prep.lowpass_hz, tuple(prep.notch_hz))
        s, w, one = int(2 * fs), int(6 * fs), int(fs)
        ref = sps.sosfiltfilt(sos, x, axis=-1)[:, s:s + w]
        for k, (padtype, pad_s) in VARIANTS.items():
            e = np.abs(filtered(x[:, s:s + w], sos, fs, padtype, pad_s) - ref)
            errs[k].append((e.max(), e[:, one:-one].max()))
    out = {}
    for k, v in errs.items():
        v = np.array(v)
        out[k] = {"median_max_mv": round(float(np.median(v[:, 0])), 4),
                  "p95_max_mv": round(float(np.percentile(v[:, 0], 95)), 4),
                  "median_max_1s_in_mv": round(float(np.median(v[:, 1])), 4)}
    out["records"] = int(len(errs[next(iter(VARIANTS))]))
    return out


def encoder_runs() -> dict:
    """The two downstream benchmarks with the shipped and with the even 2 s padding (each in its own process)."""
    code = ("import sys; sys.path.insert(0, 'benchmarks'); import filter_edges as fe, numpy as np\n"
            "mode, which = sys.argv[1], sys.argv[2]\n"
            "if mode == 'even2s':\n"
            "    import edfgen.kernels.ecg.preprocess as P, edfgen.model.data as D\n"
            "    P.bandpass_notch = D.bandpass_notch = fe.even_bandpass\n"
            "if which == 'ludb':\n"
            "    import ludb_edf_r2; ludb_edf_r2.main(['--out-name', f'filter_edges_ludb_{mode}'])\n"
            "else:\n"
            "    import probe_baselines; probe_baselines.main(['--baseline', 'random', "
            "'--out-name', f'filter_edges_ptbxl_{mode}'])\n")
    import json

    res = {}
    for mode in ("odd", "even2s"):
        for which in ("ludb", "ptbxl"):
            subprocess.run([sys.executable, "-c", code, mode, which], cwd=ROOT, check=True, capture_output=True)
            res[f"{which}_{mode}"] = json.loads((ROOT / "benchmarks" / "results" /
                                                 f"filter_edges_{which}_{mode}.json").read_text())
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=150, help="PTB-XL 500 Hz records for the edge error")
    ap.add_argument("--no-encoder", action="store_true", help="edge error only")
    a = ap.parse_args(argv)
    t0 = time.time()
    res = {"benchmark": "filter_edges", "edge_error": edge_errors(a.records)}
    md = ["# Band-pass edge effects on real 10 s ECGs", "",
          f"`OMP_NUM_THREADS=1 PYTHONPATH=. nice -n 10 python benchmarks/filter_edges.py "
          f"{' '.join(argv if argv is not None else sys.argv[1:])}` "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); method: the script's docstring.", "",
          f"Edge error: the middle 6 s of {res['edge_error']['records']} PTB-XL 500 Hz records filtered alone vs "
          "cut from the whole record filtered (mV; per record the largest |difference| over leads and samples).", "",
          "| extension | median | 95th percentile | median, ≥ 1 s from the edges |", "|---|---|---|---|"]
    md += [f"| {k} | {v['median_max_mv']:.3f} | {v['p95_max_mv']:.3f} | {v['median_max_1s_in_mv']:.4f} |"
           for k, v in res["edge_error"].items() if k != "records"]
    if not a.no_encoder:
        runs = encoder_runs()
        res["encoder"] = {k: v["r2"] if k.startswith("ludb") else v["macro"] for k, v in runs.items()}
        md += ["", "The shipped encoder (trained on the shipped padding) with the even 2 s padding, not retrained:", "",
               "| padding | LUDB R² PR / QRS / QT, encoder | LUDB R² QT, random weights | PTB-XL macro AUROC, encoder "
               "| random weights | encoder − random (paired 95% CI) |", "|---|---|---|---|---|---|"]
        for mode in ("odd", "even2s"):
            r2 = runs[f"ludb_{mode}"]["r2"]
            enc, rnd = r2["encoder:small"], r2["random:small"]
            m = runs[f"ptbxl_{mode}"]["macro"]
            e, r = m["encoder"], m["random"]
            md.append(f"| {mode} | {enc['pr_interval_ms']:.3f} / {enc['qrs_duration_ms']:.3f} / "
                      f"{enc['qt_interval_ms']:.3f} | {rnd['qt_interval_ms']:.3f} | {e['auroc']:.4f} | "
                      f"{r['auroc']:.4f} | {r['encoder_minus_auroc']:+.4f} ({r['encoder_minus_auroc_lower']:+.4f} to "
                      f"{r['encoder_minus_auroc_upper']:+.4f}) |")
    res["seconds"] = round(time.time() - t0, 1)
    write_results("filter_edges", res, md)
    return res


if __name__ == "__main__":
    main()
