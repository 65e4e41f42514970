"""Benchmark: BGEN decoding before and after haploid samples are read (round 27, ``bgen_decode.py``).

    python benchmarks/bgen_haploid_decode.py [--n 10000 --m 3000 --repeats 7 --ref HEAD]

plink2 ``--dummy`` hard calls (N samples, M variants on chromosome 1, all diploid) exported by plink2 as BGEN 1.2
8-bit (zlib) and 1.3 16-bit (zstd); the same genotypes with chromosome X and half the samples male (plink2 writes
males with ploidy 1) for the new path. Each file is read whole (``BgenReader.blocks``, float32, 1 thread) in a fresh
process, by the tree of ``--ref`` (``git archive``: the code before the change) and by this tree, interleaved,
``--repeats`` times; the CPU seconds of the decode alone (``time.process_time`` around the reads, the index already
built) are compared by their medians. Writes ``results/bgen_haploid_decode.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, before_tree, write_results  # noqa: E402

CHILD = """
import json, sys, time
import numpy as np
from edfgen.formats.genotypes.bgen import BgenReader
r = BgenReader(sys.argv[1], sample=sys.argv[2], threads=1)
t = time.process_time()
s = 0.0
for _, block in r.blocks(dtype=np.float32):
    s += float(np.nansum(block[:1]))
