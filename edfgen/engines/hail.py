"""The Hail engine: one Hail (Spark) context per process, started lazily with edfgen's defaults; the
genotype importers (``--bfile``, ``--vcf``, ``--bgen``, ``--mt`` as a MatrixTable with entry ``x``, the
effect-allele count or dosage), quality control and KING relatedness in Hail.

The same code runs locally (``local[*]``, the default) and on a Spark cluster
(``spark_master="yarn"`` or ``spark://...``; on Dataproc, ``hailctl dataproc submit``).
The default reference genome is GRCh38. Hail's warning that it was tested on Java 11 is silenced:
Hail 0.2.139 runs on Java 17, which is what edfgen is tested on.

Importers (:func:`import_genotypes`): PLINK ``--bfile`` (``hl.import_plink``, A1 counted), ``--vcf``
(``GT`` calls or ``DS`` dosages), ``--bgen`` with its ``--sample`` files (an ``.idx2`` index is built
with ``hl.index_bgen`` into the temporary directory when absent) or ``--mt`` (a MatrixTable with
``GT`` or ``dosage``/``DS`` entries, columns keyed by sample id). Contigs are read in the
``--reference-genome`` build (``1`` and ``chr1`` both accepted) and written without ``chr``. The QC
rules are the kernels of :mod:`edfgen.kernels.qc`; :func:`hail_qc` computes their counts in Hail.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.engines.hail_gwas import analysed_sex_hail, row_kind, sex_codes
from edfgen.engines.sex_chromosomes import no_males_step
from edfgen.exceptions import InputError, ToolError
from edfgen.formats.chromosomes import SELECTION_NAMES, hwe_diploid, selection_chromosome_names
from edfgen.formats.genotypes.base import WITHDRAWN_ID, check_unique_iids, log_withdrawn
from edfgen.formats.genotypes.bgen import read_oxford_sample
from edfgen.formats.genotypes.selection import read_id_list, read_variant_list
from edfgen.formats.genotypes.source import GenotypeSource, path_id
from edfgen.kernels.thresholds import DEFAULT_REFERENCE_GENOME
from edfgen.formats.tables import atomic_write
from edfgen.kernels.qc import (KINSHIP_2ND_DEGREE, QCSettings, QCStep, VariantCounts, sample_call_rate_step,
                               variant_qc)

log = logging.getLogger(__name__)



def default_tmp_dir() -> str:
    """Hail's temporary and checkpoint folder when ``--tmp-dir`` is not given: ``<system temp>/edfgen-hail``."""
    return os.path.join(tempfile.gettempdir(), "edfgen-hail")

@dataclass(frozen=True)
class HailSettings:
    """How to start Hail. ``None`` means Hail's/Spark's default."""

    spark_master: str | None = None
    tmp_dir: str | None = None
    driver_memory: str | None = None
    executor_memory: str | None = None
    threads: int | None = None
    log_path: str | None = None


def java_major_version() -> int | None:
    """Major version of the ``java`` on PATH (or ``$JAVA_HOME``), ``None`` if absent."""
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


