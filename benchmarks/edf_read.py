"""EDF/BDF reader on every real ECG of ``../shared/data/ecg`` (PTB-XL at 500 and 100 Hz, CinC 2021, LUDB): each record
written as 16-bit EDF+C and as 24-bit BDF by the spec writer of ``tests/fuzz_ecg_cases.py`` (per-lead physical range
= the lead's own minimum..maximum, as recorders export), read back with :func:`edfgen.formats.ecg.edf.read_edf` and
compared with the physical signal ``wfdb.rdrecord`` reads from WFDB (the largest error in quantisation steps must
be <= 0.5). CPU time per record of ``read_edf`` against edfgen's WFDB reader on the same records, interleaved.

With ``--edfio DIR`` (a folder holding the ``edfio`` package, a pure-Python EDF/BDF library that is not an edfgen
dependency: ``pip install --no-deps --target DIR edfio``) each record is also written by edfio (EDF+C with an
annotation, and BDF), read by ``read_edf`` and by edfio, and both compared: a second writer and a second reader,
written by others.

Records ``wfdb.rdrecord`` cannot read (the 2020-style Georgia headers of ``cinc2021_extra``) or whose units are not
a voltage (``ptbxl_extra``, units ``z``) are not in the comparison: there is no independent reference for them.

Run: ``OMP_NUM_THREADS=1 nice -n 10 python benchmarks/edf_read.py`` -> ``benchmarks/results/edf_read_s24.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
DATA = REPO.parent / "shared" / "data" / "ecg" if (REPO.parent / "shared").exists() else Path("/work/shared/data/ecg")
SETS = ("ptbxl", "cinc2021", "cinc2021_extra", "ludb_dev")


def _channels(sig: np.ndarray, names, bits: int):
    from fuzz_ecg_cases import edf_channel

    d = 2 ** (bits - 1)
    out, steps = [], []
    for n, row in zip(names, sig):
        lo, hi = float(row.min()), float(row.max())
        if hi - lo < 1e-3:
            lo, hi = lo - 1.0, hi + 1.0
        lo, hi = np.floor(lo * 1e3 - 1) / 1e3, np.ceil(hi * 1e3 + 1) / 1e3   # in uV: what 8 header characters hold
        out.append(edf_channel(n, "mV", row, lo, hi, -d, d - 1, 0))
        steps.append((hi - lo) / (2 * d - 1))
    return out, np.array(steps)


def _edfio_check(edfio, sig, ref, tmp: Path, s: dict, read_edf) -> None:
    """Write the record with edfio (EDF+C + an annotation; BDF), read it with read_edf and with edfio: the largest
    error against wfdb in the file's own quantisation steps, and the largest read_edf - edfio difference in mV."""
    e = s.setdefault("edfio", {"max_error_steps": {"edf": 0.0, "bdf": 0.0}, "max_diff_vs_edfio_mv": {"edf": 0.0,
                                                                                                    "bdf": 0.0}})
    fs = float(ref.fs)
    for kind in ("edf", "bdf"):
        path = tmp / f"edfio.{kind}"
        if kind == "edf":
            sigs = [edfio.EdfSignal(row, fs, label=f"ECG {n}", physical_dimension="mV") for n, row in
                    zip(ref.sig_name, sig)]
            edfio.Edf(sigs, annotations=[edfio.EdfAnnotation(0.0, None, "recording start")]).write(path)
            back = edfio.read_edf(path)
        else:
            sigs = [edfio.BdfSignal(row, fs, label=f"ECG {n}", physical_dimension="mV") for n, row in
                    zip(ref.sig_name, sig)]
            edfio.Bdf(sigs).write(path)
            back = edfio.read_bdf(path)
        rec = read_edf(path)
        theirs = np.array([x.data for x in back.signals if x.label.lower() not in ("edf annotations", "bdf annotations")])
        steps = np.array([(x.physical_range[1] - x.physical_range[0]) / (x.digital_range[1] - x.digital_range[0])
                          for x in back.signals if x.label.lower() not in ("edf annotations", "bdf annotations")])
        ulp = np.spacing(np.abs(rec.signal)).astype(np.float64)
        err = ((np.abs(rec.signal.astype(np.float64) - sig) - ulp).max(axis=1)) / steps
        e["max_error_steps"][kind] = max(e["max_error_steps"][kind], float(err.max()))
        e["max_diff_vs_edfio_mv"][kind] = max(e["max_diff_vs_edfio_mv"][kind],
                                              float(np.abs(rec.signal.astype(np.float64) - theirs).max()))
        path.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="records per data set (0: all)")
    ap.add_argument("--edfio", type=Path, default=None, help="folder holding the edfio package (optional check)")
    args = ap.parse_args()
    edfio = None
    if args.edfio:
        sys.path.insert(0, str(args.edfio))
        import edfio
    import wfdb

    from edfgen.formats.ecg.edf import read_edf
    from edfgen.formats.ecg.wfdb_reader import read_wfdb
    from fuzz_ecg_cases import write_edf

    tmp = Path(tempfile.mkdtemp(prefix="edfgen-edf-read-"))
    res: dict = {"benchmark": "edf_read", "load_average_start": os.getloadavg()[0], "sets": {}}
    cpu = {"edf": [], "bdf": [], "wfdb": []}
    t0 = time.perf_counter()
    try:
        for name in SETS:
            heas = sorted((DATA / name).rglob("*.hea"))
            heas = heas[:args.limit] if args.limit else heas
            s = {"records": len(heas), "compared": 0, "no_reference": 0, "not_volts": 0, "nan": 0,
                 "max_error_steps": {"edf": 0.0, "bdf": 0.0}, "over_half_step": {"edf": 0, "bdf": 0}, "rates": {}}
            for hea in heas:
                base = hea.with_suffix("")
                try:
                    ref = wfdb.rdrecord(str(base))
                except Exception:  # noqa: BLE001 - no independent reference for this record
                    s["no_reference"] += 1
                    continue
                if any(str(u).strip().lower() not in ("mv", "uv") for u in ref.units):
                    s["not_volts"] += 1
                    continue
                sig = ref.p_signal.T.astype(np.float64) * np.array(
                    [1e-3 if str(u).strip().lower() == "uv" else 1.0 for u in ref.units])[:, None]
                if not np.isfinite(sig).all():
                    s["nan"] += 1
                    continue
                fs = float(ref.fs)
                s["rates"][f"{fs:g}"] = s["rates"].get(f"{fs:g}", 0) + 1
                spr = int(fs)   # 1-s data records
                n = sig.shape[1] // spr * spr
                for kind, bits in (("edf", 16), ("bdf", 24)):
                    chans, steps = _channels(sig[:, :n], ref.sig_name, bits)
                    for c in chans:
                        c["spr"] = spr
                    path = write_edf(tmp / f"{base.name}.{kind}", chans, bdf=kind == "bdf",
                                     reserved="BDF+C" if kind == "bdf" else "EDF+C")
                    c0 = time.process_time()
                    rec = read_edf(path)
                    cpu[kind].append(time.process_time() - c0)
                    ulp = np.spacing(np.abs(rec.signal)).astype(np.float64)   # float32 storage: one ulp allowed
                    err = ((np.abs(rec.signal.astype(np.float64) - sig[:, :n]) - ulp).max(axis=1)) / steps
                    s["max_error_steps"][kind] = max(s["max_error_steps"][kind], float(err.max()))
                    s["over_half_step"][kind] += int(err.max() > 0.5 + 1e-6)
                    path.unlink()
                c0 = time.process_time()
                read_wfdb(base)
                cpu["wfdb"].append(time.process_time() - c0)
                s["compared"] += 1
                if edfio is not None:
                    _edfio_check(edfio, sig[:, :n], ref, tmp, s, read_edf)
            res["sets"][name] = s
            print(name, s, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["cpu_ms_median"] = {k: round(1e3 * statistics.median(v), 3) for k, v in cpu.items() if v}
    res["cpu_ms_mean"] = {k: round(1e3 * statistics.fmean(v), 3) for k, v in cpu.items() if v}
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    res["load_average_end"] = os.getloadavg()[0]
    res["command"] = " ".join(["python", "benchmarks/edf_read.py", *sys.argv[1:]])
    res["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                   cwd=REPO).stdout.strip()
    res["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = HERE / "results"
    (out / "edf_read_s24.json").write_text(json.dumps(res, indent=2) + "\n")
    total = sum(s["compared"] for s in res["sets"].values())
    bad = {k: sum(s["over_half_step"][k] for s in res["sets"].values()) for k in ("edf", "bdf")}
    lines = ["# EDF / BDF reader on every real ECG (stop 24)", "",
             f"`{res['command']}` at commit {res['commit']}, {res['date']}; load average "
             f"{res['load_average_start']:.1f} at start, {res['wall_s']} s. Each record written as 16-bit EDF+C and "
             "24-bit BDF (per-lead physical range = the lead's min..max, 1-s data records, whole seconds kept) by "
             "the spec writer of `tests/fuzz_ecg_cases.py`, read with `read_edf`, compared with `wfdb.rdrecord`'s "
             "physical signal in quantisation steps (<= 0.5 expected, beyond one float32 ulp of the value).", "",
             "| data set | records | compared | no wfdb reference | not volts | max error EDF (steps) | "
             "max error BDF (steps) | over 0.5 step EDF / BDF |", "|---|---|---|---|---|---|---|---|"]
    for name, s in res["sets"].items():
        lines.append(f"| {name} | {s['records']} | {s['compared']} | {s['no_reference']} | {s['not_volts']} | "
                     f"{s['max_error_steps']['edf']:.3f} | {s['max_error_steps']['bdf']:.3f} | "
                     f"{s['over_half_step']['edf']} / {s['over_half_step']['bdf']} |")
    lines += ["", f"{total} records compared; over half a step: EDF {bad['edf']}, BDF {bad['bdf']}.", ""]
    if edfio is not None:
        lines += [f"Written by edfio {edfio.__version__ if hasattr(edfio, '__version__') else ''} instead (EDF+C with "
                  "an annotation, BDF; edfio's own physical ranges), read by `read_edf`: largest error against wfdb "
                  "in the file's quantisation steps, and largest difference from edfio's own reading of the file:", "",
                  "| data set | EDF steps | BDF steps | EDF vs edfio (mV) | BDF vs edfio (mV) |", "|---|---|---|---|---|"]
        for name, s in res["sets"].items():
            e = s.get("edfio")
            if e:
                lines.append(f"| {name} | {e['max_error_steps']['edf']:.3f} | {e['max_error_steps']['bdf']:.3f} | "
                             f"{e['max_diff_vs_edfio_mv']['edf']:.2e} | {e['max_diff_vs_edfio_mv']['bdf']:.2e} |")
        lines.append("")
    lines += [
              "CPU ms per record (same records, interleaved in one process; load above):", "",
              "| reader | median | mean |", "|---|---|---|",
              *(f"| {k} | {res['cpu_ms_median'][k]} | {res['cpu_ms_mean'][k]} |" for k in res["cpu_ms_median"]), ""]
    (out / "edf_read_s24.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