print(json.dumps({"cpu_s": time.process_time() - t, "check": s}))
"""


INPROCESS = """
import importlib.util, json, statistics, sys, time, zlib, struct
import numpy as np
from edfgen.formats.genotypes.bgen_check import scan_bgen
from edfgen.formats.genotypes.bgen_decode import decode_rows as after
spec = importlib.util.spec_from_file_location("bgen_before", sys.argv[2] + "/edfgen/formats/genotypes/bgen.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
before = mod._decode_rows
path, reps = sys.argv[1], int(sys.argv[3])
lay = scan_bgen(path)
raw = open(path, "rb").read()
blocks = []
for s, e in zip(lay.starts[:80], lay.ends[:80]):
    c, d = struct.unpack_from("<II", raw, int(s))
    blocks.append(zlib.decompress(raw[int(s) + 8:int(s) + 4 + c]) if lay.compression == 1 else None)
if blocks[0] is None:
    import zstandard
    blocks = [zstandard.ZstdDecompressor().decompress(raw[int(s) + 8:int(e)]) for s, e in zip(lay.starts[:80], lay.ends[:80])]
arr = np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(80, -1)
N = lay.n_samples
x, _ = before(arr, N, None)
y, _ = after(arr, N, None)
assert np.array_equal(x, y, equal_nan=True)
t = {"before": [], "after": []}
for _ in range(reps):
    for k, f in (("before", before), ("after", after)):
        t0 = time.process_time()
        f(arr, N, None)
        t[k].append(time.process_time() - t0)
print(json.dumps(t))
"""


READER = """
import importlib.util, json, sys, time
import numpy as np
from edfgen.formats.genotypes.bgen import BgenReader as After
spec = importlib.util.spec_from_file_location("bgen_before", sys.argv[3] + "/edfgen/formats/genotypes/bgen.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
rs = {"before": mod.BgenReader(sys.argv[1], sample=sys.argv[2], threads=1),
      "after": After(sys.argv[1], sample=sys.argv[2], threads=1)}
t = {"before": [], "after": []}
for i in range(int(sys.argv[4])):
    for k in (("before", "after") if i % 2 == 0 else ("after", "before")):
        t0 = time.process_time()
        for _, block in rs[k].blocks(dtype=np.float32):
            pass
        t[k].append(time.process_time() - t0)
print(json.dumps(t))
"""


def plink2(*args, cwd: Path) -> None:
    subprocess.run(["plink2", "--threads", "1", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def make(d: Path, n: int, m: int) -> dict[str, tuple[Path, Path]]:
    plink2("--dummy", n, m, "0.01", "acgt", "--seed", 27, "--make-pgen", "--out", "dip", cwd=d)
    pvar = (d / "dip.pvar").read_text().splitlines()
    head = [x for x in pvar if x.startswith("#")]
    body = [x.split("\t") for x in pvar if not x.startswith("#")]
    for chrom, name in (("1", "dip"), ("X", "x")):         # positions from 5 Mb: X outside the PARs
        rows = ["\t".join([chrom, str(5_000_000 + 100 * i), *r[2:]]) for i, r in enumerate(body)]
        (d / f"{name}.pvar").write_text("\n".join(head + rows) + "\n")
    for ext in ("pgen", "psam"):
        (d / f"x.{ext}").write_bytes((d / f"dip.{ext}").read_bytes())
    ids = [line.split("\t")[0] for line in (d / "dip.psam").read_text().splitlines()[1:]]
    (d / "sex.txt").write_text("#IID\tSEX\n" + "".join(f"{i}\t{1 + k % 2}\n" for k, i in enumerate(ids)))
    plink2("--pfile", "x", "--update-sex", "sex.txt", "--make-pgen", "--out", "xs", cwd=d)
    out = {}
    for src, tag in (("dip", "diploid"), ("xs", "haploid_x")):
        plink2("--pfile", src, "--export", "bgen-1.2", "bits=8", "ref-first", "--out", f"{tag}_8", cwd=d)
        plink2("--pfile", src, "--export", "bgen-1.3", "bits=16", "ref-first", "--out", f"{tag}_16", cwd=d)
        out[f"{tag} 1.2 8-bit"] = (d / f"{tag}_8.bgen", d / f"{tag}_8.sample")
        out[f"{tag} 1.3 16-bit"] = (d / f"{tag}_16.bgen", d / f"{tag}_16.sample")
    return out


def run(tree: Path, bgen: Path, sample: Path, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "EDFGEN_CACHE": str(cache)}
    p = subprocess.run([sys.executable, "-c", CHILD, str(bgen), str(sample)], cwd=tree, env=env, capture_output=True,
                       text=True)
    if p.returncode:
        return {"error": (p.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--m", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--ref", default="HEAD")
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="bgen_haploid_"))
    work.mkdir(parents=True, exist_ok=True)
    before = before_tree(work, a.ref)
    files = make(work, a.n, a.m)
    cache = work / "cache"
    load0 = os.getloadavg()
    res: dict = {"command": " ".join(["python", "benchmarks/bgen_haploid_decode.py", *sys.argv[1:]]),
                 "ref": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", a.ref], capture_output=True,
                                       text=True).stdout.strip(),
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "n": a.n, "m": a.m,
                 "repeats": a.repeats, "load_before": load0, "files": {}}
    for name, (bgen, sample) in files.items():
        run(ROOT, bgen, sample, cache)                             # index built once, imports warm
        cpu: dict[str, list[float]] = {"before": [], "after": []}
        errors = {}
        for _ in range(a.repeats):
            for tag, tree in (("before", before), ("after", ROOT)):
                r = run(tree, bgen, sample, cache)
                if "error" in r:
                    errors[tag] = r["error"]
                else:
                    cpu[tag].append(r["cpu_s"])
        med = {k: statistics.median(v) for k, v in cpu.items() if v}
        res["files"][name] = {"cpu_s": cpu, "median_cpu_s": med, "errors": errors,
                              "ratio_after_before": med["after"] / med["before"] if len(med) == 2 else None}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    res["in_process"] = {}
    for name in ("diploid 1.2 8-bit", "diploid 1.3 16-bit"):        # decode_rows alone, 80 blocks at a time
        p = subprocess.run([sys.executable, "-c", INPROCESS, str(files[name][0]), str(before), str(30 * a.repeats)],
                           cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        t = json.loads(p.stdout.strip().splitlines()[-1])
        ratios = [y / x for x, y in zip(t["before"], t["after"])]
        res["in_process"][name] = {"median_ms": {k: 1e3 * statistics.median(v) for k, v in t.items()},
                                   "min_ms": {k: 1e3 * min(v) for k, v in t.items()},
                                   "median_paired_ratio": statistics.median(ratios)}
    res["reader_in_process"] = {}
    for name in ("diploid 1.2 8-bit", "diploid 1.3 16-bit"):        # the whole file, both readers in one process
        bgen, sample = files[name]
        p = subprocess.run([sys.executable, "-c", READER, str(bgen), str(sample), str(before), str(2 * a.repeats)],
                           cwd=ROOT, env={**env, "EDFGEN_CACHE": str(cache)}, capture_output=True, text=True,
                           check=True)
        t = json.loads(p.stdout.strip().splitlines()[-1])
        ratios = [y / x for x, y in zip(t["before"], t["after"])]
        res["reader_in_process"][name] = {"cpu_s": t, "median_s": {k: statistics.median(v) for k, v in t.items()},
                                          "min_s": {k: min(v) for k, v in t.items()},
                                          "median_paired_ratio": statistics.median(ratios)}
    res["load_after"] = os.getloadavg()
    md = ["# BGEN decode CPU before/after reading haploid samples (round 27)", "",
          f"`{res['command']}`; before = `{res['ref']}` (git archive), after = this tree; {res['date']}; "
          f"N = {a.n}, M = {a.m}, 1 thread, {a.repeats} interleaved runs each, median CPU s of the decode "
          f"(`BgenReader.blocks`, float32) in a fresh process; load average {load0[0]:.1f} before, "
          f"{res['load_after'][0]:.1f} after (2 cores shared).", "",
          "| file | before CPU s | after CPU s | after / before |", "|---|---|---|---|"]
    for name, r in res["files"].items():
        b = f"{r['median_cpu_s']['before']:.3f}" if "before" in r["median_cpu_s"] else f"refused: {r['errors'].get('before', '')[:90]}"
        ratio = f"{r['ratio_after_before']:.3f}" if r["ratio_after_before"] else "-"
        md.append(f"| {name} | {b} | {r['median_cpu_s'].get('after', float('nan')):.3f} | {ratio} |")
    md += ["", f"The decoder alone, in one process (`decode_rows` of this tree against the `_decode_rows` of `{res['ref']}` "
           f"on the same 80 decompressed all-diploid blocks, alternated {30 * a.repeats} times each; the outputs are "
           "checked equal):", "", "| file | before ms (median, min) | after ms (median, min) | median paired ratio |",
           "|---|---|---|---|"]
    for name, r in res["in_process"].items():
        md.append(f"| {name} | {r['median_ms']['before']:.2f}, {r['min_ms']['before']:.2f} | "
                  f"{r['median_ms']['after']:.2f}, {r['min_ms']['after']:.2f} | {r['median_paired_ratio']:.3f} |")
    md += ["", f"The whole file read by both readers in one process (`BgenReader.blocks`, the before tree's class loaded "
           f"from its file), alternated {2 * a.repeats} times, the order swapped each round:", "",
           "| file | before CPU s (median, min) | after CPU s (median, min) | median paired ratio |", "|---|---|---|---|"]
    for name, r in res["reader_in_process"].items():
        md.append(f"| {name} | {r['median_s']['before']:.3f}, {r['min_s']['before']:.3f} | "
                  f"{r['median_s']['after']:.3f}, {r['min_s']['after']:.3f} | {r['median_paired_ratio']:.3f} |")
    write_results("bgen_haploid_decode", res, md)


if __name__ == "__main__":
    main()