#: log4j2 configuration of the Spark driver: errors only on stderr. Root and org.apache.spark at the same
#: level also silence PySpark's "Setting default log level" lines (printed when they differ).
SPARK_CONSOLE_LOG4J2 = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
"""


def init_hail(settings: HailSettings | None = None):
    """Start Hail once per process (idempotent) and return the ``hail`` module.

    Raises
    ------
    ToolError
        Java >= 11 is not installed.
    """
    import hail as hl

    settings = settings or HailSettings()
    if hl.utils.java.Env._hc is not None:  # already running: reuse
        return hl
    if (java_major_version() or 0) < 11:
        raise ToolError("Hail needs Java >= 11: install it (Debian/Ubuntu: 'apt-get install openjdk-17-jre-headless'; "
                        "macOS: 'brew install openjdk@17') or set JAVA_HOME")
    warnings.filterwarnings("ignore", message=".*Hail was built and tested with Java.*")
    warnings.filterwarnings("ignore", message=".*default_reference argument is deprecated.*")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    master = settings.spark_master or (f"local[{settings.threads}]" if settings.threads else "local[*]")
    spark_conf = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
    if settings.driver_memory:
        spark_conf["spark.driver.memory"] = settings.driver_memory
    else:
        spark_conf["spark.driver.memory"] = os.environ.get("EDFGEN_DRIVER_MEMORY", "4g")
    if settings.executor_memory:
        spark_conf["spark.executor.memory"] = settings.executor_memory
    tmp_dir = settings.tmp_dir or default_tmp_dir()
    os.makedirs(tmp_dir, exist_ok=True) if "://" not in tmp_dir else None
    log_path = settings.log_path or os.path.join(tmp_dir, "hail.log")
    if "://" not in tmp_dir:   # Spark's and Hadoop's start-up notes stay off the console (errors only; hail.log keeps all)
        quiet = os.path.join(tmp_dir, "edfgen-log4j2.properties")
        with open(quiet, "w") as fh:
            fh.write(SPARK_CONSOLE_LOG4J2)
        spark_conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{quiet}"
    log.debug("starting Hail (master=%s, tmp_dir=%s, log=%s)", master, tmp_dir, log_path)
    hl.init(master=master, tmp_dir=tmp_dir, local_tmpdir=tmp_dir if "://" not in tmp_dir else None,
            log=log_path, quiet=True, spark_conf=spark_conf, idempotent=True)
    hl.default_reference("GRCh38")
    try:
        hl.spark_context().setLogLevel("ERROR")
    except Exception:  # pragma: no cover - non-Spark backends
        pass
    return hl


# ----------------------------------------------------------------------------------------------
# Hail importers and QC
# ----------------------------------------------------------------------------------------------
def _contig_recoding(reference_genome: str = DEFAULT_REFERENCE_GENOME) -> dict[str, str]:
    """File contig names -> Hail's contigs of ``reference_genome`` (``chr1`` for GRCh38, ``1`` for GRCh37)."""
    # UK Biobank's BGEN files (and plink2 --output-chr 0M) name chromosomes 1-9 "01"-"09"
    zeros = {f"{p}0{i}": i for i in range(1, 10) for p in ("", "chr")}
    if reference_genome == "GRCh37":
        rec = {f"chr{i}": str(i) for i in range(1, 23)} | {k: str(i) for k, i in zeros.items()}
        rec.update({"chrX": "X", "chrY": "Y", "23": "X", "24": "Y", "25": "X", "XY": "X", "26": "MT", "M": "MT",
                    "chrM": "MT", "chrMT": "MT", "PAR1": "X", "PAR2": "X"})
        return rec
    rec = {str(i): f"chr{i}" for i in range(1, 23)} | {k: f"chr{i}" for k, i in zeros.items()}
    rec.update({"X": "chrX", "Y": "chrY", "23": "chrX", "24": "chrY", "MT": "chrM", "26": "chrM", "M": "chrM",
                "25": "chrX", "XY": "chrX", "PAR1": "chrX", "PAR2": "chrX"})
    return rec


