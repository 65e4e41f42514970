"""The fuzz harness of the table readers (issue 19 item 7), shared by ``tests/test_fuzz_tables.py`` and
``benchmarks/fuzz_tables.py``.

For each reader a small valid seed file is mutated by hypothesis (fixed derandomised seeds):
truncation at a random byte offset, byte flips, a field deleted or duplicated on a random line, a
number replaced by an extreme one. The rule checked on every case (issue 19): the reader either

* raises an :class:`~edfgen.exceptions.EdfgenError` whose message is one line (``error``), or
* returns a result that holds every data row of the mutated file, from a file whose rows all have the
  header's number of fields (``used``),

and nothing else: another exception is a ``crash`` (a traceback at the command line), a result with
fewer rows than the file holds, a result from a file with a short or long row, or a result from a file
that cannot be whole (a gzip stream that does
not decode, a BGZF file without its end-of-file block) is a ``silent_drop``.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edfgen.exceptions import EdfgenError
from edfgen.formats.bgzf import EOF_BLOCK, BgzfWriter

EXTREMES = ("1e308", "-1e308", "1e-320", "1e999", "-1e999", "inf", "-inf", "nan", "NaN", "-0",
            "99999999999999999999999999", "-99999999999999999999", "0x1p3", "1_000", "", "NA", "9" * 400)
KINDS = ("truncate", "flip", "delete_field", "duplicate_field", "extreme_number", "duplicate_line")
N_ROWS = 30


def _bgzf(data: bytes) -> bytes:
    buf = io.BytesIO()
    w = BgzfWriter(buf)
    w.write(data)
    w.close()
    return buf.getvalue()


def _sumstats_rows(rng: np.random.Generator, n: int = N_ROWS):
    for i in range(n):
        a, b = rng.choice(list("ACGT"), 2, replace=False)
        yield dict(chrom=str(1 + i // 10), pos=1000 + 37 * i, id=f"rs{100 + i}", ea=a, oa=b,
                   beta=f"{rng.normal(0, 0.1):.5g}", se=f"{rng.uniform(0.01, 0.1):.4g}",
                   p=f"{rng.uniform(1e-12, 1):.4g}", af=f"{rng.uniform(0.05, 0.95):.3f}", n="1000")


def _table(header: list[str], rows: list[list[str]], sep: str = "\t") -> bytes:
    return ("\n".join(sep.join(r) for r in [header, *rows]) + "\n").encode()


def _ssf(r):
    return [r["chrom"], str(r["pos"]), r["ea"], r["oa"], r["beta"], r["se"], r["af"], r["p"], r["id"], r["n"]]


SEEDS: dict[str, Callable[[np.random.Generator], tuple[str, bytes, str]]] = {
    # name -> (file name, content, compression: "" | "gzip" | "bgzf")
    "GWAS-SSF": lambda g: ("trait.tsv.gz", _bgzf(_table(
        ["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
         "effect_allele_frequency", "p_value", "variant_id", "n"], [_ssf(r) for r in _sumstats_rows(g)])), "bgzf"),
    "plink2": lambda g: ("trait.glm.linear", _table(
        ["#CHROM", "POS", "ID", "REF", "ALT", "A1", "TEST", "OBS_CT", "BETA", "SE", "P"],
        [[r["chrom"], str(r["pos"]), r["id"], r["oa"], r["ea"], r["ea"], "ADD", r["n"], r["beta"], r["se"], r["p"]]
         for r in _sumstats_rows(g)]), ""),
    "REGENIE": lambda g: ("trait.regenie", _table(
        ["CHROM", "GENPOS", "ID", "ALLELE0", "ALLELE1", "A1FREQ", "N", "TEST", "BETA", "SE", "LOG10P"],
        [[r["chrom"], str(r["pos"]), r["id"], r["oa"], r["ea"], r["af"], r["n"], "ADD", r["beta"], r["se"],
          f"{-np.log10(float(r['p'])):.4g}"] for r in _sumstats_rows(g)], sep=" "), ""),
    "SAIGE": lambda g: ("trait.saige.txt", _table(
        ["CHR", "POS", "MarkerID", "Allele1", "Allele2", "AF_Allele2", "N", "BETA", "SE", "p.value"],
        [[r["chrom"], str(r["pos"]), r["id"], r["oa"], r["ea"], r["af"], r["n"], r["beta"], r["se"], r["p"]]
         for r in _sumstats_rows(g)]), ""),
    "BOLT-LMM": lambda g: ("trait.stats", _table(
        ["SNP", "CHR", "BP", "GENPOS", "ALLELE1", "ALLELE0", "A1FREQ", "BETA", "SE", "P_BOLT_LMM"],
        [[r["id"], r["chrom"], str(r["pos"]), "0", r["ea"], r["oa"], r["af"], r["beta"], r["se"], r["p"]]
         for r in _sumstats_rows(g)]), ""),
    "FinnGen": lambda g: ("finngen_R10_trait.tsv.gz", gzip.compress(_table(
        ["#chrom", "pos", "ref", "alt", "rsids", "pval", "mlogp", "beta", "sebeta", "af_alt"],
        [[r["chrom"], str(r["pos"]), r["oa"], r["ea"], r["id"], r["p"], f"{-np.log10(float(r['p'])):.4g}",
          r["beta"], r["se"], r["af"]] for r in _sumstats_rows(g)]), mtime=0), "gzip"),
    "GWAS-VCF": lambda g: ("ieu-a-2.vcf.gz", gzip.compress(
        b"##fileformat=VCFv4.2\n##FORMAT=<ID=ES,Number=A,Type=Float,Description=\"Effect size\">\n" + _table(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", "IEU-a-2"],
            [[r["chrom"], str(r["pos"]), r["id"], r["oa"], r["ea"], ".", "PASS", ".", "ES:SE:LP:AF:SS",
              f"{r['beta']}:{r['se']}:{-np.log10(float(r['p'])):.6g}:{r['af']}:{r['n']}"] for r in _sumstats_rows(g)]),
        mtime=0), "gzip"),
    "TwoSampleMR": lambda g: ("exposure_dat.csv", _table(
        ["SNP", "effect_allele.exposure", "other_allele.exposure", "beta.exposure", "se.exposure", "pval.exposure",
         "eaf.exposure", "samplesize.exposure"],
        [[r["id"], r["ea"], r["oa"], r["beta"], r["se"], r["p"], r["af"], r["n"]] for r in _sumstats_rows(g)],
        sep=","), ""),
    "phenotype table": lambda g: ("pheno.tsv", _table(
        ["FID", "IID", "edf_001", "edf_002", "qt"],
        [[f"F{i}", f"P{i:04d}", f"{g.normal():.5g}", f"{g.normal():.5g}", f"{g.normal(400, 20):.1f}"]
         for i in range(N_ROWS)]), ""),
    "covariate table (space, .txt)": lambda g: ("covar.txt", _table(
        ["FID", "IID", "age", "sex", "PC1"],
        [[f"F{i}", f"P{i:04d}", str(int(g.integers(40, 80))), str(int(g.integers(0, 2))), f"{g.normal():.4g}"]
         for i in range(N_ROWS)], sep=" "), ""),
    "keep table (csv.gz)": lambda g: ("keep.csv.gz", gzip.compress(_table(
        ["eid", "batch"], [[f"{1000000 + i}", f"b{i % 3}"] for i in range(N_ROWS)], sep=","), mtime=0), "gzip"),
    "keep list (--keep)": lambda g: ("keep.txt", "".join(f"F{i} P{i:04d}\n" for i in range(N_ROWS)).encode(), ""),
    "loci": lambda g: ("loci.tsv", _table(
        ["locus", "variant_id", "chromosome", "base_pair_location", "p_value", "phenotype"],
        [[str(i + 1), r["id"], r["chrom"], str(r["pos"]), r["p"], "edf_001"]
         for i, r in enumerate(_sumstats_rows(g))]), ""),
    "catalog": lambda g: ("catalog.tsv", _catalog_seed(), ""),
    "GTF": lambda g: ("genes.gtf.gz", _bgzf(("##description: fuzz\n" + "".join(
        f'{c}\tHAVANA\t{kind}\t{s}\t{s + 900}\t.\t{"+-"[i % 2]}\t.\tgene_id "G{i}"; gene_name "GENE{i}";\n'
        for i, (c, s, kind) in enumerate((str(1 + i // 10), 1000 + 2000 * i, ("gene", "exon")[i % 4 == 3])
                                         for i in range(N_ROWS)))).encode()), "bgzf"),
    "BED": lambda g: ("genes.bed", "".join(f"chr{1 + i // 10}\t{1000 + 2000 * i}\t{1900 + 2000 * i}\tGENE{i}\t0\t"
                                           f"{'+-'[i % 2]}\n" for i in range(N_ROWS)).encode(), ""),
}


def _catalog_seed() -> bytes:
    from importlib import resources    # the catalog extract edfgen ships (edfgen.pipeline.packaged_catalog)

    lines = (resources.files("edfgen") / "data" / "ecg_traits_associations_2016-01-18.tsv").read_bytes().split(b"\n")
    return b"\n".join(lines[:N_ROWS + 1]) + b"\n"


def _sep_of(name: str, text: bytes) -> bytes | None:
    if name.endswith((".csv", ".csv.gz")):
        return b","
    head = text.split(b"\n", 1)[0]
    return None if (b" " in head and b"\t" not in head) else b"\t"


def _data_lines(name: str, text: bytes, sep: bytes | None) -> list[list[bytes]]:
    lines = [ln.rstrip(b"\r") for ln in text.split(b"\n")]
    lines = [ln for ln in lines if ln.strip() and not ln.startswith(b"##")]
    return [ln.split(sep) if sep else ln.split() for ln in lines[1:]]


def _expected_rows(reader: str, name: str, text: bytes) -> int | None:
    """The rows a complete read of ``text`` returns (``None``: not checked for this reader)."""
    sep = _sep_of(name, text)
    if reader == "catalog":
        return None
    if reader == "keep list (--keep)":         # distinct ids (a set): the IID of "FID IID" lines, else the line
        return len({f[1] if len(f) > 1 else f[0] for f in (ln.split() for ln in text.split(b"\n")) if f})
    if reader == "GTF":
        return sum(1 for ln in text.split(b"\n") if ln.strip() and not ln.startswith(b"#")
                   and len(ln.split(b"\t")) > 2 and ln.split(b"\t")[2] == b"gene")
    if reader == "BED":
        return sum(1 for ln in text.split(b"\n") if ln.strip() and not ln.startswith(b"#"))
    rows = _data_lines(name, text, sep)
    header = [h.strip() for h in (text.split(b"\n", 1)[0].split(sep) if sep else text.split(b"\n", 1)[0].split())]
    if b"TEST" in header:                       # plink2/REGENIE keep the ADD rows only (documented)
        k = header.index(b"TEST")
        rows = [r for r in rows if len(r) > k and r[k] == b"ADD"]
    if reader == "TwoSampleMR":                 # mr's reader uses a row repeated whole once (one variant, logged)
        return len({tuple(f.strip() for f in r) for r in rows})
    return len(rows)


def _ragged_line(reader: str, name: str, text: bytes) -> int | None:
    """The first data line (1-based) whose field count differs from the header's, for the delimited
    tables (``None``: none, or not checked: genes, keep lists, a file holding a quote character)."""
    if reader in ("GTF", "BED", "keep list (--keep)") or b'"' in text:
        return None
    sep = _sep_of(name, text)
    lines = text.split(b"\n")
    width = None
    for i, ln in enumerate(lines, 1):
        ln = ln.rstrip(b"\r")
        if not ln.strip() or ln.startswith(b"##"):
            continue
        n = len(ln.split(sep)) if sep else len(ln.split())
        if width is None:
            width = n
        elif n != width:
            return i
    return None


def _read(reader: str, path: Path):
    from edfgen.formats.catalog import read_catalog, read_loci
    from edfgen.formats.genes import read_genes
    from edfgen.formats.sumstats import read_sumstats, read_sumstats_columns
    from edfgen.formats.sumstats.twosamplemr import load_sumstats
    from edfgen.formats.tables import read_table

    if reader == "GWAS-SSF":     # the fast path of clump/mr, then the full reader
        fast = read_sumstats_columns(path, required=("variant_id", "p_value"), optional=("beta",))
        full = read_sumstats(path)[0]
        assert len(fast) == len(full), f"read_sumstats_columns {len(fast)} rows, read_sumstats {len(full)}"
        return full
    if reader == "TwoSampleMR":
        return load_sumstats(path)
    if reader in ("plink2", "REGENIE", "SAIGE", "BOLT-LMM", "FinnGen", "GWAS-VCF"):
        return read_sumstats(path)[0]
    if reader == "loci":
        return read_loci(path)
    if reader == "catalog":
        return read_catalog(path)
    if reader in ("GTF", "BED"):
        return read_genes(path)
    if reader == "keep list (--keep)":
        from edfgen.formats.genotypes.selection import read_id_list

        return read_id_list(path)
    return read_table(path, id_column="IID")


@dataclass
class Tally:
    """Outcome counts of one reader's cases, and the first failures (described)."""

    counts: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return self.counts["crash"] + self.counts["silent_drop"] + self.counts["multi_line_error"]


