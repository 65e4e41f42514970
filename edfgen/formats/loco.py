"""Ridge-LOCO step-1 predictions on disk: ``<out>/loco/<phenotype>.loco.tsv.gz`` (``IID``, ``genome``, one
``chr<name>`` column per chromosome, each value the shortest text that reads back as the same double, so that
``--loco-predictions DIR`` reproduces the run) and ``loco_summary.tsv`` (``phenotype``, ``file``, ``level1_shrinkage``,
``cv_r2``) and ``step1_fingerprint.json`` (what step 1 was fitted on, :mod:`edfgen.formats.loco_check`), read
back as :class:`edfgen.kernels.ridge.LocoPredictions` (:func:`read_loco_predictions`, all in memory) or as a
:class:`LocoStore` (:func:`open_loco_predictions`, one chromosome in memory at a time).

While ``edfgen gwas --model ridge-loco`` runs, step 1 streams each phenotype's predictions into a scratch
:class:`LocoStore` (:class:`LocoStoreWriter`, the ``sink`` of :func:`edfgen.kernels.ridge.ridge_loco_predictions`):
one binary file per chromosome, ``[P, N]`` float64, a phenotype's row appended as soon as its level 1 is
done; step 2 reads one chromosome's ``[N, P]`` at a time and ``<out>/loco/`` is written from it one
phenotype at a time. Memory: ``N x P`` floats (one chromosome), not ``C x N x P``. ``--loco-predictions DIR``
is converted once into such a store (:func:`open_loco_predictions`, one phenotype's file in memory at a time)
for both engines: the Hail engine's step 2 (:func:`edfgen.engines.hail_gwas.hail_model_pass`) reads one
chromosome from it per Hail pass and releases it (:meth:`LocoStore.release`) before the next. A store file
of the wrong size (truncated) or with non-finite values, or samples missing from it, is a one-line
:class:`~edfgen.exceptions.InputError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.atomic import atomic_path
from edfgen.formats.tables import gzip_text, read_table, safe_filename, write_table
from edfgen.kernels.ridge import LocoPredictions, loco_selection
from edfgen.kernels.validate import numeric_values

__all__ = ["write_loco_predictions", "read_loco_predictions", "open_loco_predictions", "LocoStore",
           "LocoStoreWriter", "loco_phenotype_files", "loco_sample_ids", "FINGERPRINT_FILE"]

#: step 1's fingerprint in the ``loco/`` folder (:mod:`edfgen.formats.loco_check`)
FINGERPRINT_FILE = "step1_fingerprint.json"


class LocoStore:
    """Step-1 predictions in a scratch directory written by :class:`LocoStoreWriter`, read one chromosome
    at a time; the interface of :class:`~edfgen.kernels.ridge.LocoPredictions` (``loco``, ``for_samples``,
    ``phenotype_values``, ``sample_ids``, ``phenotypes``, ``chromosomes``, ``level1_shrinkage``, ``cv_r2``)."""

    def __init__(self, directory, sample_ids, phenotypes, chromosomes, level1_shrinkage, cv_r2, *,
                 rows=None, cols=None, n_stored=None, source: str = "--loco-predictions"):
        self.directory, self.source = Path(directory), source   # source: what errors name
        self.loads = 0                                    # chromosome matrices read so far
        self.sample_ids = np.asarray(sample_ids, dtype=str)
        self.phenotypes, self.chromosomes = list(phenotypes), [str(c) for c in chromosomes]
        self.level1_shrinkage, self.cv_r2 = np.asarray(level1_shrinkage, float), np.asarray(cv_r2, float)
        self._rows, self._cols = rows, cols            # selection of stored samples / phenotypes
        self._shape = n_stored or (len(self.phenotypes), len(self.sample_ids))   # stored [P, N]
        self._cached: tuple[str, np.ndarray] | None = None

    def _file(self, chromosome: str | None) -> Path:
        if chromosome is None or str(chromosome) not in self.chromosomes:
            return self.directory / "genome.f64"
        return self.directory / f"chr{self.chromosomes.index(str(chromosome))}.f64"

    def _read(self, path: Path, phenotype: int | None = None) -> np.ndarray:
        P, N = self._shape
        size = path.stat().st_size if path.is_file() else None
        if size != P * N * 8:
            raise InputError(f"{path}: LOCO prediction store truncated or corrupt ({size or 0} bytes, {P * N * 8} "
                             f"expected for {P} phenotype(s) x {N} sample(s) of {self.source})")
        if phenotype is None:
            V = np.fromfile(path, dtype=np.float64, count=P * N).reshape(P, N)
        else:
            with open(path, "rb") as fh:
                fh.seek(phenotype * N * 8)
                V = np.fromfile(fh, dtype=np.float64, count=N)
        if not np.isfinite(V).all():
            raise InputError(f"{path}: LOCO prediction store corrupt (non-finite predictions of {self.source})")
        return V

    def loco(self, chromosome: str) -> np.ndarray:
        """``[N, P]`` prediction to remove when testing a variant on ``chromosome`` (read from its file; the
        last one read stays cached until :meth:`release` or the next chromosome)."""
        key = str(chromosome)
        if self._cached is None or self._cached[0] != key:
            self._cached = None                             # the previous chromosome freed before the next is read
            V = self._read(self._file(key))                 # [P_stored, N_stored]
            self.loads += 1
            if self._cols is not None:
                V = V[self._cols]
            if self._rows is not None:
                V = V[:, self._rows]
            self._cached = (key, np.ascontiguousarray(V.T))
        return self._cached[1]

    def release(self) -> None:
        """Drop the cached chromosome (the Hail engine calls it once a chromosome's pass is done)."""
        self._cached = None

    def phenotype_values(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Phenotype ``p``'s ``(genome [N], loco [C, N])``, read from every chromosome's file."""
        q = p if self._cols is None else int(self._cols[p])
        out = [self._read(self._file(c), q) for c in [None, *self.chromosomes]]
        if self._rows is not None:
            out = [v[self._rows] for v in out]
        return out[0], np.stack(out[1:]) if len(out) > 1 else np.zeros((0, len(out[0])))

    def for_samples(self, sample_ids, phenotypes=None, source: str | None = None) -> "LocoStore":
        """The predictions re-ordered to these samples (and phenotypes); all must be present (else a one-line
        :class:`~edfgen.exceptions.InputError` naming ``source``, by default the store's)."""
        rows, cols = loco_selection(self.sample_ids, self.phenotypes, sample_ids, phenotypes, source or self.source)
        want = np.asarray(sample_ids, dtype=str)
        base_rows = np.arange(len(self.sample_ids)) if self._rows is None else self._rows
        base_cols = np.arange(len(self.phenotypes)) if self._cols is None else self._cols
        return LocoStore(self.directory, want, [self.phenotypes[c] for c in cols], self.chromosomes,
                         self.level1_shrinkage[cols] if len(self.level1_shrinkage) else self.level1_shrinkage,
                         self.cv_r2[cols] if len(self.cv_r2) else self.cv_r2,
                         rows=base_rows[rows], cols=base_cols[cols], n_stored=self._shape, source=self.source)


class LocoStoreWriter:
    """The on-disk ``sink`` of :func:`edfgen.kernels.ridge.ridge_loco_predictions`: each phenotype's row is
    appended to ``genome.f64`` and to one ``chr<k>.f64`` per chromosome of ``directory`` as soon as its
    level 1 is done (phenotypes in order); :meth:`finish` returns the :class:`LocoStore`."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def start(self, sample_ids, phenotypes, chromosomes) -> None:
        self.ids, self.names, self.chroms = np.asarray(sample_ids, str), list(phenotypes), list(chromosomes)
        self.shrinkage, self.cv_r2 = np.zeros(len(self.names)), np.full(len(self.names), np.nan)
        self.next = 0
        self._files = [open(self.directory / "genome.f64", "wb")]
        self._files += [open(self.directory / f"chr{k}.f64", "wb") for k in range(len(self.chroms))]

    def add(self, p: int, genome: np.ndarray, loco: np.ndarray, shrinkage: float, cv_r2: float) -> None:
        if p != self.next:  # pragma: no cover - ridge_loco_predictions goes in order
            raise ValueError(f"LocoStoreWriter: phenotype {p} added after {self.next - 1}")
        for fh, row in zip(self._files, [genome, *loco]):
            np.asarray(row, dtype=np.float64).tofile(fh)
        self.shrinkage[p], self.cv_r2[p] = shrinkage, cv_r2
        self.next += 1

    def finish(self, source: str = "the ridge-loco step 1 store") -> LocoStore:
        for fh in self._files:
            fh.close()
        return LocoStore(self.directory, self.ids, self.names, self.chroms, self.shrinkage, self.cv_r2,
                         source=source)


def open_loco_predictions(loco_dir, scratch) -> LocoStore:
    """``--loco-predictions DIR`` as a :class:`LocoStore` in the ``scratch`` directory, converted once: the
    phenotypes' files are read one at a time (the checks of :func:`read_loco_predictions`), so memory is one
    phenotype's predictions, then one chromosome's during step 2 (both engines). The store's errors (samples
    missing, a truncated or corrupt store file) name the first phenotype's file."""
    writer = LocoStoreWriter(scratch)
    first = None
    for p, (name, path, ids, chroms, values, shrink, r2) in enumerate(_phenotype_files(loco_dir)):
        if first is None:
            writer.start(ids, [n for n, *_ in _summary_rows(loco_dir)], chroms)
            first = path
        writer.add(p, values[:, 0], values[:, 1:].T, shrink, r2)
    return writer.finish(source=f"--loco-predictions {first}")


#: gzip level of the ``.loco.tsv.gz`` files: 17-digit text is nearly incompressible beyond ~2x, and level 1 is
#: ~12x faster than the level 9 that gzip (and pandas) default to for 8 % more bytes (benchmarks/results/scale.md)
LOCO_GZIP_LEVEL = 1


#: rows of a ``.loco.tsv.gz`` formatted at a time (the text of one chunk in memory, not of the whole file)
LOCO_TEXT_ROWS = 50_000


def _loco_text(ids, genome: np.ndarray, loco: np.ndarray, header: list[str] | None):
    """One phenotype's predictions as TSV text, ``LOCO_TEXT_ROWS`` rows at a time (the header first when
    given): each value as Python's ``repr`` (the shortest decimal that reads back as the same double, at most
    17 significant digits), non-finite as ``NA``. Formatting through ``float.__repr__`` costs ~0.1 µs a
    value, where pandas' ``to_csv(float_format=...)`` cost ~6 µs."""
    if header is not None:
        yield "\t".join(header) + "\n"
    loco = np.asarray(loco)
    for a in range(0, len(ids), LOCO_TEXT_ROWS):
        sl = slice(a, a + LOCO_TEXT_ROWS)
        values = np.column_stack([genome[sl], loco[:, sl].T]) if len(loco) else np.asarray(genome[sl])[:, None]
        if np.isfinite(values).all():
            body = ["\t".join([i, *map(repr, row)]) for i, row in zip(ids[sl], values.tolist())]
        else:
            body = ["\t".join([i, *(repr(v) if np.isfinite(v) else "NA" for v in row)])
                    for i, row in zip(ids[sl], values.tolist())]
        yield "\n".join(body) + "\n"


def loco_files(phenotypes: Sequence[str]) -> list[str]:
    """The files :func:`write_loco_predictions` and the step-1 fingerprint make in a LOCO folder, known before
    step 1 runs (``gwas`` lists them by name in its in-progress manifest, not ``loco/`` as a whole: a rerun after
    a kill removed a user's file put there, review s39).

    Parameters
    ----------
    phenotypes : sequence of str
        The phenotype names, in order.

    Returns
    -------
    list of str
        ``<phenotype>.loco.tsv.gz`` of each, ``loco_summary.tsv`` and :data:`FINGERPRINT_FILE`.
    """
    return [f"{safe_filename(n)}.loco.tsv.gz" for n in phenotypes] + ["loco_summary.tsv", FINGERPRINT_FILE]


def write_loco_predictions(preds: LocoPredictions | LocoStore, out_dir: str | os.PathLike) -> Path:
    """Write ``<out_dir>/<phenotype>.loco.tsv.gz`` (``IID``, ``genome``, one column per chromosome; values in
    the shortest text that reads back as the same double, gzip level :data:`LOCO_GZIP_LEVEL`) and
    ``loco_summary.tsv`` (``phenotype``, ``file``, ``level1_shrinkage``, ``cv_r2``); returns ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / FINGERPRINT_FILE).unlink(missing_ok=True)   # an earlier step 1's: written again after the predictions
    rows = []
    ids = [str(i) for i in preds.sample_ids]
    header = ["IID", "genome", *(f"chr{c}" for c in preds.chromosomes)]
    for p, name in enumerate(preds.phenotypes):
        genome, loco = preds.phenotype_values(p)            # one phenotype in memory at a time
        fname = loco_files([name])[0]
        with atomic_path(out / fname) as tmp, gzip_text(tmp, level=LOCO_GZIP_LEVEL) as fh:
            fh.writelines(_loco_text(ids, genome, loco, header))
        rows.append({"phenotype": name, "file": fname,
                     "level1_shrinkage": float(preds.level1_shrinkage[p]) if len(preds.level1_shrinkage) else np.nan,
                     "cv_r2": float(preds.cv_r2[p]) if len(preds.cv_r2) else np.nan})
    write_table(pd.DataFrame(rows, columns=["phenotype", "file", "level1_shrinkage", "cv_r2"]),
                out / "loco_summary.tsv", float_format="%.6g")
    return out


def _summary_rows(loco_dir):
    """``(phenotype, file, level1_shrinkage, cv_r2)`` of each row of ``loco_summary.tsv``."""
    d = Path(loco_dir)
    summary_path = d / "loco_summary.tsv"
    if not summary_path.is_file():
        raise InputError(f"--loco-predictions {d}: no loco_summary.tsv (a <gwas out>/loco directory is expected)")
    summary = read_table(summary_path)
    for col in ("phenotype", "file"):
        if col not in summary.columns:
            raise InputError(f"{summary_path}: column {col!r} missing")
    if summary.empty:
        raise InputError(f"{summary_path}: lists no phenotype")
    nan = np.full(len(summary), np.nan)
    names = summary["phenotype"].astype(str)
    numbers = {c: numeric_values(summary[c], source=str(summary_path), column=c, ids=names, id_name="phenotype")
               if c in summary.columns else nan for c in ("level1_shrinkage", "cv_r2")}
    return list(zip(names, summary["file"].astype(str), numbers["level1_shrinkage"], numbers["cv_r2"]))


def loco_phenotype_files(loco_dir) -> dict[str, str]:
    """Phenotype -> predictions file name, as ``loco_summary.tsv`` of ``loco_dir`` lists them."""
    return {name: fname for name, fname, _s, _r in _summary_rows(loco_dir)}


def loco_sample_ids(loco_dir) -> np.ndarray:
    """The samples of step 1's predictions: the ``IID`` column of the first phenotype's file (only it parsed)."""
    d = Path(loco_dir)
    path = d / _summary_rows(d)[0][1]
    try:
        return pd.read_csv(path, sep="\t", usecols=["IID"], dtype=str)["IID"].to_numpy(dtype=str)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: unreadable predictions file ({str(exc).splitlines()[0]})") from None


def _phenotype_files(loco_dir):
    """Each phenotype's ``(name, path, sample ids, chromosomes, values [N, 1 + C], shrinkage, cv_r2)``, checked
    against the first phenotype's samples and chromosomes; one file read at a time."""
    d = Path(loco_dir)
    ids, chroms = None, []
    for name, fname, shrink, r2 in _summary_rows(d):
        path = d / fname
        if not path.is_file():
            raise InputError(f"{d / 'loco_summary.tsv'}: {fname} (phenotype {name!r}) not found in {d}")
        df = read_table(path, id_column="IID", exact_floats=True)
        cc = [c for c in df.columns if c.startswith("chr")]
        if "genome" not in df.columns or not cc:
            raise InputError(f"{path}: needs columns IID, genome and chr<name> (one per chromosome)")
        these, names = df["IID"].astype(str).to_numpy(), [c[3:] for c in cc]
        if ids is None:
            ids, chroms, first = these, names, path
        elif names != chroms:
            raise InputError(f"{path}: chromosomes {', '.join(names)} differ from {first.name}'s ({', '.join(chroms)})")
        elif not np.array_equal(ids, these):
            if len(these) != len(ids) or set(these) != set(ids):
                raise InputError(f"{path}: samples differ from {first.name}'s ({len(these)} and {len(ids)} IIDs, "
                                 f"{len(set(these) ^ set(ids))} in only one of them)")
            df = df.set_index(df["IID"].astype(str)).loc[ids].reset_index(drop=True)   # same samples, another order
        values = np.column_stack([numeric_values(df[c], source=str(path), column=c, ids=ids) for c in ("genome", *cc)])
        if not np.isfinite(values).all():
            raise InputError(f"{path}: missing or non-finite predictions")
        yield name, path, ids, chroms, values, shrink, r2


def read_loco_predictions(loco_dir: str | os.PathLike) -> LocoPredictions:
    """Read what :func:`write_loco_predictions` wrote (``--loco-predictions DIR``), all in memory."""
    rows = _summary_rows(loco_dir)
    loco, whole = [], []
    for _name, _path, ids, chroms, values, _s, _r in _phenotype_files(loco_dir):
        whole.append(values[:, 0])
        loco.append(values[:, 1:].T)
    return LocoPredictions(sample_ids=ids, phenotypes=[r[0] for r in rows], chromosomes=chroms,
                           loco_values=np.stack(loco, axis=-1), genome=np.stack(whole, axis=-1),
                           level1_shrinkage=np.array([r[2] for r in rows]), cv_r2=np.array([r[3] for r in rows]))
