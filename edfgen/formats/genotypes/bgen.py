"""BGEN 1.2/1.3 genotype probabilities (1- to 32-bit, zlib or zstd, phased or not): cbgen index, numpy decoding.

The dosage tested is the expected count of the **second** allele of each variant (Hail's
``import_bgen`` alt allele; ``plink2 --bgen ... ref-first``'s ALT): ``P(AB) + 2 P(BB)`` for
unphased and ``P(B|hap1) + P(B|hap2)`` for phased diploid probabilities; ``2 P(B)`` for a haploid sample
(ploidy 1: males on non-PAR X, Y and MT as ``plink2 --export bgen-1.2``/``bgen-1.3`` writes them; the
0/2 scale of a haploid hard call, as ``plink2 --bgen`` imports them). Samples with missing
probabilities read as NaN; a ploidy other than 1 or 2 is a bad variant (below).

Sample ids: a ``.sample`` file (Oxford format; ``ID_1`` -> ``FID``, ``ID_2`` -> ``IID``, as UK
Biobank ships them), its ids given to the BGEN's samples in file order as plink2 does, or else the ids
stored in the BGEN header. A ``.sample`` that looks like the stored ids in another order is refused
(``BgenReader._check_sample_order``).

cbgen needs a variant index (its "metafile"): it is built once into
``$EDFGEN_CACHE`` (default ``<tmp>/edfgen-bgen-index``), named by the BGEN's stat fingerprint.
A ``FILE.metafile`` next to the BGEN is not read (nothing ties it to this version of the file).

Decoding. The index gives each variant's genotype-block offset. The common layout (BGEN layout 2,
zlib, zstd or no compression, biallelic rows of haploid and diploid samples, phased or not, any bit
depth 1-32) is decoded here without cbgen (:mod:`~edfgen.formats.genotypes.bgen_decode`): the raw
blocks of a run of variants are read with one ``os.pread``, decompressed per variant (isal's zlib,
which releases the GIL, so the runs of one block are decoded by ``threads`` threads at once) and
turned into dosages with numpy for a whole batch of
variants at a time: 8-bit (and any depth up to 8) through a lookup table over the byte pair of
a sample, 16- and 32-bit and other depths arithmetically. The arithmetic is cbgen's
(``bgen_genotype_read32``: ``P = float32(x) / (2^B - 1)``, the last probability ``1 - sum``, then
:func:`~edfgen.formats.genotypes.base.dosage_from_probabilities` in float32), so both paths give the
same float32 dosages bit for bit; the ``fast=False`` reference path reads each variant through cbgen.
Multi-allelic rows read as missing. BGEN 1.1 (layout 1) is refused in one line (libbgen does not read it).

Bad bytes never reach a decoder: the whole file's layout is checked when it is opened and each
genotype block as it is decoded (:mod:`~edfgen.formats.genotypes.bgen_check`: lengths, counts,
compression, ploidy 1 or 2, probability sums <= 1). A bad variant is an
:class:`~edfgen.exceptions.InputError` naming it and its byte offset, or, with ``skip_bad=True``
(``edfgen gwas --skip-bad-variants``), reads as missing and is listed by :meth:`BgenReader.bad_variants`.

References
----------
Band G, Marchini J (2018) BGEN: a binary file format for imputed genotype and haplotype data.
bioRxiv 308296. doi:10.1101/308296
"""

from __future__ import annotations

import os
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import plain_chromosome_names
from edfgen.formats.genotypes.base import (
    MISSING_INT8,
    GenotypeReader,
    as_dtype,
    check_index,
    check_unique_iids,
    dosage_from_probabilities,
    index_cache,
    make_index_cache,
    to_int8,
    variant_table,
)
from edfgen.formats.genotypes.bgen_check import block_problem, scan_bgen
from edfgen.formats.genotypes.bgen_decode import decode_rows


