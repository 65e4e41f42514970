"""Ridge-LOCO step-1 predictions on disk: ``<out>/loco/<phenotype>.loco.tsv.gz`` (``IID``, ``genome``, one
``chr<name>`` column per chromosome, written with 17 significant digits so that ``--loco-predictions DIR``
reproduces the run exactly) and ``loco_summary.tsv`` (``phenotype``, ``file``, ``level1_shrinkage``,
``cv_r2``), read back as :class:`edfgen.kernels.ridge.LocoPredictions`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.tables import read_table, safe_filename, write_table
from edfgen.kernels.ridge import LocoPredictions


def write_loco_predictions(preds: LocoPredictions, out_dir: str | os.PathLike) -> Path:
    """Write ``<out_dir>/<phenotype>.loco.tsv.gz`` (``IID``, ``genome``, one column per chromosome) and
    ``loco_summary.tsv`` (``phenotype``, ``file``, ``level1_shrinkage``, ``cv_r2``); returns ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for p, name in enumerate(preds.phenotypes):
        df = pd.DataFrame({"IID": preds.sample_ids, "genome": preds.genome[:, p]})
        for c, chrom in enumerate(preds.chromosomes):
            df[f"chr{chrom}"] = preds.loco_values[c, :, p]
        fname = f"{safe_filename(name)}.loco.tsv.gz"
        write_table(df, out / fname, float_format="%.17g")   # exact round trip: --loco-predictions reproduces the run
        rows.append({"phenotype": name, "file": fname,
                     "level1_shrinkage": float(preds.level1_shrinkage[p]) if len(preds.level1_shrinkage) else np.nan,
                     "cv_r2": float(preds.cv_r2[p]) if len(preds.cv_r2) else np.nan})
    write_table(pd.DataFrame(rows, columns=["phenotype", "file", "level1_shrinkage", "cv_r2"]),
                out / "loco_summary.tsv", float_format="%.6g")
    return out


def read_loco_predictions(loco_dir: str | os.PathLike) -> LocoPredictions:
    """Read what :func:`write_loco_predictions` wrote (``--loco-predictions DIR``)."""
    d = Path(loco_dir)
    summary_path = d / "loco_summary.tsv"
    if not summary_path.is_file():
        raise InputError(f"--loco-predictions {d}: no loco_summary.tsv (a <gwas out>/loco directory is expected)")
    summary = read_table(summary_path)
    for col in ("phenotype", "file"):
        if col not in summary.columns:
            raise InputError(f"{summary_path}: column {col!r} missing")
    ids = None
    chroms: list[str] = []
    loco, whole = [], []
    for name, fname in zip(summary["phenotype"].astype(str), summary["file"].astype(str)):
        path = d / fname
        if not path.is_file():
            raise InputError(f"{summary_path}: {fname} (phenotype {name!r}) not found in {d}")
        df = read_table(path, id_column="IID")
        cc = [c for c in df.columns if c.startswith("chr")]
        if "genome" not in df.columns or not cc:
            raise InputError(f"{path}: needs columns IID, genome and chr<name> (one per chromosome)")
        if ids is None:
            ids, chroms = df["IID"].astype(str).to_numpy(), [c[3:] for c in cc]
        elif not np.array_equal(ids, df["IID"].astype(str).to_numpy()) or [c[3:] for c in cc] != chroms:
            raise InputError(f"{path}: samples or chromosomes differ from the other phenotypes' predictions")
        values = df[["genome", *cc]].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise InputError(f"{path}: missing or non-finite predictions")
        whole.append(values[:, 0])
        loco.append(values[:, 1:].T)
    if ids is None:
        raise InputError(f"{summary_path}: lists no phenotype")
    return LocoPredictions(sample_ids=ids, phenotypes=list(summary["phenotype"].astype(str)), chromosomes=chroms,
                           loco_values=np.stack(loco, axis=-1), genome=np.stack(whole, axis=-1),
                           level1_shrinkage=summary.get("level1_shrinkage", pd.Series(np.nan, index=summary.index))
                           .to_numpy(dtype=float),
                           cv_r2=summary.get("cv_r2", pd.Series(np.nan, index=summary.index)).to_numpy(dtype=float))
