"""BGEN 1.2/1.3 genotype probabilities (8- to 32-bit, zlib or zstd, phased or not) through cbgen.

The dosage tested is the expected count of the **second** allele of each variant (Hail's
``import_bgen`` alt allele; ``plink2 --bgen ... ref-first``'s ALT): ``P(AB) + 2 P(BB)`` for
unphased and ``P(B|hap1) + P(B|hap2)`` for phased diploid probabilities. Samples with missing
probabilities read as NaN.

Sample ids: a ``.sample`` file (Oxford format; ``ID_1`` -> ``FID``, ``ID_2`` -> ``IID``, as UK
Biobank ships them) or else the ids stored in the BGEN header.

cbgen needs a variant index (its "metafile"): it is built once into
``$EDFGEN_CACHE`` (default ``<tmp>/edfgen-bgen-index``), named by the BGEN's stat fingerprint,
unless ``FILE.metafile`` exists next to the BGEN.

References
----------
Band G, Marchini J (2018) BGEN: a binary file format for imputed genotype and haplotype data.
bioRxiv 308296. doi:10.1101/308296
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.genetics.readers.base import (
    GenotypeReader, as_dtype, check_index, check_unique_iids, dosage_from_probabilities, variant_table,
)


def read_oxford_sample(path: str | Path, n_expected: int | None = None) -> pd.DataFrame:
    """An Oxford ``.sample`` file as ``FID, IID`` (``ID_1``, ``ID_2``) plus its other columns.

    The second line (column types ``0 0 0 D ...``) is skipped.
    """
    path = Path(path)
    try:
        tab = pd.read_csv(path, sep=r"\s+", dtype=str, skiprows=[1])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: unreadable .sample file ({exc})") from None
    if list(tab.columns[:2]) != ["ID_1", "ID_2"]:
        raise InputError(f"{path}: a .sample file starts with the columns ID_1 ID_2 (has {' '.join(tab.columns[:3])})")
    if n_expected is not None and len(tab) != n_expected:
        raise InputError(f"{path}: {len(tab)} samples but the BGEN has {n_expected}")
    tab.insert(0, "FID", tab["ID_1"])
    tab.insert(1, "IID", tab["ID_2"])
    check_unique_iids(tab, str(path))
    return tab


def _cache_dir() -> Path:
    return Path(os.environ.get("EDFGEN_CACHE") or os.path.join(tempfile.gettempdir(), "edfgen-bgen-index"))


class BgenReader(GenotypeReader):
    """Reader of one BGEN file.

    Parameters
    ----------
    path
        The ``.bgen`` file.
    sample
        Oxford ``.sample`` file (required when the BGEN stores no sample ids).
    """

    kind = "bgen"

    def __init__(self, path: str | Path, *, sample: str | Path | None = None):
        from cbgen import bgen_file, bgen_metafile

        self.path = str(path)
        self.sample = str(sample) if sample else None
        if not Path(self.path).exists():
            raise InputError(f"--bgen {self.path}: file not found")
        if self.sample and not Path(self.sample).exists():
            raise InputError(f"--sample {self.sample}: file not found")
        self.label = self.path
        try:
            self._bgen = bgen_file(self.path)
        except Exception as exc:  # cbgen raises RuntimeError with the C library's message
            raise InputError(f"--bgen {self.path}: not a readable BGEN file ({exc})") from None
        n = self._bgen.nsamples
        if self.sample:
            self.samples = read_oxford_sample(self.sample, n)
        elif self._bgen.contain_samples:
            ids = pd.Series(self._bgen.read_samples()).str.decode("utf-8")
            self.samples = pd.DataFrame({"FID": ids.to_numpy(), "IID": ids.to_numpy()})
            check_unique_iids(self.samples, self.path)
        else:
            raise InputError(f"--bgen {self.path}: stores no sample ids; give its --sample file")
        meta = Path(self.path + ".metafile")
        if not meta.exists():
            meta = _cache_dir() / f"{Path(self.path).name}.{self.fingerprint()}.metafile"
            if not meta.exists():
                meta.parent.mkdir(parents=True, exist_ok=True)
                tmp = meta.with_suffix(f".tmp{os.getpid()}")
                self._bgen.create_metafile(tmp, verbose=False)
                os.replace(tmp, meta)
        parts = []
        with bgen_metafile(meta) as mf:
            for i in range(mf.npartitions):
                v = mf.read_partition(i).variants
                parts.append(pd.DataFrame({"id": v.id, "rsid": v.rsid, "chrom": v.chromosome, "pos": v.position,
                                           "nalleles": v.nalleles, "alleles": v.allele_ids, "offset": v.offset}))
        tab = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["id", "rsid", "chrom", "pos", "nalleles", "alleles", "offset"])
        for c in ("id", "rsid", "chrom", "alleles"):
            tab[c] = tab[c].str.decode("utf-8")
        alleles = tab["alleles"].str.split(",", n=2, expand=True).reindex(columns=[0, 1]).fillna(".")
        # the variant id: the rsid field when it holds an id, else the id field, else chr:pos:a1:a2
        vid = tab["rsid"].where(~tab["rsid"].isin(["", "."]), tab["id"])
        vid = vid.where(~vid.isin(["", "."]), tab["chrom"].str.replace("^chr", "", regex=True) + ":" +
                        tab["pos"].astype(str) + ":" + alleles[0] + ":" + alleles[1])
        self.variants = variant_table(tab["chrom"], tab["pos"], vid, alleles[1], alleles[0], tab["nalleles"],
                                      source=self.path)
        self._offsets = tab["offset"].to_numpy(dtype=np.uint64)

    def paths(self) -> list[str]:
        return [self.path] + ([self.sample] if self.sample else [])

    def read(self, sample_idx, variant_idx, *, dtype=np.float32) -> np.ndarray:
        vidx = check_index(variant_idx, self.n_variants, "variant", self.label)
        sidx = None if sample_idx is None else check_index(sample_idx, self.n_samples, "sample", self.label)
        n = self.n_samples if sidx is None else len(sidx)
        out = np.empty((n, len(vidx)), dtype=np.float32, order="F")
        nall = self.variants["n_alleles"].to_numpy()
        for j, v in enumerate(vidx):
            if nall[v] != 2:
                out[:, j] = np.nan
                continue
            probs = self._bgen.read_probability(int(self._offsets[v]), precision=32)
            try:
                d = dosage_from_probabilities(probs)
            except ValueError as exc:
                row = self.variants.iloc[int(v)]
                raise InputError(f"--bgen {self.path}: variant {row['variant_id']}: {exc}") from None
            out[:, j] = d if sidx is None else d[sidx]
        return as_dtype(out, dtype)

    def close(self) -> None:
        self._bgen.close()
