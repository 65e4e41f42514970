"""Participant ids of ``edfgen extract``: records → IID (``--id-map``) and IID → FID of the PLINK ``.pheno`` file (``--fam``).

What this module knows: how an ECG record becomes a participant's IID, and which family id the side file
``<out>.pheno`` gives each IID so that plink2 and plink 1.9 ``--pheno`` match it to the genotypes' samples.

plink2 and plink 1.9 match a ``--pheno`` row to a sample on FID *and* IID (plink2 takes a ``.psam`` without
FIDs, or an ``#IID``-only ``--pheno`` file, as FID ``0``). Without ``--fam`` the file has FID = IID, which
matches only a ``.fam`` whose FIDs equal its IIDs (``plink --vcf --double-id``, UK Biobank); on a ``.fam`` with
family ids (``edfgen simulate --families``) every relative's row would be silently ignored by plink
(review s32f). edfgen's own commands join on IID and read the EDF table, not this file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.pgen import plink_fids
from edfgen.formats.tables import read_table

log = logging.getLogger(__name__)


def read_id_map(path: Path) -> dict[str, str]:
    """``--id-map``: a TSV/CSV with columns ``record, IID`` as a dict record → IID (a record listed twice, an
    empty value: input errors naming the file)."""
    df = read_table(path, required=["record", "IID"], dtype={"record": str, "IID": str})
    dup = df["record"][df["record"].duplicated()]
    if len(dup):
        raise InputError(f"--id-map {path}: record {dup.iloc[0]!r} listed more than once")
    if df["IID"].isna().any() or df["record"].isna().any():
        raise InputError(f"--id-map {path}: empty record or IID value")
    return dict(zip(df["record"].astype(str), df["IID"].astype(str)))


def read_fam_fids(fam: str | Path | None) -> pd.Series | None:
    """``--fam``: the FIDs (IID → FID, :func:`~edfgen.formats.genotypes.pgen.plink_fids`) of a ``.fam`` or
    ``.psam``, or None without one. Read before any ECG, so that a bad file fails at once."""
    if fam is None:
        return None
    try:
        return plink_fids(fam)
    except InputError as exc:
        raise InputError(f"--fam {exc}") from None


def check_fam(iids, fids: pd.Series | None, *, fam=None) -> None:
    """Refuse a ``--fam`` that holds none of the participants ``iids`` (the wrong file).

    Called before any ECG is encoded, with the IIDs known from the records' names or ``--id-map``,
    so that a mistyped ``--fam`` costs nothing.

    Parameters
    ----------
    iids
        The participants' IIDs.
    fids
        IID → FID from ``--fam`` (:func:`read_fam_fids`), or None (nothing to check).
    fam
        The ``--fam`` path, for the error.
    """
    iid = pd.Series(list(iids), dtype=object).astype(str)
    if fids is None or iid.empty:
        return
    if not iid.isin(fids.index).any():
        raise InputError(f"--fam {fam}: none of the {iid.nunique()} participants' IIDs is in it "
                         f"(e.g. {iid.iloc[0]!r}); give the .fam or .psam of these participants' genotypes")


def pheno_table(frame: pd.DataFrame, fids: pd.Series | None, *, fam=None, name: str = ".pheno") -> pd.DataFrame:
    """The PLINK ``--pheno`` table of the EDF table ``frame``: ``FID`` inserted before its ``IID`` column.

    Parameters
    ----------
    frame
        The EDF table (``IID, edf_001 ...``).
    fids
        IID → FID from ``--fam`` (:func:`read_fam_fids`), or None: FID = IID (logged, with how to change it).
    fam, name
        The ``--fam`` path and the ``.pheno`` file's name, for the log lines and errors.

    Returns
    -------
    pandas.DataFrame
        ``FID, IID, edf_001 ...``. A participant missing from ``--fam`` keeps FID = IID (a warning counts them);
        none of them in it is an input error (the wrong file).
    """
    iid = frame["IID"].astype(str)
    if fids is None:
        log.info("extract: %s has FID = IID, which plink matches only to a .fam whose FIDs equal its IIDs; for "
                 "family ids give --fam with the genotypes' .fam or .psam", name)
        fid = iid
    else:
        check_fam(iid, fids, fam=fam)
        fid = iid.map(fids)
        absent = fid.isna().to_numpy()
        if absent.any():
            log.warning("extract: %d of %d participants are not in --fam %s (e.g. %r): FID = IID in %s",
                        int(absent.sum()), len(iid), fam, iid[absent].iloc[0], name)
        fid = fid.where(~absent, iid)
    out = frame.copy()
    out.insert(0, "FID", fid.to_numpy())
    return out