def import_genotypes(source: GenotypeSource, *, tmp_dir: str | None = None, hl=None,
                     min_info_in_qc: bool = False):
    """Import genotypes with Hail; return a MatrixTable keyed by ``s`` (= IID) with entry ``x`` (float64
    effect-allele count/dosage) and row field ``varid`` (file id or ``chr:pos:ref:alt``).

    Raises
    ------
    InputError
        Unreadable file or an MT without a usable entry field.
    """
    if hl is None:
        hl = init_hail()
    rg = source.reference_genome
    rec = _contig_recoding(rg)
    if source.pfile:
        raise InputError(f"--pfile {source.pfile}: PLINK 2 files are read by the fast engine only (--engine fast)")
    if source.min_info is not None and not min_info_in_qc:
        raise InputError("--min-info is computed by the fast engine and the Hail GWAS only (gwas; --engine fast "
                         "elsewhere)")
    try:
        if source.bfile:
            mt = hl.import_plink(bed=f"{source.bfile}.bed", bim=f"{source.bfile}.bim", fam=f"{source.bfile}.fam",
                                 reference_genome=rg, contig_recoding=rec, a2_reference=True, quant_pheno=True)
            mt = mt.annotate_rows(varid=hl.if_else(mt.rsid == ".", _chr_pos_id(hl, mt), mt.rsid))   # as plink1.read_bim
            mt = mt.select_entries(x=hl.float64(mt.GT.n_alt_alleles()))
        elif source.vcf:
            if "{chr}" in source.vcf or source.vcf.endswith(".bcf"):
                raise InputError(f"--vcf {source.vcf}: {'a {chr} template' if '{chr}' in source.vcf else 'BCF'} is "
                                 "read by the fast engine only (Hail: one VCF, e.g. bcftools concat -Oz)")
            mt = hl.import_vcf(source.vcf, reference_genome=rg, contig_recoding=rec, force_bgz=source.vcf.endswith(".gz"),
                               array_elements_required=False)
            mt = mt.annotate_rows(varid=hl.if_else((mt.rsid == ".") | hl.is_missing(mt.rsid), _chr_pos_id(hl, mt), mt.rsid))
            if source.vcf_field == "DS" or (source.vcf_field == "auto" and "DS" in mt.entry):
                if "DS" not in mt.entry:
                    raise InputError(f"--vcf {source.vcf}: no DS field (use --vcf-field GT)")
                x = hl.float64(mt.DS[0] if isinstance(mt.DS.dtype, hl.tarray) else mt.DS)
                if "GT" in mt.entry:  # no DS for a sample: its hard call (plink2 --vcf dosage=DS)
                    x = hl.or_else(hl.if_else(mt.GT.ploidy == 1, 2 * x, x), _gt_count(hl, mt.GT))
            else:
                x = _gt_count(hl, mt.GT)
            mt = mt.select_entries(x=hl.float64(x))
        elif source.bgen:
            pairs = source.bgen_files()
            samples = {smp for _, smp in pairs}
            if len(samples) > 1 and not any("://" in str(smp) for smp in samples):
                # Hail reads one sample file for all
                first = read_oxford_sample(pairs[0][1])["IID"].tolist()
                for _, smp in pairs[1:]:
                    if read_oxford_sample(smp)["IID"].tolist() != first:
                        raise InputError(f"--sample {smp}: other samples than {pairs[0][1]}; per-chromosome BGENs "
                                         "must list the same samples in the same order")
            from hailtop import fs as hfs  # (hl.hadoop_exists is deprecated)

            index_map = {}
            for bgen, _ in pairs:
                if hfs.exists(bgen + ".idx2"):  # works for local paths and gs://, hdfs://
                    continue
                # keyed on the BGEN file alone (any --keep/--extract/--chr reuses it: a UK Biobank chromosome
                # takes hours to index) and written under a temporary name then renamed (a run killed inside
                # index_bgen left a 0-byte index that broke every later run with an EOFException)
                key = hashlib.sha256(f"{path_id(bgen)}:{rg}".encode()).hexdigest()[:16]
                idx = os.path.join(tmp_dir or tempfile.gettempdir(), "edfgen-bgen-index", key + ".idx2")
                if not hfs.exists(idx):
                    _index_bgen(hl, bgen, idx, rg=rg, rec=rec)
                index_map[bgen] = idx
            mt = hl.import_bgen([b for b, _ in pairs], entry_fields=["dosage"], sample_file=pairs[0][1],
                                index_file_map=index_map or None)
            mt = mt.annotate_rows(varid=hl.if_else((mt.rsid == ".") | hl.is_missing(mt.rsid),
                                                   _chr_pos_id(hl, mt), mt.rsid))
            mt = mt.select_entries(x=hl.float64(mt.dosage))
            if pairs[0][1] and "://" not in str(pairs[0][1]):
                # Hail names samples by ID_1; edfgen (and plink2) by ID_2, the IID: plink2's own .sample export
                # writes ID_1 = 0 for every sample, which Hail read as one duplicated id
                iids = hl.literal(read_oxford_sample(pairs[0][1])["IID"].astype(str).tolist())
                mt = mt.add_col_index("__c")
                mt = mt.key_cols_by(s=iids[hl.int32(mt.__c)]).drop("__c")
        else:
            mt = hl.read_matrix_table(source.mt)
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
                raise InputError(f"--mt {source.mt}: needs an entry field GT, dosage or DS "
                                 f"(has {', '.join(mt.entry)})")
            mt = mt.select_entries(x=hl.float64(x))
        col_key = list(mt.col_key)[0]
        if col_key != "s":
            mt = mt.key_cols_by(s=hl.str(mt[col_key]))
        mt = mt.select_cols().select_rows("rsid", "varid")
        if source.bgen:  # BGEN samples without probabilities come back as filtered entries: make them missing
            mt = mt.unfilter_entries()
    except InputError:
        raise
    except Exception as exc:  # Hail raises many exception types on unreadable input
        raise InputError(f"--{source.kind} {source.label}: cannot import ({str(exc).splitlines()[0][:300]})") from None
    return _hail_selection(hl, mt, source)


