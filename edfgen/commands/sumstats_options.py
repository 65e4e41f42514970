"""The options every command that reads summary statistics shares, declared once: ``--columns`` (names of a
layout the readers do not recognise), ``--case-counts FILE=CASES,CONTROLS`` and ``--sample-size FILE=N`` (for
files without ``n``/``n_cases``/``n_controls`` columns, e.g. FinnGen), and their parsing.

``edfgen mr``, ``clump``, ``ldsc``, ``finemap``, ``coloc`` and ``annotate`` take ``--columns`` (one help text,
one parser: :func:`edfgen.formats.sumstats.parse_column_option`); ``mr``, ``ldsc``, ``finemap`` and ``coloc``
take ``--case-counts``; ``ldsc``, ``finemap``, ``coloc`` and ``mr`` take ``--sample-size``. :func:`read_phenotype` reads
one phenotype's files with ``--columns`` applied (clump and its regional plots).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from edfgen.commands.options import opt
from edfgen.exceptions import InputError
from edfgen.formats.sumstats import (combine_phenotype, declared_build, read_header, read_sumstats,
                                    read_sumstats_columns)
from edfgen.kernels.thresholds import DEFAULT_REFERENCE_GENOME, build_name

log = logging.getLogger(__name__)

COLUMNS_HELP = ("Column names of a layout that is not recognised, as KEY=COLUMN pairs: beta=,se=,p= (or log10p=), "
                "ea=,oa=,snp=,eaf=,n=,chr=,pos=, or=,ci_lower=,ci_upper= (odds ratios are converted to log-OR and SE), "
                "rsq= (variance explained, for Steiger). Applied to every summary-statistics file that has the column.")
CASE_COUNTS_HELP = ("Cases and controls of a binary trait's file without n_cases/n_controls columns (FinnGen), as "
                    "FILE=CASES,CONTROLS; repeatable. FILE must be one of the files read. Where the file has "
                    "n_cases/n_controls, its own counts win and the option fills only the rows without them.")
SAMPLE_SIZE_HELP = ("Sample size of a file without an n column (FinnGen, REGENIE without N), as FILE=N (an effective "
                    "N may be fractional: 4873.5); repeatable (a binary trait: --case-counts instead). FILE must be "
                    "one of the files read. Where the file has n, its own n wins and the option fills only the rows "
                    "without one.")


def columns_opt(help: str = COLUMNS_HELP) -> Any:
    """``--columns KEY=COLUMN,...`` (parsed by :func:`edfgen.formats.sumstats.parse_column_option`)."""
    return opt(None, help)


def case_counts_opt(help: str = CASE_COUNTS_HELP) -> Any:
    """``--case-counts FILE=CASES,CONTROLS`` (repeatable; :func:`parse_case_counts`)."""
    return opt((), help, multiple=True)


def sample_size_opt(help: str = SAMPLE_SIZE_HELP) -> Any:
    """``--sample-size FILE=N`` (repeatable; :func:`parse_sample_sizes`)."""
    return opt((), help, multiple=True)


def _number(text: str, whole: bool) -> float | None:
    """A positive number (whole when ``whole``), or None."""
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v if math.isfinite(v) and v > 0 and (not whole or (text.strip().isdigit())) else None


def _file_numbers(option: str, value: str, count: int, form: str,
                  whole: bool = True) -> tuple[str, tuple[float, ...]]:
    f, _, nums = str(value).rpartition("=")
    parts = [_number(x, whole) for x in nums.split(",")]
    if not f or len(parts) != count or any(x is None for x in parts):
        raise InputError(f"{option} {value}: expected {form} (positive {'whole ' if whole else ''}numbers)")
    return str(Path(f).resolve()), tuple(parts)


def parse_case_counts(values: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    """``--case-counts FILE=CASES,CONTROLS`` -> ``{resolved file: (cases, controls)}``."""
    return dict(_file_numbers("--case-counts", v, 2, "FILE=CASES,CONTROLS") for v in values or ())


def parse_sample_sizes(values: Sequence[str] | None) -> dict[str, float]:
    """``--sample-size FILE=N`` -> ``{resolved file: N}``."""
    return {f: n[0] for f, n in (_file_numbers("--sample-size", v, 1, "FILE=N", whole=False) for v in values or ())}


def check_named_files(named: dict[str, Any], files: Sequence[str | Path], option: str) -> None:
    """A ``FILE=...`` of ``option`` must name one of the summary-statistics files read (else a typo would leave a
    file without its sample size in silence): one-line :class:`InputError` naming it."""
    read = {str(Path(f).resolve()) for f in files}
    stray = [f for f in named if f not in read]
    if stray:
        raise InputError(f"{option} {stray[0]}: not one of the summary-statistics files read "
                         f"(e.g. {sorted(read)[0] if read else 'none'})")


def check_columns_present(columns: dict[str, str] | None, files: Sequence[str | Path], option: str,
                          headers: dict[Path, list] | None = None) -> None:
    """Every ``--columns`` entry must name a column of at least one of the files read (else a typo such as
    ``beta=BETA_ADJJ`` would leave the file's own BETA read in silence): one-line :class:`InputError`.
    ``headers``: the files' headers when already read (``{Path: columns}``)."""
    if not columns or not files:
        return
    headers = headers or {Path(f): read_header(f) for f in dict.fromkeys(files)}
    seen = set().union(*map(set, headers.values()))
    absent = [c for c in columns if c not in seen]
    if absent:
        first, cols = next(iter(headers.items()))
        raise InputError(f"--columns names {', '.join(map(repr, absent))}, in no header of the {option} files "
                         f"(e.g. {first}: {' '.join(map(str, cols[:30]))})")


def check_sumstats_options(files: Sequence[str | Path], option: str, *, columns: dict[str, str] | None = None,
                           sample_sizes: dict[str, Any] | None = None,
                           case_counts: dict[str, Any] | None = None) -> None:
    """The checks of the shared options against the files found, before any is read: ``--columns`` names a
    column of one of them (:func:`check_columns_present`), ``--sample-size``/``--case-counts`` name files read
    (:func:`check_named_files`)."""
    check_named_files(sample_sizes or {}, files, "--sample-size")
    check_named_files(case_counts or {}, files, "--case-counts")
    named = {*(sample_sizes or {}), *(case_counts or {})}
    # each header read once, for both checks (the files of every phenotype when --columns is given)
    headers = {Path(f): read_header(f) for f in dict.fromkeys(files)
               if columns or str(Path(f).resolve()) in named}
    check_columns_present(columns, files, option, headers=headers if columns else None)
    lower = {str(p.resolve()): {str(h).lower() for h in cols} for p, cols in headers.items()}
    for named_files, given, cols in ((sample_sizes, "--sample-size", ("n",)),
                                     (case_counts, "--case-counts", ("n_cases", "n_controls"))):
        for f in named_files or {}:
            have = [c for c in cols if c in lower.get(f, set())]
            if have:
                log.warning("%s %s: the file has its own %s, which win; the option fills only rows without them",
                            given, f, "/".join(have))


def read_phenotype(paths: Sequence[str | Path], *, required: tuple[str, ...], optional: tuple[str, ...] | None = None,
                   columns: dict[str, str] | None = None, arrow_strings: bool = False,
                   option: str = "--sumstats") -> pd.DataFrame:
    """One phenotype's summary statistics (its files combined by :func:`~edfgen.formats.sumstats.combine_phenotype`)
    with the user's ``--columns`` (``{input column: GWAS-SSF column}``) applied to each file that has one of its
    columns (:func:`~edfgen.formats.sumstats.read_sumstats`); a file without any is read as before (only
    ``required + optional`` fast, :func:`~edfgen.formats.sumstats.read_sumstats_columns`; every column when
    ``optional`` is None)."""
    def one(path: Path) -> pd.DataFrame:
        user = {k: v for k, v in (columns or {}).items() if k in read_header(path)} if columns else {}
        if not user:
            if optional is None:
                return read_sumstats(path, required=required)[0]
            return read_sumstats_columns(path, required=required, optional=optional, arrow_strings=arrow_strings)
        df = read_sumstats(path, column_map=user, required=required)[0]
        return df if optional is None else df[[c for c in dict.fromkeys((*required, *optional)) if c in df.columns]]

    return combine_phenotype([one(Path(p)) for p in paths], paths, option=option)


def warn_panel_build(files: Sequence[str | Path], genotypes: Any, reference_genome: str | None = None) -> None:
    """Warn when the summary statistics declare a genome build (``-meta.yaml`` ``genome_assembly``) other than the
    one the genotype panel is read as (``reference_genome``, else the source's ``--reference-genome``, else the
    default): variants found in the panel by position would be other variants (clump, finemap, coloc).

    Parameters
    ----------
    files : list of str or Path
        The summary-statistics files.
    genotypes : str, Path or GenotypeSource
        The panel (a plain PLINK prefix is read as the default build).
    reference_genome : str, optional
        The panel's build when given apart from ``genotypes``.

    Returns
    -------
    None
    """
    declared = declared_build(files)
    panel_build = reference_genome or getattr(genotypes, "reference_genome", None) or DEFAULT_REFERENCE_GENOME
    if declared and build_name(panel_build) != declared:
        log.warning("the summary statistics declare genome build %s (-meta.yaml) but the genotypes are read as %s "
                    "(--reference-genome): variants are matched by id, rsid or position as given; pass "
                    "--reference-genome %s if the panel is %s", declared, panel_build, declared, declared)
