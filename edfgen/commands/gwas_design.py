"""The phenotype and covariate tables of ``edfgen gwas`` as arrays: which columns are phenotypes (ranges such as
``edf_001..edf_064``, a prefix, or every numeric column) and the covariate design matrix (explicit intercept,
categorical indicators), every value checked and any bad one named with its file, column and row.
:func:`read_gwas_tables` reads both tables as plink2 reads ``--pheno`` and ``--covar``: PLINK's -9 is missing
(``--missing-code``), and a phenotype is never one of its own covariates."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.commands.gwas_levels import default_columns, drop_constant_indicators, reference_among_analysed
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.sex import SEX_COVARIATE_NAMES as _SEX_NAMES
from edfgen.formats.tables import some_names
from edfgen.kernels.association import collinear_covariates
from edfgen.kernels.ecg.p_wave import REASON_COLUMN
from edfgen.kernels.validate import decimal_comma_hint, number_fraction, numeric_values, refuse_decimal_commas

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

    def adjusted_for(self, columns: Sequence[str]) -> list[str]:
        """The covariates behind the design columns ``columns`` (e.g. those left by :func:`drop_constant_indicators`),
        as the user named them: a categorical covariate once for its indicators (``centre`` for ``centre=B``,
        ``centre=C``), no intercept; the ``adjusted_covariates`` of the GWAS-SSF metadata (review s32f #4)."""
        owner = {f"{c}={lev}": c for c, levels in self.categorical.items() for lev in levels}
        return list(dict.fromkeys(owner.get(n, n) for n in columns if n != "intercept"))


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


#: a phenotype or covariate beyond this size is refused: its square (sums of squares) overflows a double
MAX_MAGNITUDE = 1e150


def check_magnitude(values: np.ndarray, *, source: str, column: str, ids=None) -> None:
    """Refuse a value above :data:`MAX_MAGNITUDE` in absolute size (a data error such as ``1e200``: its
    square overflows and the regression would be NA or nonsense), naming the file, column, row and value."""
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(np.abs(values) > MAX_MAGNITUDE)
    if bad.size:
        i = int(bad[0])
        who = f" (IID {ids[i]})" if ids is not None else ""
        raise InputError(f"{source}: column {str(column)!r}, row {i + 1}{who}: value {float(values[i]):g} is too "
                         f"large to fit (|x| > {MAX_MAGNITUDE:g}; {bad.size} such value(s)); write NA if it is missing")


def check_mixed(values: pd.Series, *, source: str, column: str, ids=None) -> None:
    """A text column in which some values are numbers: the usual error of :func:`numeric_values` (naming the
    first word) when most values are numbers ('age' = 61, 58, 'old'), else an error naming the few numbers
    (``centre`` = Bristol, Reading, ... and a numeric missing code): the minority is the likely mistake."""
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    numeric = pd.to_numeric(text, errors="coerce").notna()
    if numeric.mean() >= 0.5:
        numeric_values(values, source=source, column=column, ids=ids)
        return
    shown = ", ".join(repr(v) for v in pd.unique(text[numeric])[:3])
    raise InputError(f"{source}: column {str(column)!r} mixes text ({int((~numeric).sum())} values, e.g. "
                     f"{text[~numeric].iloc[0]!r}) and numbers ({int(numeric.sum())}: {shown}); write NA for a "
                     f"missing value, or give --categorical {column} to read every value as a level")


def check_level_count(levels: int, n: int, *, source: str, column: str) -> None:
    """Refuse an undeclared text covariate taken by default (every column of the table) with more levels than
    ``min(50, max(10, 5% of its n values))`` (a date or a free-text field: hundreds of indicators, a slow and
    overfitted model); a column named in ``--covariates`` or given with ``--categorical`` is taken as meant."""
    limit = min(50, max(10, int(0.05 * n)))
    if levels > limit:
        raise InputError(f"{source}: covariate {str(column)!r} is text with {levels} distinct values (over {limit} "
                         f"for {n} samples): it would be {levels - 1} indicator covariates; name the covariates "
                         f"you mean with --covariates, or give --categorical {column}")


def covariate_design(table: pd.DataFrame, columns: Sequence[str] | None = None, *,
                     categorical: Sequence[str] = (), id_column: str = "IID",
                     source: str = "covariates", check_levels: bool | None = None) -> CovariateDesign:
    """Build the covariate design matrix from a per-participant table.

    Parameters
    ----------
    table : DataFrame
        ``IID`` plus covariate columns.
    columns : list of str, optional
        Covariates to use (ranges like ``PC1..PC10`` expanded; ``[]``: none); default all columns but ``IID``/``FID``.
    categorical : list of str
        Columns to treat as categorical even if numeric. An undeclared column is categorical only when none of its
        values is a number (all text, e.g. ``centre`` = ``A``, ``B``) and it has few levels
        (:func:`check_level_count`); a column mixing numbers and words is an error naming the minority
        (:func:`check_mixed`), and so is one of numbers with decimal commas. Each categorical column with L levels
        becomes L-1 indicators (first sorted level dropped). A numeric column that looks like a code and is not
        declared is warned about (:func:`warn_if_code`).
    source : str
        File name used in error messages.
    check_levels : bool, optional
        Whether an undeclared text column's level count is checked (:func:`check_level_count`); default: only when
        the covariates are taken by default (``columns`` not given), not for columns the user named (UK Biobank's
        22 assessment centres in a cohort of 300, review s31h).

    Raises
    ------
    InputError
        A named column is absent, a numeric column is constant (collinear with the intercept) or holds
        ``inf``, a huge (:func:`check_magnitude`) or a non-numeric value (named with its row), an undeclared text
        column has too many levels or decimal commas."""
    if check_levels is None:
        check_levels = not columns
    cols = expand_columns(columns) if columns is not None else [c for c in table if c not in (id_column, "FID", "#FID")]
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
        if is_cat and c not in categorical:   # numbers with decimal commas: refused, not one level per value
            refuse_decimal_commas(s, f"{source}: covariate {str(c)!r}")
        if is_cat and c not in categorical and number_fraction(s) > 0:
            # numbers with a stray word ('age' = 61, 58, 'old'): an error, not a many-level categorical
            check_mixed(s, source=source, column=c, ids=ids)
        if not is_cat:
            s = pd.Series(numeric_values(s, source=source, column=c, ids=ids), index=s.index)  # refuses inf
            check_magnitude(s.to_numpy(), source=source, column=c, ids=ids)
        if is_cat:
            miss = s.isna().to_numpy()
            vals = s.astype(str).where(~s.isna())
            levels = sorted(vals.dropna().unique(), key=lambda v: (len(v), v))
            if check_levels and c not in categorical:
                check_level_count(len(levels), int((~miss).sum()), source=source, column=c)
            if "NONE" in levels:     # plink2's missing category (--missing-catname): kept as a level here
                log.warning("%s: covariate %r: %d value(s) NONE kept as a level (plink2 reads NONE as missing); "
                            "write NA if they are missing", source, c, int((vals == "NONE").sum()))
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
                      prefix: str | None = None, source: str = "phenotypes", binary: bool = False) -> list[str]:
    """Phenotype columns: ``columns`` (ranges expanded), those starting with ``prefix``, or every column
    holding numbers (all-text columns are skipped with a warning; never ``pr_missing_reason``).

    Raises
    ------
    InputError
        A selected column with a non-numeric, infinite or huge value (:func:`check_magnitude`; naming the file,
        column, row and value); both ``columns`` and ``prefix`` given.

    PLINK's missing code -9 is read as missing afterwards (:func:`read_missing_code`), not here; with ``binary``
    (``--binary``) TRUE/FALSE columns (also with missing values) are read as 1/0 and -9 is set to NaN in
    ``table`` here, whatever ``--missing-code`` (no binary outcome is -9), before samples are chosen (one
    warning per column), so that samples without any phenotype are not analysed nor counted in QC.
    """
    if columns and prefix:  # two selections: never silently use one of them
        raise InputError(f"--pheno-cols and --pheno-prefix {prefix!r} both select phenotypes; give one of them")
    if binary:
        _booleans_to_numbers(table)
    comma = ""
    if columns:
        cols = expand_columns(columns)
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise InputError(f"{source}: phenotype column(s) {', '.join(missing)} not found "
                             f"(has: {some_names(table.columns)})")
    elif prefix:
        cols = [c for c in table.columns if str(c).startswith(prefix) and c != REASON_COLUMN]
        if not cols:
            raise InputError(f"{source}: no column starts with --pheno-prefix {prefix!r}")
    else:
        cols = [c for c in default_columns(table, source, "phenotypes") if c != REASON_COLUMN]  # (PR's note)
        text = [c for c in cols if not pd.api.types.is_numeric_dtype(table[c]) and number_fraction(table[c]) == 0]
        comma = next((f" ({c}: {h})" for c in text if (h := decimal_comma_hint(table[c]))), "")
        if text:  # all-text columns are not phenotypes: said, never silently (numbers with commas named)
            log.warning("%s: %d column(s) without any numeric value skipped: %s%s", source, len(text),
                        some_names(text, 10), comma)
        cols = [c for c in cols if c not in text]
    ids = table["IID"].to_numpy() if "IID" in table.columns else None
    for c in cols:  # a stray word, inf or 1e200 in a phenotype column: one line naming column, row and value
        v = numeric_values(table[c], source=source, column=c, ids=ids)
        check_magnitude(v, source=source, column=c, ids=ids)
        n_minus9 = int(np.count_nonzero(v == -9))
        if n_minus9 and binary:
            log.warning("%s: --binary phenotype '%s': %d values -9 read as missing (PLINK's code)", source, c,
                        n_minus9)
            table[c] = np.where(v == -9, np.nan, v)
    if not cols:
        expects = " (--binary expects 0/1, PLINK's 1/2 or TRUE/FALSE; -9 or empty = missing)" if binary else ""
        raise InputError(f"{source}: no numeric phenotype columns{comma}{expects}")
    return list(cols)


