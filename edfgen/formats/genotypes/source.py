"""The user's genotype files, described once: :class:`GenotypeSource` (exactly one of ``--bfile``,
``--pfile``, ``--vcf``, ``--bgen`` with its ``--sample`` files, or a Hail ``--mt``; ``{chr}``
templates; the sample/variant selection) and :func:`open_genotypes`, which opens it as one
:class:`~edfgen.formats.genotypes.base.GenotypeReader` (a
:class:`~edfgen.formats.genotypes.multi.ConcatReader` over per-chromosome files).

Every importer yields the count (or dosage) of the **effect allele**: PLINK A1 (``.bim`` column 5),
the VCF/BGEN/PGEN alt allele. Contigs are read without the ``chr`` prefix.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import chromosomes_selected
from edfgen.formats.genotypes.base import GenotypeReader, stat_id
from edfgen.formats.genotypes.bgen import BgenReader
from edfgen.formats.genotypes.multi import ConcatReader
from edfgen.formats.genotypes.pgen import PgenReader, pvar_path
from edfgen.formats.genotypes.plink1 import BedReader
from edfgen.formats.genotypes.selection import expand_template, parse_chromosomes, template_path
from edfgen.formats.genotypes.vcf import VcfReader
from edfgen.kernels.thresholds import DEFAULT_REFERENCE_GENOME, REFERENCE_GENOMES

#: the genotype formats, in the order the ``exactly one`` rule names them
KINDS = ("bfile", "pfile", "vcf", "bgen", "mt")


def _paths(v) -> tuple[str, ...]:
    """A path, or a tuple of paths, as a tuple of str (empty for None)."""
    return () if not v else tuple(map(str, v)) if isinstance(v, (tuple, list)) else (str(v),)


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
    skip_bad_variants : bool
        BGEN: a variant whose genotype block is bad (corrupt compression, a ploidy above 2, probabilities
        summing above 1) is set aside (:meth:`~edfgen.formats.genotypes.base.GenotypeReader.bad_variants`)
        instead of being an error.
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
    reference_genome: str = DEFAULT_REFERENCE_GENOME
    skip_bad_variants: bool = False

    def __post_init__(self):
        given = [k for k in KINDS if getattr(self, k)]
        if len(given) != 1:
            raise InputError("genotypes: give exactly one of --bfile, --pfile, --vcf, --bgen, --mt "
                             f"(got {', '.join('--' + g for g in given) or 'none'})")
        if self.vcf_field not in ("auto", "GT", "DS"):
            raise InputError(f"--vcf-field {self.vcf_field!r}: choose auto, GT or DS")
        # options of one format given with another were accepted and had no effect (review s34a #2)
        for opt, given, kinds in (("--sample", bool(self.sample), ("bgen",)),
                                  (f"--vcf-field {self.vcf_field}", self.vcf_field != "auto", ("vcf", "mt")),
                                  ("--skip-bad-variants", self.skip_bad_variants, ("bgen",))):
            if given and self.kind not in kinds:
                raise InputError(f"{opt} is for {' or '.join('--' + k for k in kinds)} genotypes, not --{self.kind} "
                                 f"{self.label}: leave it out")
        if self.reference_genome not in REFERENCE_GENOMES:
            raise InputError(f"--reference-genome {self.reference_genome!r}: choose "
                             f"{' or '.join(REFERENCE_GENOMES)}")
        for opt, p in (("--keep", self.keep), ("--remove", self.remove), ("--extract", self.extract)):
            if p is not None and not Path(p).exists():
                raise InputError(f"{opt} {p}: file not found")
        if self.chromosomes is not None:
            object.__setattr__(self, "chromosomes", tuple(parse_chromosomes(self.chromosomes)))
        prefix = self.bfile or self.pfile
        exts = ("bed", "bim", "fam") if self.bfile else ("pgen", "pvar", "psam")
        stem, _, ext = str(prefix or "").rpartition(".")
        if ext in exts and Path(f"{stem}.{exts[0]}").exists() and not Path(f"{prefix}.{exts[0]}").exists():
            raise InputError(f"--{self.kind} {prefix}: give the fileset prefix without the extension: "
                             f"--{self.kind} {stem}")
        for p in self.paths():
            if "://" not in p and not Path(p).exists():  # gs://, hdfs://, s3a:// are checked by Hail
                raise InputError(f"--{self._option_of(p)} {p}: file not found")

    def _option_of(self, path: str) -> str:
        """The option that named ``path`` of :meth:`paths`: ``sample`` for a BGEN's ``.sample`` file (given
        as is, or expanded from a ``{chr}`` template), else the genotype option."""
        samples = set(_paths(self.sample))
        if self.bgen and samples and not any("://" in b for b in _paths(self.bgen)):
            samples |= {s for _, s in self.bgen_files() if s}
        return "sample" if path in samples else self.kind

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k))

    @property
    def label(self) -> str:
        v = getattr(self, self.kind)
        return ", ".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)

    def parameters(self) -> dict:
        """How a manifest records these genotypes (``parameters.genotypes``: the format's option and its paths,
        the selection, the INFO filter, the positions' build and ``--skip-bad-variants``; paths made absolute by
        :class:`~edfgen.formats.manifest.Manifest`)."""
        return {self.kind: self.label, "vcf_field": self.vcf_field, "keep": self.keep, "remove": self.remove,
                "extract": self.extract, "chromosomes": list(self.chromosomes) if self.chromosomes else None,
                "min_info": self.min_info, "reference_genome": self.reference_genome,
                "skip_bad_variants": self.skip_bad_variants}

    def bgen_files(self) -> list[tuple[str, str | None]]:
        """``[(bgen, sample or None)]`` with ``{chr}`` templates expanded (over ``chromosomes``): the one
        BGEN <-> ``.sample`` pairing (``--sample`` once for all, as a ``{chr}`` template, or once per BGEN)."""
        samples = _paths(self.sample)
        bgens = expand_template(_paths(self.bgen), option="--bgen", chromosomes=self.chromosomes)
        if not samples:
            return [(b, None) for b, _ in bgens]
        if len(samples) == 1:
            return [(b, (template_path(samples[0], c) or samples[0].replace("{chr}", c)) if c else samples[0])
                    for b, c in bgens]
        if len(samples) != len(bgens):
            raise InputError(f"--sample given {len(samples)} times for {len(bgens)} BGEN files "
                             "(give one, a {chr} template, or one per BGEN)")
        return [(b, s) for (b, _), s in zip(bgens, samples)]

    def open_reader(self, *, threads: int | None = None, common_samples: bool = False) -> GenotypeReader:
        """The :class:`~edfgen.formats.genotypes.base.GenotypeReader` of these files (:func:`open_genotypes`)."""
        return open_genotypes(self, threads=threads, common_samples=common_samples)

    def paths(self) -> list[str]:
        if self.bfile:
            return [f"{self.bfile}.{e}" for e in ("bed", "bim", "fam")]
        if self.pfile:
            return [f"{self.pfile}.pgen", str(pvar_path(self.pfile)), f"{self.pfile}.psam"]
        if self.bgen:
            if any("://" in b for b in _paths(self.bgen)):
                return list(_paths(self.bgen)) + list(_paths(self.sample))
            return list(dict.fromkeys(p for b, s in self.bgen_files() for p in (b, s) if p))
        if self.vcf and "{chr}" in self.vcf and "://" not in self.vcf:   # per-chromosome VCFs (fast engine)
            return [p for p, _ in expand_template([self.vcf], option="--vcf", chromosomes=self.chromosomes)]
        return [self.vcf or self.mt]

    def selection_files(self) -> list[str]:
        """The ``--keep``, ``--remove`` and ``--extract`` files given: manifest inputs (hashed) with the genotype
        files, since they decide who and what was analysed (a keep list changes between UK Biobank releases)."""
        return [str(p) for p in (self.keep, self.remove, self.extract) if p is not None]

    def fingerprint(self) -> str:
        """Stat fingerprint of the files (:func:`~edfgen.formats.genotypes.base.stat_id`) and the selection."""
        h = hashlib.sha256()
        for p in self.paths():
            h.update(f"{path_id(p)};".encode())
        for p in (self.keep, self.remove, self.extract):   # the lists' contents: a list edited in place between
            if p is not None:                              # two runs reused the old selection's Hail cache
                h.update(f"{path_id(str(p))};".encode())
        h.update(self.vcf_field.encode())
        h.update(repr((self.keep, self.remove, self.extract, self.chromosomes, self.min_info,
                       self.reference_genome)).encode())
        if self.skip_bad_variants:
            h.update(b"skip-bad-variants")
        return h.hexdigest()[:16]


def path_id(path: str) -> str:
    """What a cache is keyed on for ``path``: :func:`stat_id` of a file; of the files at the top of a folder (a
    Hail MatrixTable: its ``metadata.json.gz``, ``_SUCCESS``; ``stat_id`` of the folder itself raised
    IsADirectoryError, a traceback for every ``gwas --mt``); a remote (``gs://``) or missing path as itself."""
    if "://" in path or not os.path.exists(path):
        return path
    if os.path.isdir(path):
        files = sorted(e.path for e in os.scandir(path) if e.is_file())
        return f"{os.path.abspath(path)}/:" + ",".join(stat_id(f) for f in files)
    return stat_id(path)


def open_genotypes(source: GenotypeSource, *, threads: int | None = None, common_samples: bool = False) -> GenotypeReader:
    """Open the files of ``source`` as one reader (a :class:`ConcatReader` when there are several);
    ``{chr}`` templates are expanded over ``source.chromosomes``. ``common_samples`` (LD panels): files may list
    different samples, each read with its own sample index (:class:`ConcatReader`).

    Raises
    ------
    InputError
        A Hail MatrixTable (``--mt``), missing file, templates that match nothing, per-file samples that
        differ, or a ``--sample`` list whose length is neither 1 nor the number of BGENs.
    """
    kind, chromosomes = source.kind, source.chromosomes
    readers: list[GenotypeReader] = []
    if kind == "mt":
        raise InputError(f"--mt {source.mt}: a Hail MatrixTable is read by the Hail engine only")
    if kind == "bfile":
        for p, c in expand_template(_paths(source.bfile), option="--bfile", chromosomes=chromosomes,
                                    suffixes=(".bed",)):
            readers.append(_of_chromosome(BedReader(p, threads=threads), "--bfile", p, c))
    elif kind == "pfile":
        for p, c in expand_template(_paths(source.pfile), option="--pfile", chromosomes=chromosomes,
                                    suffixes=(".pgen",)):
            readers.append(_of_chromosome(PgenReader(p), "--pfile", p, c))
    elif kind == "bgen":
        chroms = [c for _, c in expand_template(_paths(source.bgen), option="--bgen", chromosomes=chromosomes)]
        for (p, s), c in zip(source.bgen_files(), chroms):
            reader = BgenReader(p, sample=s, threads=threads, skip_bad=source.skip_bad_variants)
            readers.append(_of_chromosome(reader, "--bgen", p, c))
    else:
        for p, c in expand_template(_paths(source.vcf), option="--vcf", chromosomes=chromosomes):
            readers.append(_of_chromosome(VcfReader(p, field=source.vcf_field, threads=threads), "--vcf", p, c))
    return readers[0] if len(readers) == 1 else ConcatReader(readers, common_samples=common_samples)


def _of_chromosome(reader: GenotypeReader, option: str, path: str, chromosome: str | None) -> GenotypeReader:
    """``reader``, the file a ``{chr}`` template names for ``chromosome`` (None: not from a template), after
    checking it holds that chromosome only (a copy of another chromosome's file under the name gave every
    variant twice, silently)."""
    if chromosome is None or reader.n_variants == 0:
        return reader
    held = pd.unique(reader.variants["chromosome"].to_numpy(dtype=object))
    held = [h for h in held if str(h).strip().upper() not in ("", "NA", ".", "0")]   # (qctool writes NA)
    other = [str(h) for h, ok in zip(held, chromosomes_selected(held, [chromosome])) if not ok]
    if other:
        raise InputError(f"{option} {path}: the {{chr}} template's file of chromosome {chromosome} holds variants "
                         f"of chromosome {', '.join(other[:5])}: is it the right file?")
    return reader
