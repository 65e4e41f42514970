"""Options and helpers shared by every CLI command (bio2zarr-style decorators)."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from edfgen.progress import configure_logging


def verbosity(func):
    """``-v/--verbose`` (repeatable) and ``-q/--quiet``; configures logging before the command runs."""

    @click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
    @click.option("-q", "--quiet", is_flag=True, help="Warnings only, no progress bars.")
    @functools.wraps(func)
    def wrapper(*args, verbose: int = 0, quiet: bool = False, **kwargs):
        configure_logging(-1 if quiet else verbose)
        return func(*args, **kwargs)

    return wrapper


force = click.option("--force", is_flag=True,
                     help="Write into a non-empty --out: replaces the files an earlier run of this command listed in "
                          "its manifest.json, keeps every other file.")
threads = click.option("--threads", type=click.IntRange(min=1), default=None,
                       help="Worker threads (default: all cores).")
#: seeds feed numpy, torch and msprime: non-negative and < 2**32 (RandomState's range)
SEED_TYPE = click.IntRange(min=0, max=2**32 - 1)
seed = click.option("--seed", type=SEED_TYPE, default=0, show_default=True, help="Random seed (results are deterministic by seed).")


def out_dir(required: bool = True, help: str = "Output directory."):
    return click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=required, help=help)


def out_file(required: bool = True, help: str = "Output file."):
    return click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=required, help=help)


def existing_path(**kw):
    return click.Path(exists=True, path_type=Path, **kw)


def comma_list(ctx, param, value):
    """click callback: ``a,b,c`` -> ``["a", "b", "c"]`` (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = ",".join(value)
    return [v.strip() for v in value.split(",") if v.strip()]


class HiddenAliasOption(click.Option):
    """An option whose extra names (old spellings kept for scripts) work but are not shown in ``--help``:
    ``click.option("--covariates", "--covar-cols", "covar_cols", cls=HiddenAliasOption)``."""

    def get_help_record(self, ctx):
        saved = self.opts
        self.opts = saved[:1]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = saved


def genotype_options(*, required: bool = True, mt: bool = True, vcf: bool = True, bfile_alias: str | None = None):
    """The genotype input options shared by every genotype-reading command (gwas, pca, clump, mr).

    Adds ``--bfile``, ``--pfile``, ``--bgen`` (repeatable, or a ``{chr}`` template), ``--sample``
    (idem), ``--vcf``/``--vcf-field``, ``--mt``, ``--keep``, ``--remove``, ``--extract``, ``--chr``,
    ``--min-info`` and ``--reference-genome``, and hands the command one keyword ``source``: an
    :class:`edfgen.formats.genotypes.source.GenotypeSource`, or ``None`` when no genotype file was given
    and ``required`` is False. ``bfile_alias``: a second name of ``--bfile`` (``edfgen mr``'s older
    ``--ld-bfile``), which also names its parameter (``ld_bfile``, the key of ``edfgen run``'s config).
    """
    bfile_dest = bfile_alias.lstrip("-").replace("-", "_") if bfile_alias else "bfile"
    opts = [
        click.option("--bfile", *([bfile_alias] if bfile_alias else []), bfile_dest,
                     help="PLINK 1 fileset prefix (.bed/.bim/.fam)."),
        click.option("--pfile", help="PLINK 2 fileset prefix (.pgen/.pvar/.psam; dosages read)."),
        click.option("--bgen", multiple=True,
                     help="BGEN 1.2/1.3 file; repeat it, or give a {chr} template such as 'imp/chr{chr}.bgen' "
                          "(expanded over --chr, else over the chromosomes whose file exists)."),
        click.option("--sample", multiple=True,
                     help="Oxford .sample file(s) of --bgen: one for all, a {chr} template, or one per --bgen."),
    ]
    if vcf:
        opts += [click.option("--vcf", help="VCF or BCF (.vcf, .vcf.gz/.bgz, .bcf; a .tbi/.csi index speeds up LD "
                                            "reads); local, or gs://, hdfs:// with the Hail engine on a cluster."),
                 click.option("--vcf-field", type=click.Choice(["auto", "GT", "DS"]), default="auto",
                              show_default=True,
                              help="VCF entry: hard calls (GT) or alt-allele dosages (DS, the GT count where a sample "
                                   "has none, as plink2 dosage=DS); auto: DS when the header declares it.")]
    if mt:
        opts.append(click.option("--mt", help="Hail MatrixTable directory (GT or dosage entries)."))
    opts += [
        click.option("--keep", "keep_ids", type=existing_path(dir_okay=False),
                     help="Participants to use: one IID per line, 'FID IID' lines, or a table with IID/eid."),
        click.option("--remove", "remove_ids", type=existing_path(dir_okay=False),
                     help="Participants to leave out (same formats as --keep)."),
        click.option("--extract", type=existing_path(dir_okay=False),
                     help="Variants to use: one variant id or rsid per line."),
        click.option("--chr", "chromosomes", default=None, help="Chromosomes to use, e.g. 1-22,X."),
        click.option("--min-info", type=click.FloatRange(0, None), default=None,
                     help="Keep variants with imputation INFO (MaCH r², plink2 MACH_R2, from the dosages of the "
                          "samples analysed) >= X."),
        click.option("--reference-genome", type=click.Choice(["GRCh37", "GRCh38"]), default=None,
                     help="Build of the genotype positions (default GRCh38); recorded in every output."),
    ]

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            from edfgen.formats.genotypes.source import GenotypeSource

            g = {k: kwargs.pop(k, None) for k in ("bfile", "pfile", "bgen", "sample", "vcf", "vcf_field", "mt",
                                                   "keep_ids", "remove_ids", "extract", "chromosomes", "min_info",
                                                   "reference_genome")}
            if bfile_alias:
                g["bfile"] = kwargs.pop(bfile_dest, None)
            reference_genome = g["reference_genome"]
            files = [g[k] for k in ("bfile", "pfile", "bgen", "vcf", "mt")]
            if not any(files) and not required:
                source = None
            else:
                one = (lambda v: None if not v else v[0] if len(v) == 1 else tuple(v))
                source = GenotypeSource(
                    bfile=g["bfile"], pfile=g["pfile"], bgen=one(g["bgen"]), sample=one(g["sample"]), vcf=g["vcf"],
                    mt=g["mt"], vcf_field=g["vcf_field"] or "auto",
                    keep=str(g["keep_ids"]) if g["keep_ids"] else None,
                    remove=str(g["remove_ids"]) if g["remove_ids"] else None,
                    extract=str(g["extract"]) if g["extract"] else None,
                    chromosomes=(g["chromosomes"],) if g["chromosomes"] else None, min_info=g["min_info"],
                    reference_genome=reference_genome or "GRCh38")
            return func(*args, source=source, reference_genome=reference_genome, **kwargs)

        for o in reversed(opts):
            wrapper = o(wrapper)
        return wrapper

    return decorator