def _mutate(data, kind: str, raw: bytes, text: bytes, name: str, compression: str) -> tuple[bytes, str, str]:
    """One mutation of ``kind`` with parameters drawn by hypothesis: (new file bytes, kind, description)."""
    if kind == "truncate":
        cut = data.draw(st.integers(0, max(len(raw) - 1, 0)), label="offset")
        return raw[:cut], kind, f"truncate at byte {cut} of {len(raw)}"
    if kind == "flip":
        k = data.draw(st.integers(1, 3), label="flips")
        out = bytearray(raw)
        where = []
        for _ in range(k):
            i = data.draw(st.integers(0, len(out) - 1), label="at")
            out[i] ^= data.draw(st.integers(1, 255), label="xor")
            where.append(i)
        return bytes(out), kind, f"flip bytes {where}"
    lines = text.split(b"\n")
    body = [i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith(b"#")]
    i = data.draw(st.sampled_from(body), label="line")
    sep = _sep_of(name, text) or b" "
    fields = lines[i].split(sep)
    if kind == "delete_field":
        j = data.draw(st.integers(0, len(fields) - 1), label="field")
        del fields[j]
        desc = f"line {i + 1}: field {j + 1} deleted"
    elif kind == "duplicate_field":
        j = data.draw(st.integers(0, len(fields) - 1), label="field")
        fields.insert(j, fields[j])
        desc = f"line {i + 1}: field {j + 1} duplicated"
    elif kind == "extreme_number":
        num = [j for j, f in enumerate(fields) if f.replace(b".", b"").replace(b"-", b"").replace(b"e", b"").isdigit()]
        j = data.draw(st.sampled_from(num or [0]), label="field")
        fields[j] = data.draw(st.sampled_from(EXTREMES), label="value").encode()
        desc = f"line {i + 1}: field {j + 1} = {fields[j][:20]!r}"
    else:
        lines.insert(i, lines[i])
        desc = f"line {i + 1} duplicated"
    lines[i] = sep.join(fields) if kind != "duplicate_line" else lines[i]
    new = b"\n".join(lines)
    new = _bgzf(new) if compression == "bgzf" else gzip.compress(new, mtime=0) if compression == "gzip" else new
    return new, kind, desc