# ------------------------------------------------------------------------------------ the tables of a GWAS
#: PLINK's missing phenotype/covariate value, read as missing by default (plink2 --input-missing-phenotype)
MISSING_CODE = "-9"


def parse_missing_code(text: str | float | None) -> float | None:
    """``--missing-code`` as a number, or ``None`` for ``none`` (no missing code: -9 is a value)."""
    if text is None or str(text).strip().lower() in ("none", ""):
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--missing-code {text!r}: give a number (plink2's -9) or none") from None


def read_missing_code(table: pd.DataFrame, columns: Sequence[str], code: float | None,
                      source: str) -> pd.DataFrame:
    """``table`` with the value ``code`` (PLINK's -9; a number, or text such as ``-9`` in a text column) read as
    missing in ``columns``, as plink2 reads its ``--pheno`` and ``--covar`` files; one WARNING per column that
    held it, with the count. ``code=None`` (``--missing-code none``): the table as it is."""
    if code is None:
        return table
    table = table.copy()
    for c in dict.fromkeys(columns):
        s = table[c]
        if pd.api.types.is_numeric_dtype(s):
            hit = (s == code).to_numpy()
        else:
            hit = (pd.to_numeric(s.astype(str).str.strip(), errors="coerce") == code).to_numpy() & s.notna().to_numpy()
        if hit.any():
            table[c] = s.mask(hit)
            log.warning("%s: column %r: %d value(s) %g read as missing (PLINK's missing code; --missing-code none "
                        "reads them as numbers)", source, c, int(hit.sum()), code)
    return table


def covariate_columns(table: pd.DataFrame, columns: Sequence[str] | None, phenotypes: Sequence[str],
                      source: str) -> list[str]:
    """The covariates of a GWAS: ``columns`` (ranges expanded), or by default every column but the ids and
    ``phenotypes`` (one table given to --pheno and --covar: each phenotype would be adjusted for itself; the
    columns left out are logged).

    Raises
    ------
    InputError
        ``columns`` names a phenotype.
    """
    phen = set(phenotypes)
    if columns:
        cols = expand_columns(columns)
        both = [c for c in cols if c in phen]
        if both:
            raise InputError(f"{source}: covariate {both[0]!r} is also a phenotype: a phenotype cannot be adjusted "
                             f"for itself (drop it from --covariates)")
        return cols
    cols = default_columns(table, source, "covariates")
    left = [c for c in cols if c in phen]
    if left:
        log.warning("%s: %d phenotype column(s) left out of the default covariates (all columns): %s", source,
                    len(left), ", ".join(map(str, left[:10])) + (" ..." if len(left) > 10 else ""))
    return [c for c in cols if c not in phen]


@dataclass(frozen=True)
class GwasTables:
    """The phenotype and covariate tables of a GWAS, read and checked (:func:`read_gwas_tables`).

    Attributes
    ----------
    phenotypes : DataFrame
        ``IID`` and the phenotype columns ``names`` as numbers (missing code read as NaN).
    names : list of str
    covariates : DataFrame
        The covariate table (``IID`` only without --covar), missing code read as NaN.
    covariate_columns : list of str
    design : CovariateDesign
    """

    phenotypes: pd.DataFrame
    names: list[str]
    covariates: pd.DataFrame
    covariate_columns: list[str]
    design: CovariateDesign


def read_gwas_tables(pheno, covar, *, pheno_cols=None, pheno_prefix=None, covar_cols=None, categorical=(),
                     missing_code: float | None = -9.0, binary: bool = False) -> GwasTables:
    """Read ``pheno`` and ``covar`` (paths) for ``edfgen gwas``: the phenotypes (:func:`select_phenotypes`), the
    covariates (:func:`covariate_columns`, never a phenotype), the missing code read as missing in both
    (:func:`read_missing_code`) and the design matrix (:func:`covariate_design`). A column list given as one
    string is read as the command line reads it (``"age,sex"``: two names, not the letters of one)."""
    from edfgen.formats.tables import read_table

    pheno_cols, covar_cols, categorical = (c.split(",") if isinstance(c, str) else c
                                           for c in (pheno_cols, covar_cols, categorical))
    ptab = read_table(pheno, id_column="IID", headerless="PHENO")
    names = select_phenotypes(ptab, columns=pheno_cols, prefix=pheno_prefix, source=str(pheno), binary=binary)
    if covar is not None and not (pheno_cols or pheno_prefix):
        names = _leave_out_named_covariates(names, [*expand_columns(covar_cols or []), *categorical], str(pheno))
    ptab = read_missing_code(ptab, names, missing_code, str(pheno))
    ptab[names] = ptab[names].apply(pd.to_numeric)  # validated by select_phenotypes
    if not binary:
        warn_two_valued(ptab, names, str(pheno))
    if covar is None:
        if covar_cols or categorical:     # named covariates without their table: not silently left out
            raise InputError(f"{'--covariates' if covar_cols else '--categorical'} needs --covar FILE (the covariate "
                             "table)")
        ctab = ptab[["IID"]]
        return GwasTables(ptab, names, ctab, [], CovariateDesign(
            matrix=np.ones((len(ctab), 1)), columns=["intercept"], categorical={}, ids=ctab["IID"].to_numpy()))
    ctab = read_table(covar, id_column="IID", headerless="COVAR")
    cols = covariate_columns(ctab, covar_cols, names, str(covar))
    both = [c for c in categorical if c in names]
    if both:
        raise InputError(f"{covar}: --categorical {both[0]!r} is also a phenotype (drop it from --categorical)")
    ctab = read_missing_code(ctab, [c for c in [*cols, *categorical] if c in ctab.columns], missing_code, str(covar))
    design = covariate_design(ctab, cols, categorical=categorical, source=str(covar), check_levels=not covar_cols)
    return GwasTables(ptab, names, ctab, cols, design)


def _leave_out_named_covariates(names: list[str], covariates: Sequence[str], source: str) -> list[str]:
    """The default phenotypes ``names`` (every numeric column of ``source``) without the columns the user named as
    covariates (``--covariates``/``--categorical``), which are left out with a warning: a biomarker table carrying
    ``age`` is not refused for adjusting ``age`` for itself (review s31h). A column named on both sides
    (``--pheno-cols``) is refused by :func:`covariate_columns`.

    Raises
    ------
    InputError
        Every phenotype column is a named covariate.
    """
    left = [c for c in names if c in set(covariates)]
    if not left:
        return names
    kept = [c for c in names if c not in set(covariates)]
    if not kept:
        raise InputError(f"{source}: no phenotype column left: its numeric columns {some_names(left, 10)} are all "
                         f"named covariates (give --pheno-cols)")
    log.warning("%s: %d column(s) named in --covariates left out of the phenotypes (all numeric columns): %s",
                source, len(left), some_names(left, 10))
    return kept


def _booleans_to_numbers(table: pd.DataFrame) -> None:
    """``--binary``: columns whose values are all TRUE/FALSE (read as booleans) or missing become 1/0/NaN in
    ``table``; pandas reads such a column with a missing value as text (review s31b: it was then skipped, or
    refused quoting 'False')."""
    for c in table.columns:
        col = table[c]
        if col.dtype == bool:
            table[c] = col.astype(float)
        elif col.dtype == object:
            present = col.dropna()
            if len(present) and present.map(lambda v: isinstance(v, (bool, np.bool_))).all():
                table[c] = col.map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else np.nan)




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
    its SE are half plink2's. ``no_sex`` (``"--model ridge-loco"``, ...): that pass's tests read no sex even where
    the files give it (said so, rather than that the files give none); its QC and X's allele frequency do.
    """
    from edfgen.formats.chromosomes import selection_chromosome_names
    from edfgen.formats.sumstats.write import warn_non_ssf_chromosomes

    warn_non_ssf_chromosomes(chromosomes)
    names = set(selection_chromosome_names(pd.unique(np.asarray(chromosomes, dtype=object))))
    if no_sex and sex_known and names & {"X", "Y", "MT"}:
        log.warning("%s does not read sex in its tests (the genotype files give it; the QC and X's "
                    "effect_allele_frequency do, as plink2): X, Y and MT tested on every sample, males' X and every "
                    "Y and MT call 0/2 (beta half plink2's on Y and MT), no sex covariate added on X unless "
                    "--covariates has one", no_sex)
        return
    if names & {"X", "XY"} and not sex_known and not any(_SEX_NAMES.match(str(c)) for c in covariate_names):
        named = ", ".join(map(str, covariate_names[1:]))
        log.warning("chromosome X is tested without a sex covariate (%s, and the genotype files give no sex): males "
                    "are hemizygous, counted 0/2; add sex to --covariates (plink2 --glm adds it on X)",
                    f"none of {named} looks like sex" if named else "no covariates")
    if "X" in names and not sex_known:    # (review s35d: the same calls as a .bed gave other X counts, silently)
        log.warning("X's QC counts every sample as diploid: the genotype files give no sex (VCF, BGEN without a "
                    ".sample sex column), so males' hemizygous calls count twice in X's allele frequency and MAF "
                    "filter (and X is not HWE-tested), as plink2's without sex; to give sex, add a sex column "
                    "coded 1/2 or M/F to --covar, or convert the genotypes with it (plink2 --vcf F --update-sex S "
                    "--make-pgen)")
    if names & {"Y", "MT"} and not haploid_coded:
        log.warning("%s tested: every call there is haploid and counted as 2 copies, so beta and its SE are "
                    "half plink2's (0/1 coding); p is the same", " and ".join(sorted(names & {"Y", "MT"})))
    if "Y" in names and not sex_known:
        log.warning("Y tested on every sample: the genotype files give no sex, so females' missing Y calls are "
                    "imputed and counted in the call rates; run Y on males (--keep)")


def analysed_inputs(tables: GwasTables, ids, *, warn: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(phenotypes [N, P], covariates [N, K], covariate names)`` of the samples ``ids`` in this order: phenotype
    values as read (before ``--binary`` coding and the transform), the design without the columns constant in
    these samples (:func:`drop_constant_indicators`; categorical references among them:
    :func:`reference_among_analysed`); a sample absent from a table is NaN there."""
    Y = tables.phenotypes.set_index("IID").reindex(ids)[tables.names].to_numpy(dtype=float)
    C = pd.DataFrame(tables.design.matrix, index=tables.design.ids).reindex(ids).to_numpy(dtype=float)
    C, cov_names = reference_among_analysed(C, tables.design.columns, tables.design.categorical)
    C, cov_names = drop_constant_indicators(C, cov_names, warn=warn)
    return Y, C, cov_names