def _gt_count(hl, gt):
    """Effect-allele count of a VCF call, a haploid call (males on X, Y, MT) counting two copies: as PLINK stores
    it and the fast engine reads it (Hail's ``n_alt_alleles`` gave 0/1 there, the fast engine 0/2)."""
    n = hl.float64(gt.n_alt_alleles())
    return hl.if_else(gt.ploidy == 1, 2 * n, n)


def check_bgen_for_hail(path: str) -> None:
    """The BGEN's layout (:func:`~edfgen.formats.genotypes.bgen_check.scan_bgen`) and, from its first variant,
    the 8 bits per probability that Hail's ``import_bgen`` reads: a 16-bit file (plink2's default export, read
    by the fast engine) gave a 259-line Java traceback. Raises :class:`InputError` naming the file."""
    from edfgen.formats.genotypes.bgen_check import decompress, scan_bgen, split_block

    layout = scan_bgen(path)
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
                         f"(use --engine fast, or plink2 --export bgen-1.2 bits=8)")


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


def _hail_selection(hl, mt, source: GenotypeSource):
    """``--keep/--remove`` (columns) and ``--chr/--extract`` (rows) on an imported MatrixTable, without UK Biobank's
    withdrawn participants (negative ids, :func:`~edfgen.formats.genotypes.base.withdrawn_samples`; their count is
    the global ``n_withdrawn``)."""
    gone = mt.s.matches(f"^{WITHDRAWN_ID}$")
    n_gone = mt.aggregate_cols(hl.agg.count_where(gone))
    log_withdrawn(source.label, n_gone)
    if n_gone:
        mt = mt.filter_cols(gone, keep=False)
    mt = mt.annotate_globals(n_withdrawn=n_gone)
    if source.keep is not None:
        mt = mt.filter_cols(hl.literal(read_id_list(source.keep, what="--keep")).contains(mt.s))
    if source.remove is not None:
        mt = mt.filter_cols(hl.literal(read_id_list(source.remove, what="--remove")).contains(mt.s), keep=False)
    if source.chromosomes is not None:
        # imported contigs are recoded (X takes 23, 25, XY, PAR1/2: Hail cannot tell the PAR apart, so --chr XY
        # is all of X here); a --mt's contigs may be PLINK's numbers: mapped as the fast engine maps them
        want = {"X" if c == "XY" else c for c in selection_chromosome_names(list(source.chromosomes))}
        contig = mt.locus.contig.replace("(?i)^chr", "").upper()
        contig = hl.literal({k: ("X" if v == "XY" else v) for k, v in SELECTION_NAMES.items()}).get(contig, contig)
        mt = mt.filter_rows(hl.literal(want).contains(contig))
    if source.extract is not None:
        ids = hl.literal(read_variant_list(source.extract))
        mt = mt.filter_rows(ids.contains(mt.varid) | ids.contains(hl.or_else(mt.rsid, "")))
    return mt


def _chr_pos_id(hl, mt):
    return hl.delimit([mt.locus.contig.replace("^chr", ""), hl.str(mt.locus.position),
                       mt.alleles[0], hl.or_else(mt.alleles[1], ".")], ":")


def hail_calls(hl, x):
    """Hard calls from a count/dosage entry (rounded), for KING, HWE and PCA."""
    return hl.or_missing(hl.is_defined(x), hl.unphased_diploid_gt_index_call(hl.int32(hl.floor(x + 0.5))))


def related_pairs(hl, mt, kinship: float = KINSHIP_2ND_DEGREE):
    """Pairs of samples with KING-robust kinship > ``kinship`` (``hl.king``), as a Hail Table
    ``(i, j, phi)`` with ``i < j`` (checkpointed)."""
    calls = mt.select_entries(GT=hail_calls(hl, mt.x))
    king = hl.king(calls.GT)
    pairs = king.filter_entries((king.phi > kinship) & (king.s_1 < king.s)).entries()
    pairs = pairs.key_by()
    pairs = pairs.select(i=pairs.s_1, j=pairs.s, phi=pairs.phi)
    return pairs.checkpoint(hl.utils.new_temp_file("king", "ht"))


