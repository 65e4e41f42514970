"""The hand-made hostile inputs of ``benchmarks/fuzz_s22.py``: each case breaks one thing in a small valid input
set and names the command that reads it.

A case is ``(group, name, command, mutate)``: ``mutate(d)`` edits the private copy ``d`` of the valid inputs,
``command(d, out)`` is the ``edfgen`` argument list. Valid inputs come from the helpers of
``tests/test_bad_input.py`` (PLINK fileset, tables, summary statistics, WFDB records, the tiny checkpoint),
``tests/fuzz_ecg_cases.py`` (CardioSoft and MUSE XML) and plink2 ``--dummy`` (VCF, BGEN, PGEN; that group is
skipped when plink2 is not on PATH).
"""

from __future__ import annotations

import base64
import gzip
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

import fuzz_ecg_cases as fc
import test_bad_input as tb

LEADS = tb.LEADS
N_GENO = 120                         # samples of the plink2 --dummy genotypes


# --------------------------------------------------------------------------- valid inputs
def write_base(d: Path) -> None:
    """The valid inputs of every group but the genotype formats (< 1 s)."""
    d.mkdir(parents=True)
    rng = np.random.default_rng(11)
    tb._write_bfile(d / "g")
    iid = [f"S{i:04d}" for i in range(tb.N)]
    tb._tsv(pd.DataFrame({"IID": iid, "qt": rng.normal(size=tb.N), "hr": rng.normal(60, 10, tb.N).round(1)}),
            d / "pheno.tsv")
    tb._tsv(pd.DataFrame({"IID": iid, "age": rng.integers(40, 70, tb.N), "sex": rng.integers(0, 2, tb.N)}),
            d / "covar.tsv")
    (d / "ss").mkdir()
    tb._tsv(tb._sumstats(rng), d / "ss" / "qt.tsv.gz")
    exp, out = tb._mr_pair(rng)
    tb._tsv(exp, d / "exposure.tsv")
    tb._tsv(out, d / "outcome.tsv")
    tb._tsv(pd.DataFrame({"variant_id": ["rs1", "rs2"], "chromosome": ["1", "3"],
                          "base_pair_location": [1_000_000, 2_000_000], "p_value": [1e-9, 1e-10]}), d / "loci.tsv")
    shutil.copy(tb.CATALOG, d / "catalog.tsv")
    (d / "ecg").mkdir()
    for i in range(3):
        tb._write_wfdb(d / "ecg", f"R{i}", seed=i)
    (d / "ckpt").mkdir()
    pkg = Path(tb.__file__).resolve().parents[1] / "edfgen" / "checkpoints"
    for f in ("tiny.json", "tiny.safetensors"):
        shutil.copy(pkg / f, d / "ckpt" / f)


def write_genotype_formats(d: Path) -> None:
    """VCF, BGEN (8-bit without ids, 16-bit with ids), PGEN and a phenotype table of their samples."""
    import genotype_fuzz

    genotype_fuzz.make_fixtures(d, n=N_GENO, m=40)
    rng = np.random.default_rng(1)
    pd.DataFrame({"IID": [f"per{i}" for i in range(N_GENO)], "qt": rng.normal(size=N_GENO)}).to_csv(
        d / "gpheno.tsv", sep="\t", index=False)


# --------------------------------------------------------------------------- commands
def extract(d, o, *x):
    return ["extract", "--ecg", d / "ecg", "--checkpoint", d / "ckpt" / "tiny.json", "--workers", 0,
            "--out", o / "edfs.tsv", "-q", *x]


def gwas(d, o, *x):
    return [*tb.gwas(d, o), *x]


def clump(d, o, *x):
    return [*tb.clump(d, o), *x]


def mr(d, o, *x):
    return [*tb.mr(d, o), *x]


def annotate(d, o, *x):
    return [*tb.annotate(d, o), *x]


def pca(d, o, *x):
    return tb.pca(d, o, *x)


def geno_gwas(*source):
    """``gwas`` of ``gpheno.tsv`` on the genotype-format fixture ``source`` (file names relative to ``d``)."""
    def cmd(d, o):
        src = [d / a if k and source[k - 1] in ("--vcf", "--bgen", "--sample", "--pfile") else a
               for k, a in enumerate(source)]
        return ["gwas", *src, "--pheno", d / "gpheno.tsv", "--no-plots", "--maf", "0", "--hwe", "0", "--call-rate",
                "0", "--sample-call-rate", "0", "--out", o]
    return cmd


def with_args(command, *extra):
    """``command`` with extra arguments; ``{d}`` in one is the case folder. An option the command already gives
    (``gwas --maf 0 --hwe 0``, ``clump --p1 1e-6``, ``pca --k 2``) takes the extra value in its place: edfgen
    refuses an option given twice, so appending it would test that refusal instead of the value."""
    def cmd(d, o):
        args = [str(x).replace("{d}", str(d)) for x in extra]
        base = list(command(d, o))
        rest = []
        k = 0
        while k < len(args):
            a = args[k]
            if a.startswith("--") and k + 1 < len(args) and not args[k + 1].startswith("--") and a in base:
                base[base.index(a) + 1] = args[k + 1]
                k += 2
            else:
                rest.append(a)
                k += 1
        return [*base, *rest]
    return cmd


# --------------------------------------------------------------------------- mutations
def nothing(d):
    pass


