"""ldsc's LD score files: ``PREFIX.l2.ldscore.gz`` (``CHR SNP BP L2``), ``PREFIX.l2.M`` and ``PREFIX.l2.M_5_50``.

:func:`write_ldscores` writes one chromosome in the layout ``ldsc --l2`` writes (so ``ldsc --ref-ld-chr`` reads
them); :func:`read_ldscores_chr` reads a per-chromosome set (``--ref-ld-chr``/``--w-ld-chr``: ``PREFIX{chr}`` or a
``@`` in the prefix standing for the chromosome), as ldsc does for chromosomes 1-22.

Reference: ldsc (Bulik-Sullivan et al. 2015), ``ldsc.py --l2`` and ``ldscore/parse.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.atomic import atomic_write
from edfgen.formats.tables import write_table

LDSCORE_COLUMNS = ["CHR", "SNP", "BP", "L2"]
#: the chromosomes ldsc's --ref-ld-chr reads
LDSC_CHROMOSOMES = tuple(str(c) for c in range(1, 23))


def chr_prefix(prefix: str, chrom: str) -> str:
    """The file prefix of one chromosome: ``@`` replaced by it, else appended (ldsc ``sub_chr``)."""
    prefix = str(prefix)
    return prefix.replace("@", chrom) if "@" in prefix else f"{prefix}{chrom}"


def ldscore_files(prefix: str) -> list[str]:
    """The files :func:`write_ldscores` writes for ``prefix`` (``"ldscores/1"``), known before it runs (``ldsc``
    lists them in its in-progress manifest, not ``ldscores/`` as a whole: a rerun after a kill removed a user's
    file put there, review s39).

    Parameters
    ----------
    prefix : str
        The chromosome's file prefix.

    Returns
    -------
    list of str
        ``PREFIX.l2.ldscore.gz``, ``PREFIX.l2.M`` and ``PREFIX.l2.M_5_50``.
    """
    return [f"{prefix}.l2.{suffix}" for suffix in ("ldscore.gz", "M", "M_5_50")]


def write_ldscores(prefix: str | Path, chrom: np.ndarray, snp: np.ndarray, bp: np.ndarray, l2: np.ndarray, *,
                   m: int, m_5_50: int) -> list[Path]:
    """Write ``PREFIX.l2.ldscore.gz`` (L2 with 3 decimals, as ldsc) and the ``.l2.M``/``.l2.M_5_50`` counts."""
    prefix = str(prefix)
    df = pd.DataFrame({"CHR": chrom, "SNP": snp, "BP": np.asarray(bp, dtype=np.int64), "L2": l2})
    scores, *counts = ldscore_files(prefix)
    out = [write_table(df, scores, float_format="%.3f")]
    for path, value in zip(counts, (m, m_5_50)):
        with atomic_write(path) as fh:
            fh.write(f"{int(value)}\n")
        out.append(Path(path))
    return out


def _read_m(path: Path) -> float:
    try:
        vals = [float(v) for v in path.read_text().split()]
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not an ldsc M file (one number per annotation): {exc}") from None
    if len(vals) != 1:
        raise InputError(f"{path}: {len(vals)} annotations; edfgen ldsc takes one (non-partitioned) LD score")
    return vals[0]


def read_ldscores_chr(prefix: str, *, option: str = "--ref-ld-chr", m_5_50: bool = True) -> tuple[pd.DataFrame, float]:
    """LD scores of every chromosome 1-22 with a file ``chr_prefix(prefix, c) + '.l2.ldscore[.gz]'``.

    Returns ``(table, M)``: ``CHR, SNP, BP, L2`` in chromosome order then file order, and the summed
    ``.l2.M_5_50`` (``.l2.M`` with ``m_5_50=False``, or when a ``.M_5_50`` is absent as ldsc does not allow:
    that is an error naming the file).
    """
    frames, m_tot = [], 0.0
    for c in LDSC_CHROMOSOMES:
        base = chr_prefix(prefix, c)
        path = next((Path(f"{base}.l2.ldscore{s}") for s in (".gz", ".bz2", "") if Path(f"{base}.l2.ldscore{s}").exists()),
                    None)
        if path is None:
            continue
        df = pd.read_csv(path, sep=r"\s+", dtype={"CHR": str, "SNP": str})
        missing = [col for col in ("SNP", "L2") if col not in df.columns]
        if missing:
            raise InputError(f"{path}: no column {missing[0]} (ldsc .l2.ldscore layout: CHR SNP BP L2)")
        l2cols = [col for col in df.columns if col.endswith("L2")]
        if len(l2cols) != 1:
            raise InputError(f"{path}: {len(l2cols)} LD score columns; edfgen ldsc takes one (non-partitioned)")
        if "CHR" not in df.columns:
            df["CHR"] = c
        if "BP" not in df.columns:
            df["BP"] = np.arange(len(df))
        frames.append(df[["CHR", "SNP", "BP", l2cols[0]]].rename(columns={l2cols[0]: "L2"}))
        mfile = Path(f"{base}.l2.M_5_50" if m_5_50 else f"{base}.l2.M")
        if not mfile.exists():
            raise InputError(f"{option} {prefix}: {mfile} missing (ldsc writes it beside {path.name})")
        m_tot += _read_m(mfile)
    if not frames:
        raise InputError(f"{option} {prefix}: no LD score files {chr_prefix(prefix, '1')}.l2.ldscore.gz .. "
                         f"{chr_prefix(prefix, '22')}.l2.ldscore.gz")
    df = pd.concat(frames, ignore_index=True)
    l2 = pd.to_numeric(df["L2"], errors="coerce")
    if l2.isna().any():
        raise InputError(f"{option} {prefix}: L2 not a number for SNP {df.loc[l2.isna(), 'SNP'].iloc[0]!r}")
    df["L2"] = l2.astype(np.float64)
    return df, m_tot