def related_to_remove(hl, mt, kinship: float = KINSHIP_2ND_DEGREE) -> set[str]:
    """Samples to drop so that no pair has KING kinship > ``kinship`` (``hl.king`` + ``hl.maximal_independent_set``,
    which removes as few samples as it can)."""
    pairs = related_pairs(hl, mt, kinship)
    if pairs.count() == 0:
        return set()
    mis = hl.maximal_independent_set(pairs.i, pairs.j, keep=False)
    return set(mis.node.collect())


def hail_qc(hl, mt, keep_iids: Sequence[str] | None, settings: QCSettings, *,
            checkpoint: str | None = None, min_info: float | None = None,
            sex_by_id: pd.Series | None = None) -> tuple[object, pd.DataFrame, list[QCStep], int]:
    """QC in Hail (any input format): returns (QC'd MT, variants table, steps, N genotyped).

    ``sex_by_id`` (IID -> 1 male, 2 female, 0 unknown; :func:`edfgen.formats.genotypes.sex.source_sex`): Y is
    counted on the males (variant call rate; a female's sample call rate leaves Y out) and X's allele frequency
    counts one allele per male, as the fast engine and plink2 (:mod:`edfgen.engines.sex_chromosomes`).

    ``min_info``: keep variants whose MaCH r² (:func:`edfgen.kernels.qc.mach_r2`, from the
    dosages of the samples kept) is at least this, after the other variant filters, as the fast engine.

    The QC'd MatrixTable is written to ``checkpoint`` (if given) so association never re-reads
    the input files; a later run with the same input files, QC settings and samples reads that
    checkpoint (and its ``.qc.json``) instead of importing and filtering again.
    """
    sidecar = f"{checkpoint}.qc.json" if checkpoint else None
    if checkpoint and os.path.exists(sidecar) and os.path.exists(os.path.join(checkpoint, "_SUCCESS")):
        log.info("reusing QC'd genotypes %s", checkpoint)
        info = json.loads(Path(sidecar).read_text())
        mt = hl.read_matrix_table(checkpoint)
        return mt, pd.DataFrame(info["variants"]), [QCStep(**s) for s in info["steps"]], info["n_genotyped"]
    n_geno = mt.count_cols()
    n_var = mt.count_rows()
    steps: list[QCStep] = []
    mt = mt.filter_rows(hl.len(mt.alleles) == 2)
    if keep_iids is not None:
        mt = mt.filter_cols(hl.literal(set(keep_iids)).contains(mt.s))
    both_sexes, no_males = False, 0
    if sex_by_id is not None:   # the candidates' sex: Y without males left out, none known as without sex
        mt, sex_by_id, both_sexes, no_males = analysed_sex_hail(
            hl, mt, sex_by_id, keep_iids if keep_iids is not None else mt.s.collect())
    if sex_by_id is not None:
        mt = mt.annotate_cols(__sex=sex_codes(hl, sex_by_id, mt.s))
        mt = mt.annotate_rows(__kind=row_kind(hl, mt.locus))

    def agg(e):   # (of the MatrixTable mt is when called: Y counted on males)
        return e if sex_by_id is None else hl.agg.filter((mt.__kind != "Y") | (mt.__sex == 1), e)
    mt = mt.annotate_cols(cr=agg(hl.agg.mean(hl.float64(hl.is_defined(mt.x)))))
    cols = mt.cols().to_pandas()
    s_ok = (cols["cr"] >= settings.sample_call_rate).to_numpy()
    steps.append(sample_call_rate_step(s_ok, settings))
    mt = mt.filter_cols(mt.cr >= settings.sample_call_rate).drop("cr")
    if settings.remove_related:
        drop = related_to_remove(hl, _common_variants(hl, mt), settings.kinship)
        steps.append(QCStep("related", "sample", f"kinship <= {settings.kinship:g}", len(drop),
                            int(s_ok.sum()) - len(drop)))
        mt = mt.filter_cols(hl.literal(drop).contains(mt.s), keep=False)
    if sex_by_id is not None and not mt.aggregate_cols(hl.agg.any(mt.__sex == 1)):   # sample QC left no male
        n_y = int(mt.aggregate_rows(hl.agg.count_where(mt.__kind == "Y")))
        if n_y:
            log.warning("no males among the analysed samples after sample QC: chrY not tested (%d variants)", n_y)
            mt, no_males = mt.filter_rows(mt.__kind != "Y"), no_males + n_y
    mt = mt.add_row_index("__i")
    mt = mt.annotate_rows(n_called=agg(hl.agg.count_where(hl.is_defined(mt.x))),
                          n_het=agg(hl.agg.count_where(hl.floor(mt.x + 0.5) == 1)),
                          n_hom_alt=agg(hl.agg.count_where(hl.floor(mt.x + 0.5) == 2)),
                          dosage_sum=agg(hl.agg.sum(mt.x)), dosage_sumsq=agg(hl.agg.sum(mt.x * mt.x)))
    sexed = {}
    if sex_by_id is not None:    # X: one allele per male, over the samples of known sex (one sex: everyone)
        half = hl.if_else(mt.__sex == 1, 0.5, 1.0)
        on_x = (mt.__kind == "X") & ((mt.__sex != 0) | hl.literal(not both_sexes))
        mt = mt.annotate_rows(__af=hl.agg.filter(on_x, hl.agg.sum(mt.x * half))
                              / hl.agg.filter(on_x & hl.is_defined(mt.x), hl.agg.sum(2 * half)))
        # X's HWE (plink2 --hwe, Graffelman-Weir): females' 0/1/2 and males' 0/2 hard calls (heterozygous males
        # and unknown sex left out, or counted as female with no male), as :func:`edfgen.engines.stream.x_sex_counts`
        g = hl.floor(mt.x + 0.5)
        fem = (mt.__sex == 2) | ((mt.__sex == 0) & hl.literal(not mt.aggregate_cols(hl.agg.any(mt.__sex == 1))))
        mt = mt.annotate_rows(__xc=[hl.agg.count_where(hl.coalesce((fem if s == 2 else mt.__sex == 1) & (g == v),
                                                                   False))
                                    for s, v in ((2, 0), (2, 1), (2, 2), (1, 0), (1, 2))])
        sexed = {"kind": "__kind", "af": "__af", "xc": "__xc"}
    rt = mt.rows()
    rows = rt.select(i=rt.__i, chromosome=rt.locus.contig.replace("^chr", ""), base_pair_location=rt.locus.position,
                     effect_allele=rt.alleles[1], other_allele=rt.alleles[0], variant_id=rt.varid, rsid=rt.rsid,
                     n_called=rt.n_called, n_het=rt.n_het, n_hom_alt=rt.n_hom_alt, dosage_sum=rt.dosage_sum,
                     dosage_sumsq=rt.dosage_sumsq, hwe_kind=row_kind(hl, rt.locus),
                     **{k: rt[v] for k, v in sexed.items()}
                     ).key_by().drop("locus", "alleles").to_pandas()
    n_used = mt.count_cols()
    extra = {}
    if sex_by_id is not None:    # Y's call rate among the males
        n_males = int(mt.aggregate_cols(hl.agg.count_where(mt.__sex == 1)))
        on_x = (rows["kind"] == "X").to_numpy()
        xc = np.full((len(rows), 5), -1, dtype=np.int64)
        if on_x.any():
            xc[on_x] = np.array(rows["xc"][on_x].tolist(), dtype=np.int64)
        extra = dict(allele_frequency=rows["af"].to_numpy(dtype=float),
                     n_samples=np.where(rows["kind"] == "Y", n_males, n_used).astype(np.int64),
                     x_counts=xc if on_x.any() else None)
    counts = VariantCounts(*(rows[c].to_numpy(dtype=np.int64) for c in ("n_called", "n_het", "n_hom_alt")),
                           *(rows[c].to_numpy(dtype=float) for c in ("dosage_sum", "dosage_sumsq")),
                           sample_missing=np.zeros(n_used, dtype=np.int64), **extra)
    keep, vsteps = variant_qc(counts, np.ones(len(rows), dtype=bool), n_used, settings, dosages=True,
                              min_info=min_info, hwe_tested=hwe_diploid(rows["chromosome"], rows["hwe_kind"]))
    n_bi = len(rows) + no_males
    steps = [QCStep("biallelic", "variant", "2 alleles", n_var - n_bi, n_bi), *steps,
             *([no_males_step(no_males, len(rows))] if no_males else []), *vsteps[1:]]
    kept = rows[keep]
    keep_idx = hl.literal(set(int(i) for i in kept["i"]), dtype=hl.tset(hl.tint64))
    mt = mt.filter_rows(keep_idx.contains(mt.__i)).drop("__i", "n_called", "n_het", "n_hom_alt", "dosage_sum",
                                                         "dosage_sumsq", *(("__sex", "__kind", "__af", "__xc") if sexed else ()))
    variants = kept[["chromosome", "base_pair_location", "effect_allele", "other_allele", "variant_id", "rsid"]].copy()
    variants["rsid"] = variants["rsid"].where(variants["rsid"].astype(str).str.match(r"^rs\d+$"))
    if checkpoint:
        mt = mt.checkpoint(checkpoint, overwrite=True)
        info = {"variants": variants.astype(object).where(variants.notna(), None).to_dict(orient="list"),
                "steps": [asdict(s) for s in steps], "n_genotyped": int(n_geno)}
        with atomic_write(sidecar) as fh:
            json.dump(info, fh)
    return mt, variants.reset_index(drop=True), steps, n_geno


