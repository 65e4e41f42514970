"""Sex of the samples as the genotype files record it: a ``.fam``'s fifth column, a ``.psam``'s ``SEX`` column,
an Oxford ``.sample``'s ``sex`` column (UK Biobank's and qctool's, type ``D``).

PLINK's codes are read as plink2 reads them: ``1``/``M``/``male`` male, ``2``/``F``/``female`` female, ``0``,
``-9``, ``NA`` (and empty) unknown; ``1.0``/``2.0`` (a table written from floats) as ``1``/``2``. Any other value
is unknown too, with a warning naming the file, the column and a few of them (not silently "no sex"). VCF/BCF record no sex, nor does a BGEN without a ``.sample`` sex column:
there :func:`sample_sex` is None and the GWAS tests X as it did before it read sex (see
:mod:`edfgen.engines.sex_chromosomes`).

References
----------
Chang CC et al. (2015) Second-generation PLINK. GigaScience 4:7. doi:10.1186/s13742-015-0047-8 (``.fam``,
``.psam`` and ``.sample`` specifications: https://www.cog-genomics.org/plink/2.0/formats)
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: sex codes: 1 male, 2 female, 0 unknown (PLINK's)
MALE, FEMALE, UNKNOWN = 1, 2, 0
_CODES = {"1": MALE, "m": MALE, "male": MALE, "1.0": MALE, "2": FEMALE, "f": FEMALE, "female": FEMALE, "2.0": FEMALE}
#: the codes read as unknown without a warning (PLINK's 0/-9, missing)
_UNKNOWN_CODES = {"0", "-9", "0.0", "-9.0", "na", "nan", "", "none", "<na>", "."}
#: the sample-table column holding sex: .fam/.psam ``SEX``, .sample ``sex`` (any case)
_SEX_COLUMNS = ("sex",)

#: covariate names taken for sex (case-insensitive; ``sex_2``, ``sex=M``: a categorical sex's indicator)
SEX_COVARIATE_NAMES = re.compile(r"^(sex|gender|is_?male|is_?female|male|female|msex|inferred_sex|genetic_sex|"
                                 r"submitted_sex|31-0\.0|22001-0\.0|f\.31\.0\.0|f\.22001\.0\.0|(?:participant\.)?p31|"
                                 r"(?:participant\.)?p22001)"
                                 r"([_=].*)?$", re.I)
#: covariates whose 0/1 says who is male by their name: 1 male (UK Biobank's fields 31 and 22001 code 0 female,
#: 1 male, as ``31-0.0`` (ukbconv), ``f.31.0.0`` (its R table), ``p31``/``participant.p31`` (the RAP's); ROSMAP's
#: msex) or 1 female; a plain ``sex`` or ``gender`` coded 0/1 does not say which is male
_ONE_IS_MALE = re.compile(r"^(is_?male|male|msex|31-0\.0|22001-0\.0|f\.31\.0\.0|f\.22001\.0\.0|(?:participant\.)?p31|"
                          r"(?:participant\.)?p22001)$", re.I)
_ONE_IS_FEMALE = re.compile(r"^(is_?female|female)$", re.I)
#: covariates holding the sex inferred from the genotypes (UK Biobank's field 22001, ``genetic_sex``,
#: ``inferred_sex``): read before a reported sex (field 31, ``sex``, ...) whatever the column order, since X's
#: ploidy is the genome's (a RAP export puts ``participant.p31`` before ``participant.p22001``; review s42geno)
_GENETIC_SEX = re.compile(r"^(genetic_sex|inferred_sex|22001-0\.0|f\.22001\.0\.0|(?:participant\.)?p22001)$", re.I)


def sample_sex(samples: pd.DataFrame, label: str = "the sample table") -> np.ndarray | None:
    """Sex of each row of a reader's sample table (``int8``: 1 male, 2 female, 0 unknown), or None when the
    table has no sex column or no sample with a known sex (VCF, BGEN without a ``.sample`` sex column, a
    ``.fam`` of zeros); values it cannot read are warned about, naming ``label`` (the file)."""
    col = next((c for c in samples.columns if str(c).lower() in _SEX_COLUMNS), None)
    if col is None:
        return None
    values = samples[col].astype(str).str.strip().str.lower()
    codes, uniques = pd.factorize(values)
    table = np.array([_CODES.get(u, UNKNOWN) for u in uniques] or [UNKNOWN], dtype=np.int8)
    odd = [u for u in uniques if u not in _CODES and u not in _UNKNOWN_CODES]
    if odd:
        n_odd = int(np.isin(values, odd).sum())
        log.warning("%s: column %r has %d sex values it cannot read (e.g. %s): read as unknown sex (codes: 1/M/male, "
                    "2/F/female, 0/-9/NA unknown)", label, col, n_odd, ", ".join(map(repr, odd[:3])))
    sex = table[codes] if len(codes) else np.zeros(0, dtype=np.int8)
    return sex if (sex != UNKNOWN).any() else None


def sex_file(source) -> str:
    """The file a :class:`~edfgen.formats.genotypes.source.GenotypeSource`'s sex is read from: its ``.fam``,
    ``.psam`` or first BGEN's ``.sample`` (what manifests name as the sex source); its label otherwise."""
    if source.bfile or source.pfile:
        return f"{source.bfile}.fam" if source.bfile else f"{source.pfile}.psam"
    return next((s for _, s in source.bgen_files() if s), None) or source.label if source.bgen else source.label


