"""Scaling of the whole method (issue 23 item 5): ``edfgen gwas`` (linear and ridge-loco), ``edfgen clump``
(64 phenotypes) and ``edfgen extract`` measured at three sizes per axis, fitted scaling laws with their
residuals, and the projection to UK Biobank size (500k samples x 10M variants x 128 EDFs) on one 64-core
machine and on a Spark cluster, in CPU-hours per phenotype.

Measurement
-----------
Each case is one child command under ``/usr/bin/time -v``: **CPU = user + sys** of the child (and its
waited-for children) and **peak RSS**; wall time is recorded but not used (the machine has 2 cores shared
with other jobs). Every command runs with 1 thread (``--threads 1``, BLAS/OMP 1 thread), under ``nice``, so
CPU seconds are the work and not thread spinning. A case that does not finish within ``--case-timeout``
seconds of wall time is killed and recorded as *not measured* (never extrapolated into the table).

One axis varies at a time around the base point N = 10,000 samples, M = 100,000 variants, P = 8 phenotypes:
N 10k / 50k / 100k; M 100k / 300k / 1M; P 8 / 64 / 256 (gwas). The largest inputs are N = 100k x M = 100k
and N = 10k x M = 1M (.bed 2.5 GB each).

Genotypes (why tiling does not bias the timings)
-----------------------------------------------
Each .bed is written directly in PLINK 1 bytes: a block of ``TILE`` = 997 variants is simulated for the N
samples (allele frequencies U(0.05, 0.5), Hardy-Weinberg, no missing calls) and the variant axis is the block
repeated (new ids and positions every time, 22 chromosomes, 1.1 kb apart, so a repeat is 1.1 Mb away, beyond
the 1,000 kb clump window). The fast engine's cost per variant does not depend on the genotype values
(dense decode, mean-impute, products; no sparse or MAF-dependent path), so repeated blocks cost what new ones
would; generating N x 997 genotypes instead of N x M keeps the inputs cheap (seconds, not the ~10 GB int8
matrix ``gwas_vs_plink2.make_data`` would need). plink2 ``--dummy`` was not used: it writes all variants
from the random generator (slower at 2.5 GB) and has no per-variant allele-frequency spread or layout
control. Phenotypes are independent normals (3 % of samples missing, one pattern); covariates age, sex,
centre (categorical). Inputs live under ``--work`` (/tmp) and are deleted at the end (``--keep-data`` keeps).

Clump input: 64 synthetic GWAS-SSF files per M (``edfgen.formats.sumstats.SumstatsWriter``): uniform null
p-values plus, per phenotype, 2-3 of 8 shared "factors" x 5 loci (40 loci shared between EDFs, as EDFs of
one encoder share loci), each locus 11 variants +-5 positions around the lead with p from 1e-30 to 1e-9:
~100-165 variants at p <= 5e-8 per phenotype, independent of M and N (the number of loci is biology, not
array density). The same files serve the N axis (LD from the N-sample .bed).

Extract: ``edfgen simulate`` WFDB ECGs (10 s, 12 leads, 500 Hz), ``edfgen extract`` on 3 ECG counts (the
first k records) with the default checkpoint, batch size, 1 model thread, workers 0.

BGEN: the base .bed exported by ``plink2 --export bgen-1.2 bits=8`` (zlib, UK Biobank's layout), ``gwas
--bgen`` at the base point; the CPU difference to the .bed run is the decode cost per variant x sample.

ridge-loco (``--only ridge``) runs at its own points (``RIDGE_POINTS``): N 10k/50k/100k at M = 20k (at M = 100k
its N axis did not fit the shared machine's time), M 20k/100k/300k at N = 10k, P 8/64 at N = 10k, M = 100k, plus
linear beside its N axis (``--ridge-p256`` adds P = 256 at N = 10k, M = 100k); its step 1 is fitted to the kernel's
multiply-adds (``ridge_flops``), passes over the genotypes (N x M) and the LOCO text (N x P).

The Hail engine (``--only hail``: ``gwas --engine hail --spark-master local[1] --threads 1``, linear, .bed input)
runs at its own points (``HAIL_POINTS``): N 2k/5k/10k at M = 20k, M 10k/20k/50k at N = 5k, P 1/8/64 at N = 5k,
M = 20k (its N = 10k x M = 100k x P = 8 case did not finish in 2,400 s wall on the shared machine), with the fast
engine beside each point; the JVM is a descendant of the measured command, so its CPU is counted. The fast
engine's cost terms are fitted to Hail's CPU and extrapolated to the target (``hail_analysis``).

Usage: ``nice -n 10 python benchmarks/scale.py [--only gwas ridge step2 clump extract bgen hail] [--case-timeout 900]
[--cases N,M,P ...] [--ridge-p256] [--stop-at HH:MM]``;
cases already in ``results/scale.json`` are reused (``--rerun`` measures again); ``--refit`` rewrites the
report and plots from the stored runs. Writes ``results/scale.json``, ``results/scale.md`` and
``results/scale_*.png``.

Modules: ``_scale_cases.py`` (inputs, the measurement of one command, the runs per tool), ``_scale_fit.py``
(cost terms, fits, slopes, the projection), ``_scale_plot.py`` (the figures), ``_scale_report.py``
(``scale.json`` and ``scale.md``); this file is the command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _scale_cases import (Runner, run_bgen, run_clump, run_extract, run_gwas, run_hail, run_ridge,  # noqa: E402
                          run_step2)
from _scale_report import write_report  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", default=["gwas", "ridge", "step2", "clump", "extract", "bgen", "hail"])
    ap.add_argument("--case-timeout", type=float, default=900.0)
    ap.add_argument("--ridge-p256", action="store_true", help="also ridge-loco at P = 256")
    ap.add_argument("--cases", nargs="+", default=None, help="gwas/ridge: only these N,M,P points (parallel runs)")
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-scale"))
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--stop-at", default=None, help="HH:MM UTC: start no new case after this time")
    ap.add_argument("--rerun", action="store_true")
    ap.add_argument("--keep-data", action="store_true")
    ap.add_argument("--refit", action="store_true", help="rewrite scale.md and the plots from scale.json")
    a = ap.parse_args(argv)
    r = Runner(a)
    if not a.refit:
        steps = dict(gwas=lambda: run_gwas(r, "linear"), ridge=lambda: run_ridge(r),
                     clump=lambda: run_clump(r), extract=lambda: run_extract(r), bgen=lambda: run_bgen(r),
                     hail=lambda: run_hail(r), step2=lambda: run_step2(r))
        try:
            for s in a.only:
                steps[s]()
        finally:
            r.save()
            if not a.keep_data:
                shutil.rmtree(r.work, ignore_errors=True)
    return write_report(r.store, Path(a.out))


if __name__ == "__main__":
    main()
