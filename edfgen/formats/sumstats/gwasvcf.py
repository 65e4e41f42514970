"""GWAS-VCF summary statistics (MRC IEU OpenGWAS), read as a table of columns for the layout rules.

The IEU OpenGWAS database distributes its GWAS (the ``ieu-a-2``/``ukb-b-…``/``finn-b-…`` studies that MR users
fetch, TwoSampleMR's source) as GWAS-VCF (Lyon et al. 2021): a VCF whose one sample column is the study and
whose ``FORMAT`` fields are the statistics of the ALT allele:

* ``ES``, the effect size estimate of ALT: ``beta``; ``SE``, its standard error: ``standard_error``;
* ``LP``, -log10 p-value: ``p_value`` = 10^-LP; ``AF``, ALT allele frequency: ``effect_allele_frequency``;
* ``SS``, sample size (``NS`` in version 1.1; else the ``##SAMPLE`` line's totals): ``n``;
* ``NC``, number of cases (else the ``##SAMPLE`` line's ``TotalCases``): ``n_cases``;
* ``EZ`` (z-score), ``SI`` (accuracy of summary-statistics imputation), ``NE`` (effective n), ``AC`` (ALT count):
  kept under their names.

The VCF's ``ID`` (an rsid, or ``.``; version 1.1 keeps the rsid in ``INFO`` as ``RSID=``) is the ``variant_id``
(``chrom:pos:ref:alt`` with edfgen's chromosome name where neither gives one), ``ALT`` the effect allele and
``REF`` the other allele; the study's own variant id (``FORMAT`` ``ID``) is not kept. :func:`read_gwas_vcf` returns
the columns ``#CHROM, POS, ID, REF, ALT`` and one column per ``FORMAT`` field, which the ``GWAS-VCF`` layout of
:mod:`edfgen.formats.sumstats.layout` maps to GWAS-SSF names. Rows are biallelic in GWAS-VCF (a row listing
several ALT alleles is refused, naming its line, rather than read as if it had one), and a file holding several
studies is refused (``bcftools view -s STUDY`` picks one); a ``.`` value is missing; BCF is not read.

References
----------
Lyon MS, Andrews SJ, Elsworth B, Gaunt TR, Hemani G, Marcora E. The variant call format provides efficient and
robust storage of GWAS summary statistics. Genome Biology 22:32 (2021), doi:10.1186/s13059-020-02248-0;
specification https://github.com/MRCIEU/gwas-vcf-specification.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import plain_chromosome_names
from edfgen.formats.textio import check_fields, read_text_bytes

#: file names read as GWAS-VCF (a BCF is refused with a conversion hint)
GWAS_VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz")
#: FORMAT fields holding numbers (the specification's Float and Integer fields; NS and AC from version 1.1)
NUMERIC_FIELDS = ("ES", "SE", "LP", "AF", "SS", "NS", "EZ", "SI", "NC", "NE", "AC")
#: the fixed VCF columns before the study's
VCF_COLUMNS = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]


def is_gwas_vcf_name(path) -> bool:
    """Whether ``path`` is named like a (GWAS-)VCF (``.vcf``, ``.vcf.gz``, ``.vcf.bgz``, ``.bcf``; any case)."""
    name = Path(path).name.lower()
    return name.endswith(GWAS_VCF_SUFFIXES + (".bcf",))


#: UTF-8 byte-order mark (an editor's "UTF-8 with BOM"): ignored, as the table readers ignore it
BOM = b"\xef\xbb\xbf"


def _meta_lines(data: bytes, path) -> int:
    """The number of ``##`` lines before the ``#CHROM`` header (the file must start with ``##fileformat=VCF``)."""
    if not data.startswith(b"##fileformat=VCF"):
        raise InputError(f"{path}: named like a VCF but does not start with '##fileformat=VCF' "
                         "(GWAS-VCF summary statistics are read from .vcf/.vcf.gz files)")
    n, pos = 0, 0
    while data.startswith(b"##", pos):
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise InputError(f"{path}: no '#CHROM' header line after the '##' meta lines")
        n, pos = n + 1, nl + 1
    return n