def source_sex(source) -> pd.Series | None:
    """Sex (codes of :func:`sample_sex`) by IID from the sample file of a
    :class:`~edfgen.formats.genotypes.source.GenotypeSource` (``.fam``, ``.psam``, the first BGEN's local
    ``.sample``) without opening the genotypes (the Hail engine); None where they give none (VCF, MT)."""
    from edfgen.formats.genotypes.bgen import read_oxford_sample
    from edfgen.formats.genotypes.pgen import read_psam
    from edfgen.formats.genotypes.plink1 import read_fam

    label, tab = sex_file(source), None
    if source.bfile:
        tab = read_fam(source.bfile)
    elif source.pfile:
        tab = read_psam(label)
    elif source.bgen and label != source.label:
        tab = read_oxford_sample(label) if "://" not in label else None
    sex = None if tab is None else sample_sex(tab, label)
    return None if sex is None else pd.Series(sex, index=tab["IID"].to_numpy())


def covariate_sex(table: pd.DataFrame, label: str) -> tuple[pd.Series | None, str]:
    """Sex by IID (codes of :func:`sample_sex`) from the columns of a covariate ``table`` named like sex
    (:data:`SEX_COVARIATE_NAMES`, no indicator suffix), the first whose coding says who is male (a genetic sex,
    :data:`_GENETIC_SEX`, before a reported one whatever the column order): PLINK's 1/2 (0 and
    -9 unknown), M/F, male/female (U/unknown unknown), or 0/1 in a column whose name says which (``is_male``, UK
    Biobank's 31 and 22001: 1 male; ``is_female``: 1 female); and what was found, for the log (``"--covar c.tsv
    column 'sex'"``, or why no column is read). A plain ``sex`` coded 0/1, or holding other values, is not read:
    guessing which is male would swap X's haploid coding. A later readable column that disagrees is warned about.

    ``edfgen gwas`` reads X, Y and MT with it where the genotype files give no sex (VCF, a ``.fam`` of zeros), as
    plink2 run with this sex put in the ``.fam`` (s36c)."""
    cols = [c for c in table.columns if c != "IID" and (m := SEX_COVARIATE_NAMES.match(str(c))) and not m.group(2)]
    cols.sort(key=lambda c: not _GENETIC_SEX.match(str(c)))     # genetic sex first, whatever the column order
    if not cols:
        return None, "no covariate named like sex"
    read = [_column_sex(table, c, f"{label} column {c!r}") for c in cols]
    usable = [(sex, where) for sex, where in read if sex is not None]
    if not usable:
        return None, read[0][1]
    sex, where = usable[0]
    for other, there in usable[1:]:
        differ = int(((sex != UNKNOWN) & (other != UNKNOWN) & (sex != other)).sum())
        if differ:
            log.warning("%s and %s disagree on the sex of %d sample(s): %s is used", where, there, differ, where)
    return sex, where


#: the sex words of a covariate read as unknown, besides PLINK's (:data:`_UNKNOWN_CODES`)
_COVARIATE_UNKNOWN = _UNKNOWN_CODES | {"u", "unknown", "unk"}


def _column_sex(table: pd.DataFrame, col, where: str) -> tuple[pd.Series | None, str]:
    """One sex-like column of :func:`covariate_sex`: the sex by IID and ``where``, or None and why not."""
    values = table[col].astype(str).str.strip().str.lower()
    values = values.where(~values.isin(_COVARIATE_UNKNOWN - {"0", "0.0"}), "")     # (0 is female or unknown: below)
    known = set(values) - {""}
    zero, one = {"0", "0.0"}, {"1", "1.0"}
    if not known:
        return None, f"{where} has no value"
    if known <= zero | one:
        coded_one = MALE if _ONE_IS_MALE.match(str(col)) else FEMALE if _ONE_IS_FEMALE.match(str(col)) else None
        if coded_one is None:
            return None, f"{where} is coded 0/1, which does not say who is male (code it 1/2 as PLINK, or M/F)"
        codes = {**dict.fromkeys(one, coded_one), **dict.fromkeys(zero, MALE + FEMALE - coded_one)}
    elif known <= set(_CODES) | zero:      # PLINK's 1/2 (0 unknown), M/F, male/female
        codes = _CODES
    else:
        return None, (f"{where} holds values other than 1/2, M/F or male/female (e.g. "
                      f"{sorted(known - set(_CODES) - zero)[:3]})")
    sex = values.map(codes).fillna(UNKNOWN).astype(np.int8)
    return pd.Series(sex.to_numpy(), index=table["IID"].astype(str).to_numpy()), where


def sex_or_covariate(files_sex, table: pd.DataFrame, label: str, ids=None):
    """``(sex, source)``: ``files_sex`` (the genotype files' sex, per sample of ``ids``, or by IID where ``ids`` is
    None) and source None where the files give it; else the covariate ``table``'s (:func:`covariate_sex`) in the
    same form, unknown for a sample it lacks, and the column it came from, said in one INFO line (as is why a
    sex-like column is not read)."""
    if files_sex is not None:
        return files_sex, None
    by_id, where = covariate_sex(table, label)
    if by_id is None:
        if where.startswith(label):
            log.info("the genotype files give no sex, and %s: X, Y and MT read without sex", where)
        return None, None
    log.info("the genotype files give no sex: X, Y and MT read with the sex of %s (%d males, %d females), as plink2 "
             "with it in the .fam", where, int((by_id == MALE).sum()), int((by_id == FEMALE).sum()))
    if ids is None:
        return by_id, where
    return by_id.reindex(np.asarray(ids).astype(str)).fillna(UNKNOWN).astype(np.int8).to_numpy(), where