def _common_variants(hl, mt, maf: float = 0.01):
    """Autosomal variants with MAF >= ``maf`` and call rate >= 0.95, for KING: as plink2's KING, which reads
    autosomes only (on X, Y and MT, haploid calls stored 0/2 read as homozygous pull phi down by sex: review
    s28b F3). A MatrixTable without a reference genome by its contig names (1-22, chr1-chr22)."""
    if isinstance(mt.locus.dtype, hl.tlocus):
        mt = mt.filter_rows(mt.locus.in_autosome())
    else:
        mt = mt.filter_rows(hl.literal({str(c) for c in range(1, 23)}).contains(mt.locus.contig.replace("(?i)^chr",
                                                                                                        "")))
    af = hl.agg.mean(mt.x) / 2
    mt = mt.annotate_rows(__af=af, __cr=hl.agg.mean(hl.float64(hl.is_defined(mt.x))))
    return mt.filter_rows((hl.min(mt.__af, 1 - mt.__af) >= maf) & (mt.__cr >= 0.95))


def related_callback(source: GenotypeSource, sample_ids: np.ndarray, settings: QCSettings,
                     hail: HailSettings | None = None):
    """``--remove-related`` for the streamed engine: ``related(sample_rows) -> set of IIDs`` to drop, from KING
    through Hail on the same files, restricted to the samples ``sample_ids[sample_rows]``."""
    hail = hail or HailSettings()

    def related(sample_rows) -> set:
        hl = init_hail(hail)
        mt = import_genotypes(source, tmp_dir=hail.tmp_dir, hl=hl, min_info_in_qc=True)  # KING ignores INFO
        mt = mt.filter_cols(hl.literal(set(np.asarray(sample_ids)[sample_rows])).contains(mt.s))
        return related_to_remove(hl, _common_variants(hl, mt), settings.kinship)
    return related