def read_gwas_vcf(path) -> pd.DataFrame:
    """The rows of a GWAS-VCF as text columns ``#CHROM, POS, ID, REF, ALT`` plus one per ``FORMAT`` field.

    Parameters
    ----------
    path
        ``.vcf`` or ``.vcf.gz``/``.vcf.bgz`` (gzip or BGZF) with one study column.

    Returns
    -------
    DataFrame
        ``ID`` filled from ``INFO`` ``RSID=`` or with ``chrom:pos:ref:alt`` where it is ``.``; ``POS`` as integers;
        an ``rsid`` column (the ``ID`` where it is an rs number); the numeric ``FORMAT`` fields by their names
        (``ES``, ``SE``, ``LP``, ``AF``, ``SS``/``NS``, ...), missing (``.`` or absent trailing fields) as NaN.

    Raises
    ------
    InputError
        BCF, no ``##fileformat=VCF`` line, a header that is not VCF's, no or several study columns, a short or
        long row (``file:line``), a row with several ALT alleles or without a FORMAT, or more values than FORMAT
        names, or a numeric FORMAT value that is not a number.
    """
    if Path(path).name.lower().endswith(".bcf"):
        raise InputError(f"{path}: BCF summary statistics are not read; convert with "
                         "'bcftools view -Oz -o FILE.vcf.gz FILE.bcf'")
    data = read_text_bytes(path)
    if data.startswith(BOM):
        data = data[len(BOM):]
    skip = _meta_lines(data, path)
    header = check_fields(data, path, sep=b"\t", skip_lines=skip, quoting=False)
    if header[:9] != VCF_COLUMNS:
        raise InputError(f"{path}: the header line is not a VCF's ({' '.join(header[:9])[:120]}; expected "
                         f"{' '.join(VCF_COLUMNS)} and one study column)")
    studies = header[9:]
    if len(studies) != 1:
        raise InputError(f"{path}: GWAS-VCF with {len(studies)} study columns ({', '.join(studies[:4]) or 'none'}); "
                         "edfgen reads one study per file: pick one with 'bcftools view -s STUDY'")
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    names = ["#CHROM", "POS", "ID", "REF", "ALT", "INFO", "FORMAT", studies[0]]
    try:   # every field as text (the row widths were checked above); statistics are split and parsed below
        table = pcsv.read_csv(pa.py_buffer(data), read_options=pcsv.ReadOptions(skip_rows=skip, block_size=1 << 24),
                              parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False),
                              convert_options=pcsv.ConvertOptions(include_columns=names,
                                                                  column_types={c: pa.string() for c in header},
                                                                  strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a VCF ({str(exc).splitlines()[0][:200]})") from None
    line0 = skip + 2                                       # file line of the first row
    alt = table["ALT"]
    multi = pc.match_substring(alt, ",").to_numpy(zero_copy_only=False)
    if multi.any():
        k = int(multi.argmax())
        raise InputError(f"{path}:{line0 + k}: ALT {alt[k].as_py()!r} lists several alleles; GWAS-VCF rows are "
                         f"biallelic ({int(multi.sum())} such rows): split them with 'bcftools norm -m-'")
    n = table.num_rows
    fmt, study = table["FORMAT"].combine_chunks(), table[studies[0]].combine_chunks()
    fields: dict[str, list] = {}
    for f in pc.unique(fmt).to_pylist():   # one FORMAT in a whole file, as a rule
        rows = np.flatnonzero(pc.equal(fmt, f).to_numpy(zero_copy_only=False))
        keys = f.split(":") if f not in ("", ".") else []
        if not keys:
            raise InputError(f"{path}:{line0 + int(rows[0])}: no FORMAT field names ({f!r})")
        values = study.take(pa.array(rows)) if len(rows) < n else study
        width = pc.add(pc.count_substring(values, ":"), 1).to_numpy(zero_copy_only=False)
        if (width > len(keys)).any():
            k = int(np.argmax(width > len(keys)))
            raise InputError(f"{path}:{line0 + int(rows[k])}: {int(width[k])} values for the {len(keys)} FORMAT "
                             f"names {f!r}")
        fast = _parse_fields(values, keys) if (width == len(keys)).all() else None
        if fast is not None:
            for key, arr in fast.items():
                fields.setdefault(key, []).append((rows, arr))
            continue
        # trailing fields may be left out (VCF): padded with empty ones, which are missing like '.'
        parts = pc.split_pattern(pc.binary_join_element_wise(values, ":" * (len(keys) - 1), ""), ":")
        for j, key in enumerate(keys):
            if key == "ID":     # the study's own variant id: not kept (the VCF ID and chrom:pos:ref:alt name rows)
                continue
            fields.setdefault(key, []).append((rows, pc.list_element(parts, j)))
    vid = table["ID"].combine_chunks()
    # specification 1.1 keeps the rsid in INFO (RSID=rs123) with ID '.'; rows without either are named
    # chrom:pos:ref:alt (edfgen's chromosome name), worked out only when some ID is missing
    chrom = table["#CHROM"].to_numpy(zero_copy_only=False)
    missing = pc.is_in(vid, pa.array([".", ""]))
    if pc.any(missing).as_py():
        info_rsid = pc.struct_field(pc.extract_regex(table["INFO"].combine_chunks(), r"(?:^|;)RSID=(?P<r>rs\d+)"),
                                    [0])
        vid = pc.if_else(pc.and_(missing, pc.is_valid(info_rsid)), info_rsid, vid)
        plain = pa.array(plain_chromosome_names(chrom).to_numpy(dtype=object), pa.string())
        cpra = pc.binary_join_element_wise(plain, *(table[c].combine_chunks() for c in ("POS", "REF", "ALT")), ":")
        vid = pc.if_else(pc.is_in(vid, pa.array([".", ""])), cpra, vid)
    rsid = pc.if_else(pc.match_substring_regex(vid, r"^rs\d+$"), vid, pa.scalar(None, pa.string()))
    try:
        pos = pc.cast(table["POS"].combine_chunks(), pa.int64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        bad = ~pd.Series(table["POS"].to_numpy(zero_copy_only=False)).str.fullmatch(r"\d+").to_numpy()
        k = int(bad.argmax())
        raise InputError(f"{path}:{line0 + k}: POS {table['POS'][k].as_py()!r} is not a position") from None
    columns = ({"#CHROM": chrom, "POS": pos, "ID": vid.to_numpy(zero_copy_only=False)}
               | {c: table[c].to_numpy(zero_copy_only=False) for c in ("REF", "ALT")}
               | {"rsid": rsid.to_numpy(zero_copy_only=False)})
    del table, vid, rsid
    for name, pieces in fields.items():
        numeric = name in NUMERIC_FIELDS
        col = np.full(n, np.nan) if numeric else np.full(n, np.nan, dtype=object)
        for rows, vals in pieces:
            if pa.types.is_floating(vals.type):      # parsed by _parse_fields
                col[rows] = vals.to_numpy(zero_copy_only=False)
                continue
            vals = pc.if_else(pc.is_in(vals, pa.array([".", ""])), pa.scalar(None, pa.string()), vals)
            if numeric:
                try:
                    col[rows] = pc.cast(vals, pa.float64()).to_numpy(zero_copy_only=False)
                except pa.ArrowInvalid:
                    bad = pd.to_numeric(pd.Series(vals.to_pylist(), dtype=object), errors="coerce").isna().to_numpy()
                    k = int(np.argmax(bad & pc.is_valid(vals).to_numpy(zero_copy_only=False)))
                    raise InputError(f"{path}:{line0 + int(rows[k])}: FORMAT field {name} is {vals[k].as_py()!r}, "
                                     "not a number") from None
            else:
                col[rows] = np.asarray(vals.to_pylist(), dtype=object)
        columns[name] = col
    # sample sizes from the study's ##SAMPLE line where no row carries them (OpenGWAS files without SS)
    totals = _sample_totals(data[:data.find(b"\n#CHROM")], studies[0])
    if "SS" not in columns and "NS" not in columns and "n" in totals:
        columns["SS"] = np.full(n, totals["n"])
    if "NC" not in columns and "n_cases" in totals:
        columns["NC"] = np.full(n, totals["n_cases"])
        columns["n_controls"] = np.full(n, totals["n_controls"])
    return pd.DataFrame(columns)      # built at once: one block per type, not one per added column


def _sample_totals(meta: bytes, study: str) -> dict[str, float]:
    """``n`` (``TotalSamples``, else ``TotalCases + TotalControls``) and, for a case-control study, ``n_cases`` and
    ``n_controls`` from the ``##SAMPLE=<ID=study,...>`` meta line (specification META keys); ``{}`` without one."""
    line = next((ln for ln in meta.decode("utf-8", "replace").splitlines()
                 if ln.startswith("##SAMPLE=<") and re.search(rf"[<,]ID={re.escape(study)}[,>]", ln)), None)
    if line is None:
        return {}
    kv = dict(re.findall(r'(\w+)=("[^"]*"|[^,>]*)', line[len("##SAMPLE=<"):]))

    def num(key: str) -> float | None:
        try:
            v = float(kv.get(key, "").strip('"'))
        except ValueError:
            return None
        return v if np.isfinite(v) and v > 0 else None

    cases, controls, total = num("TotalCases"), num("TotalControls"), num("TotalSamples")
    out: dict[str, float] = {}
    if total is not None or (cases is not None and controls is not None):
        out["n"] = total if total is not None else cases + controls
    if cases is not None and controls is not None and kv.get("StudyType", "").strip('"') != "Continuous":
        out |= {"n_cases": cases, "n_controls": controls}
    return out


def _parse_fields(values, keys: list[str]) -> dict | None:
    """The ``FORMAT`` values of one study column (every row with ``len(keys)`` fields) parsed at once as a
    ``:``-separated table (Arrow's CSV reader: numeric fields as float64, ``.`` missing): ``{key: array}``
    without ``ID``, or ``None`` when a value does not parse (the caller's row-by-row path names it)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.compute as pc

    lines = pc.binary_join_element_wise(values, "", "\n")          # every value followed by a newline
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=4 * lines.offset)
    text = lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    names = [f"f{j}" for j in range(len(keys))]
    kept = [(nm, k) for nm, k in zip(names, keys) if k != "ID"]
    try:
        t = pcsv.read_csv(text, read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 24),
                          parse_options=pcsv.ParseOptions(delimiter=":", quote_char=False),
                          convert_options=pcsv.ConvertOptions(
                              include_columns=[nm for nm, _ in kept], null_values=[".", ""], strings_can_be_null=True,
                              column_types={nm: pa.float64() if k in NUMERIC_FIELDS else pa.string() for nm, k in kept}))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if t.num_rows != len(values):      # an empty value is an empty line, which the reader skips
        return None
    return {k: t[nm].combine_chunks() for nm, k in kept}


def gwas_vcf_columns(path) -> list[str]:
    """The columns :func:`read_gwas_vcf` returns for ``path``, from its header and first row only (a directory's
    files are told apart by their columns without reading them whole)."""
    import gzip

    try:
        with open(path, "rb") as fh:            # gzip/BGZF by its magic bytes, whatever the name says
            opener = gzip.open if fh.read(2) == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            head = b""
            for line in fh:
                line = line[len(BOM):] if not head and line.startswith(BOM) else line
                head += line
                if not line.startswith(b"##") and not line.startswith(b"#CHROM"):
                    break
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    _meta_lines(head, path)
    lines = head.rstrip(b"\n").split(b"\n")
    first = lines[-1].decode("utf-8", "replace").rstrip("\r").split("\t")
    if lines[-1].startswith(b"#") or len(first) < 9:
        return ["#CHROM", "POS", "ID", "REF", "ALT", "rsid"]
    keys = [k for k in first[8].split(":") if k != "ID"]
    return ["#CHROM", "POS", "ID", "REF", "ALT", "rsid", *keys]
