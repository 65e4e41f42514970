"""``edfgen annotate`` and ``edfgen catalog download``: the file-level wrappers of
:mod:`edfgen.kernels.annotate` (read loci, catalog, genes and LD panel; annotate; write the table,
regional plots and a file-level ``<out>.manifest.json``)."""

from __future__ import annotations

import logging
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd

from edfgen.commands.clump import write_regional_plots
from edfgen.commands.options import CommandOptions, allow_incomplete_opt, as_list, opt, out_opt
from edfgen.commands.sumstats_options import check_columns_present, columns_opt
from edfgen.exceptions import InputError, ToolError
from edfgen.formats.catalog import (CATALOG_URL, check_build_against_catalog, check_catalog_build, read_catalog,
                                    read_loci, select_traits)
from edfgen.formats.genes import declared_genes_build, packaged_genes, read_genes
from edfgen.formats.genotypes.panel import PlinkGenotypes, panel_fingerprint
from edfgen.formats.liftover import Chain
from edfgen.formats.manifest import (Manifest, anchored, check_not_inputs, check_upstream, listed_outputs,
                                     read_manifest, recording, sha256_file)
from edfgen.formats.paths import file_arg, file_args
from edfgen.formats.sumstats import column_test, expand_sumstats, parse_column_option, reads_sub_folders
from edfgen.formats.tables import atomic_path, claimed_out_file, clean_temp_files, write_table
from edfgen.kernels.annotate import AnnotateSettings, annotate_loci
from edfgen.kernels.thresholds import REFERENCE_GENOMES
from edfgen.plots.regional import regional_plot_names

log = logging.getLogger(__name__)