def _whole_text(mutated: bytes, compression: str) -> bytes | None:
    """The decompressed mutated file, or ``None`` when it cannot be whole (the reader must refuse it)."""
    if not compression or mutated[:2] != b"\x1f\x8b":
        return mutated                     # plain text (a compressed seed that lost its magic is read as text)
    if compression == "bgzf" and not mutated.endswith(EOF_BLOCK):
        return None
    try:
        return gzip.decompress(mutated)
    except Exception:  # noqa: BLE001 - any decoding failure: no whole stream
        return None


def fuzz_reader(reader: str, n_cases: int, *, workdir: Path | None = None) -> Tally:
    """Run ``n_cases`` hypothesis cases (derandomised: the same cases every run) against ``reader``."""
    name, seed_bytes, compression = SEEDS[reader](np.random.default_rng(19))
    seed_text = gzip.decompress(seed_bytes) if compression else seed_bytes
    assert _read(reader, _write(workdir, name, seed_bytes)) is not None   # the seed itself is read
    tally = Tally()
    for kind in KINDS:                  # the same number of cases of each kind of mutation
        _fuzz_kind(reader, kind, max(1, n_cases // len(KINDS)), name, seed_bytes, seed_text, compression,
                   workdir, tally)
    return tally


def _fuzz_kind(reader, kind, n, name, seed_bytes, seed_text, compression, workdir, tally) -> None:
    @settings(max_examples=n, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def case(data):
        mutated, kind_, desc = _mutate(data, kind, seed_bytes, seed_text, name, compression)
        tally.kinds[kind_] += 1
        path = _write(workdir, name, mutated)
        text = _whole_text(mutated, compression)
        try:
            result = _read(reader, path)
        except EdfgenError as exc:
            if "\n" in str(exc):
                tally.counts["multi_line_error"] += 1
                tally.failures.append(f"{reader}: {desc}: multi-line message {str(exc)[:300]!r}")
            else:
                tally.counts["error"] += 1
            return
        except Exception as exc:  # noqa: BLE001 - what the rule forbids: counted, reported
            tally.counts["crash"] += 1
            tb = traceback.format_exception(exc)[-3:]
            tally.failures.append(f"{reader}: {desc}: {type(exc).__name__}: {str(exc)[:200]} | {''.join(tb)[-600:]}")
            return
        expected = None if text is None else _expected_rows(reader, name, text)
        ragged = None if text is None else _ragged_line(reader, name, text)
        if text is None or (expected is not None and len(result) != expected) or ragged is not None:
            tally.counts["silent_drop"] += 1
            what = (f"line {ragged} has another number of fields than the header" if ragged is not None
                    else f"the file holds {'no whole stream' if text is None else expected}")
            tally.failures.append(f"{reader}: {desc}: read {len(result)} rows, but {what}")
        else:
            tally.counts["used"] += 1

    case()


def _write(workdir: Path | None, name: str, data: bytes) -> Path:
    d = workdir or Path(tempfile.mkdtemp(prefix="edfgen-fuzz-"))
    p = d / name
    p.write_bytes(data)
    for side in d.glob(f"{name}*.manifest.json"):
        side.unlink()
    return p
