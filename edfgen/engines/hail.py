"""The Hail engine: one Hail (Spark) context per process, started lazily with edfgen's defaults; quality
control and KING relatedness in Hail, on the genotypes that :mod:`edfgen.engines.hail_import` imports
(``--bfile``, ``--vcf``, ``--bgen``, ``--mt`` as a MatrixTable with entry ``x``, the effect-allele count or dosage).

The same code runs locally (``local[*]``, the default) and on a Spark cluster
(``spark_master="yarn"`` or ``spark://...``; on Dataproc, ``hailctl dataproc submit``).
The default reference genome is GRCh38. Hail's warning that it was tested on Java 11 is silenced:
Hail 0.2.139 runs on Java 17, which is what edfgen is tested on. The QC rules are the kernels of
:mod:`edfgen.kernels.qc`; :func:`hail_qc` computes their counts in Hail. What Hail cannot read in an input
surfaces at the first pass over it (the import is lazy) and is one line naming the file
(:func:`~edfgen.engines.hail_import.hail_input_error`).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.engines.hail_gwas import analysed_sex_hail, row_kind, sex_codes
from edfgen.engines.hail_import import (KING_BGEN_REMEDY, KING_LOCUS_REMEDY, import_genotypes, input_errors,
                                        king_source, local_path)
from edfgen.engines.hail_tmp import private_tmp_dir, scratch_tmp_dir
from edfgen.engines.sex_chromosomes import no_males_step
from edfgen.exceptions import InputError, ToolError
from edfgen.formats.chromosomes import hwe_diploid
from edfgen.formats.genotypes.base import check_unique_iids
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.formats.tables import atomic_write
from edfgen.kernels.qc import (HARD_CALL_LIMIT, KINSHIP_2ND_DEGREE, QCSettings, QCStep, VariantCounts,
                               sample_call_rate_step, variant_qc)

log = logging.getLogger(__name__)



def default_tmp_dir() -> str:
    """Hail's temporary and checkpoint folder when ``--tmp-dir`` is not given: this user's private
    ``<system temp>/edfgen-hail-<uid>`` (:func:`edfgen.engines.hail_tmp.private_tmp_dir`, created 0700)."""
    return private_tmp_dir()

@dataclass(frozen=True)
class HailSettings:
    """How to start Hail. ``None`` means Hail's/Spark's default."""

    spark_master: str | None = None
    tmp_dir: str | None = None
    driver_memory: str | None = None
    executor_memory: str | None = None
    threads: int | None = None
    log_path: str | None = None

    def __post_init__(self):
        # checkpoints and temporary files are written by the executors, which resolve a relative path against
        # their own work folder
        object.__setattr__(self, "tmp_dir", local_path(self.tmp_dir))


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


def write_log4j_config(tmp_dir: str) -> str:
    """Write :data:`SPARK_CONSOLE_LOG4J2` to ``<tmp_dir>/edfgen-log4j2.properties`` and return its path.

    Written under a temporary name and renamed over whatever has that name, so a link planted there is
    replaced, never written through (review s33a F2: it overwrote the link's target).

    Parameters
    ----------
    tmp_dir
        A local folder (Hail's temporary folder).

    Returns
    -------
    str
        The path of the properties file.
    """
    quiet = os.path.join(tmp_dir, "edfgen-log4j2.properties")
    with atomic_write(quiet) as fh:
        fh.write(SPARK_CONSOLE_LOG4J2)
    return quiet


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
        spark_conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{write_log4j_config(tmp_dir)}"
    log.debug("starting Hail (master=%s, tmp_dir=%s, log=%s)", master, tmp_dir, log_path)
    hl.init(master=master, tmp_dir=tmp_dir, local_tmpdir=tmp_dir if "://" not in tmp_dir else None,
            log=log_path, quiet=True, spark_conf=spark_conf, idempotent=True)
    hl.default_reference("GRCh38")
    try:
        hl.spark_context().setLogLevel("ERROR")
    except Exception:  # pragma: no cover - non-Spark backends
        pass
    return hl



def hard_call(hl, x):
    """The hard call (int 0/1/2) of a count/dosage entry as plink2 makes it: the nearest integer where ``x`` is
    within :data:`~edfgen.kernels.qc.HARD_CALL_THRESHOLD` of it, else missing (as
    :func:`edfgen.kernels.qc.hard_calls`; rounding every dosage made a poorly imputed variant's dosages, all
    near ``2p``, one shared genotype: KING related two thirds of a UK Biobank-style cohort, review s32d F1)."""
    n = hl.int32(hl.floor(x + 0.5))
    return hl.or_missing(hl.abs(x - n) <= HARD_CALL_LIMIT, n)


def hail_calls(hl, x):
    """Diploid calls of :func:`hard_call` (missing where it is), for KING, HWE and PCA."""
    return hl.unphased_diploid_gt_index_call(hard_call(hl, x))


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
    which removes as few samples as it can). Hail's temporary tables of both are removed after
    (:func:`~edfgen.engines.hail_tmp.scratch_tmp_dir`)."""
    with scratch_tmp_dir(hl, "king"):
        pairs = related_pairs(hl, mt, kinship)
        if pairs.count() == 0:
            return set()
        mis = hl.maximal_independent_set(pairs.i, pairs.j, keep=False)
        return set(mis.node.collect())


def hail_qc(hl, mt, keep_iids: Sequence[str] | None, settings: QCSettings, *,
            checkpoint: str | None = None, min_info: float | None = None,
            sex_by_id: pd.Series | None = None, sex_label: str = "the genotype files",
            no_variant: str = "no variant to test in the genotype files"
            ) -> tuple[object, pd.DataFrame, list[QCStep], int]:
    """QC in Hail (any input format): returns (QC'd MT, variants table, steps, N genotyped).

    ``sex_by_id`` (IID -> 1 male, 2 female, 0 unknown; :func:`edfgen.formats.genotypes.sex.source_sex`): Y is
    counted on the males (variant call rate; a female's sample call rate leaves Y out) and X's allele frequency
    counts one allele per male, as the fast engine and plink2 (:mod:`edfgen.engines.sex_chromosomes`).

    ``min_info``: keep variants whose MaCH r² (:func:`edfgen.kernels.qc.mach_r2`, from the
    dosages of the samples kept) is at least this, after the other variant filters, as the fast engine.

    The QC'd MatrixTable is written to ``checkpoint`` (if given) so association never re-reads
    the input files; a later run with the same input files, QC settings and samples reads that
    checkpoint (and its ``.qc.json``) instead of importing and filtering again.

    ``no_variant``: the :class:`~edfgen.exceptions.InputError` raised when ``mt`` has no row (an ``--extract`` or
    ``--chr`` that matches nothing: sample QC's call rates over no variant failed on Hail's missing mean).
    """
    sidecar = f"{checkpoint}.qc.json" if checkpoint else None
    if checkpoint and os.path.exists(sidecar) and os.path.exists(os.path.join(checkpoint, "_SUCCESS")):
        log.info("reusing QC'd genotypes %s", checkpoint)
        info = json.loads(Path(sidecar).read_text())
        mt = hl.read_matrix_table(checkpoint)
        return mt, pd.DataFrame(info["variants"]), [QCStep(**s) for s in info["steps"]], info["n_genotyped"]
    n_geno = mt.count_cols()
    n_var = mt.count_rows()
    if n_var == 0:
        raise InputError(no_variant)
    steps: list[QCStep] = []
    mt = mt.filter_rows(_biallelic(hl, mt.alleles))
    if keep_iids is not None:
        mt = mt.filter_cols(hl.literal(set(keep_iids)).contains(mt.s))
    both_sexes, no_males = False, 0
    if sex_by_id is not None:   # the candidates' sex: Y without males left out, none known as without sex
        mt, sex_by_id, both_sexes, no_males = analysed_sex_hail(
            hl, mt, sex_by_id, keep_iids if keep_iids is not None else mt.s.collect(), label=sex_label)
    if sex_by_id is not None:
        mt = mt.annotate_cols(__sex=sex_codes(hl, sex_by_id, mt.s))
        mt = mt.annotate_rows(__kind=row_kind(hl, mt.locus))

    def agg(e):   # (of the MatrixTable mt is when called: Y counted on males)
        return e if sex_by_id is None else hl.agg.filter((mt.__kind != "Y") | (mt.__sex == 1), e)
    # a sample with no variant counted (an --extract of not-biallelic variants only; a female on --chr Y) is fully
    # called, as max(n, 1) in :func:`edfgen.kernels.qc.sample_call_rate_ok`: Hail's mean over no row is NaN
    mt = mt.annotate_cols(cr=hl.bind(lambda c: hl.coalesce(hl.or_missing(~hl.is_nan(c), c), 1.0),
                                     agg(hl.agg.mean(hl.float64(hl.is_defined(mt.x))))))
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
                          n_hom_ref=agg(hl.agg.count_where(hard_call(hl, mt.x) == 0)),
                          n_het=agg(hl.agg.count_where(hard_call(hl, mt.x) == 1)),
                          n_hom_alt=agg(hl.agg.count_where(hard_call(hl, mt.x) == 2)),
                          dosage_sum=agg(hl.agg.sum(mt.x)), dosage_sumsq=agg(hl.agg.sum(mt.x * mt.x)))
    sexed = {}
    if sex_by_id is not None:    # X: one allele per male, over the samples of known sex (one sex: everyone)
        half = hl.if_else(mt.__sex == 1, 0.5, 1.0)
        on_x = (mt.__kind == "X") & ((mt.__sex != 0) | hl.literal(not both_sexes))
        mt = mt.annotate_rows(__af=hl.agg.filter(on_x, hl.agg.sum(mt.x * half))
                              / hl.agg.filter(on_x & hl.is_defined(mt.x), hl.agg.sum(2 * half)))
        # X's HWE (plink2 --hwe, Graffelman-Weir): females' 0/1/2 and males' 0/2 hard calls (heterozygous males
        # and unknown sex left out, or counted as female with no male), as :func:`edfgen.engines.stream.x_sex_counts`
        g = hard_call(hl, mt.x)
        fem = (mt.__sex == 2) | ((mt.__sex == 0) & hl.literal(not mt.aggregate_cols(hl.agg.any(mt.__sex == 1))))
        mt = mt.annotate_rows(__xc=[hl.agg.count_where(hl.coalesce((fem if s == 2 else mt.__sex == 1) & (g == v),
                                                                   False))
                                    for s, v in ((2, 0), (2, 1), (2, 2), (1, 0), (1, 2))])
        sexed = {"kind": "__kind", "af": "__af", "xc": "__xc"}
    rt = mt.rows()
    rows = rt.select(i=rt.__i, chromosome=rt.locus.contig.replace("^chr", ""), base_pair_location=rt.locus.position,
                     effect_allele=rt.alleles[1], other_allele=rt.alleles[0], variant_id=rt.varid, rsid=rt.rsid,
                     n_called=rt.n_called, n_hom_ref=rt.n_hom_ref, n_het=rt.n_het, n_hom_alt=rt.n_hom_alt, dosage_sum=rt.dosage_sum,
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
                           sample_missing=np.zeros(n_used, dtype=np.int64),
                           n_hom_ref=rows["n_hom_ref"].to_numpy(dtype=np.int64), **extra)
    keep, vsteps = variant_qc(counts, np.ones(len(rows), dtype=bool), n_used, settings, dosages=True,
                              min_info=min_info, hwe_tested=hwe_diploid(rows["chromosome"], rows["hwe_kind"]))
    n_bi = len(rows) + no_males
    steps = [QCStep("biallelic", "variant", "2 alleles", n_var - n_bi, n_bi), *steps,
             *([no_males_step(no_males, len(rows))] if no_males else []), *vsteps[1:]]
    kept = rows[keep]
    keep_idx = hl.literal(set(int(i) for i in kept["i"]), dtype=hl.tset(hl.tint64))
    mt = mt.filter_rows(keep_idx.contains(mt.__i)).drop("__i", "n_called", "n_hom_ref", "n_het", "n_hom_alt", "dosage_sum",
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


def _biallelic(hl, alleles):
    """Two distinct, defined alleles, as :func:`edfgen.kernels.qc.biallelic` (``0`` and ``.`` undefined): a .bim's
    ``0`` allele (PLINK's missing code, e.g. of a monomorphic variant) was one allele to Hail, tested by it and
    left out as not biallelic by the fast engine (s38)."""
    return ((hl.len(alleles) == 2) & ~hl.literal({"0", "."}).contains(alleles[0])
            & ~hl.literal({"0", "."}).contains(alleles[1]) & (alleles[0] != alleles[1]))


def _common_variants(hl, mt, maf: float = 0.01):
    """Autosomal variants with MAF >= ``maf`` and hard-call rate (:func:`hard_call`) >= 0.95, for KING: as plink2's
    KING, which reads autosomes only (on X, Y and MT, haploid calls stored 0/2 read as homozygous pull phi down by
    sex: review s28b F3), and ``--geno 0.05`` drops the poorly imputed variants whose dosages are no hard call.
    A MatrixTable without a reference genome by its contig names (1-22, chr1-chr22)."""
    if isinstance(mt.locus.dtype, hl.tlocus):
        mt = mt.filter_rows(mt.locus.in_autosome())
    else:
        mt = mt.filter_rows(hl.literal({str(c) for c in range(1, 23)}).contains(mt.locus.contig.replace("(?i)^chr",
                                                                                                        "")))
    af = hl.agg.mean(mt.x) / 2
    mt = mt.annotate_rows(__af=af, __cr=hl.agg.mean(hl.float64(hl.is_defined(hard_call(hl, mt.x)))))
    return mt.filter_rows((hl.min(mt.__af, 1 - mt.__af) >= maf) & (mt.__cr >= 0.95))


def related_callback(source: GenotypeSource, sample_ids: np.ndarray, settings: QCSettings,
                     hail: HailSettings | None = None):
    """``--remove-related`` for the streamed engine: ``related(sample_rows) -> set of IIDs`` to drop, from KING
    through Hail on the same files (their autosomes, :func:`~edfgen.engines.hail_import.king_source`, checked
    here, before the run), restricted to the samples ``sample_ids[sample_rows]``."""
    hail = hail or HailSettings()
    source = king_source(source)

    def related(sample_rows) -> set:
        hl = init_hail(hail)
        with input_errors(source, KING_BGEN_REMEDY, KING_LOCUS_REMEDY):   # (Hail reads lazily: haploid calls fail here)
            mt = import_genotypes(source, tmp_dir=hail.tmp_dir, hl=hl, min_info_in_qc=True,   # KING ignores INFO
                                  locus_remedy=KING_LOCUS_REMEDY, remedy=KING_BGEN_REMEDY)
            mt = mt.filter_cols(hl.literal(set(np.asarray(sample_ids)[sample_rows])).contains(mt.s))
            return related_to_remove(hl, _common_variants(hl, mt), settings.kinship)
    return related


#: bumped when what the cache holds for the same inputs changes (2: HWE on autosomes only; haploid VCF calls 0/2;
#: 3: Y's call rates among males, X's MAF one allele per male, with sex from the files; 4: KING on autosomes only;
#: 5: X's HWE as plink2's, Y left out with its qc_report row where sample QC leaves no male; 6: HWE on plink2's
#: hard calls of dosages; 7: a 0 or . allele, or the same allele twice, is not biallelic)
CACHE_VERSION = 7


def _cache_path(tmp_dir: str, source: GenotypeSource, qc: QCSettings, iids: np.ndarray,
                sex_by_id: pd.Series | None = None) -> str:
    """The QC checkpoint of these files, QC settings, samples and sexes (a sex read from ``--covar`` is not in the
    files' fingerprint: a changed covariate sex must not reuse the QC of the former one, review rev36b)."""
    h = hashlib.sha256(json.dumps([CACHE_VERSION, source.fingerprint(), qc.__dict__, sex_by_id is not None],
                                  sort_keys=True, default=str).encode())
    ids = sorted(iids)
    h.update("\n".join(ids).encode())
    if sex_by_id is not None:
        h.update(np.asarray(sex_by_id.reindex(ids).fillna(0).to_numpy(), dtype=np.int8).tobytes())
    return os.path.join(tmp_dir, "edfgen-genotype-cache", h.hexdigest()[:20] + ".mt")


def import_for_gwas(hl, source: GenotypeSource, hail: HailSettings):
    """The genotypes of ``source`` imported for the Hail GWAS: ``(MatrixTable, sample ids)``; duplicated
    sample ids are an input error."""
    mt = import_genotypes(source, tmp_dir=hail.tmp_dir, hl=hl, min_info_in_qc=True)
    with input_errors(source):
        ids = np.asarray(mt.s.collect(), dtype=str)
    check_unique_iids(ids, f"--{source.kind} {source.label}")
    return mt, ids


def qc_for_gwas(hl, mt, source: GenotypeSource, qc: QCSettings, overlap: set, hail: HailSettings, *,
                sex_by_id: pd.Series | None = None, sex_label: str = "the genotype files"):
    """:func:`hail_qc` of the samples ``overlap`` (with ``sex_by_id``, read from ``sex_label``), checkpointed in ``hail.tmp_dir`` (reused by
    a later run with the same files, QC settings and samples): ``(QC'd MatrixTable, variants, steps, sample ids)``."""
    ckpt = _cache_path(hail.tmp_dir or default_tmp_dir(), source, qc, np.asarray(sorted(overlap)), sex_by_id)
    with input_errors(source):    # QC is the first pass over every entry
        mt, variants, steps, _ = hail_qc(hl, mt, sorted(overlap), qc, checkpoint=ckpt, min_info=source.min_info,
                                         sex_by_id=sex_by_id, sex_label=sex_label,
                                         no_variant=f"--extract/--chr leave no variant of {source.label}"
                                         if source.extract or source.chromosomes is not None   # (as the fast engine)
                                         else f"--{source.kind} {source.label}: no variant")
    return mt, variants, steps, np.asarray(mt.s.collect(), dtype=str)


def hail_pca(hl, mt, ids: set | None, *, k: int, maf: float, ld_r2: float, ld_window_kb: int):
    """LD-pruned ``hwe_normalized_pca`` of the imported genotypes (samples ``ids``, all when None; biallelic
    variants with ``maf <= AF <= 1 - maf``, pruned with ``hl.ld_prune``): ``(eigenvalues, scores table
    IID, PC1..PCk, pruned variants table, samples, pruned variants)``.

    Raises
    ------
    InputError
        ``k`` not below the number of samples and of pruned variants.

    Hail's temporary tables (the filtered genotypes' checkpoint, ``ld_prune``'s and the PCA's) are removed after
    (:func:`~edfgen.engines.hail_tmp.scratch_tmp_dir`).
    """
    with scratch_tmp_dir(hl, "pca"):
        return _pruned_pca(hl, mt, ids, k=k, maf=maf, ld_r2=ld_r2, ld_window_kb=ld_window_kb)


def _pruned_pca(hl, mt, ids: set | None, *, k: int, maf: float, ld_r2: float, ld_window_kb: int):
    """:func:`hail_pca`'s work, its results collected (its temporary tables are removed after it)."""
    if ids is not None:
        mt = mt.filter_cols(hl.literal(ids).contains(mt.s))
    mt = mt.filter_rows(_biallelic(hl, mt.alleles))
    mt = mt.annotate_entries(GT=hail_calls(hl, mt.x))
    mt = mt.annotate_rows(__af=hl.agg.mean(mt.x) / 2)
    mt = mt.filter_rows((mt.__af >= maf) & (mt.__af <= 1 - maf))
    mt = mt.checkpoint(hl.utils.new_temp_file("pca", "mt"))
    n_samples = mt.count_cols()
    pruned = hl.ld_prune(mt.GT, r2=ld_r2, bp_window_size=ld_window_kb * 1000)
    mt = mt.filter_rows(hl.is_defined(pruned[mt.row_key]))
    n_var = mt.count_rows()
    if k >= min(n_samples, n_var):
        raise InputError(f"--k {k}: need fewer PCs than samples ({n_samples}) and pruned variants ({n_var}, left by "
                         f"--maf {maf:g}, --ld-r2 {ld_r2:g}, --ld-window-kb {ld_window_kb})")
    eig, scores, _ = hl.hwe_normalized_pca(mt.GT, k=k, compute_loadings=False)
    sc = scores.to_pandas()
    pcs = pd.DataFrame(sc["scores"].tolist(), columns=[f"PC{i + 1}" for i in range(k)])
    pcs.insert(0, "IID", sc["s"].astype(str).to_numpy())
    rows = mt.rows()
    pv = rows.select(chromosome=rows.locus.contig.replace("^chr", ""), base_pair_location=rows.locus.position,
                     effect_allele=rows.alleles[1], other_allele=rows.alleles[0],
                     variant_id=rows.varid).key_by().drop("locus", "alleles").to_pandas()
    return eig, pcs, pv, n_samples, n_var
