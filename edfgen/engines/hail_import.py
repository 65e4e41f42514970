"""The Hail engine's importers (:func:`import_genotypes`): ``--bfile``, ``--vcf``, ``--bgen`` or ``--mt`` as a
MatrixTable with entry ``x`` (the effect-allele count or dosage), with the ``--keep/--remove/--chr/--extract``
selection; and :func:`hail_input_error`, which turns what Hail cannot read in an input into one line.

PLINK ``--bfile`` (``hl.import_plink``, A1 counted), ``--vcf`` (``GT`` calls or ``DS`` dosages; BGZF read in
parallel, plain gzip by one task), ``--bgen`` with its ``--sample`` files (an ``.idx2`` index is built with
``hl.index_bgen`` into the temporary directory when absent) or ``--mt`` (a MatrixTable with ``GT`` or
``dosage``/``DS`` entries, columns keyed by sample id). Contigs are read in the ``--reference-genome`` build
(``1`` and ``chr1`` both accepted) and written without ``chr``. Local paths are handed to Hail absolute: Spark's
executors resolve a relative one against their own work folder (review s30h F2).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import re
import shutil
import struct

from edfgen.engines.hail_tmp import private_tmp_dir, scratch_tmp_dir
from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import SELECTION_NAMES, selection_chromosome_names
from edfgen.formats.genotypes.base import WITHDRAWN_ID, log_withdrawn
from edfgen.formats.genotypes.bgen import read_oxford_sample
from edfgen.formats.genotypes.plink1 import fam_header_lines
from edfgen.formats.genotypes.selection import check_listed, expand_template, read_id_list, read_variant_list
from edfgen.formats.genotypes.source import GenotypeSource, _paths, path_id
from edfgen.formats.genotypes.vcf_check import text_record_at
from edfgen.kernels.thresholds import DEFAULT_REFERENCE_GENOME

log = logging.getLogger(__name__)

#: words of a Hail/Java error summary that say the input file is malformed (not a resource failure: memory, disk)
_MALFORMED = ("VCFParseError", "error while parsing line", "Invalid locus", "ZipException", "block gzip",
              "ploidy", "bits", "-bit probabilities")
#: Hail's words for a BGEN it cannot read (haploid samples, "Hail only supports 8-bit probabilities, found 16.")
_BGEN_LAYOUT = ("ploidy", "bits", "-bit probabilities")
#: a Hail error naming the place in the file: ``file:/x.vcf:offset 2458704``
_WHERE = re.compile(r"(\S+:offset \d+): error while parsing line")


def local_path(path: str | None) -> str | None:
    """``path`` absolute when it is a local file (no ``scheme://``), else as given: a Spark executor resolves a
    relative path against its own work folder, not the driver's (``FileNotFoundException`` on a cluster)."""
    if path is None or "://" in str(path):
        return path
    return os.path.abspath(path)


#: what to do when the Hail engine cannot read a haploid or 16-bit BGEN
HAIL_BGEN_REMEDY = "--engine fast reads haploid and 16-bit BGEN"
#: what to do when a variant's locus is outside Hail's reference genome (a .bim's unplaced chromosome 0, an MT
#: position beyond 16,569): the fast engine tests it, written as given with a warning (s38)
INVALID_LOCUS_REMEDY = ("Hail's loci must lie in the reference genome: the fast engine (--engine fast) tests such "
                        "variants, or leave them out first (plink2 --not-chr / --exclude)")
#: ... and when it is ``--remove-related``'s KING, which reads the files with Hail on either engine
KING_BGEN_REMEDY = ("--remove-related runs Hail's KING, which reads 8-bit BGEN of diploid autosomes only: convert "
                    "them (plink2 --export bgen-1.2 bits=8), or leave out --remove-related and give --remove the "
                    "relatives to drop (e.g. plink2 --king-cutoff 0.0884)")
#: ... and when KING (on either engine: the fast engine's user is told no engine switch) meets such a locus
KING_LOCUS_REMEDY = ("--remove-related runs Hail's KING, whose loci must lie in the reference genome: leave such "
                     "variants out first (plink2 --not-chr 0, or --exclude), or leave out --remove-related and give "
                     "--remove the relatives to drop (e.g. plink2 --king-cutoff 0.0884)")
#: ... and for ``edfgen pca``, which runs on Hail only (no --engine option)
PCA_BGEN_REMEDY = ("edfgen pca runs on Hail, which reads 8-bit BGEN of diploid samples only: convert them (plink2 "
                   "--export bgen-1.2 bits=8), or leave out chromosomes with haploid samples (--chr 1-22)")
PCA_LOCUS_REMEDY = ("edfgen pca runs on Hail, whose loci must lie in the reference genome: leave such variants out "
                    "first (plink2 --not-chr 0, or --exclude)")


def hail_input_error(exc: BaseException, label: str, remedy: str = HAIL_BGEN_REMEDY,
                     locus_remedy: str = INVALID_LOCUS_REMEDY) -> InputError | None:
    """``exc``, raised by Hail while it read the input ``label`` (``--vcf x.vcf``), as one line naming the file
    and where in it (a plain-text VCF's ``record K (line N)`` after the file Hail read, as the fast engine names
    them; else Hail's byte offset), or None when it is no input problem (out of memory, a full disk: Hail's
    own error, with its cause). ``remedy`` follows a haploid or 16-bit BGEN's error, ``locus_remedy`` a locus
    outside the reference genome (the caller's: KING's on the fast engine is no engine switch). Hail's full
    message goes to the log at DEBUG."""
    if isinstance(exc, InputError):
        return exc
    if not type(exc).__module__.startswith(("hail", "py4j")):
        return None
    text = str(exc)
    log.debug("Hail error on %s: %s", label, text)
    own = re.search(r"HailException: (--\w+ .*)", text)     # an edfgen check inside a Hail expression
    if own and own.group(1).startswith(label):
        return InputError(own.group(1).strip())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    what = next((ln[len("Error summary: "):] for ln in lines if ln.startswith("Error summary: ")), lines[0] if lines
                else type(exc).__name__)
    if not any(k in what for k in _MALFORMED):   # (Hail's summary line: a resource failure's trace may quote parsing)
        return None
    where = _WHERE.search(text)
    hint = (f"; {remedy}" if any(k in what for k in _BGEN_LAYOUT) else
            f"; {locus_remedy}" if "Invalid locus" in what else "")
    file, _, offset = where.group(1).rpartition(":offset ") if where else ("", "", "")
    record = (text_record_at(file.removeprefix("file:"), int(offset))
              if label.startswith("--vcf ") and file.startswith(("file:/", "/")) else None)
    if record:                       # (review s39: the fast engine's words, not a byte offset)
        read = file.removeprefix("file:")        # (the file Hail read, when the label names others: a list)
        named = label if local_path(label.split(" ", 1)[1]) == read else f"{label.split(' ', 1)[0]} {read}"
        return InputError(f"{named}: {record}: the Hail engine cannot read it ({what[:300]}){hint}")
    return InputError(f"{label}: the Hail engine cannot read it ({what[:300]}"
                      f"{f' at {where.group(1)}' if where else ''}){hint}")


#: contigs of X, Y and MT as files write them (PLINK's numbers, plink2's PAR names, plink2 --output-chr 0M) -> the
#: name in GRCh37 (GRCh38: ``chr`` before it, ``chrM`` for MT); the pseudo-autosomal region is X to Hail
_SEX_CONTIGS = {"X": "X", "Y": "Y", "23": "X", "24": "Y", "25": "X", "XY": "X", "26": "MT", "M": "MT", "MT": "MT",
                "PAR1": "X", "PAR2": "X", "0X": "X", "0Y": "Y", "0M": "MT"}


def _spellings(name: str) -> set[str]:
    """``name`` with each ``chr`` prefix and in each case a file may write it (``XY``: ``xy``, ``chrXy``, ...;
    Hail's contig recoding is case-sensitive, while the fast engine reads them all as one: s36c)."""
    cased = {""}
    for ch in name:
        cased = {c + v for c in cased for v in {ch.lower(), ch.upper()}}
    return {p + c for p in ("", "chr", "Chr", "CHR") for c in cased}


def _contig_recoding(reference_genome: str = DEFAULT_REFERENCE_GENOME) -> dict[str, str]:
    """File contig names -> Hail's contigs of ``reference_genome`` (``chr1`` for GRCh38, ``1`` for GRCh37), in
    any case and with any ``chr`` prefix (``chrx``, ``Mt``, ``CHR1``)."""
    grch37 = reference_genome == "GRCh37"

    def contig(name: str) -> str:
        return name if grch37 else "chrM" if name == "MT" else f"chr{name}"
    # UK Biobank's BGEN files (and plink2 --output-chr 0M) name chromosomes 1-9 "01"-"09"
    names = {str(i): str(i) for i in range(1, 23)} | {f"0{i}": str(i) for i in range(1, 10)} | _SEX_CONTIGS
    rec = {spelling: contig(plain) for name, plain in names.items() for spelling in _spellings(name)}
    return {k: v for k, v in rec.items() if k != v}


@contextlib.contextmanager
def input_errors(source: GenotypeSource, remedy: str = HAIL_BGEN_REMEDY, locus_remedy: str = INVALID_LOCUS_REMEDY):
    """Around a Hail pass over the imported ``source``: what Hail cannot read in it (the import is lazy: a
    malformed VCF line, a contig outside the reference, a BGZF file cut short, haploid BGEN samples) is one
    line naming the file (:func:`~edfgen.engines.hail_import.hail_input_error`, with ``remedy`` and
    ``locus_remedy``); any other error
    (out of memory, a full disk, a corrupt ``--mt``) is Hail's own, with its cause."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - re-raised unless it is an input problem
        err = hail_input_error(exc, f"--{source.kind} {source.label}", remedy, locus_remedy)
        if err is None:
            if bgen_read_failure(exc):
                bgen_layouts(source)
            raise
        raise err from None


def import_genotypes(source: GenotypeSource, *, hl, tmp_dir: str | None = None, min_info_in_qc: bool = False,
                     locus_remedy: str = INVALID_LOCUS_REMEDY, remedy: str = HAIL_BGEN_REMEDY,
                     extract_ids: set[str] | None = None):
    """Import genotypes with Hail; return a MatrixTable keyed by ``s`` (= IID) with entry ``x`` (float64
    effect-allele count/dosage) and row field ``varid`` (file id or ``chr:pos:ref:alt``). ``locus_remedy``
    follows the error of a locus outside the reference genome, ``remedy`` that of a BGEN Hail cannot read
    (:func:`hail_input_error`; the default names the gwas engine switch, which pca and KING do not have).
    ``extract_ids``: the ids of ``source.extract`` when the caller has read them (not read again).

    Raises
    ------
    InputError
        Unreadable file or an MT without a usable entry field.
    """
    rg = source.reference_genome
    rec = _contig_recoding(rg)
    if source.pfile:
        raise InputError(f"--pfile {source.pfile}: PLINK 2 files are read by the fast engine only (--engine fast)")
    if source.min_info is not None and not min_info_in_qc:
        raise InputError("--min-info is computed by the fast engine and the Hail GWAS only (gwas; --engine fast "
                         "elsewhere)")
    try:
        if source.bfile:
            bfile = local_path(source.bfile)
            if "://" not in bfile and fam_header_lines(f"{bfile}.fam"):
                raise InputError(f"{bfile}.fam: its '#FID' header line would be read as a sample by Hail's "
                                 "import_plink: delete the line"
                                 f"{', or use --engine fast' if remedy == HAIL_BGEN_REMEDY else ''}")
            mt = hl.import_plink(bed=f"{bfile}.bed", bim=f"{bfile}.bim", fam=f"{bfile}.fam",
                                 reference_genome=rg, contig_recoding=rec, a2_reference=True, quant_pheno=True)
            mt = mt.annotate_rows(varid=hl.if_else(mt.rsid == ".", _chr_pos_id(hl, mt), mt.rsid))   # as plink1.read_bim
            mt = mt.select_entries(x=hl.float64(mt.GT.n_alt_alleles()))
        elif source.vcf:
            mt = _import_vcf(hl, source, rg, rec)
        elif source.bgen:
            mt = _import_bgen(hl, source, rg, rec, tmp_dir)
        else:
            mt = _read_mt(hl, source)
        col_key = list(mt.col_key)[0]
        if col_key != "s":
            mt = mt.key_cols_by(s=hl.str(mt[col_key]))
        mt = mt.select_cols().select_rows("rsid", "varid")
        if source.bgen:  # BGEN samples without probabilities come back as filtered entries: make them missing
            mt = mt.unfilter_entries()
    except InputError:
        raise
    except Exception as exc:  # Hail raises many exception types on unreadable input
        log.debug("Hail cannot import --%s %s: %s", source.kind, source.label, exc)
        if bgen_read_failure(exc):
            bgen_layouts(source)
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()] or [type(exc).__name__]
        hint = f"; {locus_remedy}" if "Invalid locus" in lines[0] else ""
        raise InputError(f"--{source.kind} {source.label}: cannot import ({lines[0][:300]}){hint}") from None
    with input_errors(source, remedy, locus_remedy):    # (counting withdrawn samples: a first pass over the file)
        return _hail_selection(hl, mt, source, extract_ids)


def vcf_compression(path: str) -> str | None:
    """``"bgzf"``, ``"gzip"`` or None (text) from the first bytes of the local file ``path`` (a BGZF block is a
    gzip member with the ``BC`` extra field); a remote one by its name (``.gz``/``.bgz``: BGZF)."""
    if "://" in path:
        return "bgzf" if path.endswith((".gz", ".bgz")) else None
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:2] != b"\x1f\x8b":
        return None
    return "bgzf" if len(head) == 16 and head[3] & 4 and head[12:14] == b"BC" else "gzip"


def _import_vcf(hl, source: GenotypeSource, rg: str, rec: dict):
    """``hl.import_vcf`` of ``--vcf`` (BGZF split over tasks; plain gzip read by one task, ``force=True``) with
    entry ``x``: ``DS`` where a sample has one, else its ``GT`` count (plink2 ``--vcf dosage=DS``, as the fast
    engine; a ``DS`` with a missing ``GT``, ``./.:0.95``, is used); a GT allele beyond the row's ALT alleles stops
    the first Hail pass with one line naming the variant and sample, as the fast engine refuses it. A haploid
    call's ``DS`` counts twice, but Hail keeps no ploidy for a missing call: a haploid missing ``GT`` with a ``DS``
    (``.:0.7``) counts 1 x ``DS`` here, 2 x ``DS`` in plink2 and the fast engine (review s34e F3; README)."""
    if "{chr}" in source.vcf or source.vcf.endswith(".bcf"):
        raise InputError(f"--vcf {source.vcf}: {'a {chr} template' if '{chr}' in source.vcf else 'BCF'} is "
                         "read by the fast engine only (Hail: one VCF, e.g. bcftools concat -Oz)")
    path = local_path(source.vcf)
    kind = vcf_compression(path)
    if kind == "gzip":
        log.warning("--vcf %s is gzip, not BGZF: the Hail engine reads it in one task (bgzip it to split the "
                    "reading over the cluster)", source.vcf)
    mt = hl.import_vcf(path, reference_genome=rg, contig_recoding=rec, force_bgz=kind == "bgzf",
                       force=kind == "gzip", array_elements_required=False)
    mt = mt.annotate_rows(varid=hl.if_else((mt.rsid == ".") | hl.is_missing(mt.rsid), _chr_pos_id(hl, mt), mt.rsid))
    gt = mt.GT if "GT" in mt.entry else None
    if source.vcf_field == "DS" or (source.vcf_field == "auto" and "DS" in mt.entry):
        if "DS" not in mt.entry:
            raise InputError(f"--vcf {source.vcf}: no DS field (use --vcf-field GT)")
        x = hl.float64(mt.DS[0] if isinstance(mt.DS.dtype, hl.tarray) else mt.DS)
        if gt is not None:  # no DS for a sample: its hard call; a haploid call's DS counts twice
            x = hl.or_else(hl.if_else(hl.coalesce(gt.ploidy == 1, False), 2 * x, x), _gt_count(hl, gt))
    else:
        x = _gt_count(hl, gt)
    if gt is not None:
        x = _checked_alleles(hl, mt, gt, x, f"--vcf {source.vcf}")
    return mt.select_entries(x=hl.float64(x))


def _checked_alleles(hl, mt, gt, x, label: str):
    """``x``, or a Hail error (``or_error``, raised at the first pass over the entries) where the call ``gt``
    names an allele beyond the row's ALT alleles (``0/5`` in a biallelic row: Hail counted it as one ALT);
    a row whose ALT is ``.`` may call allele 1, as plink2 and the fast engine read it."""
    top = hl.case().when(gt.ploidy == 2, hl.max(gt[0], gt[1])).when(gt.ploidy == 1, gt[0]).default(0)
    n_alt = hl.max(hl.len(mt.alleles), 2) - 1
    ok = hl.coalesce(top <= n_alt, True)      # (a missing call: missing top)
    where = hl.format("%s:%d %s", mt.locus.contig.replace("^chr", ""), mt.locus.position, mt.varid)
    return hl.case().when(ok, x).or_error(hl.format(
        f"{label}: %s: the GT call of sample %s names allele %d, the row has %d ALT allele%s",
        where, hl.str(mt.s), top, n_alt, hl.if_else(n_alt == 1, "", "s")))


def _bgen_n_samples(path: str) -> int | None:
    """The sample count in the header of the local BGEN ``path`` (None if it has no 16-byte header)."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    return struct.unpack_from("<I", head, 12)[0] if len(head) == 16 else None


def _bgen_sample_iids(pairs: list) -> list[str] | None:
    """The IIDs (``ID_2``) of the local ``.sample`` files of the ``(bgen, sample)`` ``pairs``, each as many as its
    BGEN's header says (Hail's own count check named the BGEN only, cut off) and all the same list (Hail reads the
    first for all); None without a local ``.sample``."""
    if not pairs[0][1] or any("://" in f"{b} {s}" for b, s in pairs):
        return None
    read: dict = {}
    for bgen, smp in pairs:
        if smp not in read:
            read[smp] = read_oxford_sample(smp)["IID"].astype(str).tolist()
        n = _bgen_n_samples(bgen)
        if n is not None and n != len(read[smp]):
            raise InputError(f"--sample {smp}: {len(read[smp])} samples but the BGEN {bgen} has {n}")
        if read[smp] != read[pairs[0][1]]:
            raise InputError(f"--sample {smp}: other samples than {pairs[0][1]}; per-chromosome BGENs "
                             "must list the same samples in the same order")
    return read[pairs[0][1]]


def _import_bgen(hl, source: GenotypeSource, rg: str, rec: dict, tmp_dir: str | None):
    """``hl.import_bgen`` of the ``--bgen``/``--sample`` pairs (8-bit dosages), an ``.idx2`` index built into
    ``tmp_dir`` for a BGEN without one, samples named by the ``.sample`` files' IIDs."""
    from hailtop import fs as hfs  # (hl.hadoop_exists is deprecated)

    iids = _bgen_sample_iids(source.bgen_files())
    pairs = [(local_path(b), local_path(s)) for b, s in source.bgen_files()]
    index_map = {}
    for bgen, _ in pairs:
        if hfs.exists(bgen + ".idx2"):  # works for local paths and gs://, hdfs://
            continue
        # keyed on the BGEN file alone (any --keep/--extract/--chr reuses it: a UK Biobank chromosome
        # takes hours to index) and written under a temporary name then renamed (a run killed inside
        # index_bgen left a 0-byte index that broke every later run with an EOFException)
        key = hashlib.sha256(f"{path_id(bgen)}:{rg}".encode()).hexdigest()[:16]
        idx = os.path.join(local_path(tmp_dir or private_tmp_dir()), "edfgen-bgen-index", key + ".idx2")
        if not hfs.exists(idx):   # (in a sub-folder: hl.index_bgen leaves an index_bgen_* file in Hail's temp folder)
            with scratch_tmp_dir(hl, "bgen-index"):
                _index_bgen(hl, bgen, idx, rg=rg, rec=rec)
        index_map[bgen] = idx
    mt = hl.import_bgen([b for b, _ in pairs], entry_fields=["dosage"], sample_file=pairs[0][1],
                        index_file_map=index_map or None)
    mt = mt.annotate_rows(varid=hl.if_else((mt.rsid == ".") | hl.is_missing(mt.rsid), _chr_pos_id(hl, mt), mt.rsid))
    mt = mt.select_entries(x=hl.float64(mt.dosage))
    if iids is not None:
        # Hail names samples by ID_1; edfgen (and plink2) by ID_2, the IID: plink2's own .sample export
        # writes ID_1 = 0 for every sample, which Hail read as one duplicated id
        mt = mt.add_col_index("__c")
        mt = mt.key_cols_by(s=hl.literal(iids)[hl.int32(mt.__c)]).drop("__c")
    return mt


def _read_mt(hl, source: GenotypeSource):
    """``--mt``: a MatrixTable with entry ``x`` (written by edfgen), ``GT``, ``dosage`` or ``DS``."""
    mt = hl.read_matrix_table(local_path(source.mt))
    if "rsid" not in mt.row:
        mt = mt.annotate_rows(rsid=hl.missing(hl.tstr))
    if "varid" not in mt.row:
        mt = mt.annotate_rows(varid=hl.or_else(mt.rsid, _chr_pos_id(hl, mt)))
    if "x" in mt.entry and mt.x.dtype == hl.tfloat64:  # written by edfgen
        x = mt.x
    elif "GT" in mt.entry:
        x = mt.GT.n_alt_alleles()
    elif "dosage" in mt.entry or "DS" in mt.entry:
        x = mt["dosage"] if "dosage" in mt.entry else mt["DS"]
    else:
        raise InputError(f"--mt {source.mt}: needs an entry field GT, dosage or DS (has {', '.join(mt.entry)})")
    return mt.select_entries(x=hl.float64(x))


def _gt_count(hl, gt):
    """Effect-allele count of a VCF call, a haploid call (males on X, Y, MT) counting two copies: as PLINK stores
    it and the fast engine reads it (Hail's ``n_alt_alleles`` gave 0/1 there, the fast engine 0/2)."""
    n = hl.float64(gt.n_alt_alleles())
    return hl.if_else(gt.ploidy == 1, 2 * n, n)


def bgen_read_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is how Hail fails on a BGEN it cannot read (a truncated or corrupt file:
    ``AssertionError: assertion failed``, in Python or quoted from Java), the one error after which
    :func:`bgen_layouts` walks the files (not an out-of-memory, nor edfgen's own :class:`InputError`).

    Parameters
    ----------
    exc : BaseException
        The error of a Hail pass.

    Returns
    -------
    bool
        True for an assertion failure.
    """
    return not isinstance(exc, InputError) and (
        isinstance(exc, AssertionError) or any(k in str(exc) for k in ("AssertionError", "assertion failed")))


def bgen_layouts(source: GenotypeSource) -> None:
    """On Hail's BGEN read failure (:func:`bgen_read_failure`): each local BGEN of ``source`` walked whole
    (:func:`~edfgen.formats.genotypes.bgen_check.scan_bgen`), so that a truncated or corrupt file is said in one
    line naming the variant and byte offset, not Hail's ``AssertionError: assertion failed``
    (:func:`check_bgen_for_hail`, before Hail, reads one variant).

    Parameters
    ----------
    source : GenotypeSource
        The genotypes Hail failed on (nothing is done unless they are BGEN files).

    Raises
    ------
    InputError
        The first layout problem found.
    """
    from edfgen.formats.genotypes.bgen_check import scan_bgen

    for path, _ in source.bgen_files() if source.bgen else ():
        if "://" not in path:
            try:
                scan_bgen(path)
            except InputError as err:
                raise err.with_traceback(None) from None


def check_bgen_for_hail(path: str, remedy: str = "use --engine fast, or plink2 --export bgen-1.2 bits=8") -> None:
    """The BGEN's header and first variant (:func:`~edfgen.formats.genotypes.bgen_check.scan_bgen` with
    ``first=1``: not a walk over every variant header, minutes over a biobank's) and, from that variant's block,
    the 8 bits per probability that Hail's ``import_bgen`` reads: a 16-bit file (plink2's default export, read
    by the fast engine) gave a 259-line Java traceback. Each layout-2 block stores its own bits, so a file could
    mix them; writers (plink2, qctool, UK Biobank) write one depth throughout, and a later block of another depth
    is Hail's "Hail only supports 8-bit probabilities, found N", which :func:`input_errors` says in one line.
    Raises :class:`InputError` naming the file and ``remedy``."""
    from edfgen.formats.genotypes.bgen_check import decompress, scan_bgen, split_block

    layout = scan_bgen(path, first=1)
    if layout.n_variants == 0 or layout.layout != 2:
        return
    with open(path, "rb") as fh:
        fh.seek(int(layout.starts[0]))
        raw = fh.read(int(layout.ends[0] - layout.starts[0]))
    try:
        payload, length = split_block(raw, layout.layout, layout.compression)
        data = decompress(payload, layout.compression, length)
        bits = data[9 + layout.n_samples]
    except (ValueError, IndexError):
        return          # a bad block: Hail's import names it, or the fast engine's --skip-bad-variants sets it aside
    if bits != 8:
        raise InputError(f"--bgen {path}: {bits} bits per probability; the Hail engine reads 8-bit BGEN only "
                         f"({remedy})")


def king_source(source: GenotypeSource) -> GenotypeSource:
    """The genotypes ``--remove-related``'s KING reads (autosomes only): a ``{chr}`` template's BGEN files of the
    autosomes, their 8 bits per probability checked before the run (:func:`check_bgen_for_hail`; review s32d F2:
    UK Biobank's haploid X or a 16-bit file was a Java traceback from inside ``hl.king``); other sources as
    given (KING's variants are the autosomal ones, :func:`edfgen.engines.hail._common_variants`).

    Raises
    ------
    InputError
        A 16-bit BGEN, naming the file and what to do.
    """
    if not source.bgen:
        return source
    found = expand_template(_paths(source.bgen), option="--bgen", chromosomes=source.chromosomes)
    autosomes = [c for _, c in found if c is not None and c.isdigit() and 1 <= int(c) <= 22]
    if autosomes and all(c is not None for _, c in found):
        source = dataclasses.replace(source, chromosomes=tuple(autosomes))
    for bgen, _ in source.bgen_files():
        if "://" not in bgen:
            check_bgen_for_hail(bgen, KING_BGEN_REMEDY)
    return source


def _index_bgen(hl, bgen: str, idx: str, *, rg: str, rec: dict) -> None:
    """``hl.index_bgen`` of ``bgen`` into ``idx``: locally into a hidden temporary name in the same folder, then
    renamed (a kill leaves no index that looks finished; a concurrent run that finished first wins)."""
    if "://" in idx:
        hl.index_bgen(bgen, index_file_map={bgen: idx}, reference_genome=rg, contig_recoding=rec)
        return
    os.makedirs(os.path.dirname(idx), exist_ok=True)
    tmp = os.path.join(os.path.dirname(idx), f".{os.path.basename(idx)[:-5]}.{os.getpid()}.tmp.idx2")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        hl.index_bgen(bgen, index_file_map={bgen: tmp}, reference_genome=rg, contig_recoding=rec)
        os.replace(tmp, idx)
    except OSError:
        if not os.path.exists(idx):
            raise
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        elif os.path.exists(tmp):
            os.remove(tmp)


def _hail_selection(hl, mt, source: GenotypeSource, extract_ids: set[str] | None = None):
    """``--keep/--remove`` (columns) and ``--chr/--extract`` (rows) on an imported MatrixTable, without UK Biobank's
    withdrawn participants (negative ids, :func:`~edfgen.formats.genotypes.base.withdrawn_samples`; their count is
    the global ``n_withdrawn``)."""
    gone = mt.s.matches(f"^{WITHDRAWN_ID}$")
    n_gone = mt.aggregate_cols(hl.agg.count_where(gone))
    log_withdrawn(source.label, n_gone)
    if n_gone:
        mt = mt.filter_cols(gone, keep=False)
    mt = mt.annotate_globals(n_withdrawn=n_gone)
    for what, path in (("--keep", source.keep), ("--remove", source.remove)):
        if path is None:
            continue
        ids = read_id_list(path, what=what)
        check_listed(ids, mt.s.collect(), path, what=what, label=source.label)
        mt = mt.filter_cols(hl.literal(ids).contains(mt.s), keep=what == "--keep")
    if source.chromosomes is not None:
        # imported contigs are recoded (X takes 23, 25, XY, PAR1/2: Hail cannot tell the PAR apart, so --chr XY
        # is all of X here); a --mt's contigs may be PLINK's numbers: mapped as the fast engine maps them
        want = {"X" if c == "XY" else c for c in selection_chromosome_names(list(source.chromosomes))}
        contig = mt.locus.contig.replace("(?i)^chr", "").upper()
        contig = hl.literal({k: ("X" if v == "XY" else v) for k, v in SELECTION_NAMES.items()}).get(contig, contig)
        mt = mt.filter_rows(hl.literal(want).contains(contig))
    if source.extract is not None:
        ids = hl.literal(read_variant_list(source.extract) if extract_ids is None else extract_ids)
        mt = mt.filter_rows(ids.contains(mt.varid) | ids.contains(hl.or_else(mt.rsid, "")))
    return mt


def _chr_pos_id(hl, mt):
    return hl.delimit([mt.locus.contig.replace("^chr", ""), hl.str(mt.locus.position),
                       mt.alleles[0], hl.or_else(mt.alleles[1], ".")], ":")