def read_oxford_sample(path: str | Path, n_expected: int | None = None) -> pd.DataFrame:
    """An Oxford ``.sample`` file as ``FID, IID`` (``ID_1``, ``ID_2``) plus its other columns.

    The second line (column types ``0 0 0 D ...``) is checked and skipped: a file without it is an error
    naming line 2 (its first sample would be lost; plink2: "Unrecognized .sample variable type").
    """
    path = Path(path)
    try:
        types = pd.read_csv(path, sep=r"\s+", dtype=str, nrows=1, header=None, skiprows=[0], keep_default_na=False)
        tab = pd.read_csv(path, sep=r"\s+", dtype=str, skiprows=[1], keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: unreadable .sample file ({str(exc).strip().splitlines()[0][:200]})") from None
    line2 = [str(t) for t in types.iloc[0]] if len(types) else []
    if line2[:3] != ["0"] * min(3, len(line2)) or not {t.upper() for t in line2[3:]} <= set("0DCPB"):
        raise InputError(f"{path}: line 2 must be the column types (0 0 0, then D, C, P or B per column), not "
                         f"{' '.join(line2)[:60]!r}: the type line is missing?")
    if list(tab.columns[:2]) != ["ID_1", "ID_2"]:
        raise InputError(f"{path}: a .sample file starts with the columns ID_1 ID_2 (has {' '.join(tab.columns[:3])})")
    short = (tab == "").any(axis=1).to_numpy()
    if short.any():
        raise InputError(f"{path}: line {int(short.argmax()) + 3} has fewer than {tab.shape[1]} fields")
    if n_expected is not None and len(tab) != n_expected:
        raise InputError(f"{path}: {len(tab)} samples but the BGEN has {n_expected}")
    tab.insert(0, "FID", tab["ID_1"])
    tab.insert(1, "IID", tab["ID_2"])
    check_unique_iids(tab, str(path))
    return tab


def _cache_dir() -> Path:
    return Path(index_cache("edfgen-bgen-index"))


class BgenReader(GenotypeReader):
    """Reader of one BGEN file.

    Parameters
    ----------
    path
        The ``.bgen`` file.
    sample
        Oxford ``.sample`` file (required when the BGEN stores no sample ids).
    threads
        Threads decompressing and decoding the variants of one :meth:`read` (None: the CPUs this
        process may use, at most 8).
    fast
        Decode the common layouts here (see the module docstring); False reads every variant
        through cbgen (the reference path the tests compare with).
    skip_bad
        A variant whose genotype block is bad (corrupt compression, a ploidy above 2, probabilities
        summing above 1, ...) reads as missing and is recorded (:meth:`bad_variants`) instead of
        being an error.

    Raises
    ------
    InputError
        A file whose layout does not check (:func:`~edfgen.formats.genotypes.bgen_check.scan_bgen`), when
        opened; a bad genotype block (named by variant id and byte offset) when read, unless ``skip_bad``.
    """

    kind = "bgen"

    def __init__(self, path: str | Path, *, sample: str | Path | None = None, threads: int | None = None,
                 fast: bool = True, skip_bad: bool = False):
        from cbgen import bgen_file, bgen_metafile

        self.path = str(path)
        self.sample = str(sample) if sample else None
        if not Path(self.path).exists():
            raise InputError(f"--bgen {self.path}: file not found")
        if self.sample and not Path(self.sample).exists():
            raise InputError(f"--sample {self.sample}: file not found")
        self.label = self.path
        self.skip_bad = skip_bad
        self._bad: dict[int, str] = {}
        self._layout = scan_bgen(self.path)      # before cbgen reads a byte of it
        if self._layout.layout == 1:
            # bits=16: 1.1 stores probabilities in 1/32768 steps; 8 bits would round them to 1/255 (s35d)
            raise InputError(f"--bgen {self.path}: BGEN 1.1 (layout 1) is not read; convert it with plink2 --bgen "
                             f"{self.path} ref-first --export bgen-1.2 bits=16")
        try:
            self._bgen = bgen_file(self.path)
        except Exception as exc:  # cbgen raises RuntimeError with the C library's message
            raise InputError(f"--bgen {self.path}: not a readable BGEN file ({exc})") from None
        n = self._bgen.nsamples
        if self.sample:
            self.samples = read_oxford_sample(self.sample, n)
            if self._bgen.contain_samples:
                self._check_sample_order()
        elif self._bgen.contain_samples:
            try:
                ids = pd.Series(self._bgen.read_samples()).str.decode("utf-8", errors="strict")
            except UnicodeDecodeError as exc:
                raise InputError(f"--bgen {self.path}: a sample id is not UTF-8 text ({exc})") from None
            odd = ids.str.contains(r"[\s\x00-\x1f\x7f]|^$", regex=True).to_numpy()
            if odd.any():
                raise InputError(f"--bgen {self.path}: sample id {int(odd.argmax()) + 1} ({ids.iloc[int(odd.argmax())]!r}) "
                                 "is empty or has blanks or control characters")
            self.samples = pd.DataFrame({"FID": ids.to_numpy(), "IID": ids.to_numpy()})
            check_unique_iids(self.samples, self.path)
        else:
            raise InputError(f"--bgen {self.path}: stores no sample ids; give its --sample file")
        meta = self._variant_index()
        fields = {"id": "id", "rsid": "rsid", "chrom": "chromosome", "pos": "position", "nalleles": "nalleles",
                  "alleles": "allele_ids", "offset": "offset"}
        parts: dict[str, list[np.ndarray]] = {k: [] for k in fields}
        try:
            with bgen_metafile(meta) as mf:    # column arrays per partition, joined once (no frame per partition)
                for i in range(mf.npartitions):
                    v = mf.read_partition(i).variants
                    for k, attr in fields.items():
                        parts[k].append(getattr(v, attr))
        except Exception as exc:  # noqa: BLE001 - as above
            raise InputError(f"--bgen {self.path}: its variant index {meta} cannot be read ({str(exc).strip()[:200]}; "
                             "delete it: it is rebuilt)") from None
        tab = pd.DataFrame({k: _text(np.concatenate(a), self.path) if k in ("id", "rsid", "chrom", "alleles") else
                            np.concatenate(a) for k, a in parts.items()} if parts["id"] else {k: [] for k in fields})
        split = [a.split(",", 2) for a in tab["alleles"].tolist()]
        alleles = pd.DataFrame({0: [a[0] for a in split], 1: [a[1] if len(a) > 1 else "." for a in split]},
                               dtype=object)
        # the variant id: the rsid field when it holds an id, else the id field, else chr:pos:a1:a2
        vid = tab["rsid"].where(~tab["rsid"].isin(["", "."]), tab["id"])
        none = vid.isin(["", "."])
        if none.any():
            vid[none] = (plain_chromosome_names(tab["chrom"][none]) + ":" + tab["pos"][none].astype(str)
                         + ":" + alleles[0][none] + ":" + alleles[1][none])
        for what, col in (("variant id", vid), ("allele", tab["alleles"])):   # they end up in tab-separated files
            odd = col.str.contains(r"[\s\x00-\x1f\x7f]", regex=True).to_numpy()
            if odd.any():
                k = int(odd.argmax())
                raise InputError(f"--bgen {self.path}: variant {k + 1}: {what} {col.iloc[k][:60]!r} has blanks or "
                                 "control characters")
        self.variants = variant_table(tab["chrom"], tab["pos"], vid, alleles[1], alleles[0], tab["nalleles"],
                                      source=self.path)
        self._offsets = tab["offset"].to_numpy(dtype=np.uint64)
        if len(self._offsets) != self._layout.n_variants or (self._offsets.astype(np.int64) != self._layout.starts).any():
            raise InputError(f"--bgen {self.path}: its variant index {meta} does not match the file "
                             "(delete the index: it is rebuilt)")
        self.threads = max(1, int(threads)) if threads else min(8, len(os.sched_getaffinity(0))
                                                                  if hasattr(os, "sched_getaffinity") else 1)
        self._fd = None
        self._decompress = None
        if fast:
            self._open_fast()

    def _variant_index(self) -> Path:
        """cbgen's variant index ("metafile") of this BGEN in the cache (:func:`_cache_dir`), named by the
        BGEN's :meth:`fingerprint` (size, mtime and a digest of its first and last MiB) and built once,
        atomically. A ``FILE.metafile`` next to the BGEN is not read: nothing ties it to this version of the
        file (a BGEN replaced with older mtime and the same block offsets kept the old index's positions).

        Raises
        ------
        InputError
            The cache cannot be written, or cbgen cannot index the file; names the BGEN and the folder.
        """
        meta = _cache_dir() / f"{Path(self.path).name}.{self.fingerprint()}.metafile"
        if meta.exists():
            return meta
        make_index_cache(meta.parent, f"--bgen {self.path}")
        tmp = meta.with_suffix(f".tmp{os.getpid()}")
        try:
            self._bgen.create_metafile(tmp, verbose=False)
            os.replace(tmp, meta)
        except Exception as exc:  # noqa: BLE001 - cbgen raises RuntimeError with libbgen's message
            raise InputError(f"--bgen {self.path}: cbgen cannot write its index to {meta.parent} "
                             f"({str(exc).strip()[:200]})") from None
        finally:
            tmp.unlink(missing_ok=True)
        return meta

    def _check_sample_order(self) -> None:
        """Refuse a ``.sample`` that lists the BGEN's stored ids in another order (a shuffled or another
        file's ``.sample``): its ids would be given to the wrong genotypes. plink2 uses the ``.sample`` ids
        in file order whatever the BGEN stores, and so does edfgen, except where that is ambiguous: of the
        rows whose ``.sample`` id differs from the stored one, at least half carry an id the BGEN stores on
        another row (a reordering, or a shift), rather than a new id (a rename). A rename whose new ids
        equal other samples' stored ids now and then (re-pseudonymised ids drawn from the same range) is
        used, as in plink2. The ``.sample`` rows are compared with the stored ids by whichever of IID, FID and
        ``FID_IID`` (what ``plink2 --export bgen-1.2`` stores for a fileset with FIDs while its ``.sample`` holds
        them apart) matches the most stored ids."""
        stored = pd.Series(self._bgen.read_samples()).str.decode("utf-8", errors="replace")
        row = pd.Series(np.arange(len(stored)), index=stored.to_numpy())
        row = row[~row.index.duplicated()]
        iid = self.samples["IID"].astype(str)
        keys = [iid]
        if "FID" in self.samples.columns:
            fid = self.samples["FID"].astype(str)
            keys += [fid + "_" + iid, fid]
        key = max(keys, key=lambda k: int(k.isin(row.index).sum()))   # IID first on ties
        at = key.map(row).to_numpy(dtype=float)
        moved = np.flatnonzero(~np.isnan(at) & (at != np.arange(len(at))))
        new = int(np.isnan(at).sum())
        if len(moved) and len(moved) >= new:
            i = int(moved[0])
            raise InputError(f"--sample {self.sample}: sample {key.iloc[i]!r} is on row {i + 1} "
                             f"but on row {int(at[i]) + 1} of the ids stored in --bgen {self.path} ({len(moved)} "
                             f"such samples, {new} new ids): the .sample lists them in another order, or belongs "
                             "to another file (if it is right, e.g. ids renumbered within the same range, rewrite "
                             "the BGEN with these ids: plink2 --bgen FILE ref-first --sample S --export bgen-1.2)")

    def paths(self) -> list[str]:
        return [self.path] + ([self.sample] if self.sample else [])

    def _open_fast(self) -> None:
        """Set up the fast decoder when the file's layout and compression allow it."""
        lay = self._layout
        if not hasattr(os, "pread") or not len(self._offsets) or lay.layout != 2:
            return
        self._decompress = _decompressor(lay.compression)
        if self._decompress is None:
            return
        self._starts, self._ends = lay.starts, lay.ends        # checked by scan_bgen
        self._compression = lay.compression
        self._fd = os.open(self.path, os.O_RDONLY)

    def bad_variants(self) -> dict[int, str]:
        """Rows of :attr:`variants` whose genotype blocks are bad, with the reason: every biallelic variant
        is decoded once (int8) with ``skip_bad`` on."""
        skip, self.skip_bad = self.skip_bad, True
        try:
            for _ in self.blocks(dtype=np.int8):
                pass
        finally:
            self.skip_bad = skip
        return dict(sorted(self._bad.items()))

    def _problem(self, v: int) -> str | None:
        """What is wrong with variant ``v``'s genotype block (None: a decoder may read it)."""
        start, end = int(self._layout.starts[v]), int(self._layout.ends[v])
        with open(self.path, "rb") as fh:
            fh.seek(start)
            raw = fh.read(end - start)
        return block_problem(raw, self._layout.layout, self._layout.compression, self.n_samples)

    def _reject(self, v: int, why: str) -> None:
        """A bad variant: recorded when ``skip_bad``, else the error that names it."""
        if self.skip_bad:
            self._bad[int(v)] = why
            return
        row = self.variants.iloc[int(v)]
        raise InputError(f"--bgen {self.path}: variant {row['variant_id']} (number {int(v) + 1}, byte offset "
                         f"{int(self._layout.starts[v])}): {why}; --skip-bad-variants sets such variants aside")

    def read(self, sample_idx, variant_idx, *, dtype=np.float32) -> np.ndarray:
        vidx = check_index(variant_idx, self.n_variants, "variant", self.label)
        sidx = None if sample_idx is None else check_index(sample_idx, self.n_samples, "sample", self.label)
        if self._fd is None:
            return as_dtype(self._read_cbgen(sidx, vidx), dtype)
        n = self.n_samples if sidx is None else len(sidx)
        ok = self.variants["n_alleles"].to_numpy()[vidx] == 2
        uv, inv = np.unique(vidx[ok], return_inverse=True)
        hard = np.dtype(dtype) == np.int8                     # int8 hard calls decoded directly (LD, clumping)
        rows = np.empty((len(uv) + 1, n), dtype=np.int8 if hard else np.float32)
        rows[-1] = MISSING_INT8 if hard else np.nan             # the last row: not biallelic
        pieces = max(1, min(self.threads, len(uv) // 64))
        bounds = np.linspace(0, len(uv), pieces + 1).astype(int)
        jobs = [(uv[a:b], a) for a, b in zip(bounds[:-1], bounds[1:])]
        if pieces == 1:
            failed = [self._decode_into(rows, jobs[0][0], jobs[0][1], sidx)]
        else:
            with ThreadPoolExecutor(pieces) as ex:
                failed = list(ex.map(lambda job: self._decode_into(rows, job[0], job[1], sidx), jobs))
        for r in (r for f in failed for r in f):          # rows the fast decoder did not decode
            d = self._dosage_cbgen(int(uv[r]), sidx)       # (all bad: checked, then set aside or an error)
            rows[r] = to_int8(d) if hard else d
        if ok.all() and len(uv) == len(vidx) and (uv == vidx).all():
            out = rows[:-1].T
        else:
            cols = np.full(len(vidx), len(uv))
            cols[ok] = inv
            out = rows[cols].T
        return out if hard else as_dtype(out, dtype)

    #: decompressed bytes decoded at once per thread: bounds the memory beside the block (peak RSS over
    #: the cbgen path at N = 10,000, 2 threads: 32 MiB +320 MiB, 8 MiB +50 MiB, 4 MiB +10 MiB; same CPU)
    BATCH_BYTES = 4 << 20
    #: a gap larger than this between wanted variants starts a new pread
    MAX_GAP = 1 << 20

    def _decode_into(self, rows: np.ndarray, vs: np.ndarray, row0: int, sidx: np.ndarray | None) -> list[int]:
        """Dosages of the variants ``vs`` (sorted) into ``rows[row0:]``; rows it could not decode."""
        failed: list[int] = []
        N = self.n_samples
        per_variant = max(1, 10 + 5 * N)               # decompressed bytes at 16 bits
        batch = max(1, self.BATCH_BYTES // per_variant)
        for a in range(0, len(vs), batch):
            part = vs[a:a + batch]
            bufs = self._raw_blocks(part)
            dec: list[bytes | None] = []
            for payload, length in bufs:
                try:
                    d = self._decompress(payload, length)
                except Exception:                      # noqa: BLE001 - cbgen reports the error
                    d = None
                dec.append(d if d is not None and len(d) == length else None)
            by_len: dict[int, list[int]] = {}
            for i, d in enumerate(dec):
                if d is None:
                    failed.append(row0 + a + i)
                else:
                    by_len.setdefault(len(d), []).append(i)
            for length, idx in by_len.items():
                arr = np.frombuffer(b"".join([dec[i] for i in idx]), dtype=np.uint8).reshape(len(idx), length)
                target = row0 + a + np.asarray(idx)
                direct = idx[-1] - idx[0] == len(idx) - 1          # consecutive rows: decode in place
                dos, bad = decode_rows(arr, N, sidx, rows[target[0]:target[-1] + 1] if direct else None,
                                        hard=rows.dtype == np.int8)
                if dos is not None and not direct:
                    rows[target[~bad]] = dos[~bad]
                failed.extend(int(t) for t in target[bad])
        return failed

    def _raw_blocks(self, vs: np.ndarray) -> list[tuple[memoryview, int]]:
        """``(compressed payload, decompressed length)`` of each variant, read in runs of nearby blocks."""
        starts, ends = self._starts[vs], self._ends[vs]
        cut = np.flatnonzero(starts[1:] - ends[:-1] > self.MAX_GAP) + 1
        out = []
        for a, b in zip(np.r_[0, cut], np.r_[cut, len(vs)]):
            base = int(starts[a])
            data = os.pread(self._fd, int(ends[b - 1]) - base, base)
            mv = memoryview(data)
            for o in (starts[a:b] - base).tolist():
                c, d = struct.unpack_from("<II", data, o)
                if self._compression:
                    out.append((mv[o + 8:o + 4 + c], d))
                else:
                    out.append((mv[o + 4:o + 4 + c], c))
        return out

    def _dosage_cbgen(self, v: int, sidx: np.ndarray | None) -> np.ndarray:
        why = self._problem(v)
        if why is not None:
            self._reject(v, why)
            return np.full(self.n_samples if sidx is None else len(sidx), np.nan, dtype=np.float32)
        try:
            gt = self._bgen.read_genotype(int(self._offsets[v]), precision=32)
        except Exception as exc:  # noqa: BLE001 - cbgen raises RuntimeError
            self._reject(v, f"cbgen cannot read it ({str(exc).strip()[:200]})")
            return np.full(self.n_samples if sidx is None else len(sidx), np.nan, dtype=np.float32)
        probs, ploidy = gt.probability, np.asarray(gt.ploidy)
        d = np.full(len(probs), np.nan, dtype=np.float32)    # (< 3 columns: no diploid sample in the block)
        try:
            d = dosage_from_probabilities(probs) if probs.shape[1] > 2 else d
        except ValueError as exc:
            row = self.variants.iloc[int(v)]
            raise InputError(f"--bgen {self.path}: variant {row['variant_id']}: {exc}") from None
        if probs.shape[1] > 1:
            d = np.where(ploidy == 1, np.float32(2) * probs[:, 1], d)         # haploid: 2 P(B)
        d = np.where(ploidy == 0, np.float32(np.nan), d)                      # ploidy 0: missing
        return d if sidx is None else d[sidx]

    def _read_cbgen(self, sidx: np.ndarray | None, vidx: np.ndarray) -> np.ndarray:
        """Dosages through cbgen, one variant at a time (the reference path)."""
        n = self.n_samples if sidx is None else len(sidx)
        out = np.empty((n, len(vidx)), dtype=np.float32, order="F")
        nall = self.variants["n_alleles"].to_numpy()
        for j, v in enumerate(vidx):
            out[:, j] = self._dosage_cbgen(int(v), sidx) if nall[v] == 2 else np.nan
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._bgen.close()


def _text(a: np.ndarray, path: str) -> np.ndarray:
    """Byte strings (numpy ``S``) as an object array of ``str`` (UTF-8)."""
    try:
        return a.astype(str).astype(object)          # ASCII: one C loop
    except UnicodeDecodeError:
        try:
            return np.array([x.decode("utf-8") for x in a.tolist()], dtype=object)
        except UnicodeDecodeError as exc:
            raise InputError(f"--bgen {path}: a variant id, chromosome or allele is not UTF-8 text ({exc})") from None


def _decompressor(compression: int):
    """``f(payload, length) -> bytes`` for a BGEN compression flag (0 none, 1 zlib, 2 zstd), or None."""
    if compression == 0:
        return lambda payload, length: bytes(payload)
    if compression == 1:
        from isal import isal_zlib

        return lambda payload, length: isal_zlib.decompress(payload, bufsize=max(length, 1))
    if compression == 2:
        try:
            from compression import zstd  # Python >= 3.14

            return lambda payload, length: zstd.decompress(payload)
        except ImportError:
            pass
        try:
            import zstandard
        except ImportError:
            return None
        local = __import__("threading").local()

        def unzstd(payload, length):
            dctx = getattr(local, "dctx", None)
            if dctx is None:
                dctx = local.dctx = zstandard.ZstdDecompressor()
            return dctx.decompress(payload, max_output_size=length)

        return unzstd
    return None