#: bumped when what the cache holds for the same inputs changes (2: HWE on autosomes only; haploid VCF calls 0/2;
#: 3: Y's call rates among males, X's MAF one allele per male, with sex from the files; 4: KING on autosomes only;
#: 5: X's HWE as plink2's, Y left out with its qc_report row where sample QC leaves no male)
CACHE_VERSION = 5


def _cache_path(tmp_dir: str, source: GenotypeSource, qc: QCSettings, iids: np.ndarray, sexed: bool = False) -> str:
    h = hashlib.sha256(json.dumps([CACHE_VERSION, source.fingerprint(), qc.__dict__, sexed], sort_keys=True,
                                  default=str).encode())
    h.update("\n".join(sorted(iids)).encode())
    return os.path.join(tmp_dir, "edfgen-genotype-cache", h.hexdigest()[:20] + ".mt")


def import_for_gwas(hl, source: GenotypeSource, hail: HailSettings):
    """The genotypes of ``source`` imported for the Hail GWAS: ``(MatrixTable, sample ids)``; duplicated
    sample ids are an input error."""
    mt = import_genotypes(source, tmp_dir=hail.tmp_dir, hl=hl, min_info_in_qc=True)
    ids = np.asarray(mt.s.collect(), dtype=str)
    check_unique_iids(ids, f"--{source.kind} {source.label}")
    return mt, ids