def text(name, fn):
    """Replace the text of ``d/name`` (gzip kept) by ``fn(text)``."""
    def m(d):
        p = d / name
        raw = p.read_bytes()
        packed = raw[:2] == b"\x1f\x8b"
        new = fn(gzip.decompress(raw).decode() if packed else raw.decode())
        new = new.encode() if isinstance(new, str) else new
        p.write_bytes(gzip.compress(new) if packed else new)
    return m


def raw(name, fn):
    return lambda d: (d / name).write_bytes(fn((d / name).read_bytes()))


def write(name, data):
    return lambda d: (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def column(name, col, values):
    """Set column ``col`` of the table ``d/name`` to ``values`` (a value or a function of the frame)."""
    def m(d):
        p = d / name
        df = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False)
        df[col] = values(df) if callable(values) else values
        df.to_csv(p, sep="\t", index=False)
    return m


def cell(name, row, col, value):
    def m(d):
        p = d / name
        df = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False)
        df.loc[row, col] = value
        df.to_csv(p, sep="\t", index=False)
    return m


def bim_chromosomes(fn):
    def m(d):
        rows = [ln.split("\t") for ln in (d / "g.bim").read_text().splitlines()]
        for k, r in enumerate(rows):
            r[0] = fn(k)
        (d / "g.bim").write_text("\n".join("\t".join(r) for r in rows) + "\n")
    return m


def user_file_in_out(d):
    (d / "out").mkdir()
    (d / "out" / "precious.txt").write_text("mine")


