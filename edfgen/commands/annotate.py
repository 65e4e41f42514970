"""``edfgen annotate`` and ``edfgen catalog download``: the file-level wrappers of
:mod:`edfgen.kernels.annotate` (read loci, catalog, genes and LD panel; annotate; write the table,
regional plots and a file-level ``<out>.manifest.json``)."""

from __future__ import annotations

import json
import logging
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.commands.clump import write_regional_plots
from edfgen.exceptions import InputError, ToolError
from edfgen.formats.catalog import CATALOG_URL, check_build_against_catalog, read_catalog, read_loci, select_traits
from edfgen.formats.genes import read_genes
from edfgen.formats.liftover import Chain
from edfgen.formats.manifest import Manifest, check_not_inputs, sha256_file
from edfgen.formats.sumstats import expand_sumstats
from edfgen.formats.tables import atomic_path, atomic_write, clean_temp_files, write_table
from edfgen.kernels.annotate import AnnotateSettings, annotate_loci
from edfgen.formats.genotypes.panel import PlinkGenotypes, panel_fingerprint

log = logging.getLogger(__name__)


def run_annotate(loci_path: str | Path, catalog_path: str | Path, out: str | Path, *,
                 traits: Sequence[str] | None = None, any_trait: bool = False, ld_bfile: str | Path | None = None,
                 genes: str | Path | None = None, settings: AnnotateSettings = AnnotateSettings(),
                 regional_plots: int = 0, sumstats: Sequence[str | Path] = (), reference_genome: str = "GRCh38",
                 liftover_chain: str | Path | None = None) -> pd.DataFrame:
    """``edfgen annotate``: read, check build, select traits, annotate, write ``out`` (TSV) and its
    provenance ``<out>.manifest.json`` (a file-level manifest, so that annotating into a clump
    directory does not replace that directory's ``manifest.json``).

    ``reference_genome="GRCh37"``: the loci (and LD panel) are GRCh37; catalog rows (GRCh38) match
    them by rsID, and by position only after lifting the loci to GRCh38 with ``liftover_chain``
    (:class:`edfgen.formats.liftover.Chain`); output positions stay GRCh37.

    ``sumstats`` (for ``regional_plots``): files or directories (:func:`edfgen.formats.sumstats.expand_sumstats`);
    one phenotype's per-chromosome files are combined (a variant in two of them is an input error)."""
    sumstats = expand_sumstats(sumstats) if sumstats else []
    check_not_inputs([out, Path(f"{out}.manifest.json")], [loci_path, catalog_path, genes, *sumstats])  # never over its input
    if Path(out).parent.is_dir():  # temporary files a killed annotate left there
        clean_temp_files(Path(out).parent, recursive=False)
    panel_files, bed_bytes = panel_fingerprint(ld_bfile) if ld_bfile else ([], None)
    man = Manifest("edfgen annotate", parameters={**settings.__dict__, "traits": traits, "any_trait": any_trait,
                                                  "ld_bfile": ld_bfile, "ld_panel_bed_bytes": bed_bytes,
                                                  "genes": genes, "reference_genome": reference_genome,
                                                  "liftover_chain": str(liftover_chain) if liftover_chain else None})
    man.add_inputs([loci_path, catalog_path, genes, *panel_files, liftover_chain])
    if reference_genome not in ("GRCh37", "GRCh38"):
        raise InputError(f"--reference-genome {reference_genome!r}: choose GRCh37 or GRCh38")
    if liftover_chain is not None and reference_genome == "GRCh38":
        raise InputError("--liftover-chain lifts GRCh37 loci to the catalog's GRCh38: give --reference-genome GRCh37")

    loci = read_loci(loci_path, build=reference_genome)
    full = read_catalog(catalog_path)
    same_build, lifted = reference_genome == "GRCh38", None
    if same_build:
        check_build_against_catalog(loci, full, source=f"--loci {loci_path}")
    elif liftover_chain is not None:
        to_chrom, to_pos = Chain.read(liftover_chain).lift(loci["chromosome"], loci["base_pair_location"])
        lifted = np.where(to_chrom == loci["chromosome"].astype(str).to_numpy(), to_pos, np.nan)
        log.info("liftover %s: %d of %d loci mapped to GRCh38 on the same chromosome", liftover_chain,
                 int(np.isfinite(lifted).sum()), len(loci))
    cat = select_traits(full, traits, any_trait=any_trait)
    if cat.empty:
        log.warning("no catalog associations match the selected traits; every locus will be novel")
    gtab = read_genes(genes) if genes else None
    panel = PlinkGenotypes(ld_bfile) if ld_bfile else None
    try:
        res = annotate_loci(loci, cat, panel=panel, genes=gtab, settings=settings, same_build=same_build,
                            catalog_positions=lifted)
        out = Path(out)
        write_table(res, out, float_format="%.6g")
        if regional_plots and sumstats and panel is not None:
            lo = loci.assign(locus=res["locus"], phenotype=loci.get("phenotype", res["phenotypes"]))
            write_regional_plots(lo.head(regional_plots), sumstats, panel, out.parent / f"{out.stem}_regional",
                                 genes=gtab, window_kb=settings.window_kb, r2_method=settings.r2_method)
    finally:
        if panel is not None:
            panel.close()
    man.extra = {"n_loci": int(len(res)), "n_novel": int(res["novel"].sum()), "n_catalog_associations": int(len(cat))}
    _write_file_manifest(man, out)
    return res


def _write_file_manifest(man, out: Path) -> Path:
    """``<out>.manifest.json`` for a command whose output is one file (its directory may hold
    another stage's ``manifest.json``), written last and atomically."""
    man.outputs = [out.name]
    man.finished = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    path = out.parent / f"{out.name}.manifest.json"
    with atomic_write(path) as fh:
        json.dump(man.to_dict(), fh, indent=2)
    return path


def download_catalog(out: str | Path, *, url: str = CATALOG_URL, timeout: float = 60.0) -> Path:
    """Fetch the current GWAS Catalog associations (v1.0.2 TSV; a ``.zip`` is unpacked) to ``out``,
    with ``<out>.manifest.json`` (URL, download time, the file's sha256 under ``extra``).

    Raises
    ------
    ToolError
        Offline, unreachable URL, HTTP error or a download that is not an associations TSV —
        one line naming the URL.
    """
    out = Path(out)
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