def run_annotate(loci_path: str | Path, catalog_path: str | Path, out: str | Path, *,
                 traits: Sequence[str] | None = None, any_trait: bool = False, ld_bfile: str | Path | None = None,
                 genes: str | Path | None = None, settings: AnnotateSettings = AnnotateSettings(),
                 regional_plots: int = 0, sumstats: Sequence[str | Path] = (), reference_genome: str | None = None,
                 liftover_chain: str | Path | None = None, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """``edfgen annotate``: read, check build, select traits, annotate, write ``out`` (TSV) and its
    provenance ``<out>.manifest.json`` (a file-level manifest, so that annotating into a clump
    directory does not replace that directory's ``manifest.json``).

    ``reference_genome="GRCh37"``: the loci (and LD panel) are GRCh37; catalog rows (GRCh38) match
    them by rsID, and by position only after lifting the loci to GRCh38 with ``liftover_chain``
    (:class:`edfgen.formats.liftover.Chain`); output positions stay GRCh37.

    ``sumstats`` (for ``regional_plots``): files or directories (:func:`edfgen.formats.sumstats.expand_sumstats`);
    one phenotype's per-chromosome files are combined (a variant in two of them is an input error); ``columns``:
    ``--columns`` for them.

    Parameters
    ----------
    loci_path : str or Path
        ``loci.tsv``/``clumps.tsv`` or any table with ``variant_id``, ``chromosome``, ``base_pair_location``,
        ``p_value`` (``--loci``).
    catalog_path : str or Path
        GWAS Catalog associations TSV (``--catalog``; see :func:`download_catalog`).
    out : str or Path
        Output TSV; ``<out>.manifest.json`` is written beside it.
    traits : list of str, optional
        Trait regexes or EFO ids to compare with (default: the ECG traits).
    any_trait : bool, default False
        Compare with every catalog association.
    ld_bfile : str or Path, optional
        PLINK 1 LD panel prefix: a catalog variant in LD with the lead makes a locus known.
    genes : str or Path, optional
        GTF/BED genes for ``nearest_gene`` (default: the shipped protein-coding genes of ``reference_genome``).
    settings : AnnotateSettings, optional
        ``window_kb`` (500), ``ld_r2`` (0.1), ``ld_window_kb`` (5000), ``r2_method``.
    regional_plots : int, default 0
        Regional plots of the first N loci (needs ``sumstats`` and ``ld_bfile``).
    sumstats : list of str or Path, optional
        GWAS-SSF files or folders for the regional plots.
    reference_genome : {"GRCh38", "GRCh37"}, optional
        Build of the loci and LD panel; default: the build the loci file declares (:func:`read_loci`: its
        ``-meta.yaml``, a ``##genome_build=`` line, a build column, the clump run that wrote it), else GRCh38
        (warned when no rsID lets the catalog check it).
    liftover_chain : str or Path, optional
        UCSC chain GRCh37 -> GRCh38 to compare GRCh37 loci with the catalog by position.
    columns : dict of str to str, optional
        ``--columns`` renames for ``sumstats``.

    Returns
    -------
    DataFrame
        The annotated loci (:data:`edfgen.kernels.annotate.ANNOTATED_COLUMNS`: ``novel``, ``known_by``, nearest
        catalog association, strongest-LD catalog variant, nearest gene), as written to ``out``.

    Raises
    ------
    InputError
        Bad options or input files (one line naming them).
    """
    # a DataFrame from a notebook: one line naming the option, not a TypeError traceback (s42files #6)
    loci_path, catalog_path, out, ld_bfile, genes, liftover_chain = (file_arg(v, n) for v, n in (
        (loci_path, "--loci"), (catalog_path, "--catalog"), (out, "--out"), (ld_bfile, "--ld-bfile"),
        (genes, "--genes"), (liftover_chain, "--liftover-chain")))
    sumstats = file_args(sumstats, "--sumstats") if sumstats is not None else []
    if regional_plots and not (ld_bfile and sumstats):   # (they need r² with the lead and the association p-values)
        log.warning("annotate: --regional-plots %d needs --sumstats and --ld-bfile PANEL; no regional plots drawn "
                    "(missing: %s)", regional_plots,
                    " and ".join(n for n, v in (("--sumstats", sumstats), ("--ld-bfile", ld_bfile)) if not v))
    if settings.ld_r2 != AnnotateSettings.ld_r2 and not ld_bfile:     # accepted without effect (review s34a #4)
        log.warning("--ld-r2 is used only with --ld-bfile PANEL: ignored")
    sumstats = expand_sumstats(sumstats, columns=columns) if sumstats else []
    check_columns_present(columns, sumstats, "--sumstats")
    check_not_inputs([out, Path(f"{out}.manifest.json")], [loci_path, catalog_path, genes, *sumstats])  # never over its input
    if reference_genome is not None and reference_genome not in REFERENCE_GENOMES:
        raise InputError(f"--reference-genome {reference_genome!r}: choose GRCh37 or GRCh38")
    given = reference_genome
    loci = read_loci(loci_path, reference_genome=reference_genome)   # None: the build --loci declares, else GRCh38
    if loci.empty:    # (clump found no locus: an empty table is right, but said, not only counted; stop 39 matrix)
        log.warning("--loci %s holds no locus (a header line only): the annotated table is empty", loci_path)
    reference_genome, declared = loci.attrs["reference_genome"], loci.attrs["build_declared"]
    # where the loci's build came from, and how to change it: --reference-genome against a declaration is refused by
    # read_loci, so a declared build is corrected (or the loci lifted), not overridden
    source = (f"{declared} declares it{', as --reference-genome does' if given else ''}" if declared
              else "--reference-genome" if given else "the default: --loci declares no build")

    def change_to(build: str) -> str:     # (a declaration wins: --reference-genome against it is refused)
        return (f"correct that declaration if the loci are {build}" if declared
                else f"give --reference-genome {build} if the loci are {build}")
    if liftover_chain is not None and reference_genome == "GRCh38":
        raise InputError(f"--liftover-chain lifts GRCh37 loci to the catalog's GRCh38, but the loci are GRCh38 "
                         f"({source}): drop --liftover-chain, or {change_to('GRCh37')}")
    if genes is not None:       # nearest genes from another build's coordinates are wrong genes, silently
        build, said = declared_genes_build(genes)
        if build and build != reference_genome:
            raise InputError(f"--genes {genes}: its {said} says genome build {build}, but the loci are "
                             f"{reference_genome} ({source}): give the {reference_genome} gene file, or "
                             f"{change_to(build)}")
    # one writer of --out's folder from the checks to the manifest, as extract (its folder made, or refused in one
    # line, before the work)
    with claimed_out_file(out, command="edfgen annotate") as out:
        clean_temp_files(out.parent, recursive=False)   # temporary files a killed annotate left there
        check_own_file(out, "edfgen annotate")
        return _annotate(loci_path, loci, catalog_path, out, traits=traits, any_trait=any_trait, ld_bfile=ld_bfile,
                         genes=genes, settings=settings, regional_plots=regional_plots, sumstats=sumstats,
                         reference_genome=reference_genome, declared=declared, liftover_chain=liftover_chain,
                         columns=columns)


def _annotate(loci_path, loci: pd.DataFrame, catalog_path, out: Path, *, traits, any_trait, ld_bfile, genes, settings,
              regional_plots, sumstats, reference_genome, declared, liftover_chain, columns) -> pd.DataFrame:
    """:func:`run_annotate` once ``out``'s folder is locked: annotate, then write the table (and regional plots)
    inside :func:`~edfgen.formats.manifest.recording` (an in-progress ``<out>.manifest.json`` first, so a killed or
    disk-full run's files are its own to the rerun, and removed after a disk-full or read-only failure)."""
    panel_files, bed_bytes = panel_fingerprint(ld_bfile) if ld_bfile else ([], None)
    params = {**settings.__dict__, "traits": traits, "any_trait": any_trait, "ld_bfile": ld_bfile,
              "ld_panel_bed_bytes": bed_bytes, "genes": genes or f"edfgen/data/genes_{reference_genome}.tsv.gz",
              "reference_genome": reference_genome, "liftover_chain": str(liftover_chain) if liftover_chain else None}
    full = read_catalog(catalog_path)
    check_catalog_build(full, catalog_path)       # a GRCh37 catalog read as GRCh38 compares two builds everywhere
    same_build, lifted = reference_genome == "GRCh38", None
    check_build_against_catalog(loci, full, source=f"--loci {loci_path}", reference_genome=reference_genome,
                                declared=declared)
    if not same_build and liftover_chain is None:
        log.warning("%s without --liftover-chain: the %d loci are matched with the GRCh38 catalog by rsID only (no "
                    "window, LD or nearest catalog hit), so a novel call is less certain",
                    f"loci on {reference_genome} ({declared})" if declared else f"--reference-genome {reference_genome}",
                    len(loci))
    elif liftover_chain is not None:
        to_chrom, to_pos = Chain.read(liftover_chain).lift(loci["chromosome"], loci["base_pair_location"])
        lifted = np.where(to_chrom == loci["chromosome"].astype(str).to_numpy(), to_pos, np.nan)
        n_lifted = int(np.isfinite(lifted).sum())
        (log.info if n_lifted == len(loci) else log.warning)(
            "liftover %s: %d of %d loci mapped to GRCh38 on the same chromosome%s", liftover_chain, n_lifted,
            len(loci), "" if n_lifted == len(loci) else "; the others are compared by rsID only (no window or "
            "nearest catalog hit: a novel call there is less certain)")
    cat = select_traits(full, traits, any_trait=any_trait)
    if cat.empty:
        log.warning("no catalog associations match the selected traits; every locus will be novel")
    gtab = read_genes(genes or packaged_genes(reference_genome))  # default: the shipped protein-coding genes
    panel = PlinkGenotypes(ld_bfile) if ld_bfile else None
    plots = out.parent / f"{out.stem}_regional" if regional_plots and sumstats and panel is not None else None
    try:
        res = annotate_loci(loci, cat, panel=panel, genes=gtab, settings=settings, same_build=same_build,
                            catalog_positions=lifted)
        lo = loci.assign(locus=res["locus"], phenotype=loci.get("phenotype", res["phenotypes"])).head(regional_plots)
        # the plots by name, in the in-progress manifest too: the folder as a whole made the rerun of a killed run
        # remove a user's file put there (review s39)
        planned = [f"{plots.name}/{n}" for n in regional_plot_names(lo)] if plots is not None else []
        with recording(out.parent, "edfgen annotate", parameters=params, name=f"{out.name}.manifest.json",
                       inputs=[loci_path, catalog_path, genes, *panel_files, liftover_chain],
                       planned=[out.name, *planned]) as m:
            write_table(res, out, float_format="%.6g")
            drawn = write_regional_plots(lo, sumstats, panel, plots, genes=gtab, window_kb=settings.window_kb,
                                         r2_method=settings.r2_method, columns=columns) if plots is not None else []
            m.outputs = [out.name, *(Path(p).relative_to(out.parent).as_posix() for p in drawn)]
            m.extra = {"n_loci": int(len(res)), "n_novel": int(res["novel"].sum()),
                       "n_catalog_associations": int(len(cat))}
    finally:
        if panel is not None:
            panel.close()
    return res


def check_own_file(out: Path, command: str) -> None:
    """Refuse to replace an existing ``out`` that an earlier ``command`` did not write (not listed in its
    ``<out>.manifest.json``): a user's own file is never overwritten (an earlier run's file is replaced, as a
    rerun does).

    Parameters
    ----------
    out : Path
        The output file.
    command : str
        The command that may replace it (``"edfgen annotate"``).

    Returns
    -------
    None

    Raises
    ------
    InputError
        When ``out`` is a directory, or exists without a manifest of ``command`` listing it.
    """
    if out.is_dir():
        raise InputError(f"--out {out}: is a directory; give the output file's name")
    if not out.exists():
        return
    previous = read_manifest(out.parent, name=f"{out.name}.manifest.json")
    if previous is None or previous.get("command") != command or \
            anchored(out) not in set(listed_outputs(previous, out.parent)):
        raise InputError(f"--out {out}: exists and was not written by an earlier {command} (no "
                         f"{out.name}.manifest.json listing it); move it away or choose another --out")


def _write_file_manifest(man: Manifest, out: Path) -> Path:
    """``<out>.manifest.json`` for a command whose output is one file (its directory may hold
    another stage's ``manifest.json``), written last and atomically (:meth:`Manifest.write`)."""
    man.outputs = [out.name]
    return man.write(out.parent, name=f"{out.name}.manifest.json")


def download_catalog(out: str | Path, *, url: str = CATALOG_URL, timeout: float = 60.0) -> Path:
    """Fetch the current GWAS Catalog associations (v1.0.2 TSV; a ``.zip`` is unpacked) to ``out``,
    with ``<out>.manifest.json`` (URL, download time, the file's sha256 under ``extra``).

    Parameters
    ----------
    out : str or Path
        File to write.
    url : str, default CATALOG_URL
        Address of the associations file (TSV or ``.zip``).
    timeout : float, default 60
        Seconds to wait for the server.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ToolError
        Offline, unreachable URL, HTTP error or a download that is not an associations TSV —
        one line naming the URL.
    """
    out = Path(out)
    check_own_file(out, "edfgen catalog download")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, atomic_path(out) as tmp:
            with open(tmp, "wb") as fh:
                shutil.copyfileobj(resp, fh, 1 << 20)
            if url.endswith(".zip") or zipfile.is_zipfile(tmp):
                with zipfile.ZipFile(tmp) as zf:
                    names = [n for n in zf.namelist() if n.endswith((".tsv", ".txt"))]
                    if not names:
                        raise ToolError(f"catalog download {url}: zip archive holds no .tsv file")
                    data = zf.read(names[0])
                tmp.write_bytes(data)
            with open(tmp, "rb") as fh:
                head = fh.readline().decode("utf-8", "replace")
            if "SNPS" not in head or "DISEASE/TRAIT" not in head:
                raise ToolError(f"catalog download {url}: the file is not a GWAS Catalog associations TSV "
                                f"(header starts {head[:60]!r})")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ToolError(f"catalog download: cannot fetch {url} ({reason}); are you offline? "
                        f"Download it elsewhere and pass it with --catalog") from None
    man = Manifest("edfgen catalog download", parameters={"url": url, "timeout": timeout})
    man.extra = {"sha256": sha256_file(out), "bytes": out.stat().st_size}
    _write_file_manifest(man, out)
    return out

# ---------------------------------------------------------------------------------------------- the command
# its options (the only place their defaults, ranges and choices are written) and run(options),
# which the command line and `edfgen run` both call

@dataclass(frozen=True)
class AnnotateOptions(CommandOptions):
    """``edfgen annotate`` (:func:`edfgen.formats.catalog.run_annotate`)."""

    command: ClassVar[str] = "annotate"
    loci: str | None = opt(None, "loci.tsv / clumps.tsv or any table with variant_id, chromosome, "
                           "base_pair_location, p_value (GRCh38).", path="file", exists=True, required=True)
    catalog: str | None = opt(None, "GWAS Catalog associations TSV (2016 or v1.0.2 layout; see `edfgen catalog "
                              "download`).", path="file", exists=True, required=True)
    traits: tuple[str, ...] | None = opt(None, "Comma list of trait regexes or EFO ids (default: ECG traits).",
                                         comma=True)
    any_trait: bool = opt(False, "Use every catalog association, whatever the trait.")
    window_kb: float = opt(AnnotateSettings.window_kb, "A catalog association within this distance makes a locus known.",
                           range=(0, None), cli_range=False)
    ld_bfile: str | None = opt(None, "LD panel: a catalog variant with r² >= --ld-r2 makes a locus known.",
                               path="any")
    ld_r2: float = opt(AnnotateSettings.ld_r2, "With --ld-bfile: a catalog variant with LD r² >= X with the lead "
                       "makes a locus known.", range=(0, 1), cli_range=False)
    genes: str | None = opt(None, "GTF/BED genes for nearest_gene, gene_distance (default: the shipped "
                            "protein-coding genes of --reference-genome, Ensembl 75/107).", path="file", exists=True)
    regional_plots: int = opt(0, "With --sumstats and --ld-bfile: regional plots of the first N loci.",
                              range=(0, None))
    sumstats: tuple[str, ...] = opt((), "For --regional-plots: GWAS-SSF files or directories of them (repeatable); "
                                    "one phenotype's per-chromosome files (chr1/y.tsv.gz, chr2/y.tsv.gz) are "
                                    "combined; `--sumstats gwas/*.tsv.gz` works (extra paths after it are taken "
                                    "too).", multiple=True, path="any", exists=True)
    more_sumstats: tuple[str, ...] = opt((), None, argument=True, path="any", exists=True)
    columns: str | None = columns_opt()
    reference_genome: str | None = opt(None, "Build of --loci (and --ld-bfile); without it: the build the loci "
                                       "declare (-meta.yaml, ##genome_build line, a build column, the clump "
                                       "record), else GRCh38 (warned when no rsID lets the catalog check it); an "
                                       "explicit build against a declaration is an error; a build in the file NAME "
                                       "is not a declaration (refused against GRCh38) unless the file declares "
                                       "GRCh38 inside, which wins with a warning. "
                                       "GRCh37: catalog rows (GRCh38) match by rsID, and by position only after "
                                       "--liftover-chain.",
                                choices=REFERENCE_GENOMES, deprecated="--genome-assembly")
    liftover_chain: str | None = opt(None, "UCSC chain file GRCh37 -> GRCh38 (hg19ToHg38.over.chain.gz) to compare "
                                     "GRCh37 loci by position.", path="file", exists=True)
    out: str | None = out_opt("file", "Output file.")
    allow_incomplete: bool = allow_incomplete_opt()

    def __post_init__(self):
        if self.traits and self.any_trait:
            raise InputError("--traits and --any-trait are mutually exclusive")


def run(o: AnnotateOptions):
    """``edfgen annotate``: :func:`edfgen.formats.catalog.run_annotate` (its build keyword is ``reference_genome``).

    Parameters
    ----------
    o : AnnotateOptions
        The command's options (command line or ``edfgen run``).

    Returns
    -------
    DataFrame
        As :func:`run_annotate`.
    """
    check_upstream([o.loci], option="--loci", allow_incomplete=o.allow_incomplete)
    sumstats = [*o.sumstats, *o.more_sumstats]     # an unquoted glob's paths after --sumstats
    columns = parse_column_option(o.columns) or None
    check_upstream(sumstats, option="--sumstats", allow_incomplete=o.allow_incomplete,
                   reads_sub_folders=lambda d: reads_sub_folders(d, column_test(columns=columns)))

    return run_annotate(o.loci, o.catalog, o.out, traits=as_list(o.traits), any_trait=o.any_trait,
                        ld_bfile=o.ld_bfile, genes=o.genes,
                        settings=AnnotateSettings(window_kb=o.window_kb, ld_r2=o.ld_r2),
                        regional_plots=o.regional_plots, sumstats=sumstats,
                        reference_genome=o.reference_genome, liftover_chain=o.liftover_chain,
                        columns=columns)