def qc_for_gwas(hl, mt, source: GenotypeSource, qc: QCSettings, overlap: set, hail: HailSettings, *,
                sex_by_id: pd.Series | None = None):
    """:func:`hail_qc` of the samples ``overlap`` (with ``sex_by_id``), checkpointed in ``hail.tmp_dir`` (reused by
    a later run with the same files, QC settings and samples): ``(QC'd MatrixTable, variants, steps, sample ids)``."""
    ckpt = _cache_path(hail.tmp_dir or default_tmp_dir(), source, qc, np.asarray(sorted(overlap)),
                       sex_by_id is not None)
    try:    # the import is lazy: what Hail cannot read (haploid BGEN samples, ...) surfaces at QC's first action
        mt, variants, steps, _ = hail_qc(hl, mt, sorted(overlap), qc, checkpoint=ckpt, min_info=source.min_info,
                                         sex_by_id=sex_by_id)
    except Exception as exc:  # noqa: BLE001 - what Hail cannot read in the input, as one line naming it
        what = next((ln.strip() for ln in str(exc).splitlines() if "HailException:" in ln), "")
        if isinstance(exc, InputError) or not type(exc).__module__.startswith(("hail", "py4j")) or not any(
                k in what for k in ("ploidy", "bits")):
            raise     # (out of memory, a full disk, a corrupt --mt: Hail's own error, with its cause)
        raise InputError(f"--{source.kind} {source.label}: the Hail engine cannot read it ({what[:300]}); "
                         f"--engine fast reads haploid and 16-bit BGEN") from None
    return mt, variants, steps, np.asarray(mt.s.collect(), dtype=str)


def hail_pca(hl, mt, ids: set | None, *, k: int, maf: float, ld_r2: float, ld_window_kb: int):
    """LD-pruned ``hwe_normalized_pca`` of the imported genotypes (samples ``ids``, all when None; biallelic
    variants with ``maf <= AF <= 1 - maf``, pruned with ``hl.ld_prune``): ``(eigenvalues, scores table
    IID, PC1..PCk, pruned variants table, samples, pruned variants)``.

    Raises
    ------
    InputError
        ``k`` not below the number of samples and of pruned variants.
    """
    if ids is not None:
        mt = mt.filter_cols(hl.literal(ids).contains(mt.s))
    mt = mt.filter_rows(hl.len(mt.alleles) == 2)
    mt = mt.annotate_entries(GT=hail_calls(hl, mt.x))
    mt = mt.annotate_rows(__af=hl.agg.mean(mt.x) / 2)
    mt = mt.filter_rows((mt.__af >= maf) & (mt.__af <= 1 - maf))
    mt = mt.checkpoint(hl.utils.new_temp_file("pca", "mt"))
    n_samples = mt.count_cols()
    pruned = hl.ld_prune(mt.GT, r2=ld_r2, bp_window_size=ld_window_kb * 1000)
    mt = mt.filter_rows(hl.is_defined(pruned[mt.row_key]))
    n_var = mt.count_rows()
    if k >= min(n_samples, n_var):
        raise InputError(f"--k {k}: need fewer PCs than samples ({n_samples}) and pruned variants ({n_var})")
    eig, scores, _ = hl.hwe_normalized_pca(mt.GT, k=k, compute_loadings=False)
    sc = scores.to_pandas()
    pcs = pd.DataFrame(sc["scores"].tolist(), columns=[f"PC{i + 1}" for i in range(k)])
    pcs.insert(0, "IID", sc["s"].astype(str).to_numpy())
    rows = mt.rows()
    pv = rows.select(chromosome=rows.locus.contig.replace("^chr", ""), base_pair_location=rows.locus.position,
                     effect_allele=rows.alleles[1], other_allele=rows.alleles[0],
                     variant_id=rows.varid).key_by().drop("locus", "alleles").to_pandas()
    return eig, pcs, pv, n_samples, n_var
