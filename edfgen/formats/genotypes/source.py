"""Genotype import and quality control for ``edfgen gwas`` / ``edfgen pca``.

Inputs (exactly one): PLINK ``--bfile PREFIX`` (``hl.import_plink``), ``--vcf FILE`` (``GT`` calls or
``DS`` dosages), ``--bgen FILE [--sample FILE]`` (its ``.idx2`` index is built with ``hl.index_bgen``
into the temporary directory when absent) or ``--mt DIR`` (a Hail MatrixTable with ``GT`` or
``dosage``/``DS`` entries, columns keyed by sample id). Contigs are read as GRCh38 (``1`` and ``chr1``
both accepted); chromosomes are written without the ``chr`` prefix.

Every importer yields one entry field ``x`` = additive count (or dosage) of the **effect allele**:
PLINK A1 (bim column 5; Hail imports it as the alt allele), the VCF/BGEN alt allele.

Quality control, in this order, with the number removed by each filter (``qc_report.tsv``):

===================  =========  =========================================================
filter               default    meaning
===================  =========  =========================================================
biallelic            always     variants with exactly two alleles
sample_call_rate     0.95       samples called at >= this fraction of variants
not_in_phenotypes    --         genotyped samples without phenotype/covariate rows
related              off        ``--remove-related``: KING kinship > 0.0884 (2nd degree),
                                one of each related pair kept (maximal independent set)
variant_call_rate    0.95       variants called in >= this fraction of the samples used
maf                  0.01       minor allele frequency in the samples used
hwe                  1e-6       Hardy-Weinberg exact test p (Wigginton 2005); 0 disables
===================  =========  =========================================================

Variant filters are computed on the samples actually analysed. Dosage inputs use rounded dosages
for the call counts of the HWE test.

References
----------
Wigginton JE, Cutler DJ, Abecasis GR (2005) A note on exact tests of Hardy-Weinberg equilibrium.
Am J Hum Genet 76:887. doi:10.1086/429864
Manichaikul A et al. (2010) Robust relationship inference in genome-wide association studies
(KING). Bioinformatics 26:2867. doi:10.1093/bioinformatics/btq559
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import chdtrc, gammaln  # not scipy.stats: ~0.5 s of import in every command

from edfgen.exceptions import InputError
from edfgen.kernels.thresholds import REFERENCE_GENOMES

log = logging.getLogger(__name__)

#: minimum number of samples shared by genotypes, phenotypes and covariates
MIN_SAMPLES = 50
KINSHIP_2ND_DEGREE = 0.0884
_BLOCK = 4096


@dataclass(frozen=True)
class GenotypeSource:
    """Exactly one of ``bfile``, ``pfile``, ``vcf``, ``bgen`` or ``mt``, and the sample/variant selection.

    Parameters
    ----------
    bgen, sample
        A path, a ``{chr}`` template (``imp/chr{chr}.bgen``) or a tuple of them (one file per
        chromosome); ``sample`` is one file, one template or one per BGEN.
    vcf_field : {"auto", "GT", "DS"}
        VCF entry to test: hard calls (``GT``) or alt-allele dosages (``DS``, the ``GT`` count where a
        sample has none, as ``plink2 --vcf FILE dosage=DS``); ``auto``: ``DS`` when the header declares it.
    keep, remove : path, optional
        Participant ids to use / to leave out (:func:`edfgen.formats.genotypes.read_id_list`).
    extract : path, optional
        Variant ids (or rsids) to use.
    chromosomes : tuple of str, optional
        ``--chr``: chromosomes to use (and over which ``{chr}`` templates are expanded).
    min_info : float, optional
        Keep variants with MaCH r² (plink2 ``MACH_R2``) >= this in the samples analysed.
    reference_genome : {"GRCh37", "GRCh38"}
        Build of the positions (Hail imports with this reference; recorded in outputs).
    """

    bfile: str | None = None
    vcf: str | None = None
    bgen: str | tuple[str, ...] | None = None
    sample: str | tuple[str, ...] | None = None
    mt: str | None = None
    vcf_field: str = "auto"
    pfile: str | None = None
    keep: str | None = None
    remove: str | None = None
    extract: str | None = None
    chromosomes: tuple[str, ...] | None = None
    min_info: float | None = None
    reference_genome: str = "GRCh38"

    def __post_init__(self):
        given = [k for k in ("bfile", "pfile", "vcf", "bgen", "mt") if getattr(self, k)]
        if len(given) != 1:
            raise InputError("genotypes: give exactly one of --bfile, --pfile, --vcf, --bgen, --mt "
                             f"(got {', '.join('--' + g for g in given) or 'none'})")
        if self.vcf_field not in ("auto", "GT", "DS"):
            raise InputError(f"--vcf-field {self.vcf_field!r}: choose auto, GT or DS")
        if self.reference_genome not in REFERENCE_GENOMES:
            raise InputError(f"--reference-genome {self.reference_genome!r}: choose "
                             f"{' or '.join(REFERENCE_GENOMES)}")
        for opt, p in (("--keep", self.keep), ("--remove", self.remove), ("--extract", self.extract)):
            if p is not None and not Path(p).exists():
                raise InputError(f"{opt} {p}: file not found")
        if self.chromosomes is not None:
            from edfgen.formats.genotypes import parse_chromosomes

            object.__setattr__(self, "chromosomes", tuple(parse_chromosomes(self.chromosomes)))
        for p in self.paths():
            if "://" not in p and not Path(p).exists():  # gs://, hdfs://, s3a:// are checked by Hail
                raise InputError(f"--{self.kind} {p}: file not found")

    @property
    def kind(self) -> str:
        return next(k for k in ("bfile", "pfile", "vcf", "bgen", "mt") if getattr(self, k))

    @property
    def label(self) -> str:
        v = getattr(self, self.kind)
        return ", ".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)

    def files(self):
        """The genotype files as :class:`edfgen.formats.genotypes.GenotypeFiles` (MatrixTables excluded)."""
        from edfgen.formats.genotypes import GenotypeFiles

        tup = (lambda v: () if not v else tuple(map(str, v)) if isinstance(v, (tuple, list)) else (str(v),))
        return GenotypeFiles(bfile=tup(self.bfile), pfile=tup(self.pfile), bgen=tup(self.bgen),
                             sample=tup(self.sample), vcf=tup(self.vcf), vcf_field=self.vcf_field)

    def bgen_files(self) -> list[tuple[str, str | None]]:
        """``[(bgen, sample or None)]`` with ``{chr}`` templates expanded (over ``chromosomes``)."""
        from edfgen.formats.genotypes import expand_template

        f = self.files()
        bgens = expand_template(f.bgen, option="--bgen", chromosomes=self.chromosomes)
        if not f.sample:
            return [(b, None) for b, _ in bgens]
        if len(f.sample) == 1:
            return [(b, f.sample[0].replace("{chr}", c) if c else f.sample[0]) for b, c in bgens]
        if len(f.sample) != len(bgens):
            raise InputError(f"--sample given {len(f.sample)} times for {len(bgens)} BGEN files "
                             "(give one, a {chr} template, or one per BGEN)")
        return [(b, s) for (b, _), s in zip(bgens, f.sample)]

    def open_reader(self, *, threads: int | None = None):
        """The :class:`edfgen.formats.genotypes.GenotypeReader` of these files (not for ``--mt``)."""
        from edfgen.formats.genotypes import open_genotypes

        if self.mt:
            raise InputError(f"--mt {self.mt}: a Hail MatrixTable is read by the Hail engine only")
        return open_genotypes(self.files(), chromosomes=self.chromosomes, threads=threads)

    def paths(self) -> list[str]:
        if self.bfile:
            return [f"{self.bfile}.{e}" for e in ("bed", "bim", "fam")]
        if self.pfile:
            return [f"{self.pfile}.{e}" for e in ("pgen", "pvar", "psam")]
        if self.bgen:
            if any("://" in b for b in self.files().bgen):
                return list(self.files().bgen) + list(self.files().sample)
            return list(dict.fromkeys(p for b, s in self.bgen_files() for p in (b, s) if p))
        if self.vcf and "{chr}" in self.vcf and "://" not in self.vcf:   # per-chromosome VCFs (fast engine)
            from edfgen.formats.genotypes import expand_template

            return [p for p, _ in expand_template([self.vcf], option="--vcf", chromosomes=self.chromosomes)]
        return [self.vcf or self.mt]

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for p in self.paths():
            if "://" in p:
                h.update(f"{p};".encode())
                continue
            st = os.stat(p)
            h.update(f"{os.path.abspath(p)}:{st.st_size}:{st.st_mtime_ns};".encode())
        h.update(self.vcf_field.encode())
        h.update(repr((self.keep, self.remove, self.extract, self.chromosomes, self.min_info,
                       self.reference_genome)).encode())
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class QCSettings:
    """Quality-control thresholds (see the module docstring for the order and meaning)."""

    maf: float = 0.01
    call_rate: float = 0.95
    hwe_p: float = 1e-6
    sample_call_rate: float = 0.95
    remove_related: bool = False
    kinship: float = KINSHIP_2ND_DEGREE


@dataclass(frozen=True)
class QCStep:
    """One row of ``qc_report.tsv``."""

    filter: str
    level: str          # "variant" or "sample"
    threshold: str
    removed: int
    remaining: int


@dataclass
class Genotypes:
    """QC'd genotypes ready for association.

    Attributes
    ----------
    variants : DataFrame
        ``chromosome, base_pair_location, effect_allele, other_allele, variant_id, rsid`` and, for
        PLINK input, ``bed_index`` (row in the ``.bim``), in file order.
    samples : array of str
        IIDs analysed, in genotype-file order.
    sample_index : array of int or None
        Row of each analysed sample in the ``.fam`` (PLINK fast path).
    mt : hail.MatrixTable or None
        The QC'd MatrixTable (entry ``x``), checkpointed, when Hail was used.
    qc : list of QCStep
    """

    source: GenotypeSource
    variants: pd.DataFrame
    samples: np.ndarray
    sample_index: np.ndarray | None
    qc: list[QCStep]
    mt: object | None = None
    n_genotyped: int = 0
    extra: dict = field(default_factory=dict)


def qc_table(steps: Sequence[QCStep]) -> pd.DataFrame:
    """QC steps as the ``qc_report.tsv`` table."""
    return pd.DataFrame([asdict(s) for s in steps], columns=["filter", "level", "threshold", "removed", "remaining"])


# ----------------------------------------------------------------------------------------------
# Hardy-Weinberg exact test (pure numpy)
# ----------------------------------------------------------------------------------------------
def hwe_exact_p(n_hom1: np.ndarray, n_het: np.ndarray, n_hom2: np.ndarray, *, screen: float = 1e-2,
                midp: bool = False) -> np.ndarray:
    """Hardy-Weinberg exact test p-values (Wigginton et al. 2005), vectorised with a safe screen.

    The exact test is evaluated for variants whose 1-df chi-square p is below ``screen`` or whose
    rare-allele count is below 1000; for the others (large counts, chi-square p >= 1e-2) the
    chi-square p is returned: both are far above any HWE filter threshold there.

    Parameters
    ----------
    n_hom1, n_het, n_hom2 : int arrays [M]
    midp : bool
        Mid-p variant (ties with the observed table count half; Hail's ``hardy_weinberg_test``).
        Default ``False``: the original test, as plink2 ``--hwe`` without ``midp``.

    Returns
    -------
    array [M] of p-values.

    References
    ----------
    Wigginton JE et al. (2005) Am J Hum Genet 76:887. doi:10.1086/429864
    """
    a, b, c = (np.asarray(v, dtype=np.int64) for v in (n_hom1, n_het, n_hom2))
    n = a + b + c
    p1, p2 = 2 * a + b, 2 * c + b
    with np.errstate(invalid="ignore", divide="ignore"):
        chi = n * (4.0 * a * c - b.astype(float) ** 2) ** 2 / (p1.astype(float) ** 2 * p2.astype(float) ** 2)
        pchi = np.where(np.isfinite(chi), chdtrc(1, chi), 1.0)  # = scipy.stats.chi2.sf(chi, 1)
    out = pchi.copy()
    exact = np.flatnonzero((pchi < screen) | (np.minimum(p1, p2) < 1000))
    if not len(exact):
        return out
    # variants with the same number of called samples and rare alleles share one null distribution of
    # the heterozygote count: compute it once per (n, n_rare) group, then every member's p by lookup
    n_rare = np.minimum(p1, p2)[exact]
    groups, inverse = np.unique(np.stack([n[exact], n_rare]), axis=1, return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    bounds = np.searchsorted(inverse.ravel()[order], np.arange(groups.shape[1] + 1))
    for g in range(groups.shape[1]):
        members = exact[order[bounds[g]:bounds[g + 1]]]
        out[members] = _hwe_exact_group(int(groups[0, g]), int(groups[1, g]), b[members], midp)
    return out


def _hwe_exact_group(n: int, n_rare: int, n_het: np.ndarray, midp: bool) -> np.ndarray:
    """Exact HWE p-values of variants sharing ``n`` called samples and ``n_rare`` rare alleles, from one
    null distribution of the heterozygote count: the sum of the probabilities of tables no more likely
    than each observed ``n_het`` (ties within 1e-7 relative count fully, or half with ``midp``)."""
    if n == 0:
        return np.ones(len(n_het))
    h = np.arange(n_rare % 2, n_rare + 1, 2)
    hom_r = (n_rare - h) // 2
    hom_c = n - h - hom_r
    logp = (h * np.log(2.0) - gammaln(h + 1) - gammaln(hom_r + 1) - gammaln(hom_c + 1))
    prob = np.exp(logp - logp.max())
    obs = prob[(np.asarray(n_het) - n_rare % 2) // 2]
    ranked = np.sort(prob)
    cum = np.r_[0.0, np.cumsum(ranked)]
    below = cum[np.searchsorted(ranked, obs - obs * 1e-7, side="left")]        # prob < obs, not tied
    upto = cum[np.searchsorted(ranked, obs + obs * 1e-7, side="right")]        # prob <= obs, ties included
    p = below + (0.5 if midp else 1.0) * (upto - below)
    return np.minimum(1.0, p / cum[-1])


def variant_qc_mask(n_called: np.ndarray, n_het: np.ndarray, n_hom_alt: np.ndarray, n_samples: int,
                    settings: QCSettings, alleles_ok: np.ndarray | None = None,
                    dosage_sum: np.ndarray | None = None) -> tuple[np.ndarray, list[QCStep]]:
    """Sequential variant filters (biallelic, call rate, MAF, HWE) from per-variant counts.

    Parameters
    ----------
    n_called, n_het, n_hom_alt : arrays [M]
        Called samples, heterozygous and homozygous-alt (effect allele) counts among the samples used.
    n_samples : int
        Samples used (denominator of the call rate).
    dosage_sum : array [M], optional
        Sum of effect-allele dosages (defaults to ``n_het + 2 n_hom_alt``) for the allele frequency.

    Returns
    -------
    (keep [M] bool, list of QCStep)
    """
    M = len(n_called)
    keep = np.ones(M, dtype=bool) if alleles_ok is None else np.asarray(alleles_ok, bool).copy()
    steps = [QCStep("biallelic", "variant", "2 alleles", int(M - keep.sum()), int(keep.sum()))]
    with np.errstate(invalid="ignore", divide="ignore"):
        cr = n_called / max(n_samples, 1)
        ds = dosage_sum if dosage_sum is not None else n_het + 2.0 * n_hom_alt
        af = ds / (2.0 * n_called)
        maf = np.minimum(af, 1 - af)
    for name, ok, thr in (("variant_call_rate", cr >= settings.call_rate, settings.call_rate),
                          ("maf", np.nan_to_num(maf) >= settings.maf, settings.maf)):
        before = int(keep.sum())
        keep &= ok
        steps.append(QCStep(name, "variant", f">= {thr:g}", before - int(keep.sum()), int(keep.sum())))
    before = int(keep.sum())
    if settings.hwe_p > 0:
        idx = np.flatnonzero(keep)
        hom_ref = n_called[idx] - n_het[idx] - n_hom_alt[idx]
        p = hwe_exact_p(hom_ref, n_het[idx], n_hom_alt[idx])
        keep[idx[p < settings.hwe_p]] = False
    steps.append(QCStep("hwe", "variant", f"p >= {settings.hwe_p:g}" if settings.hwe_p > 0 else "off",
                        before - int(keep.sum()), int(keep.sum())))
    return keep, steps


# ----------------------------------------------------------------------------------------------
# PLINK fast path: bed-reader blocks, numpy counts
# ----------------------------------------------------------------------------------------------
#: first bytes of a PLINK 1 .bed: magic 0x6c 0x1b, then 0x01 = variant-major
BED_MAGIC = b"\x6c\x1b\x01"


def check_bed(prefix: str | Path, n_samples: int, n_variants: int) -> None:
    """Check a PLINK 1 ``.bed`` against its ``.fam``/``.bim`` before any genotype is decoded.

    The file must start with the magic bytes ``6c 1b 01`` (variant-major) and hold exactly
    ``3 + n_variants * ceil(n_samples / 4)`` bytes (PLINK 1 binary format).

    Raises
    ------
    InputError
        Bad magic bytes, a sample-major file, or a size that does not fit the ``.fam``/``.bim`` counts
        (a truncated ``.bed``, or ``.fam``/``.bim`` that belong to another fileset); names the file.
    """
    bed = Path(f"{prefix}.bed")
    try:
        size = bed.stat().st_size
        with open(bed, "rb") as fh:
            magic = fh.read(3)
    except OSError as exc:
        raise InputError(f"{bed}: cannot be read ({exc.strerror or exc})") from None
    if magic[:2] != BED_MAGIC[:2]:
        raise InputError(f"{bed}: not a PLINK 1 .bed file (magic bytes {magic.hex() or 'missing'}, expected 6c1b01)")
    if magic[2:3] != BED_MAGIC[2:]:
        raise InputError(f"{bed}: sample-major .bed (mode byte {magic[2:3].hex() or 'missing'}); rewrite it "
                         f"variant-major with plink --bfile {prefix} --make-bed")
    expected = 3 + int(n_variants) * ((int(n_samples) + 3) // 4)
    if size != expected:
        what = "truncated" if size < expected else "longer than expected"
        raise InputError(f"{bed}: {size} bytes, but {int(n_variants)} variants (.bim) x {int(n_samples)} samples "
                         f"(.fam) need {expected}: the .bed is {what}, or the .bim/.fam belong to another fileset")


def check_unique_samples(ids, source) -> None:
    """Duplicated sample ids in a genotype source are an input error (naming the first and the count)."""
    s = pd.Series(np.asarray(ids, dtype=str))
    dup = s[s.duplicated()]
    if len(dup):
        raise InputError(f"--{source.kind} {source.label}: duplicated sample id {str(dup.iloc[0])!r} "
                         f"({dup.nunique()} duplicated ids)")


def check_plink_fileset(prefix: str | Path) -> pd.DataFrame:
    """Validate a PLINK 1 fileset before any work: ``.fam`` readable with unique IIDs, ``.bim`` with six
    columns and integer positions on every line, ``.bed`` magic and size (:func:`check_bed`).
    Returns the ``.fam`` table."""
    fam = read_fam(str(prefix))
    bim = read_bim(str(prefix))  # columns and integer positions, line by line
    check_bed(prefix, len(fam), len(bim))
    return fam


def read_plink_text(path: Path, names: list[str], dtype) -> pd.DataFrame:
    """A whitespace-separated .bim/.fam with exactly ``len(names)`` columns on every line."""
    try:
        df = pd.read_csv(path, sep=r"\s+", header=None, dtype=dtype, names=names)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot be read as a PLINK {path.suffix} file "
                         f"({str(exc).splitlines()[0][:200]})") from None
    short = df[names[-1]].isna().to_numpy()
    if short.any():
        raise InputError(f"{path}: line {int(short.argmax()) + 1} has fewer than {len(names)} columns")
    if len(df) == 0:
        raise InputError(f"{path}: empty file")
    return df


def read_bim(prefix: str) -> pd.DataFrame:
    bim = read_plink_text(Path(f"{prefix}.bim"), ["chromosome", "variant_id", "cm", "base_pair_location",
                                                   "effect_allele", "other_allele"], str)
    try:
        bim["base_pair_location"] = bim["base_pair_location"].astype(np.int64)
    except (ValueError, OverflowError):
        bad = pd.to_numeric(bim["base_pair_location"], errors="coerce").isna().to_numpy().argmax()
        raise InputError(f"{prefix}.bim: line {int(bad) + 1}: base-pair position "
                         f"{bim['base_pair_location'].iloc[int(bad)]!r} is not an integer") from None
    bim["chromosome"] = bim["chromosome"].str.replace("^chr", "", regex=True)
    bim["rsid"] = bim["variant_id"].where(bim["variant_id"].str.match(r"^rs\d+$"))
    bim["bed_index"] = np.arange(len(bim))
    return bim.drop(columns="cm")


def read_fam(prefix: str) -> pd.DataFrame:
    fam = read_plink_text(Path(f"{prefix}.fam"), ["FID", "IID", "PAT", "MAT", "SEX", "PHENO"], str)
    dup = fam["IID"][fam["IID"].duplicated()]
    if len(dup):
        raise InputError(f"{prefix}.fam: duplicated IID {dup.iloc[0]!r} ({dup.nunique()} duplicated ids)")
    return fam


def open_bed(prefix: str, n_samples: int, n_variants: int, threads: int | None = None):
    from bed_reader import open_bed as _open

    check_bed(prefix, n_samples, n_variants)
    return _open(f"{prefix}.bed", iid_count=n_samples, sid_count=n_variants, count_A1=True,
                 num_threads=threads, properties={})


def bed_blocks(bed, sample_index: np.ndarray, variant_index: np.ndarray, *, block: int = _BLOCK,
               dtype="float64"):
    """Yield ``(slice_into_variant_index, array [N_used, m])`` blocks; missing call = NaN (float) or -127 (int8)."""
    for start in range(0, len(variant_index), block):
        sl = slice(start, min(start + block, len(variant_index)))
        yield sl, bed.read(index=np.s_[sample_index, variant_index[sl]], dtype=dtype, order="F")


def _count_block(G: np.ndarray):
    """Per-variant called / heterozygous / homozygous-effect counts of an int8 block (-127 = missing)."""
    called = G >= 0
    return called.sum(0), (G == 1).sum(0), (G == 2).sum(0), called


def biallelic_mask(bim: pd.DataFrame) -> np.ndarray:
    """Variants of a .bim with two distinct, defined alleles (``0``/``.`` = undefined)."""
    return (~bim["effect_allele"].isin(["0", "."]) & ~bim["other_allele"].isin(["0", "."])
            & (bim["effect_allele"] != bim["other_allele"])).to_numpy()


def plink_qc(prefix: str, keep_iids: Sequence[str] | None, settings: QCSettings, *,
             threads: int | None = None) -> tuple[pd.DataFrame, np.ndarray, list[QCStep], int]:
    """QC of a PLINK fileset with numpy (no JVM): returns (variants kept, sample rows kept, steps, N genotyped)."""
    bim, fam = read_bim(prefix), read_fam(prefix)
    bed = open_bed(prefix, len(fam), len(bim), threads)
    alleles_ok = biallelic_mask(bim)
    n_bi = int(alleles_ok.sum())
    wanted = np.arange(len(fam)) if keep_iids is None else np.flatnonzero(fam["IID"].isin(set(keep_iids)).to_numpy())
    steps: list[QCStep] = []
    # one pass: per-sample missingness (biallelic variants) + per-variant counts on the wanted samples
    vidx = np.flatnonzero(alleles_ok)
    miss = np.zeros(len(wanted))
    counts = [np.zeros(len(vidx), dtype=np.int64) for _ in range(3)]
    for sl, G in bed_blocks(bed, wanted, vidx, dtype="int8"):
        c, h, ha, called = _count_block(G)
        miss += (~called).sum(1)
        for acc, v in zip(counts, (c, h, ha)):
            acc[sl] = v
    scr = 1 - miss / max(len(vidx), 1)
    s_ok = scr >= settings.sample_call_rate
    steps.append(QCStep("sample_call_rate", "sample", f">= {settings.sample_call_rate:g}",
                        int((~s_ok).sum()), int(s_ok.sum())))
    samples = wanted[s_ok]
    if settings.remove_related:  # KING needs Hail: import the same files, restricted to these samples
        from edfgen.engines.hail import init_hail

        hl = init_hail()
        mt = import_genotypes(GenotypeSource(bfile=prefix), hl=hl)
        mt = mt.filter_cols(hl.literal(set(fam["IID"].iloc[samples])).contains(mt.s))
        drop = related_to_remove(hl, _common_variants(hl, mt), settings.kinship)
        rel_ok = ~fam["IID"].iloc[samples].isin(drop).to_numpy()
        steps.append(QCStep("related", "sample", f"kinship <= {settings.kinship:g}", int((~rel_ok).sum()),
                            int(rel_ok.sum())))
        samples = samples[rel_ok]
        s_ok = np.zeros(1, dtype=bool)  # force the recount below
    if not s_ok.all():  # recount variants on the remaining samples
        counts = [np.zeros(len(vidx), dtype=np.int64) for _ in range(3)]
        for sl, G in bed_blocks(bed, samples, vidx, dtype="int8"):
            for acc, v in zip(counts, _count_block(G)[:3]):
                acc[sl] = v
    full = [np.zeros(len(bim), dtype=np.int64) for _ in range(3)]
    for f, c in zip(full, counts):
        f[vidx] = c
    keep, vsteps = variant_qc_mask(*full, len(samples), settings, alleles_ok=alleles_ok)
    steps = [vsteps[0], *steps, *vsteps[1:]]
    log.info("PLINK QC: %d biallelic of %d variants, %d kept", n_bi, len(bim), int(keep.sum()))
    return bim[keep].reset_index(drop=True), samples, steps, len(fam)


# ----------------------------------------------------------------------------------------------
# Hail importers and QC
# ----------------------------------------------------------------------------------------------
def _contig_recoding(reference_genome: str = "GRCh38") -> dict[str, str]:
    """File contig names -> Hail's contigs of ``reference_genome`` (``chr1`` for GRCh38, ``1`` for GRCh37)."""
    if reference_genome == "GRCh37":
        rec = {f"chr{i}": str(i) for i in range(1, 23)}
        rec.update({"chrX": "X", "chrY": "Y", "23": "X", "24": "Y", "25": "X", "XY": "X", "26": "MT", "M": "MT",
                    "chrM": "MT", "chrMT": "MT"})
        return rec
    rec = {str(i): f"chr{i}" for i in range(1, 23)}
    rec.update({"X": "chrX", "Y": "chrY", "23": "chrX", "24": "chrY", "MT": "chrM", "26": "chrM", "M": "chrM",
                "25": "chrX", "XY": "chrX"})
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
        from edfgen.engines.hail import init_hail

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
            mt = mt.annotate_rows(varid=mt.rsid)
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
                x = mt.DS[0] if isinstance(mt.DS.dtype, hl.tarray) else mt.DS
                if "GT" in mt.entry:  # no DS for a sample: its hard call (plink2 --vcf dosage=DS)
                    x = hl.or_else(x, hl.float64(mt.GT.n_alt_alleles()))
            else:
                x = mt.GT.n_alt_alleles()
            mt = mt.select_entries(x=hl.float64(x))
        elif source.bgen:
            import hashlib
            import tempfile

            pairs = source.bgen_files()
            samples = {smp for _, smp in pairs}
            if len(samples) > 1 and not any("://" in str(smp) for smp in samples):
                from edfgen.formats.genotypes.bgen import read_oxford_sample  # Hail reads one sample file for all

                first = read_oxford_sample(pairs[0][1])["IID"].tolist()
                for _, smp in pairs[1:]:
                    if read_oxford_sample(smp)["IID"].tolist() != first:
                        raise InputError(f"--sample {smp}: other samples than {pairs[0][1]}; per-chromosome BGENs "
                                         "must list the same samples in the same order")
            index_map = {}
            for bgen, _ in pairs:
                if hl.hadoop_exists(bgen + ".idx2"):  # works for local paths and gs://, hdfs://
                    continue
                key = hashlib.sha256(f"{source.fingerprint()}:{bgen}".encode()).hexdigest()[:16]
                idx = os.path.join(tmp_dir or tempfile.gettempdir(), "edfgen-bgen-index", key + ".idx2")
                if not hl.hadoop_exists(idx):
                    if "://" not in idx:
                        os.makedirs(os.path.dirname(idx), exist_ok=True)
                    hl.index_bgen(bgen, index_file_map={bgen: idx}, reference_genome=rg, contig_recoding=rec)
                index_map[bgen] = idx
            mt = hl.import_bgen([b for b, _ in pairs], entry_fields=["dosage"], sample_file=pairs[0][1],
                                index_file_map=index_map or None)
            mt = mt.annotate_rows(varid=hl.if_else((mt.rsid == ".") | hl.is_missing(mt.rsid),
                                                   _chr_pos_id(hl, mt), mt.rsid))
            mt = mt.select_entries(x=hl.float64(mt.dosage))
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


def _hail_selection(hl, mt, source: GenotypeSource):
    """``--keep/--remove`` (columns) and ``--chr/--extract`` (rows) on an imported MatrixTable."""
    from edfgen.formats.genotypes import read_id_list, read_variant_list

    if source.keep is not None:
        mt = mt.filter_cols(hl.literal(read_id_list(source.keep, what="--keep")).contains(mt.s))
    if source.remove is not None:
        mt = mt.filter_cols(hl.literal(read_id_list(source.remove, what="--remove")).contains(mt.s), keep=False)
    if source.chromosomes is not None:
        mt = mt.filter_rows(hl.literal(set(source.chromosomes)).contains(
            mt.locus.contig.replace("^chr", "").replace("^M$", "MT")))
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
            checkpoint: str | None = None,
            min_info: float | None = None) -> tuple[object, pd.DataFrame, list[QCStep], int]:
    """QC in Hail (any input format): returns (QC'd MT, variants table, steps, N genotyped).

    ``min_info``: keep variants whose MaCH r² (:func:`edfgen.engines.stream.mach_r2`, from the
    dosages of the samples kept) is at least this, after the other variant filters, as the fast engine.

    The QC'd MatrixTable is written to ``checkpoint`` (if given) so association never re-reads
    the input files; a later run with the same input files, QC settings and samples reads that
    checkpoint (and its ``.qc.json``) instead of importing and filtering again.
    """
    import json

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
    mt = mt.annotate_cols(cr=hl.agg.mean(hl.float64(hl.is_defined(mt.x))))
    cols = mt.cols().to_pandas()
    s_ok = cols["cr"] >= settings.sample_call_rate
    steps.append(QCStep("sample_call_rate", "sample", f">= {settings.sample_call_rate:g}",
                        int((~s_ok).sum()), int(s_ok.sum())))
    mt = mt.filter_cols(mt.cr >= settings.sample_call_rate).drop("cr")
    if settings.remove_related:
        drop = related_to_remove(hl, _common_variants(hl, mt), settings.kinship)
        steps.append(QCStep("related", "sample", f"kinship <= {settings.kinship:g}", len(drop),
                            int(s_ok.sum()) - len(drop)))
        mt = mt.filter_cols(hl.literal(drop).contains(mt.s), keep=False)
    mt = mt.add_row_index("__i")
    mt = mt.annotate_rows(n_called=hl.agg.count_where(hl.is_defined(mt.x)),
                          n_het=hl.agg.count_where(hl.floor(mt.x + 0.5) == 1),
                          n_hom_alt=hl.agg.count_where(hl.floor(mt.x + 0.5) == 2),
                          dosage_sum=hl.agg.sum(mt.x), dosage_sumsq=hl.agg.sum(mt.x * mt.x))
    rt = mt.rows()
    rows = rt.select(i=rt.__i, chromosome=rt.locus.contig.replace("^chr", ""), base_pair_location=rt.locus.position,
                     effect_allele=rt.alleles[1], other_allele=rt.alleles[0], variant_id=rt.varid, rsid=rt.rsid,
                     n_called=rt.n_called, n_het=rt.n_het, n_hom_alt=rt.n_hom_alt, dosage_sum=rt.dosage_sum,
                     dosage_sumsq=rt.dosage_sumsq).key_by().drop("locus", "alleles").to_pandas()
    n_used = mt.count_cols()
    from edfgen.engines.stream import VariantCounts, variant_qc

    counts = VariantCounts(*(rows[c].to_numpy(dtype=np.int64) for c in ("n_called", "n_het", "n_hom_alt")),
                           *(rows[c].to_numpy(dtype=float) for c in ("dosage_sum", "dosage_sumsq")),
                           sample_missing=np.zeros(n_used, dtype=np.int64))
    keep, vsteps = variant_qc(counts, np.ones(len(rows), dtype=bool), n_used, settings, dosages=True,
                              min_info=min_info)
    n_bi = len(rows)
    steps = [QCStep("biallelic", "variant", "2 alleles", n_var - n_bi, n_bi), *steps, *vsteps[1:]]
    kept = rows[keep]
    keep_idx = hl.literal(set(int(i) for i in kept["i"]), dtype=hl.tset(hl.tint64))
    mt = mt.filter_rows(keep_idx.contains(mt.__i)).drop("__i", "n_called", "n_het", "n_hom_alt", "dosage_sum",
                                                         "dosage_sumsq")
    variants = kept[["chromosome", "base_pair_location", "effect_allele", "other_allele", "variant_id", "rsid"]].copy()
    variants["rsid"] = variants["rsid"].where(variants["rsid"].astype(str).str.match(r"^rs\d+$"))
    if checkpoint:
        mt = mt.checkpoint(checkpoint, overwrite=True)
        info = {"variants": variants.astype(object).where(variants.notna(), None).to_dict(orient="list"),
                "steps": [asdict(s) for s in steps], "n_genotyped": int(n_geno)}
        from edfgen.formats.tables import atomic_write

        with atomic_write(sidecar) as fh:
            json.dump(info, fh)
    return mt, variants.reset_index(drop=True), steps, n_geno


def _common_variants(hl, mt, maf: float = 0.01):
    """Variants with MAF >= ``maf`` and call rate >= 0.95, for KING."""
    af = hl.agg.mean(mt.x) / 2
    mt = mt.annotate_rows(__af=af, __cr=hl.agg.mean(hl.float64(hl.is_defined(mt.x))))
    return mt.filter_rows((hl.min(mt.__af, 1 - mt.__af) >= maf) & (mt.__cr >= 0.95))
