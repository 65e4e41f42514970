"""Genotype principal components for population-structure covariates: ``edfgen pca``.

Variants: biallelic, MAF >= ``maf`` (default 0.05), LD-pruned with ``hl.ld_prune`` (r^2 < 0.2 in
500-kb windows by default); then Hail's ``hwe_normalized_pca``: each variant's genotypes are centred
at ``2p`` and scaled by ``sqrt(2p(1-p) M)`` (missing calls -> 0, i.e. mean-imputed), and the PCs are
the eigenvectors of the resulting genetic relationship matrix. ``pcs.tsv`` holds the sample scores
(``U S``), ``eigenvalues.tsv`` the eigenvalues ``S^2``, ``pruned_variants.tsv`` the variants used.

References
----------
Patterson N, Price AL, Reich D (2006) Population structure and eigenanalysis. PLoS Genet 2:e190.
doi:10.1371/journal.pgen.0020190
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from edfgen.commands.options import GenotypeOptions, HailOptions, genotype_source, hail_settings, opt
from edfgen.reprs import ReadableRepr
from edfgen.engines.hail import HailSettings, hail_pca, init_hail
from edfgen.engines.hail_import import (PCA_BGEN_REMEDY, PCA_LOCUS_REMEDY, check_bgen_for_hail, import_genotypes,
                                        input_errors)
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.base import check_unique_iids
from edfgen.formats.genotypes.plink1 import check_plink_fileset
from edfgen.formats.genotypes.selection import read_id_list, read_variant_list
from edfgen.formats.manifest import recording
from edfgen.formats.tables import prepare_out_dir, write_table

log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class PCAResult(ReadableRepr):
    """What :func:`run_pca` wrote.

    Attributes
    ----------
    out_dir : str
        Holds ``pcs.tsv`` (``IID, PC1 .. PCk``).
    k, n_samples, n_variants : int
        PCs computed, samples and LD-pruned variants used.
    eigenvalues : list of float
    """

    out_dir: str
    k: int
    n_samples: int
    n_variants: int
    eigenvalues: list[float]


def _check_keep(ids: set | None, geno_ids: np.ndarray, keep, source) -> None:
    """``--keep`` must name at least 2 genotyped samples (Hail would fail later with a Java stack trace)."""
    if ids is None:
        return
    n = len(ids & set(geno_ids))
    if n < 2:
        hint = (f" (genotype IIDs look like {str(geno_ids[0])!r}, --keep IIDs like {sorted(ids)[0]!r})"
                if len(geno_ids) and ids and n == 0 else "")      # (no id matched: the formats may differ)
        raise InputError(f"--keep {keep}: {n} of its {len(ids)} IIDs are in --{source.kind} {source.label}; "
                         f"need at least 2{hint}")


def _check_source(source) -> None:
    """PCA runs on Hail, which reads no PLINK 2 files, and uses LD-pruned common variants without an INFO filter
    (review s30j F1: the refusals named an ``--engine`` option that pca does not have)."""
    if source.pfile:
        raise InputError(f"--pfile {source.pfile}: edfgen pca reads --bfile, --bgen, --vcf or --mt, not PLINK 2 "
                         f"files; convert with plink2 --pfile {source.pfile} --make-bed --out PREFIX and give "
                         "--bfile PREFIX")
    if source.min_info is not None:
        raise InputError(f"--min-info {source.min_info:g}: edfgen pca takes no INFO filter; give --extract a list "
                         "of the well-imputed variants to use")


def run_pca(source, out_dir, *, k: int = 10, maf: float = 0.05, ld_r2: float = 0.2, ld_window_kb: int = 500,
            keep: str | os.PathLike | None = None, hail=None, force: bool = False) -> PCAResult:
    """LD-pruned ``hwe_normalized_pca`` writing ``pcs.tsv`` (``IID, PC1 .. PCk``).

    Parameters
    ----------
    source : GenotypeSource
    out_dir : path
        Receives ``pcs.tsv`` and ``manifest.json``.
    k : int
        Number of PCs (must be < number of samples and pruned variants).
    maf, ld_r2, ld_window_kb
        Variant filter and LD-pruning parameters.
    keep : path, optional
        Samples to use (:func:`edfgen.formats.genotypes.read_id_list`: IIDs, ``FID IID`` or a table with IID/eid).
    hail : HailSettings, optional
        Spark master, tmp dir, memory.
    force : bool
        Write into a non-empty ``out_dir``, replacing only the files an earlier run listed in its manifest.

    Raises
    ------
    InputError
        Too few samples or variants for ``k`` PCs.
    """
    _check_source(source)
    out_dir = prepare_out_dir(out_dir, force=force, command="edfgen pca")
    ids = read_id_list(keep, what="--keep") if keep is not None else None
    extract_ids = None           # its errors before Hail's 30-50 s start (stop 39 matrix); read once
    if getattr(source, "extract", None) is not None:
        extract_ids = read_variant_list(source.extract)
    geno_ids = None
    if source.bfile:  # checked before Hail starts: duplicated IIDs (as gwas), a truncated/foreign .bed
        geno_ids = check_plink_fileset(source.bfile)["IID"].to_numpy(str)
        _check_keep(ids, geno_ids, keep, source)
    for bgen, _ in source.bgen_files() if source.bgen else ():
        if "://" not in bgen:    # (Hail reads 8-bit BGEN only: a 16-bit file was a Java traceback from the PCA)
            check_bgen_for_hail(bgen, PCA_BGEN_REMEDY)
    hl = init_hail(hail or HailSettings())
    mt = import_genotypes(source, tmp_dir=(hail.tmp_dir if hail else None), hl=hl, locus_remedy=PCA_LOCUS_REMEDY,
                          remedy=PCA_BGEN_REMEDY, extract_ids=extract_ids)
    with input_errors(source, PCA_BGEN_REMEDY, PCA_LOCUS_REMEDY):  # (lazy import: a malformed line fails the 1st pass)
        if geno_ids is None:  # VCF/BGEN/MT: sample ids known only after the import
            geno_ids = np.asarray(mt.s.collect(), dtype=str)
            check_unique_iids(geno_ids, f"--{source.kind} {source.label}")
            _check_keep(ids, geno_ids, keep, source)
        eig, pcs, pv, n_samples, n_var = hail_pca(hl, mt, ids, k=k, maf=maf, ld_r2=ld_r2, ld_window_kb=ld_window_kb)
    params = dict(genotypes={source.kind: source.label}, reference_genome=source.reference_genome, k=k, maf=maf, ld_r2=ld_r2, ld_window_kb=ld_window_kb,
                  keep=str(keep) if keep else None, method="hail.hwe_normalized_pca")
    with recording(out_dir, "edfgen pca", parameters=params, inputs=[*source.paths(), *dict.fromkeys(
                   f for f in (keep and str(keep), *source.selection_files()) if f)]) as man:
        write_table(pcs, Path(out_dir) / "pcs.tsv", float_format="%.8g")
        write_table(pd.DataFrame({"PC": [f"PC{i + 1}" for i in range(k)], "eigenvalue": eig}),
                    Path(out_dir) / "eigenvalues.tsv", float_format="%.8g")
        write_table(pv, Path(out_dir) / "pruned_variants.tsv")
        man.extra.update(n_samples=n_samples, n_variants=n_var, n_withdrawn=hl.eval(mt.n_withdrawn))
    return PCAResult(out_dir=str(out_dir), k=k, n_samples=n_samples, n_variants=n_var, eigenvalues=list(eig))

# ---------------------------------------------------------------------------------------------- the command
# its options (the only place their defaults, ranges and choices are written) and run(options),
# which the command line and `edfgen run` both call

@dataclass(frozen=True)
class PcaOptions(GenotypeOptions, HailOptions):
    """``edfgen pca`` (:func:`edfgen.commands.pca.run_pca`)."""

    command: ClassVar[str] = "pca"
    cli_omit: ClassVar[tuple[str, ...]] = ("pfile", "min_info", "skip_bad_variants")   # (see _check_source)
    k: int = opt(10, "Number of PCs.", range=(1, None))
    maf: float = opt(0.05, "Use biallelic variants with minor allele frequency >= X.", range=(0, 0.5))
    ld_r2: float = opt(0.2, "LD pruning (hl.ld_prune): keep variants with r² < X with each other.", range=(0, 1))
    ld_window_kb: int = opt(500, "LD pruning window (kb).", range=(1, None))


def run(o: PcaOptions):
    """``edfgen pca``: :func:`edfgen.commands.pca.run_pca`."""
    source = genotype_source(o)
    return run_pca(source, o.out, k=o.k, maf=o.maf, ld_r2=o.ld_r2, ld_window_kb=o.ld_window_kb, keep=source.keep,
                   hail=hail_settings(o), force=o.force)
