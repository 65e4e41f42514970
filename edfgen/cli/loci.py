"""``edfgen clump``, ``edfgen annotate`` and ``edfgen catalog download``: independent loci and novelty."""

from __future__ import annotations

from pathlib import Path

import click

from edfgen.cli._options import comma_list, existing_path, force, genotype_options, out_dir, out_file, verbosity


@click.command("clump")
@click.option("--sumstats", "sumstats", multiple=True, required=True, type=click.Path(path_type=Path),
              help="GWAS-SSF <phenotype>.tsv.gz files, a directory of them or a quoted glob; "
                   "`--sumstats gwas/*.tsv.gz` works (extra paths after it are taken too).")
@click.argument("more_sumstats", nargs=-1, type=click.Path(path_type=Path))
@genotype_options(required=False, mt=False)
@click.option("--ld-bfile", type=click.Path(path_type=Path), default=None,
              help="PLINK prefix of a separate LD reference panel (else the study genotypes --bfile/--pfile/--bgen/"
                   "--vcf with --keep/--remove/--chr/--extract are the panel).")
@out_dir()
@click.option("--p1", type=float, default=5e-8, show_default=True, help="Index-variant threshold (p <= p1).")
@click.option("--p2", type=float, default=0.01, show_default=True, help="Clumped-variant threshold (p < p2).")
@click.option("--r2", type=float, default=0.01, show_default=True, help="LD threshold (r² > r2 joins a clump).")
@click.option("--kb", type=float, default=1000.0, show_default=True, help="Window radius in kb.")
@click.option("--r2-method", type=click.Choice(["plink", "corr"]), default="plink", show_default=True,
              help="plink: haplotype-ML r² (identical to plink1.9 --clump); corr: allele-count correlation².")
@click.option("--allow-overlap", is_flag=True, help="Variants may join several clumps (plink --clump-allow-overlap).")
@click.option("--study-wide", is_flag=True, help="p1 = 5e-8 / M_eff (Li & Ji 2005) from --pheno.")
@click.option("--pheno", type=existing_path(dir_okay=False), default=None,
              help="Phenotype/EDF table for --study-wide (columns named like the sumstats files).")
@click.option("--truth", type=existing_path(dir_okay=False), default=None,
              help="truth.json of a simulated cohort: writes truth_recovery.tsv.")
@click.option("--regional-plots", type=click.IntRange(min=0), default=0, show_default=True,
              help="Regional plots of the N strongest loci (regional/*.png).")
@click.option("--genes", type=existing_path(dir_okay=False), default=None, help="GTF/BED genes for the plots.")
@force
@verbosity
def clump(sumstats, more_sumstats, source, reference_genome, ld_bfile, out, p1, p2, r2, kb, r2_method, allow_overlap, study_wide,
          pheno, truth, regional_plots, genes, force):
    """LD-clump summary statistics like plink1.9 --clump and merge index variants into loci."""
    from edfgen.commands.clump import run_clump
    from edfgen.kernels.clump import ClumpSettings

    res = run_clump([*sumstats, *more_sumstats], out_dir=out, bfile=source, ld_bfile=ld_bfile,
                    reference_genome=reference_genome,
                    settings=ClumpSettings(p1=p1, p2=p2, r2=r2, kb=kb, r2_method=r2_method,
                                           allow_overlap=allow_overlap),
                    study_wide=study_wide, pheno=pheno, truth=truth, regional_plots=regional_plots,
                    genes=genes, force=force)
    extra = f" (study-wide p1 = {res.settings.p1:.3g}, M_eff = {res.m_eff:.2f})" if res.m_eff else ""
    click.echo(f"{len(res.clumps)} index variants in {res.clumps['phenotype'].nunique()} phenotype(s), "
               f"{len(res.loci)} independent loci{extra} -> {res.out_dir}")


@click.command("annotate")
@click.option("--loci", "loci", required=True, type=existing_path(dir_okay=False),
              help="loci.tsv / clumps.tsv or any table with variant_id, chromosome, base_pair_location, p_value (GRCh38).")
@click.option("--catalog", required=True, type=existing_path(dir_okay=False),
              help="GWAS Catalog associations TSV (2016 or v1.0.2 layout; see `edfgen catalog download`).")
@click.option("--traits", callback=comma_list, default=None,
              help="Comma list of trait regexes or EFO ids (default: ECG traits).")
@click.option("--any-trait", is_flag=True, help="Use every catalog association, whatever the trait.")
@click.option("--window-kb", type=float, default=500.0, show_default=True,
              help="A catalog association within this distance makes a locus known.")
@click.option("--ld-bfile", type=click.Path(path_type=Path), default=None,
              help="LD panel: a catalog variant with r² >= --ld-r2 makes a locus known.")
@click.option("--ld-r2", type=float, default=0.1, show_default=True)
@click.option("--genes", type=existing_path(dir_okay=False), default=None,
              help="GTF/BED genes: adds nearest_gene, gene_distance.")
@click.option("--regional-plots", type=click.IntRange(min=0), default=0, show_default=True,
              help="With --sumstats and --ld-bfile: regional plots of the first N loci.")
@click.option("--sumstats", multiple=True, type=existing_path(),
              help="For --regional-plots: GWAS-SSF files or directories of them (repeatable); one phenotype's "
                   "per-chromosome files (chr1/y.tsv.gz, chr2/y.tsv.gz) are combined.")
@click.option("--reference-genome", type=click.Choice(["GRCh37", "GRCh38"]), default="GRCh38", show_default=True,
              help="Build of --loci (and --ld-bfile). GRCh37: catalog rows (GRCh38) match by rsID, and by position "
                   "only after --liftover-chain.")
@click.option("--liftover-chain", type=existing_path(dir_okay=False), default=None,
              help="UCSC chain file GRCh37 -> GRCh38 (hg19ToHg38.over.chain.gz) to compare GRCh37 loci by position.")
@out_file()
@verbosity
def annotate(loci, catalog, traits, any_trait, window_kb, ld_bfile, ld_r2, genes, regional_plots, sumstats,
             reference_genome, liftover_chain, out):
    """Mark loci known/novel against the GWAS Catalog; add nearest catalog hit and nearest gene."""
    from edfgen.exceptions import InputError
    from edfgen.commands.annotate import run_annotate
    from edfgen.kernels.annotate import AnnotateSettings

    if traits and any_trait:
        raise InputError("--traits and --any-trait are mutually exclusive")
    res = run_annotate(loci, catalog, out, traits=traits, any_trait=any_trait, ld_bfile=ld_bfile, genes=genes,
                       settings=AnnotateSettings(window_kb=window_kb, ld_r2=ld_r2),
                       regional_plots=regional_plots, sumstats=sumstats, reference_genome=reference_genome,
                       liftover_chain=liftover_chain)
    click.echo(f"{len(res)} loci: {int(res['novel'].sum())} novel, {int((~res['novel']).sum())} known -> {out}")


@click.group("catalog")
def catalog():
    """The NHGRI-EBI GWAS Catalog."""


@catalog.command("download")
@out_file()
@click.option("--url", default=None, help="Associations TSV (or .zip) URL (default: the EBI FTP 'latest' release).")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds before giving up.")
@verbosity
def download(out, url, timeout):
    """Fetch the current GWAS Catalog associations TSV (needs internet)."""
    from edfgen.commands.annotate import download_catalog
    from edfgen.formats.catalog import CATALOG_URL

    path = download_catalog(out, url=url or CATALOG_URL, timeout=timeout)
    click.echo(f"GWAS Catalog associations -> {path}")
