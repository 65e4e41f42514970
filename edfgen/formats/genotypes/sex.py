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
