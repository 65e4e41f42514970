"""Benchmark (stop 42, s42geno): biobank inputs as analysts bring them into ``edfgen gwas``, each against plink2
``--glm`` on the same files.

Every case builds a tiny cohort (200 samples, 12 variants), writes its inputs as a UK Biobank / FinnGen / hospital
analyst would (``.sample`` files with withdrawn negative ids, BGEN without stored ids, chrX with haploid males, RAP
exports, ``#IID`` tables, -9/NA/empty codes, string categoricals, ``FID IID`` keep lists, chromosome codes ...),
runs ``edfgen gwas`` (fast engine, no transform, QC off, ``--missing-genotypes drop``) and plink2 ``--glm
hide-covar`` on the files plink2 reads (``ref`` column: the same files, or their plink2 spelling), and compares
beta, SE, p (relative 1e-5: plink2 prints 6 digits) and ``n`` = ``OBS_CT`` for every variant plink2 tests.

Each case expects ``agree`` (every variant plink2 lists: the same numbers, or NA on both sides; at least one
tested; no edfgen number that plink2 does not give) or ``refuse`` (exit 2, one ``edfgen gwas: error:`` line naming
an input file, no traceback), with why; any other outcome is ``**FAILED**`` and the run exits 1 (review s42geno:
any failed edfgen run, a traceback too, counted as "refused", and "agrees (0 tests)" passed). BGEN dosages that
8/16-bit probabilities hold exactly but plink2 rounds to 1/16384 are compared to plink2 on the ``--make-pgen`` of
the same BGEN (plink2's own rounding, so edfgen's exact read is compared with it too); plink2 on the BGEN itself
agrees to 1e-4.

Usage::

    python benchmarks/biobank_inputs_vs_plink2.py      # ~1 min; writes benchmarks/results/biobank_inputs_vs_plink2.md
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
N, M = 200, 12


def _edfgen(args, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), EDFGEN_PROGRESS="none")
    return subprocess.run([sys.executable, "-m", "edfgen", "gwas", "--transform", "none", "--maf", "0", "--hwe", "0",
                           "--call-rate", "0", "--sample-call-rate", "0", "--no-plots", "--engine", "fast",
                           "--missing-genotypes", "drop", "-q", "--threads", "1", "--out", str(out), *map(str, args)],
                          env=env, capture_output=True, text=True, cwd=REPO)


def _plink2(args, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["plink2", "--glm", "hide-covar", "allow-no-covars", "--covar-variance-standardize",
                           "--threads", "1", "--out", str(out), *map(str, args)], capture_output=True, text=True)


def _compare(ours_dir: Path, p2: Path, phenos, rtol: float = 1e-5) -> tuple[bool, str]:
    """Whether edfgen's files equal plink2's, and what was compared: for every variant plink2 lists, edfgen's one
    row (same id, position and alleles) has plink2's beta, SE, p and n, or NA where plink2 has NA; a number where
    plink2 has NA, an edfgen row with a number that plink2 does not list, or no variant tested at all is a failure."""
    bad, tested, both_na = [], 0, 0
    for ph in phenos:
        f, g = ours_dir / f"{ph}.tsv.gz", Path(f"{p2}.{ph}.glm.linear")
        if not f.exists() or not g.exists():
            return False, f"{ph}: no output (edfgen {f.exists()}, plink2 {g.exists()})"
        a = pd.read_csv(f, sep="\t")
        b = pd.read_csv(g, sep="\t")
        seen = []
        for row in b.itertuples():
            o = a[(a["variant_id"] == row.ID) & (a["base_pair_location"] == row.POS)]
            o = o[[{x.effect_allele, x.other_allele} == {row.REF, row.ALT} for x in o.itertuples()]]
            if len(o) != 1:
                bad.append(f"{ph} {row.ID}: {len(o)} rows")
                continue
            seen.append(o.index[0])
            o = o.iloc[0]
            if pd.isna(row.BETA):
                if pd.isna(o.beta):
                    both_na += 1
                else:
                    bad.append(f"{ph} {row.ID}: edfgen beta {o.beta:.6g} where plink2 has NA")
                continue
            s = 1.0 if o.effect_allele == row.A1 else -1.0
            ok = (np.isclose(s * o.beta, row.BETA, rtol=rtol, atol=0) and int(o.n) == int(row.OBS_CT)
                  and np.isclose(o.standard_error, row.SE, rtol=rtol) and np.isclose(o.p_value, row.P, rtol=rtol))
            tested += ok
            if not ok:
                bad.append(f"{ph} {row.ID}: beta {s * o.beta:.6g}/{row.BETA:.6g} n {o.n}/{row.OBS_CT}")
        extra = a.drop(index=seen)
        extra = extra[extra["beta"].notna()]
        if len(extra):
            bad.append(f"{ph}: {len(extra)} edfgen row(s) with a beta that plink2 does not list "
                       f"(e.g. {extra['variant_id'].iloc[0]})")
    if not tested and not bad:
        bad.append("0 variants compared")
    na = f", {both_na} NA on both sides" if both_na else ""
    return (False, "; ".join(bad[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")) if bad else \
        (True, f"agrees ({tested} tests{na})")


def _refusal(r: subprocess.CompletedProcess, args) -> tuple[bool, str]:
    """Whether edfgen's failed run is a refusal as users are owed one (exit 2, exactly one ``edfgen gwas: error:``
    line naming one of the input files, no traceback), and that line (or why not)."""
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("edfgen gwas: error: ")]
    files = [str(a) for a in args if isinstance(a, Path)]
    if "Traceback" in r.stderr or r.returncode != 2 or len(lines) != 1:
        return False, f"exit {r.returncode}, {len(lines)} error line(s): {r.stderr.strip()[-1500:]}"
    if not any(f in lines[0] for f in files):
        return False, f"names no input file: {lines[0]}"
    return True, lines[0]


class Cohort:
    """The base cohort: a PLINK 1 fileset (1 % missing calls, chromosomes 1-2), phenotypes, covariates."""

    def __init__(self, d: Path):
        self.d = d
        rng = np.random.default_rng(5)
        G = rng.binomial(2, rng.uniform(0.1, 0.5, M), size=(N, M)).astype(float)
        G[rng.random((N, M)) < 0.01] = np.nan
        self.G, self.iid = G, [f"s{i}" for i in range(N)]
        self.sex = rng.integers(1, 3, N)
        self.age = rng.normal(50, 8, N).round(1)
        self.centre = np.array(["Leeds", "Bristol", "Oxford", "Glasgow"])[rng.integers(0, 4, N)]
        self.y = (0.3 * np.nan_to_num(G[:, 3], nan=1) + 0.02 * self.age + (self.centre == "Oxford")
                  + rng.normal(size=N)).round(4)
        self.y2 = rng.normal(size=N).round(4)
        self.bed(d / "g", G)
        self.B = d / "g"
        self.pheno = pd.DataFrame({"#FID": self.iid, "IID": self.iid, "y": self.y, "y2": self.y2})
        self.covar = pd.DataFrame({"#FID": self.iid, "IID": self.iid, "age": self.age, "centre": self.centre})
        self.pheno.to_csv(d / "ph", sep="\t", index=False)
        self.covar.to_csv(d / "cv", sep="\t", index=False)
        _run("plink2", "--bfile", self.B, "--make-pgen", "--out", d / "pg")
        _run("plink2", "--bfile", self.B, "--export", "bgen-1.2", "bits=8", "ref-first", "--out", d / "b")
        Gx = G.copy()                     # chrX: 3 PAR variants (XY), 9 non-PAR with males hemizygous (no male hets)
        male = self.sex == 1
        for j in range(3, M):
            Gx[male & (Gx[:, j] == 1), j] = 2.0
        self.bed(d / "x", Gx, chromosome=["25"] * 3 + ["23"] * 9,
                 position=[60001, 70000, 80000] + list(range(3000000, 3009000, 1000)))
        _run("plink2", "--bfile", d / "x", "--export", "bgen-1.2", "bits=8", "ref-first", "--out", d / "xb")

    def bed(self, prefix: Path, G, *, chromosome=None, position=None, iid=None):
        from bed_reader import to_bed

        iid = iid or self.iid
        to_bed(f"{prefix}.bed", G, count_A1=True, properties={
            "fid": iid, "iid": iid, "sex": self.sex, "sid": [f"v{j}" for j in range(M)],
            "chromosome": chromosome or ["1"] * (M // 2) + ["2"] * (M - M // 2),
            "bp_position": position or list(np.arange(1, M + 1) * 1000), "allele_1": ["A"] * M, "allele_2": ["G"] * M})


def _run(*args):
    subprocess.run(list(map(str, args)) + ["--silent"], check=True, capture_output=True)


def _strip_bgen_ids(src: Path, dst: Path) -> None:
    """``src`` without its stored sample ids (UK Biobank's imputed BGENs store none)."""
    b = src.read_bytes()
    off, lh = struct.unpack("<I", b[:4])[0], struct.unpack("<I", b[4:8])[0]
    flags = struct.unpack("<I", b[lh:lh + 4])[0] & ~(1 << 31)
    dst.write_bytes(struct.pack("<I", lh) + b[4:lh] + struct.pack("<I", flags) + b[4 + off:])


def _column(table: pd.DataFrame, j: int, values) -> pd.DataFrame:
    """``table`` with column ``j`` set to ``values`` (a copy)."""
    table = table.copy()
    table[j] = list(values)
    return table


def _ukb_sample(path: Path, ids, sex, words=None) -> None:
    rows = [f"{i} {i} 0 {(words or {}).get(s, s)}" for i, s in zip(ids, sex)]
    path.write_text("\n".join(["ID_1 ID_2 missing sex", "0 0 0 D", *rows]) + "\n")


class REFUSE(str):
    """A case's expected outcome when edfgen is to refuse its inputs (the default: edfgen agrees with plink2 on
    every variant plink2 tests), with why."""


class RTOL(float):
    """A case's relative tolerance, when not 1e-5."""


def cases(c: Cohort, w: Path):
    """``(name, edfgen args, plink2 args, phenotypes[, REFUSE(why)][, RTOL(x)])`` of every case; files written
    under ``w``."""
    B, d, ph, cv = c.B, c.d, c.d / "ph", c.d / "cv"
    base = ["--pheno", ph, "--covar", cv]
    yield "baseline: .bed, #FID IID tables, string categorical (auto one-hot)", ["--bfile", B, *base], \
        ["--bfile", B, *base], ["y", "y2"]
    c.pheno.drop(columns="#FID").rename(columns={"IID": "#IID"}).to_csv(w / "iid.tsv", sep="\t", index=False)
    yield "phenotypes under #IID", ["--bfile", B, "--pheno", w / "iid.tsv"], ["--bfile", B, "--pheno", ph], ["y", "y2"]
    p = c.pheno.astype({"y": object, "y2": object})
    p.loc[0:4, "y"], p.loc[5:9, "y"], p.loc[10:14, "y2"], p.loc[15:19, "y2"] = "-9", "NA", "nan", ""
    p.to_csv(w / "miss.tsv", sep="\t", index=False)
    p.replace("", "NA").to_csv(w / "miss_p2.tsv", sep="\t", index=False)
    yield "missing codes -9 / NA / nan / empty", ["--bfile", B, "--pheno", w / "miss.tsv"], \
        ["--bfile", B, "--pheno", w / "miss_p2.tsv"], ["y", "y2"]
    c.pheno.assign(yc=1.5).to_csv(w / "const.tsv", sep="\t", index=False)
    yield "a constant phenotype", ["--bfile", B, "--pheno", w / "const.tsv"], \
        ["--bfile", B, "--pheno", w / "const.tsv"], ["y"], REFUSE("plink2 refuses it too")
    c.pheno.assign(ym="NA").to_csv(w / "allna.tsv", sep="\t", index=False)
    yield "an all-missing phenotype", ["--bfile", B, "--pheno", w / "allna.tsv"], \
        ["--bfile", B, "--pheno", w / "allna.tsv"], ["y"], REFUSE("plink2 refuses it too")
    c.covar.assign(batch=np.array(["b1", "b2", "b3"])[np.arange(N) % 3]).to_csv(w / "cat2.tsv", sep="\t", index=False)
    yield "two string categoricals (centre, batch)", ["--bfile", B, "--pheno", ph, "--covar", w / "cat2.tsv"], \
        ["--bfile", B, "--pheno", ph, "--covar", w / "cat2.tsv"], ["y", "y2"]
    c.covar.assign(age2=2 * c.age + 1).to_csv(w / "coll.tsv", sep="\t", index=False)
    yield "perfectly collinear covariates", ["--bfile", B, "--pheno", ph, "--covar", w / "coll.tsv"], \
        ["--bfile", B, "--pheno", ph, "--covar", w / "coll.tsv"], ["y"], REFUSE("plink2 refuses it too")
    fam = pd.read_csv(f"{B}.fam", sep=r"\s+", header=None, dtype=str)
    dup = fam.copy()
    dup.loc[1, [0, 1]] = ["F2", "s0"]
    for ext in ("bed", "bim"):
        shutil.copy(f"{B}.{ext}", w / f"dup.{ext}")
    dup.to_csv(w / "dup.fam", sep="\t", header=False, index=False)
    c.pheno.assign(**{"#FID": dup[0], "IID": dup[1]}).to_csv(w / "dup.tsv", sep="\t", index=False)
    yield "duplicate IID across FIDs", ["--bfile", w / "dup", "--pheno", w / "dup.tsv"], \
        ["--bfile", w / "dup", "--pheno", w / "dup.tsv"], ["y"], \
        REFUSE("edfgen keys samples by IID (DESIGN.md); plink2, keyed by FID+IID, runs")
    fams = fam.copy()
    fams[0] = [f"fam{i // 2}" for i in range(N)]
    for ext in ("bed", "bim"):
        shutil.copy(f"{B}.{ext}", w / f"f.{ext}")
    fams.to_csv(w / "f.fam", sep="\t", header=False, index=False)
    c.pheno.assign(**{"#FID": fams[0]}).to_csv(w / "f.tsv", sep="\t", index=False)
    (w / "keep2").write_text("".join(f"{a} {b}\n" for a, b in zip(fams[0][:150], fams[1][:150])))
    (w / "keep1").write_text("".join(f"{b}\n" for b in fams[1][:150]))
    (w / "rm2").write_text("".join(f"{a}\t{b}\n" for a, b in zip(fams[0][:30], fams[1][:30])))
    yield "FID != IID; --keep 'FID IID'", ["--bfile", w / "f", "--pheno", w / "f.tsv", "--keep", w / "keep2"], \
        ["--bfile", w / "f", "--pheno", w / "f.tsv", "--keep", w / "keep2"], ["y"]
    yield "FID != IID; --keep one IID column", ["--bfile", w / "f", "--pheno", w / "f.tsv", "--keep", w / "keep1"], \
        ["--bfile", w / "f", "--pheno", w / "f.tsv", "--keep", w / "keep2"], ["y"]
    yield "FID != IID; --remove 'FID<tab>IID'", ["--bfile", w / "f", "--pheno", w / "f.tsv", "--remove", w / "rm2"], \
        ["--bfile", w / "f", "--pheno", w / "f.tsv", "--remove", w / "rm2"], ["y"]
    uni = [f"é{i}ü" for i in range(N)]
    c.bed(w / "u", c.G, iid=uni)
    c.pheno.assign(**{"#FID": uni, "IID": uni}).to_csv(w / "u.tsv", sep="\t", index=False)
    yield "unicode ids", ["--bfile", w / "u", "--pheno", w / "u.tsv"], ["--bfile", w / "u", "--pheno", w / "u.tsv"], \
        ["y"]
    G = c.G.copy()
    G[[3, 7], :] = np.nan
    c.bed(w / "am", G)
    yield "samples with every genotype missing", ["--bfile", w / "am", "--pheno", ph], \
        ["--bfile", w / "am", "--pheno", ph], ["y", "y2"]
    G = c.G.copy()
    G[:, 2], G[:, 4] = 0, 2
    c.bed(w / "mono", G)
    yield "monomorphic variants (edfgen NA, plink2 NA)", ["--bfile", w / "mono", "--pheno", ph], \
        ["--bfile", w / "mono", "--pheno", ph], ["y"]
    bim = pd.read_csv(f"{B}.bim", sep=r"\s+", header=None, dtype=str)
    for name, edit in (("chr codes chr1/01/1/23/X/chrX/XY/25/24/MT/26/0",
                        lambda b: _column(b, 0, ["chr1", "01", "1", "23", "X", "chrX", "XY", "25", "24", "MT", "26",
                                                 "0"])),
                       ("same position; multi-allelic split rows with one id",
                        lambda b: _column(_column(_column(b, 3, ["1000", "1000", "3000", "3000", *b[3][4:]]), 1,
                                                  ["v0", "v0", *b[1][2:]]), 5, [b[5][0], "C", *b[5][2:]]))):
        tag = f"bim{len(list(w.glob('bim*.bim')))}"
        for ext in ("bed", "fam"):
            shutil.copy(f"{B}.{ext}", w / f"{tag}.{ext}")
        edit(bim).to_csv(w / f"{tag}.bim", sep="\t", header=False, index=False)
        yield name, ["--bfile", w / tag, "--pheno", ph], ["--bfile", w / tag, "--pheno", ph], ["y"]
    pv = (d / "pg.pvar").read_text().splitlines()
    shutil.copy(d / "pg.pgen", w / "pv.pgen")
    (w / "pv.psam").write_text((d / "pg.psam").read_text())
    (w / "pv.pvar").write_text("\n".join(["##fileformat=VCFv4.2", '##INFO=<ID=R2,Number=1,Type=Float,Description="r2">',
                                          pv[0] + "\tQUAL\tFILTER\tINFO"] + [f"{ln}\t.\tPASS\tR2=0.9" for ln in pv[1:]])
                             + "\n")
    yield "PGEN: .pvar with ## lines, QUAL/FILTER/INFO; .psam #FID IID SEX", ["--pfile", w / "pv", *base], \
        ["--pfile", w / "pv", *base], ["y", "y2"]
    _strip_bgen_ids(d / "b.bgen", w / "ukb.bgen")
    eids = [str(1000000 + i) for i in range(N)]
    eids[5], eids[9], eids[11] = "-1", "-2", "-3"
    _ukb_sample(w / "ukb.sample", eids, c.sex)
    c.pheno.assign(**{"#FID": eids, "IID": eids}).to_csv(w / "ukb.tsv", sep="\t", index=False)
    (w / "wd").write_text("-1 -1\n-2 -2\n-3 -3\n")
    yield "UKB .sample (ID_1 ID_2 missing sex / 0 0 0 D), BGEN without ids, withdrawn -1/-2/-3 (plink2: --remove)", \
        ["--bgen", w / "ukb.bgen", "--sample", w / "ukb.sample", "--pheno", w / "ukb.tsv"], \
        ["--bgen", w / "ukb.bgen", "ref-first", "--sample", w / "ukb.sample", "--pheno", w / "ukb.tsv", "--remove",
         w / "wd"], ["y", "y2"]
    _ukb_sample(w / "renamed.sample", [str(1000000 + i) for i in range(N)], c.sex)
    c.pheno.assign(**{"#FID": [str(1000000 + i) for i in range(N)], "IID": [str(1000000 + i) for i in range(N)]}
                   ).to_csv(w / "ren.tsv", sep="\t", index=False)
    yield "BGEN stored ids s0.. renamed by its .sample (all ids differ: used, as plink2)", \
        ["--bgen", d / "b.bgen", "--sample", w / "renamed.sample", "--pheno", w / "ren.tsv"], \
        ["--bgen", d / "b.bgen", "ref-first", "--sample", w / "renamed.sample", "--pheno", w / "ren.tsv"], ["y"]
    swapped = list(c.iid)
    swapped[3], swapped[4] = swapped[4], swapped[3]
    _ukb_sample(w / "swapped.sample", swapped, c.sex)
    yield "BGEN stored ids vs .sample: two rows swapped", \
        ["--bgen", d / "b.bgen", "--sample", w / "swapped.sample", "--pheno", ph], \
        ["--bgen", d / "b.bgen", "ref-first", "--sample", w / "swapped.sample", "--pheno", ph], ["y"], \
        REFUSE("a .sample that reorders the BGEN's own ids is taken as the wrong file; plink2 trusts the .sample")
    for words, label in ((None, "1/2"), ({1: "male", 2: "female"}, "male/female")):
        _ukb_sample(w / f"x{label[0]}.sample", c.iid, c.sex, words)
        yield f"BGEN chrX, males ploidy 1, PAR diploid; .sample sex {label} (plink2 on the .bed)", \
            ["--bgen", d / "xb.bgen", "--sample", w / f"x{label[0]}.sample", *base], ["--bfile", d / "x", *base], \
            ["y", "y2"]
    pd.DataFrame({"participant.eid": c.iid, "participant.p21001_i0": c.y}).to_csv(w / "rap.csv", index=False)
    pd.DataFrame({"FINNGENID": c.iid, "SEX": np.where(c.sex == 1, "male", "female"), "AGE": c.age}).to_csv(
        w / "fg.txt", sep="\t", index=False)
    c.pheno.assign(**{"participant.p21001_i0": c.y}).to_csv(w / "rap_p2.tsv", sep="\t", index=False)
    c.covar.assign(SEX=np.where(c.sex == 1, "male", "female"), AGE=c.age)[["#FID", "IID", "SEX", "AGE"]].to_csv(
        w / "fg_p2.tsv", sep="\t", index=False)
    yield "UKB RAP participant.eid CSV + FinnGen FINNGENID covariates (SEX words)", \
        ["--bfile", B, "--pheno", w / "rap.csv", "--covar", w / "fg.txt"], \
        ["--bfile", B, "--pheno", w / "rap_p2.tsv", "--pheno-name", "participant.p21001_i0", "--covar",
         w / "fg_p2.tsv"], ["participant.p21001_i0"]
    rng = np.random.default_rng(1)            # imputed dosages: every third variant blurred
    dos = np.clip(np.nan_to_num(c.G, nan=1.0) + rng.normal(0, 0.4, c.G.shape) * (np.arange(M) % 3 == 0), 0, 2)
    (w / "g.dosage").write_text("\n".join(["SNP A1 A2 " + " ".join(f"{i} {i}" for i in c.iid)]
                                          + [f"v{j} A G " + " ".join(f"{x:.3f}" for x in dos[:, j]) for j in range(M)])
                               + "\n")
    (w / "g.map").write_text("".join(f"{1 + (j >= M // 2)} v{j} 0 {(j + 1) * 1000}\n" for j in range(M)))
    _run("plink2", "--import-dosage", w / "g.dosage", "format=1", "--fam", f"{B}.fam", "--map", w / "g.map",
         "--make-pgen", "--out", w / "dos")
    _run("plink2", "--pfile", w / "dos", "--export", "bgen-1.2", "bits=16", "ref-first", "--out", w / "dos16")
    _run("plink2", "--bgen", w / "dos16.bgen", "ref-first", "--sample", w / "dos16.sample", "--make-pgen", "--out",
         w / "dos16p")
    yield "PGEN dosages, --min-info 0.9 (plink2 --mach-r2-filter 0.9 2)", ["--pfile", w / "dos", "--pheno", ph,
                                                                          "--min-info", "0.9"], \
        ["--pfile", w / "dos", "--pheno", ph, "--mach-r2-filter", "0.9", "2"], ["y"]
    yield "BGEN 16-bit dosages, read exactly (plink2 rounds them to 1/16384: compared to 1e-4)", \
        ["--bgen", w / "dos16.bgen", "--sample", w / "dos16.sample", "--pheno", ph], \
        ["--bgen", w / "dos16.bgen", "ref-first", "--sample", w / "dos16.sample", "--pheno", ph], ["y"], RTOL(1e-4)
    yield "PGEN plink2 made of that BGEN (the same rounded dosages on both sides)", \
        ["--pfile", w / "dos16p", "--pheno", ph], ["--pfile", w / "dos16p", "--pheno", ph], ["y"]
    for ext in ("bed", "fam"):
        shutil.copy(f"{B}.{ext}", w / f"neg.{ext}")
    _column(bim, 3, ["-5", *bim[3][1:]]).to_csv(w / "neg.bim", sep="\t", header=False, index=False)
    yield "a negative .bim position (PLINK's 'skip this variant')", ["--bfile", w / "neg", "--pheno", ph], \
        ["--bfile", w / "neg", "--pheno", ph], ["y"], \
        REFUSE("skipping would need every reader to carry an exclusion; the error gives the plink2 command")
    pd.DataFrame({"": range(1, N + 1), "IID": c.iid, "y": c.y}).to_csv(w / "r.csv", index=False, quoting=1)
    yield "R write.csv (row names, quotes)", ["--bfile", B, "--pheno", w / "r.csv"], ["--bfile", B, "--pheno", ph], \
        ["y"]
    crlf = c.pheno.to_csv(sep="\t", index=False, lineterminator="\r\n").encode()
    (w / "crlf.tsv").write_bytes(b"\xef\xbb\xbf" + crlf)
    yield "CRLF + UTF-8 BOM", ["--bfile", B, "--pheno", w / "crlf.tsv"], ["--bfile", B, "--pheno", ph], ["y", "y2"]


def main() -> None:
    out = HERE / "results" / "biobank_inputs_vs_plink2.md"
    plink2 = subprocess.run(["plink2", "--version"], capture_output=True, text=True).stdout.strip()
    rows, t0 = [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edfgen-biobank-") as tmp:
        c = Cohort(Path(tmp))
        w = Path(tmp) / "w"
        w.mkdir()
        for k, (name, ours, ref, phenos, *opts) in enumerate(cases(c, w)):
            refuse = next((o for o in opts if isinstance(o, REFUSE)), None)
            rtol = next((o for o in opts if isinstance(o, RTOL)), 1e-5)
            r, r2 = _edfgen(ours, w / f"e{k}"), _plink2(ref, w / f"p{k}")
            p2err = next((ln for ln in (r2.stdout + r2.stderr).splitlines() if ln.startswith("Error")),
                         f"exit {r2.returncode}") if r2.returncode else ""
            p2 = f" (plink2: {p2err})" if p2err else " (plink2 runs)"
            if r.returncode:
                ok, line = _refusal(r, ours)
                outcome = f"refused: `{line}`{p2}" if ok else f"bad refusal: {line}{p2}"
                ok = ok and refuse is not None
            elif refuse is not None:
                ok, outcome = False, "edfgen runs (expected to refuse)" + p2
            elif r2.returncode:
                ok, outcome = False, f"edfgen runs, plink2 refuses: {p2err}"
            else:
                ok, outcome = _compare(w / f"e{k}", w / f"p{k}", phenos, rtol)
            outcome = outcome if ok else f"**FAILED**: {outcome}"
            expected = f"refuse: {refuse}" if refuse is not None else "agree"
            rows.append((name, expected, outcome.replace(f"{tmp}/", "").replace("|", "/").replace("\n", " / ")))
            print(f"{name} [{expected}]: {outcome}", flush=True)
    md = ["# Biobank inputs into edfgen gwas against plink2 --glm", "",
          f"`python benchmarks/biobank_inputs_vs_plink2.py` ({time.perf_counter() - t0:.0f} s); reference: {plink2} "
          "(`--glm hide-covar allow-no-covars --covar-variance-standardize`). Agrees: beta, SE, p within 1e-5 "
          "relative (plink2 prints 6 digits) and n = OBS_CT for every variant plink2 tests.", "",
          "Each case's expected outcome: `agree` (edfgen runs and agrees with plink2 on every variant plink2 lists, "
          "NA where plink2 has NA, at least one variant tested) or `refuse` (exit 2 and one `edfgen gwas: error:` "
          "line naming an input file), with why. Anything else fails the run (exit 1).", "",
          "| case | expected | outcome |", "|---|---|---|", *[f"| {a} | {e} | {b} |" for a, e, b in rows]]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".md.tmp")
    tmp_out.write_text("\n".join(md) + "\n")
    os.replace(tmp_out, out)
    bad = [a for a, _, b in rows if "**FAILED**" in b]
    print(f"{len(rows)} cases, {len(bad)} failed" + (f": {bad}" if bad else ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