def step1_fingerprint(tables: GwasTables, ids, *, transform: str, binary: bool) -> dict:
    """The ridge-loco step-1 fingerprint of these tables over the samples ``ids``
    (:func:`edfgen.formats.loco_check.loco_fingerprint`): what step 1 writes and step 2 compares."""
    from edfgen.formats.loco_check import loco_fingerprint

    Y, C, cov_names = analysed_inputs(tables, np.asarray(ids, dtype=str), warn=False)
    return loco_fingerprint(ids, Y, tables.names, C, cov_names, transform=transform, binary=binary)


def binary_phenotypes(Y: np.ndarray, names: Sequence[str], source: str) -> np.ndarray:
    """``--binary`` phenotypes as 0/1, column by column: 0/1 as they are, PLINK's 1 = control / 2 = case minus 1
    (PLINK's ``-9`` is NaN already: :func:`select_phenotypes` with ``binary``). Anything else:
    :class:`InputError` naming the column and its values."""
    Y = np.array(Y, dtype=float)
    for j, name in enumerate(names):
        col = Y[:, j]
        vals = set(np.unique(col[~np.isnan(col)]).tolist())
        if vals <= {1.0, 2.0} and 2.0 in vals:      # PLINK coding 1 = control, 2 = case
            col -= 1.0
        elif not vals <= {0.0, 1.0}:
            shown = ", ".join(f"{v:g}" for v in sorted(vals)[:6]) + (", ..." if len(vals) > 6 else "")
            raise InputError(f"{source}: --binary phenotype {str(name)!r} has values {shown} (expects 0/1, or "
                             f"PLINK's 1/2; -9 or empty = missing)")
    return Y