# ECG records beside the three good ones
def wfdb(name="BAD", leads=LEADS, fmt="16", gain="1000/mV", n=5000, fs="500", dat=True):
    def m(d):
        e = d / "ecg"
        if dat:
            np.random.default_rng(5).normal(0, 300, (n, len(leads))).round().astype("<i2").tofile(e / f"{name}.dat")
        lines = [f"{name} {len(leads)} {fs} {n}"] + [f"{name}.dat {fmt} {gain} 16 0 0 0 0 {lead}" for lead in leads]
        (e / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return m


def then(*fns):
    def m(d):
        for fn in fns:
            fn(d)
    return m


def hea_text(fn):
    return lambda d: (d / "ecg" / "BAD.hea").write_bytes(fn((d / "ecg" / "BAD.hea").read_bytes()))


def xml(kind, name="BAD.xml", fn=None):
    """A valid CardioSoft or MUSE file of ``tests/fuzz_ecg_cases.py``, its text passed through ``fn``."""
    def m(d):
        parts = fc.write_valid(kind, d / "_x")
        t = parts["main"].read_text(encoding="latin-1")
        out = fn(t) if fn else t
        (d / "ecg" / name).write_bytes(out if isinstance(out, bytes) else out.encode("latin-1"))
        shutil.rmtree(d / "_x")
    return m


def npy(arr):
    return lambda d: np.save(d / "ecg" / "BAD.npy", arr)


def mat(values):
    """A WFDB header naming ``BAD.mat`` (no byte offset) and a MATLAB file of ``values``."""
    def m(d):
        from scipy.io import savemat

        wfdb(dat=False)(d)
        p = d / "ecg" / "BAD.hea"
        p.write_text(p.read_text().replace("BAD.dat", "BAD.mat"))
        savemat(d / "ecg" / "BAD.mat", {"val": values})
    return m


def _muse_wave(fn, count=1):
    return lambda t: re.sub(r"<WaveFormData>([^<]*)", lambda m: "<WaveFormData>" + fn(m.group(1)), t, count=count)


_RNG = np.random.default_rng(0)
_SIG = _RNG.normal(0, 300, (12, 5000))
_SIG_INF = _SIG.copy()
_SIG_INF[3, 100] = np.inf

ECG = [  # (name, mutation): extract over the three good records and this one
    ("WFDB: .dat missing", wfdb(dat=False)),
    ("WFDB: .dat truncated", then(wfdb(), raw("ecg/BAD.dat", lambda b: b[:1000]))),
    ("WFDB: 0 samples", wfdb(n=0)),
    ("WFDB: 1 lead", wfdb(leads=("II",))),
    ("WFDB: 15 leads", wfdb(leads=LEADS + ("X", "Y", "Z"))),
    ("WFDB: lead aVR twice", wfdb(leads=LEADS[:3] + ("aVR", "aVR") + LEADS[5:])),
    ("WFDB: leads upper-case (AVR)", wfdb(leads=tuple(s.upper() for s in LEADS))),
    ("WFDB: leads lower-case (i, avr)", wfdb(leads=tuple(s.lower() for s in LEADS))),
    ("WFDB: lead name 'I ' (blank)", then(wfdb(), hea_text(lambda b: b.replace(b" I\n", b" I \n")))),
    ("WFDB: gain 0 (uncalibrated)", wfdb(gain="0/mV")),
    ("WFDB: gain 0, format 212", wfdb(gain="0/mV", fmt="212")),
    ("WFDB: gain -200", wfdb(gain="-200/mV")),
    ("WFDB: gain nan", wfdb(gain="nan/mV")),
    ("WFDB: gain 1e-320", wfdb(gain="1e-320/mV")),
    ("WFDB: format 999", wfdb(fmt="999")),
    ("WFDB: format 8 over format-16 bytes", wfdb(fmt="8")),
    ("WFDB: format 32 (file too short)", wfdb(fmt="32")),
    ("WFDB: record line says 15 signals, 12 lines", then(wfdb(), hea_text(lambda b: b.replace(b"BAD 12 ", b"BAD 15 ", 1)))),
    ("WFDB: record line says 3 signals, 12 lines", then(wfdb(), hea_text(lambda b: b.replace(b"BAD 12 ", b"BAD 3 ", 1)))),
    ("WFDB: empty .hea", write("ecg/BAD.hea", "")),
    ("WFDB: binary .hea", write("ecg/BAD.hea", bytes(range(256)) * 4)),
    ("WFDB: UTF-16 .hea", then(wfdb(), hea_text(lambda b: b.decode().encode("utf-16")))),
    ("WFDB: BOM .hea", then(wfdb(), hea_text(lambda b: b"\xef\xbb\xbf" + b))),
    ("WFDB: CRLF .hea", then(wfdb(), hea_text(lambda b: b.replace(b"\n", b"\r\n")))),
    ("WFDB: fs 1e300", wfdb(fs="1e300")),
    ("WFDB: fs 1e-300", wfdb(fs="1e-300")),
    ("WFDB: fs 1", wfdb(fs="1")),
    ("WFDB: fs 1e6", wfdb(fs="1000000")),
    ("WFDB: 1 s long", wfdb(n=500)),
    ("WFDB: ADC zero 1e20", then(wfdb(), hea_text(lambda b: b.replace(b" 16 0 0 0 0 ", b" 16 99999999999999999999 0 0 0 ")))),
    ("WFDB: units furlong", wfdb(gain="1000/furlong")),
    ("WFDB: byte offset past the end", then(wfdb(), hea_text(lambda b: b.replace(b"BAD.dat 16", b"BAD.dat 16+99999999")))),
    ("WFDB: .dat is a folder", then(wfdb(dat=False), lambda d: (d / "ecg" / "BAD.dat").mkdir())),
    ("WFDB: .dat symlink loop", then(wfdb(dat=False), lambda d: os.symlink(d / "ecg" / "BAD.dat", d / "ecg" / "BAD.dat"))),
    ("folder symlink loop", lambda d: (d / "ecg" / "sub").mkdir() or os.symlink(d / "ecg" / "sub", d / "ecg" / "sub" / "loop")),
    ("folder links to itself", lambda d: os.symlink(d / "ecg", d / "ecg" / "self")),
    ("dangling .hea symlink", lambda d: os.symlink(d / "ecg" / "nothere.hea", d / "ecg" / "BAD.hea")),
    ("file name with spaces", wfdb(name="B A D")),
    ("file name unicode", wfdb(name="BÄD_é心")),
    ("file name with a newline", wfdb(name="BAD\nX")),
    ("two records named R0 (subfolder)", lambda d: (d / "ecg" / "sub").mkdir() or tb._write_wfdb(d / "ecg" / "sub", "R0", seed=9)),
    ("Georgia record line (BAD.mat 12 500 5000 date)", then(wfdb(), hea_text(lambda b: b.replace(b"BAD 12 500 5000", b"BAD.mat 12 500 5000 05-Feb-2020 11:39:16", 1)))),
    (".mat of NaN (header without +24 offset)", mat(np.full((12, 5000), np.nan))),
    (".mat with inf (header without +24 offset)", mat(_SIG_INF)),
    (".npy NaN, no rate", npy(np.full((12, 5000), np.nan))),
    (".npy 1-D", npy(np.zeros(5000))),
    (".npy 3-D", npy(np.zeros((2, 12, 5000)))),
    (".npy 15 x 5000", npy(_RNG.normal(size=(15, 5000)))),
    (".npy strings", npy(np.array([["a"] * 50] * 12))),
    (".npy complex", npy(np.zeros((12, 50), complex))),
    (".npy bool", npy(np.zeros((12, 50), bool))),
    (".npy header claims 1e14 samples", write("ecg/BAD.npy", b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f8', 'fortran_order': False, 'shape': (12, 99999999999999), }" + b" " * 100)),
    (".npz no arrays", lambda d: np.savez(d / "ecg" / "BAD.npz")),
    (".npz object array", lambda d: np.savez(d / "ecg" / "BAD.npz", signal=np.array([{"a": 1}], dtype=object))),
    ("CardioSoft: valid", xml("cardiosoft", "1000009_20205_2_0.xml")),
    ("CardioSoft: lead V3 missing", xml("cardiosoft", fn=lambda t: re.sub(r'<WaveformData lead="V3">.*?</WaveformData>\n', "", t))),
    ("CardioSoft: lead V2 twice", xml("cardiosoft", fn=lambda t: t.replace('lead="V3"', 'lead="V2"'))),
    ("CardioSoft: V3 half as long", xml("cardiosoft", fn=lambda t: re.sub(r'(<WaveformData lead="V3">)([^<]*)', lambda m: m.group(1) + ",".join(m.group(2).split(",")[:2500]), t))),
    ("CardioSoft: empty waveforms", xml("cardiosoft", fn=lambda t: re.sub(r'(<WaveformData lead="[^"]*">)[^<]*', r"\1", t))),
    ("CardioSoft: rate 0", xml("cardiosoft", fn=lambda t: t.replace('units="Hz">500<', 'units="Hz">0<'))),
    ("CardioSoft: rate 'fast'", xml("cardiosoft", fn=lambda t: t.replace('units="Hz">500<', 'units="Hz">fast<'))),
    ("CardioSoft: no rate", xml("cardiosoft", fn=lambda t: re.sub(r"<SampleRate[^<]*</SampleRate>", "", t))),
    ("CardioSoft: rate 250 (wrong, undetectable)", xml("cardiosoft", fn=lambda t: t.replace('units="Hz">500<', 'units="Hz">250<'))),
    ("CardioSoft: resolution 0", xml("cardiosoft", fn=lambda t: t.replace('uVperLsb">5<', 'uVperLsb">0<'))),
    ("CardioSoft: a word among samples", xml("cardiosoft", fn=lambda t: t.replace('<WaveformData lead="I">', '<WaveformData lead="I">x,'))),
    ("CardioSoft: nan/inf samples", xml("cardiosoft", fn=lambda t: t.replace('<WaveformData lead="I">', '<WaveformData lead="I">nan,inf,'))),
    ("CardioSoft: BOM", xml("cardiosoft", fn=lambda t: b"\xef\xbb\xbf" + t.encode("latin-1"))),
    ("CardioSoft: UTF-16 (declared)", xml("cardiosoft", fn=lambda t: t.replace("ISO-8859-1", "UTF-16").encode("utf-16"))),
    ("CardioSoft: UTF-16 (declared ISO-8859-1)", xml("cardiosoft", fn=lambda t: t.encode("utf-16"))),
    ("CardioSoft: truncated", xml("cardiosoft", fn=lambda t: t.encode("latin-1")[:5000])),
    ("CardioSoft: entity expansion bomb", xml("cardiosoft", fn=lambda t: t.replace("<CardiologyXML>", '<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi")) + ']>\n<CardiologyXML><Note>&i;</Note>', 1))),
    ("XML of another kind", write("ecg/BAD.xml", "<?xml version='1.0'?><foo><bar/></foo>")),
    ("XML empty file", write("ecg/BAD.xml", "")),
    ("MUSE: lead V3 missing", xml("muse", fn=lambda t: re.sub(r"<LeadData>(?:(?!</LeadData>).)*<LeadID>V3</LeadID>.*?</LeadData>\n", "", t, flags=re.S))),
    ("MUSE: base64 garbage", xml("muse", fn=_muse_wave(lambda s: "!!!not base64@@@"))),
    ("MUSE: odd byte count", xml("muse", fn=_muse_wave(lambda s: base64.b64encode(base64.b64decode(s)[:-1]).decode()))),
    ("MUSE: rate 0", xml("muse", fn=lambda t: t.replace("<SampleBase>500<", "<SampleBase>0<"))),
    ("MUSE: rate 250 (wrong, undetectable)", xml("muse", fn=lambda t: t.replace("<SampleBase>500<", "<SampleBase>250<"))),
    ("MUSE: no rate", xml("muse", fn=lambda t: t.replace("<SampleBase>500</SampleBase>", ""))),
    ("MUSE: empty waveforms", xml("muse", fn=_muse_wave(lambda s: "", count=0))),
    ("MUSE: lead I half as long", xml("muse", fn=_muse_wave(lambda s: base64.b64encode(base64.b64decode(s)[:5000]).decode()))),
    ("MUSE: lead V2 twice", xml("muse", fn=lambda t: t.replace("<LeadID>V3</LeadID>", "<LeadID>V2</LeadID>"))),
    ("MUSE: units per bit 0", xml("muse", fn=lambda t: t.replace("<LeadAmplitudeUnitsPerBit>4.88<", "<LeadAmplitudeUnitsPerBit>0<"))),
    ("MUSE: 3-byte samples", xml("muse", fn=lambda t: t.replace("<LeadSampleSize>2<", "<LeadSampleSize>3<"))),
    ("MUSE: count 99999999", xml("muse", fn=lambda t: t.replace("<LeadSampleCountTotal>5000<", "<LeadSampleCountTotal>99999999<", 1))),
    ("MUSE: BOM", xml("muse", fn=lambda t: b"\xef\xbb\xbf" + t.encode("latin-1"))),
    ("MUSE: UTF-16 (declared)", xml("muse", fn=lambda t: t.replace("ISO-8859-1", "UTF-16").encode("utf-16"))),
    ("MUSE: units FURLONGS", xml("muse", fn=lambda t: t.replace("MICROVOLTS", "FURLONGS"))),
    ("MUSE: only a Median waveform", xml("muse", fn=lambda t: t.replace("<WaveformType>Rhythm</WaveformType>", "<WaveformType>Median</WaveformType>"))),
    ("five records without .dat", then(*[wfdb(name=f"BAD{k}", dat=False) for k in range(5)])),
]


def _header_fid(t):
    lines = t.splitlines()
    return "\n".join(["FID\t" + lines[0]] + [ln.split("\t")[0] + "\t" + ln for ln in lines[1:]]) + "\n"


def _pheno_missing_codes(df):
    return ["-9", "-9", "-9"] + list(df["qt"][3:])


def _dup_bim_id(d):
    rows = [ln.split("\t") for ln in (d / "g.bim").read_text().splitlines()]
    rows[5][1] = "rs5"
    (d / "g.bim").write_text("\n".join("\t".join(r) for r in rows) + "\n")


def _set_first(name, col, values):
    def m(d):
        p = d / name
        df = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False)
        df.loc[:len(values) - 1, col] = list(values)
        df.to_csv(p, sep="\t", index=False)
    return m


#: out-of-range, non-finite and contradictory option values, on otherwise valid inputs: (command, arguments)
OPTIONS = [(clump, "--r2 1.5"), (clump, "--kb -5"), (clump, "--kb nan"), (clump, "--kb inf"), (clump, "--p1 2"),
           (clump, "--p1 nan"), (gwas, "--maf 0.6"), (gwas, "--remove-related --kinship 2"),
           (gwas, "--remove-related --kinship -1"), (gwas, "--remove-related --kinship nan"), (gwas, "--hwe 2"),
           (gwas, "--vcf {d}/none.vcf"), (gwas, "--pheno-cols qt --pheno-prefix h"), (gwas, "--categorical nope"),
           (annotate, "--window-kb -1"), (annotate, "--window-kb nan"), (annotate, "--ld-r2 2"),
           (annotate, "--traits QT"), (mr, "--methods mr_banana"), (mr, "--proxies"), (pca, "--k 500")]


COMMANDS = [  # (group, name, command, mutation): exit 0 or a one-line error expected, never a traceback
    # genotypes (PLINK 1)
    ("genotypes", ".bim chromosome chr1 (gwas)", gwas, bim_chromosomes(lambda k: "chr1")),
    ("genotypes", ".bim chromosome 23 (gwas)", gwas, bim_chromosomes(lambda k: "23")),
    ("genotypes", ".bim chromosome MT (gwas)", gwas, bim_chromosomes(lambda k: "MT")),
    ("genotypes", ".bim chromosome chrUn (gwas)", gwas, bim_chromosomes(lambda k: "chrUn")),
    ("genotypes", ".bim chromosome chrUn (clump)", clump, bim_chromosomes(lambda k: "chrUn")),
    ("genotypes", ".bim chr1 and 1 alternating (clump)", clump, bim_chromosomes(lambda k: "chr1" if k % 2 else "1")),
    ("genotypes", ".bim chromosomes 1, 2, then 1 again (gwas)", gwas, bim_chromosomes(lambda k: "2" if 20 <= k < 40 else "1")),
    ("genotypes", ".bim chromosome 23 then X (gwas)", gwas, bim_chromosomes(lambda k: "23" if k < 30 else "X")),
    ("genotypes", ".bim chromosome MT then 26 (gwas)", gwas, bim_chromosomes(lambda k: "MT" if k < 30 else "26")),
    ("genotypes", ".bim chromosome 1 then 01 (gwas)", gwas, bim_chromosomes(lambda k: "1" if k < 30 else "01")),
    ("genotypes", ".bim duplicate variant id (gwas)", gwas, _dup_bim_id),
    ("genotypes", ".bim duplicate variant id (clump)", clump, _dup_bim_id),
    ("genotypes", ".bim duplicate variant id (pca)", pca, _dup_bim_id),
    ("genotypes", ".bim negative position (gwas)", gwas, text("g.bim", lambda t: t.replace("\t4000\t", "\t-4000\t"))),
    ("genotypes", ".bim/.fam CRLF (gwas)", gwas, then(raw("g.bim", lambda b: b.replace(b"\n", b"\r\n")), raw("g.fam", lambda b: b.replace(b"\n", b"\r\n")))),
    ("genotypes", ".bim empty (gwas)", gwas, write("g.bim", "")),
    ("genotypes", ".fam empty (gwas)", gwas, write("g.fam", "")),
    ("genotypes", ".bed empty (gwas)", gwas, write("g.bed", "")),
    ("genotypes", ".bed 100 bytes too long (gwas)", gwas, raw("g.bed", lambda b: b + b"\0" * 100)),
    ("genotypes", ".bim lower-case alleles (gwas)", gwas, text("g.bim", lambda t: t.replace("\tA\tG", "\ta\tg"))),
    ("genotypes", ".fam missing (gwas)", gwas, lambda d: (d / "g.fam").unlink()),
    ("genotypes", ".bed is a folder (gwas)", gwas, lambda d: (d / "g.bed").unlink() or (d / "g.bed").mkdir()),
    # tables
    ("tables", "pheno: BOM", gwas, raw("pheno.tsv", lambda b: b"\xef\xbb\xbf" + b)),
    ("tables", "pheno: CRLF", gwas, raw("pheno.tsv", lambda b: b.replace(b"\n", b"\r\n"))),
    ("tables", "pheno: UTF-16", gwas, raw("pheno.tsv", lambda b: b.decode().encode("utf-16"))),
    ("tables", "pheno: FID IID header", gwas, text("pheno.tsv", _header_fid)),
    ("tables", "pheno: #FID IID header (plink)", gwas, text("pheno.tsv", lambda t: _header_fid(t).replace("FID", "#FID", 1))),
    ("tables", "pheno: IID column named ID", gwas, text("pheno.tsv", lambda t: t.replace("IID", "ID", 1))),
    ("tables", "pheno: no header line", gwas, text("pheno.tsv", lambda t: t.split("\n", 1)[1])),
    ("tables", "pheno: -9 (PLINK missing code) in 3 rows", gwas, column("pheno.tsv", "qt", _pheno_missing_codes)),
    ("tables", "pheno: 'nan', '', 'NaN', 'NA', '.'", gwas, _set_first("pheno.tsv", "qt", ["nan", "", "NaN", "NA", "."])),
    ("tables", "pheno: empty file", gwas, write("pheno.tsv", "")),
    ("tables", "pheno: header only", gwas, write("pheno.tsv", "IID\tqt\thr\n")),
    ("tables", "pheno: named .gz, not gzip", lambda d, o: [*tb.gwas(d, o)[:4], d / "pheno.tsv.gz", *tb.gwas(d, o)[5:]], lambda d: shutil.copy(d / "pheno.tsv", d / "pheno.tsv.gz")),
    ("tables", "pheno: a row twice", gwas, text("pheno.tsv", lambda t: t + t.splitlines()[3] + "\n")),
    ("tables", "pheno: no IID shared with the .fam", gwas, text("pheno.tsv", lambda t: t.replace("S0", "X0"))),
    ("tables", "pheno: IID column only", gwas, text("pheno.tsv", lambda t: "\n".join(ln.split("\t")[0] for ln in t.splitlines()) + "\n")),
    ("tables", "pheno: column name twice", gwas, text("pheno.tsv", lambda t: t.replace("hr", "qt", 1))),
    ("tables", "pheno: a short row", gwas, text("pheno.tsv", lambda t: t + "S9999\t1\n")),
    ("tables", "pheno: 1e400", gwas, _set_first("pheno.tsv", "qt", ["1e400"])),
    ("tables", "pheno: binary bytes", gwas, write("pheno.tsv", bytes(range(256)) * 10)),
    ("tables", "covar: all-missing column", gwas, column("covar.tsv", "age", "NA")),
    ("tables", "covar: 50-level text column", gwas, column("covar.tsv", "age", lambda df: [f"x{i % 50}" for i in range(len(df))])),
    ("tables", "covar: BOM + CRLF", gwas, raw("covar.tsv", lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n"))),
    ("tables", "covar: header only", gwas, write("covar.tsv", "IID\tage\tsex\n")),
    ("tables", "--keep: empty file", with_args(gwas, "--keep", "{d}/keep.txt"), write("keep.txt", "")),
    ("tables", "--keep: header only", with_args(gwas, "--keep", "{d}/keep.txt"), write("keep.txt", "IID\n")),
    ("tables", "--keep: BOM + CRLF, 60 ids", with_args(gwas, "--keep", "{d}/keep.txt"), write("keep.txt", "\ufeff" + "".join(f"S{i:04d}\r\n" for i in range(60)))),
    ("tables", "--keep: FID IID without header", with_args(gwas, "--keep", "{d}/keep.txt"), write("keep.txt", "".join(f"S{i:04d} S{i:04d}\n" for i in range(60)))),
    ("tables", "--remove: everyone", with_args(gwas, "--remove", "{d}/rm.txt"), write("rm.txt", "".join(f"S{i:04d}\n" for i in range(120)))),
    ("tables", "--extract: empty", with_args(gwas, "--extract", "{d}/ex.txt"), write("ex.txt", "")),
    ("tables", "--extract: no id matches", with_args(gwas, "--extract", "{d}/ex.txt"), write("ex.txt", "rsNOPE\n")),
    ("tables", "--extract: gzip", with_args(gwas, "--extract", "{d}/ex.txt.gz"), write("ex.txt.gz", gzip.compress("".join(f"rs{i}\n" for i in range(1, 61)).encode()))),
    ("tables", "--extract: BOM, ids rs1..rs60", with_args(gwas, "--extract", "{d}/ex.txt"), write("ex.txt", "\ufeff" + "".join(f"rs{i}\n" for i in range(1, 61)))),
    ("tables", "--extract: binary bytes", with_args(gwas, "--extract", "{d}/ex.txt"), write("ex.txt", bytes(range(256)))),
    ("tables", "--chr 1-banana", with_args(gwas, "--chr", "1-banana"), nothing),
    ("tables", "--chr 22-1", with_args(gwas, "--chr", "22-1"), nothing),
    ("sumstats", "p = 0 (clump)", clump, _set_first("ss/qt.tsv.gz", "p_value", ["0"])),
    ("sumstats", "p = -0.1 (clump)", clump, _set_first("ss/qt.tsv.gz", "p_value", ["-0.1"])),
    ("sumstats", "every p NA (clump)", clump, column("ss/qt.tsv.gz", "p_value", "NA")),
    ("sumstats", "variant id twice (clump)", clump, _set_first("ss/qt.tsv.gz", "variant_id", ["rs2"])),
    ("sumstats", "gzip of nothing (clump)", clump, lambda d: (d / "ss" / "qt.tsv.gz").write_bytes(gzip.compress(b""))),
    ("sumstats", "header only (clump)", clump, text("ss/qt.tsv.gz", lambda t: t.splitlines()[0] + "\n")),
    ("sumstats", ".gz that is not gzip (clump)", clump, write("ss/qt.tsv.gz", "hello\tworld\n")),
    ("sumstats", "gzip cut in half (clump)", clump, raw("ss/qt.tsv.gz", lambda b: b[:len(b) // 2])),
    ("sumstats", "BOM + CRLF (clump)", clump, lambda d: (d / "ss" / "qt.tsv.gz").write_bytes(gzip.compress(b"\xef\xbb\xbf" + gzip.decompress((d / "ss" / "qt.tsv.gz").read_bytes()).replace(b"\n", b"\r\n")))),
    ("sumstats", "p = 0 (mr exposure)", mr, column("exposure.tsv", "p_value", "0")),
    ("sumstats", "lower-case alleles (mr exposure)", mr, then(column("exposure.tsv", "effect_allele", "a"), column("exposure.tsv", "other_allele", "g"))),
    ("sumstats", "allele 'X' (mr exposure)", mr, _set_first("exposure.tsv", "effect_allele", ["X"])),
    ("sumstats", "alleles A/A (mr exposure)", mr, _set_first("exposure.tsv", "other_allele", ["A"])),
    ("sumstats", "rsID twice (mr exposure)", mr, _set_first("exposure.tsv", "variant_id", ["rs101"])),
    ("sumstats", "empty file (mr exposure)", mr, write("exposure.tsv", "")),
    ("sumstats", "header only (mr exposure)", mr, text("exposure.tsv", lambda t: t.splitlines()[0] + "\n")),
    ("sumstats", "every SE NA (mr exposure)", mr, column("exposure.tsv", "standard_error", "NA")),
    ("sumstats", "n = -5 (mr exposure)", mr, column("exposure.tsv", "n", "-5")),
    ("sumstats", "no variant shared (mr)", mr, column("outcome.tsv", "variant_id", lambda df: [f"rsZ{i}" for i in range(len(df))])),
    ("sumstats", "loci: header only (annotate)", annotate, write("loci.tsv", "variant_id\tchromosome\tbase_pair_location\tp_value\n")),
    ("sumstats", "loci: position -5 (annotate)", annotate, column("loci.tsv", "base_pair_location", "-5")),
    ("sumstats", "catalog: BOM + CRLF (annotate)", annotate, raw("catalog.tsv", lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n"))),
    ("sumstats", "catalog: binary bytes (annotate)", annotate, write("catalog.tsv", bytes(range(256)) * 100)),
    ("output", "gwas --out is a file", gwas, write("out", "a file")),
    ("output", "gwas --out holds a user file", gwas, user_file_in_out),
    ("output", "gwas --out holds a user file, --force", with_args(gwas, "--force"), user_file_in_out),
    ("output", "clump --out holds a user file, --force", with_args(clump, "--force"), user_file_in_out),
    ("output", "mr --out holds a user file, --force", with_args(mr, "--force"), user_file_in_out),
    ("output", "pca --out holds a user file, --force", with_args(pca, "--force"), user_file_in_out),
    ("output", "extract --out is a user file", lambda d, o: extract(d, o)[:-3] + [d / "pheno.tsv", "-q"], nothing),
    ("output", "extract --out is a user file, --force", lambda d, o: extract(d, o)[:-3] + [d / "pheno.tsv", "-q", "--force"], nothing),
    ("output", "annotate --out = --catalog", lambda d, o: [*tb.annotate(d, o)[:-1], d / "catalog.tsv"], nothing),
    # other commands
    ("commands", "interpret: a word in an EDF column", lambda d, o: ["interpret", "--edf", d / "edf.tsv", "--biomarkers", d / "pheno.tsv", "--out", o],
     lambda d: pd.DataFrame({"IID": [f"S{i:04d}" for i in range(40)], "edf_001": ["abc"] + ["0.5"] * 39}).to_csv(d / "edf.tsv", sep="\t", index=False)),
    ("commands", "interpret: --biomarkers and --measure-from", lambda d, o: ["interpret", "--edf", d / "pheno.tsv", "--biomarkers", d / "pheno.tsv", "--measure-from", d / "ecg", "--out", o], nothing),
    ("commands", "run: TOML syntax error", lambda d, o: ["run", "--config", d / "bad.toml"], write("bad.toml", "[gwas\nmaf = ")),
    ("commands", "run: binary TOML", lambda d, o: ["run", "--config", d / "bad.toml"], write("bad.toml", b"\xff\xfe\x00garbage")),
    ("commands", "model info: a .tsv as checkpoint", lambda d, o: ["model", "info", "--checkpoint", d / "pheno.tsv"], nothing),
    ("commands", "mr --columns without KEY=", with_args(mr, "--columns", "snp=nope,beta"), nothing),
    ("commands", "clump --sumstats a .bed file", lambda d, o: ["clump", "--sumstats", d / "g.bed", "--bfile", d / "g", "--out", o], nothing),
    ("commands", "annotate --genes a phenotype table", with_args(annotate, "--genes", "{d}/pheno.tsv"), nothing),
    ("commands", "gwas --binary on a quantitative trait", with_args(gwas, "--binary"), nothing),
    ("commands", "simulate --n 3", lambda d, o: ["simulate", "--out", o, "--n", "3", "--no-ecg"], nothing),
]


def _vcf_rows(fn, k=1):
    """Apply ``fn`` to the k-th data row of v.vcf."""
    def m(d):
        lines = (d / "v.vcf").read_text().split("\n")
        i = next(j for j, ln in enumerate(lines) if ln and not ln.startswith("#")) + k
        lines[i] = fn(lines[i])
        (d / "v.vcf").write_text("\n".join(lines))
    return m


def _alt(new):
    return lambda ln: re.sub(r"^(\S+\t\S+\t\S+\t\S+\t)(\S+)", lambda m: m.group(1) + new(m.group(2)), ln)


_vcf, _vcf_gt = geno_gwas("--vcf", "v.vcf"), geno_gwas("--vcf", "v.vcf", "--vcf-field", "GT")
_bgen8 = geno_gwas("--bgen", "g8.bgen", "--sample", "g8.sample")
_bgen16 = geno_gwas("--bgen", "g16.bgen", "--sample", "g16.sample")
_pgen = geno_gwas("--pfile", "p")

GENOTYPE_FORMATS = [  # (name, command, mutation) on the plink2 --dummy fixture
    ("VCF: valid", _vcf, nothing),
    ("VCF: only DS, GT asked", _vcf_gt, text("v.vcf", lambda t: re.sub(r"\tGT:DS", "\tDS", re.sub(r"\t[^\t\n:]+:([^\t\n]+)", r"\t\1", t)))),
    ("VCF: multi-allelic row", _vcf, _vcf_rows(_alt(lambda a: a + ",A"), 2)),
    ("VCF: allele index 2 in a biallelic row", _vcf_gt, _vcf_rows(lambda ln: ln.replace("0/1:", "0/2:", 1), 2)),
    ("VCF: triploid GT", _vcf_gt, _vcf_rows(lambda ln: ln.replace("0/1:", "0/1/1:", 1))),
    ("VCF: GT x/y", _vcf_gt, _vcf_rows(lambda ln: ln.replace("0/1:", "x/y:", 1))),
    ("VCF: DS 'abc'", _vcf, _vcf_rows(lambda ln: re.sub(r":([0-9.]+)\t", ":abc\t", ln, count=1))),
    ("VCF: DS 3.5", _vcf, _vcf_rows(lambda ln: re.sub(r":([0-9.]+)\t", ":3.5\t", ln, count=1))),
    ("VCF: chromosome chr1", _vcf, text("v.vcf", lambda t: re.sub(r"(?m)^1\t", "chr1\t", t))),
    ("VCF: chromosome chrUn", _vcf, text("v.vcf", lambda t: re.sub(r"(?m)^1\t", "chrUn\t", t))),
    ("VCF: sample id twice", _vcf, text("v.vcf", lambda t: t.replace("\tper1\t", "\tper0\t", 1))),
    ("VCF: no variant rows", _vcf, text("v.vcf", lambda t: "\n".join(ln for ln in t.split("\n") if ln.startswith("#")) + "\n")),
    ("VCF: no header", _vcf, text("v.vcf", lambda t: "\n".join(ln for ln in t.split("\n") if not ln.startswith("#")))),
    ("VCF: CRLF", _vcf, text("v.vcf", lambda t: t.replace("\n", "\r\n"))),
    ("VCF: lower-case REF/ALT", _vcf, _vcf_rows(lambda ln: re.sub(r"^(\S+\t\S+\t\S+\t)(\S+)\t(\S+)", lambda m: m.group(1) + m.group(2).lower() + "\t" + m.group(3).lower(), ln))),
    ("VCF: ALT <DEL>", _vcf, _vcf_rows(_alt(lambda a: "<DEL>"))),
    ("VCF: plain gzip, not BGZF", geno_gwas("--vcf", "v.vcf.gz"), lambda d: (d / "v.vcf.gz").write_bytes(gzip.compress((d / "v.vcf").read_bytes()))),
    ("BGEN: valid", _bgen8, nothing),
    ("BGEN 8-bit without ids, no .sample", geno_gwas("--bgen", "g8.bgen"), nothing),
    ("BGEN 16-bit with ids, no .sample", geno_gwas("--bgen", "g16.bgen"), nothing),
    (".sample: a row short", _bgen8, text("g8.sample", lambda t: "\n".join(t.split("\n")[:-2]) + "\n")),
    (".sample: a row extra", _bgen8, text("g8.sample", lambda t: t + "0 perX 0 1 1\n")),
    (".sample: no type line", _bgen8, text("g8.sample", lambda t: "\n".join(ln for i, ln in enumerate(t.split("\n")) if i != 1))),
    (".sample: id twice", _bgen8, text("g8.sample", lambda t: t.replace("0 per1 ", "0 per0 ", 1))),
    (".sample: empty", _bgen8, write("g8.sample", "")),
    (".sample: every id renamed", _bgen8, text("g8.sample", lambda t: t.replace(" per", " zzz"))),
    (".sample: two of the BGEN's ids swapped", _bgen16, text("g16.sample", lambda t: t.replace("per1 ", "TMP ", 1).replace("per2 ", "per1 ", 1).replace("TMP ", "per2 ", 1))),
    ("BGEN: truncated", _bgen8, raw("g8.bgen", lambda b: b[:3000])),
    ("BGEN: header bytes overwritten", _bgen8, raw("g8.bgen", lambda b: b[:4] + b"XXXX" + b[8:])),
    ("PGEN: valid", _pgen, nothing),
    ("PGEN: .psam missing", _pgen, lambda d: (d / "p.psam").unlink()),
    ("PGEN: .pvar id twice", _pgen, text("p.pvar", lambda t: t.replace("snp1\t", "snp0\t", 1))),
    ("PGEN: .psam IID twice", _pgen, text("p.psam", lambda t: t.replace("per1\t", "per0\t", 1))),
    ("PGEN: .pvar a row short", _pgen, text("p.pvar", lambda t: "\n".join(t.split("\n")[:-2]) + "\n")),
    ("PGEN: .psam a row short", _pgen, text("p.psam", lambda t: "\n".join(t.split("\n")[:-2]) + "\n")),
]

COMMANDS += [("options", f"{cmd.__name__} {args}", with_args(cmd, *args.split()), nothing) for cmd, args in OPTIONS]
