"""The phenotype and covariate tables of ``edfgen gwas`` as arrays: which columns are phenotypes
(ranges such as ``edf_001..edf_064``, a prefix, or every numeric column) and the covariate design
matrix (explicit intercept, categorical indicators), every value checked and any bad one named with
its file, column and row.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.tables import some_names
from edfgen.kernels.validate import number_fraction, numeric_values

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^(.*?)(\d+)\.\.(?:\1)?(\d+)$")


def expand_columns(spec: Sequence[str]) -> list[str]:
    """Expand ranges: ``["age", "PC1..PC4"]`` -> ``["age", "PC1", "PC2", "PC3", "PC4"]`` (``PC1..4`` too;
    zero padding kept: ``edf_001..edf_003`` -> ``edf_001, edf_002, edf_003``)."""
    out: list[str] = []
    for item in spec:
        m = _RANGE.match(item.strip())
        if m:
            prefix, a, b = m.group(1), int(m.group(2)), int(m.group(3))
            width = len(m.group(2)) if m.group(2).startswith("0") else 0  # edf_001..edf_064 keeps zero padding
            step = 1 if b >= a else -1
            out.extend(f"{prefix}{i:0{width}d}" for i in range(a, b + step, step))
        else:
            out.append(item.strip())
    return out


@dataclass(frozen=True)
class CovariateDesign:
    """Covariate matrix with an explicit intercept and indicator columns for categorical covariates.

    Attributes
    ----------
    matrix : array [N, K]
        Column 0 is the intercept; NaN rows are samples with a missing covariate.
    columns : list of str
        Names of the ``K`` columns (``intercept``, ``age``, ``centre=B``, ...).
    categorical : dict
        Categorical covariate -> levels (the first level is the reference, dropped).
    ids : array [N]
        Sample IDs (IID) in row order.
    """

    matrix: np.ndarray
    columns: list[str]
    categorical: dict[str, list[str]]
    ids: np.ndarray

    def varying_columns(self) -> list[str]:
        """``columns`` without those constant over the samples with complete covariates (the intercept kept):
        what a GWAS adjusts for once constant indicators are dropped."""
        rows = self.matrix[~np.isnan(self.matrix).any(axis=1)]
        keep = [True] + [bool(len(rows)) and np.ptp(rows[:, k]) > 0 for k in range(1, rows.shape[1])]
        return [c for c, k in zip(self.columns, keep) if k]


#: names of covariates that are usually codes (UK Biobank's assessment centre, field 54, and genotyping batch, 22000)
_CODE_NAMES = re.compile(r"centre|center|batch|array|site|plate|^(f\.|p)?(54|22000)([-._]|$)", re.IGNORECASE)
#: ... and of whole-number measurements that may take a few values >= 1000 in a small cohort (year of birth)
_MEASURE_NAMES = re.compile(r"age|year|birth|date|time|height|weight|count|dose", re.IGNORECASE)


def warn_if_code(values: np.ndarray, column: str, source: str) -> None:
    """WARNING when a covariate fitted as one slope looks like an integer-coded category: 3 or more distinct whole
    numbers and a name like ``centre``/``batch``/``array``/``site`` (UK Biobank fields 54, 22000), or 3 to 30
    distinct whole numbers all >= 1000 (codes such as centre 11008..11021) unless the name says it is a measurement
    (year of birth, ...). Age, sex and PCs are not flagged."""
    v = values[~np.isnan(values)]
    if not len(v) or (v != np.round(v)).any():
        return
    distinct = np.unique(v)
    code_like = len(distinct) <= 30 and distinct.min() >= 1000 and not _MEASURE_NAMES.search(str(column))
    if len(distinct) < 3 or not (_CODE_NAMES.search(str(column)) or code_like):
        return
    log.warning("%s: covariate %r holds %d distinct whole numbers (%g..%g) and is fitted as one slope; if they are "
                "codes (UK Biobank's assessment centre, genotyping batch), declare it categorical: --categorical %s "
                "(edfgen run: categorical in [gwas])", source, column, len(distinct), distinct[0], distinct[-1], column)


def covariate_design(table: pd.DataFrame, columns: Sequence[str] | None = None, *,
                     categorical: Sequence[str] = (), id_column: str = "IID",
                     source: str = "covariates") -> CovariateDesign:
    """Build the covariate design matrix from a per-participant table.

    Parameters
    ----------
    table : DataFrame
        ``IID`` plus covariate columns.
    columns : list of str, optional
        Covariates to use (ranges like ``PC1..PC10`` expanded); default all columns but ``IID``/``FID``.
    categorical : list of str
        Columns to treat as categorical even if numeric. An undeclared column is categorical only when
        none of its values is a number (all text, e.g. ``centre`` = ``A``, ``B``); a column of numbers
        with a stray word is an error naming the row and value. Each categorical column with L levels
        becomes L-1 indicators (first sorted level dropped). A numeric column that looks like a code and is not
        declared is warned about (:func:`warn_if_code`).
    source : str
        File name used in error messages.

    Raises
    ------
    InputError
        A named column is absent, a numeric column is constant (collinear with the intercept) or holds
        ``inf`` or a non-numeric value (named with its row).
    """
    cols = expand_columns(columns) if columns else [c for c in table.columns if c not in (id_column, "FID", "#FID")]
    twice = [c for c in dict.fromkeys(cols) if cols.count(c) > 1]
    if twice:        # named twice (also through a range): say so, not "a linear combination of itself"
        raise InputError(f"{source}: covariate(s) {', '.join(map(str, twice))} listed twice in the covariate "
                         f"columns ({', '.join(map(str, columns))})")
    missing = [c for c in cols + list(categorical) if c not in table.columns]
    if missing:
        pcs = [c for c in missing if re.fullmatch(r"PC\d+", str(c), flags=re.IGNORECASE)]
        hint = ("; genotype PCs are made by `edfgen pca --out DIR` (join DIR/pcs.tsv to the covariates) or by "
                "the pca stage of `edfgen run` ([pca] section)" if pcs else "")
        raise InputError(f"{source}: covariate column(s) {', '.join(missing)} not found "
                         f"(has: {some_names(table.columns)}){hint}")
    outside = [c for c in categorical if c not in cols]
    if outside:      # it was ignored: the user believed the model adjusted for it
        given = ",".join(map(str, columns or cols))
        raise InputError(f"--categorical {', '.join(outside)}: not among --covariates {given}; "
                         f"add {'it' if len(outside) == 1 else 'them'} there")
    parts = [np.ones(len(table))]
    names = ["intercept"]
    levels_of: dict[str, list[str]] = {}
    bad_rows = np.zeros(len(table), dtype=bool)
    ids = table[id_column].astype(str).to_numpy() if id_column in table.columns else None
    for c in cols:
        s = table[c]
        is_cat = c in categorical or not pd.api.types.is_numeric_dtype(s)
        if is_cat and c not in categorical and number_fraction(s) > 0:
            # numbers with a stray word ('age' = 61, 58, 'old'): an error, not a many-level categorical
            numeric_values(s, source=source, column=c, ids=ids)
        if not is_cat:
            s = pd.Series(numeric_values(s, source=source, column=c, ids=ids), index=s.index)  # refuses inf
        if is_cat:
            miss = s.isna().to_numpy()
            vals = s.astype(str).where(~s.isna())
            levels = sorted(vals.dropna().unique(), key=lambda v: (len(v), v))
            levels_of[c] = list(levels)
            bad_rows |= miss
            for lev in levels[1:]:
                parts.append((vals == lev).to_numpy(dtype=float))
                names.append(f"{c}={lev}")
        else:
            v = s.to_numpy(dtype=float)
            bad_rows |= np.isnan(v)
            if np.isnan(v).all():
                raise InputError(f"{source}: covariate {c!r} has no values")
            if np.nanstd(v) == 0:
                raise InputError(f"{source}: covariate {c!r} is constant (collinear with the intercept)")
            warn_if_code(v, c, source)
            parts.append(v)
            names.append(c)
    mat = np.column_stack(parts)
    mat[bad_rows] = np.nan
    return CovariateDesign(matrix=mat, columns=names, categorical=levels_of,
                           ids=table[id_column].astype(str).to_numpy())


def warn_two_valued(table: pd.DataFrame, names: Sequence[str], source: str) -> None:
    """Warn about phenotypes holding only 0/1 (or PLINK's 1/2) in a linear GWAS: a case/control trait given
    without ``--binary`` is fitted as a quantitative one (legitimate on purpose, a slip otherwise)."""
    def values(c):
        return set(pd.to_numeric(table[c], errors="coerce").dropna().unique())

    two = [c for c in names if values(c) in ({0, 1}, {1, 2})]
    if two:
        log.warning("%s: phenotype(s) %s hold only two values (0/1 or 1/2) and are fitted by a linear model: pass "
                    "--binary for a case/control (logistic) GWAS", source, some_names(two, 10))


def select_phenotypes(table: pd.DataFrame, *, columns: Sequence[str] | None = None,
                      prefix: str | None = None, source: str = "phenotypes") -> list[str]:
    """Phenotype columns: ``columns`` (ranges expanded), those starting with ``prefix``, or every column
    holding numbers (all-text columns are skipped with a warning).

    Raises
    ------
    InputError
        A selected column with a non-numeric or infinite value (naming the file, column, row and value);
        both ``columns`` and ``prefix`` given.

    Warnings
    --------
    A column holding -9 below all its other values is read as the number -9 and logged: PLINK's missing
    code, which a table for edfgen writes as ``NA``.
    """
    if columns and prefix:  # two selections: never silently use one of them
        raise InputError(f"--pheno-cols and --pheno-prefix {prefix!r} both select phenotypes; give one of them")
    if columns:
        cols = expand_columns(columns)
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise InputError(f"{source}: phenotype column(s) {', '.join(missing)} not found "
                             f"(has: {some_names(table.columns)})")
    elif prefix:
        cols = [c for c in table.columns if str(c).startswith(prefix)]
        if not cols:
            raise InputError(f"{source}: no column starts with --pheno-prefix {prefix!r}")
    else:
        cols = [c for c in table.columns if c not in ("IID", "FID", "#FID")]
        text = [c for c in cols if not pd.api.types.is_numeric_dtype(table[c]) and number_fraction(table[c]) == 0]
        if text:  # all-text columns (no value is a number) are not phenotypes: say so, never silently
            log.warning("%s: %d column(s) without any numeric value skipped: %s", source, len(text),
                        some_names(text, 10))
        cols = [c for c in cols if c not in text]
    ids = table["IID"].to_numpy() if "IID" in table.columns else None
    for c in cols:  # a stray word or inf in a phenotype column: one line naming column, row and value
        v = numeric_values(table[c], source=source, column=c, ids=ids)
        n_minus9 = int(np.count_nonzero(v == -9))
        if n_minus9 and np.nanmin(np.where(v == -9, np.nan, v), initial=np.inf) > -9:
            # PLINK's missing-phenotype code, read here as the number -9 (an outlier below every other value)
            log.warning("%s: phenotype '%s' holds -9 in %d row(s), below all its other values: read as the number "
                        "-9, not as missing (PLINK's code); write NA for a missing value", source, c, n_minus9)
    if not cols:
        raise InputError(f"{source}: no numeric phenotype columns")
    return list(cols)


#: covariate names taken for sex (case-insensitive; ``sex_2`` etc.: a categorical sex's indicator)
_SEX_NAMES = re.compile(r"^(sex|gender|is_?male|is_?female|male|female|msex|inferred_sex|genetic_sex|"
                        r"submitted_sex|31-0\.0|22001-0\.0|f\.31\.0\.0|f\.22001\.0\.0|p31|p22001)([_=].*)?$",
                        re.I)


def warn_sex_disagreement(table: pd.DataFrame, columns: Sequence[str], files_sex: pd.Series | None, ids,
                          source: str) -> None:
    """WARNING with the number of samples ``ids`` whose sex covariate (the first of ``columns`` named like sex,
    ``_SEX_NAMES``) differs from the sex the genotype files record (``files_sex``: 1 male, 2 female, 0 unknown,
    by IID; :func:`edfgen.formats.genotypes.sex.sample_sex`). The covariate's two values are matched to male and
    female the way most samples agree (0/1, 1/2, Female/Male, is_male: any coding); samples unknown in either are
    not counted. UK Biobank's reported sex (field 31) and genetic sex (22001) disagree for a few hundred people,
    whom studies usually exclude."""
    col = next((c for c in expand_columns(columns) if _SEX_NAMES.match(str(c)) and "=" not in str(c)
                and c in table.columns), None)
    if files_sex is None or col is None:
        return
    known = files_sex[files_sex.isin([1, 2]) & files_sex.index.isin(list(ids))]
    cov = table.set_index(table["IID"].astype(str))[col].reindex(known.index.astype(str))
    ok = cov.notna().to_numpy()
    values = cov[ok].astype(str).str.strip().str.lower().to_numpy()
    levels = np.unique(values)
    if len(levels) != 2:
        return
    male = known.to_numpy()[ok] == 1
    first = values == levels[0]
    differ = int(min((first == male).sum(), (first != male).sum()))   # the mapping most samples agree with
    if differ:
        log.warning("%s: %d samples whose covariate %r differs from the sex in the genotype files (of %d with both "
                    "known): check them (UK Biobank: reported sex 31 vs genetic sex 22001) or --remove them",
                    source, differ, col, int(ok.sum()))


def warn_sex_chromosomes(chromosomes, covariate_names, *, sex_known: bool = False,
                         haploid_coded: bool = False, no_sex: str | None = None) -> None:
    """WARNING where X, Y or MT are not tested as plink2 ``--glm`` tests them (once per run).

    With sex from the genotype files (``sex_known``; :mod:`edfgen.engines.sex_chromosomes`) X gets the sex
    covariate and Y the males: no warning. Without it, X is tested on everyone with males' hemizygous calls
    as stored (0/2), confounded with any sex difference in the phenotype unless a covariate is sex, and Y on
    everyone (females' missing calls imputed). ``haploid_coded``: Y and MT are tested 0/1 (the fast engine's
    linear and logistic pass); else (Hail, ``--model ridge-loco/lmm-loco``, ``--multivariate``) 0/2, so beta and
    its SE are half plink2's. ``no_sex`` (``"--model ridge-loco"``, ...): that pass reads no sex even where the
    files give it (said so, rather than that the files give none).
    """
    from edfgen.formats.chromosomes import selection_chromosome_names

    warn_non_ssf_chromosomes(chromosomes)
    names = set(selection_chromosome_names(pd.unique(np.asarray(chromosomes, dtype=object))))
    if no_sex and sex_known and names & {"X", "Y", "MT"}:
        log.warning("%s does not read sex (the genotype files give it): X, Y and MT tested as before, on every "
                    "sample, males' X and every Y and MT call 0/2 (beta half plink2's on Y and MT), no sex "
                    "covariate added on X unless --covariates has one", no_sex)
        return
    if names & {"X", "XY"} and not sex_known and not any(_SEX_NAMES.match(str(c)) for c in covariate_names):
        log.warning("chromosome X is tested without a sex covariate (none of %s looks like sex, and the genotype "
                    "files give no sex): males are hemizygous, counted 0/2; add sex to --covariates (plink2 --glm "
                    "adds it on X)", ", ".join(map(str, covariate_names[1:])) or "no covariates")
    if names & {"Y", "MT"} and not haploid_coded:
        log.warning("%s tested: every call there is haploid and counted as 2 copies, so beta and its SE are "
                    "half plink2's (0/1 coding); p is the same", " and ".join(sorted(names & {"Y", "MT"})))
    if "Y" in names and not sex_known:
        log.warning("Y tested on every sample: the genotype files give no sex, so females' missing Y calls are "
                    "imputed and counted in the call rates; run Y on males (--keep)")


def warn_non_ssf_chromosomes(chromosomes) -> None:
    """Warn once about chromosome labels that GWAS-SSF has no code for (it takes 1-25; X, Y, MT in any case are
    written 23-25): ``0`` (unplaced, as plink2 writes it) or a contig such as ``chrUn`` is written as given,
    and the GWAS Catalog validator refuses those rows."""
    from edfgen.formats.sumstats.layout import ssf_chromosome_codes

    codes = pd.unique(ssf_chromosome_codes(pd.unique(np.asarray(chromosomes, dtype=object))))
    other = [str(c) for c in codes if str(c) not in {str(i) for i in range(1, 26)}]
    if other:
        log.warning("chromosome(s) %s have no GWAS-SSF code (1-25): written as given, and the GWAS Catalog "
                    "validator refuses those rows", ", ".join(sorted(other)[:10]))


def drop_constant_indicators(C: np.ndarray, names: list[str]):
    """Drop covariate columns that are constant in the analysed samples (e.g. a centre absent after QC)."""
    keep = np.ones(C.shape[1], dtype=bool)
    keep[1:] = np.nanstd(C[:, 1:], axis=0) > 0
    dropped = [n for n, k in zip(names, keep) if not k]
    if dropped:
        log.warning("covariate column(s) constant in the analysed samples, dropped: %s", ", ".join(dropped))
    return C[:, keep], [n for n, k in zip(names, keep) if k]


def binary_phenotypes(Y: np.ndarray, names: Sequence[str], source: str) -> np.ndarray:
    """``--binary`` phenotypes as 0/1, column by column: 0/1 as they are, PLINK's 1 = control / 2 = case minus 1,
    PLINK's ``-9`` read as missing (with a warning). Anything else: :class:`InputError` naming the column and
    its values (a PLINK file's -9 was refused with a message that did not mention it)."""
    Y = np.array(Y, dtype=float)
    for j, name in enumerate(names):
        col = Y[:, j]
        nines = col == -9
        if nines.any():
            log.warning("%s: --binary phenotype %r: %d values -9 read as missing (PLINK's code)", source, name,
                        int(nines.sum()))
            col[nines] = np.nan
        vals = set(np.unique(col[~np.isnan(col)]).tolist())
        if vals <= {1.0, 2.0} and 2.0 in vals:      # PLINK coding 1 = control, 2 = case
            col -= 1.0
        elif not vals <= {0.0, 1.0}:
            shown = ", ".join(f"{v:g}" for v in sorted(vals)[:6]) + (", ..." if len(vals) > 6 else "")
            raise InputError(f"{source}: --binary phenotype {str(name)!r} has values {shown} (expects 0/1, or "
                             f"PLINK's 1/2; -9 or empty = missing)")
    return Y