def check_covariate_design(C: np.ndarray, cov_names: list[str], *, source) -> None:
    """Refuse, in one line naming ``source`` (the covariate table), a design with no more samples than
    covariates + 2 (said so: no covariate is to blame) or with a covariate that is a linear combination of others
    in the analysed samples (named, as plink2 refuses it)."""
    n = len(C)
    if n <= C.shape[1] + 1:
        raise InputError(f"{source}: {n} analysed samples for {C.shape[1] - 1} covariates + the intercept "
                         f"(need more samples than covariates + 2): use fewer covariates")
    culprits = collinear_covariates(C, cov_names)
    if culprits:
        raise InputError(f"{source}: covariate {culprits[0]!r} is a linear combination of "
                         f"{', '.join(map(repr, culprits[1:])) or 'nothing (all zero)'} in the {n} "
                         f"analysed samples: drop one of them")


def id_examples(geno_ids, pheno_ids) -> str:
    """`` (genotype ids look like '2074130', phenotype ids like '2074130.0')``: one id of each side that the other
    lacks, for the error of a join that shares (almost) no sample (review s32d F5: a float-formatted id column);
    empty when either side has none."""
    geno, pheno = {str(i) for i in geno_ids}, {str(i) for i in pheno_ids}
    g, p = sorted(geno - pheno)[:1], sorted(pheno - geno)[:1]
    if not (g and p):
        return ""
    return f" (genotype ids look like {g[0]!r}, phenotype ids like {p[0]!r})"
