"""EDFs: a frozen encoder turns each participant's 12-lead ECG(s) into a row of ECG-derived features.

Pipeline
--------
``ECG files ▸ read (edfgen.formats.ecg.records) ▸ preprocess (the checkpoint's own Preprocessing) ▸ two 5 s crops
▸ model.embed (final layer averaged over time) ▸ mean over the crops ▸ mean over a participant's ECGs``

* The encoder is frozen: ``eval()`` and ``torch.inference_mode()``.
* Each 10 s window ``[12, 5000]`` is split into ``window_s / crop_s`` non-overlapping crops (two 5 s
  halves); the EDF of an ECG is the mean of its crops' embeddings.
* A participant with several ECGs (``id_map``: ``record → IID``) gets the **unweighted mean of the EDFs
  of their accepted ECGs** (rejected ECGs do not count).

Streaming and resume
--------------------
Records are listed first (cheap), then read and preprocessed in batches (in ``workers`` processes when
``workers > 0``, with a bounded number of batches in flight) while the main process runs the model.
Every ``chunk_size`` records the EDFs and rejects are written atomically to ``<out>.parts/chunk_*.npz``
with each record's input fingerprint (:func:`edfgen.formats.manifest.stat_key` of every file of the record:
a WFDB header and its signal files); the records in those files are the done-list. A killed run, rerun
with the same arguments, skips the records whose files are unchanged and recomputes those whose
files changed (same names, other signals), so a resumed table never mixes in stale results. The
parts are discarded if the checkpoint's weights or its model config, the preprocessing or quality
thresholds changed (:mod:`edfgen.commands.extract_parts`), and removed when
a run that created them fails with an input error. When every record is done the tables are
assembled, written atomically, and ``<out>.parts/`` is removed. Memory is bounded by ``chunk_size``
EDF rows plus the batches in flight, whatever the number of ECGs; a batch holds each record cropped to its
window and filter margins (a reader holds one full record at a time, however long). Files under ``<out>.parts/`` and
edfgen temporary files are never read as ECGs (``--out`` may lie inside the ``--ecg`` folder).

Outputs (beside ``out``, every side file named after it, so that several tables can share a folder)
---------------------------------------------------------------------------------------------------
``out``                       ``IID, edf_001 … edf_D`` (TSV or parquet by extension)
``<out>.pheno``               PLINK ``--pheno`` file: ``FID IID edf_…`` (FID of ``fam``, else = IID; missing = ``NA``)
``<out>.rejects.tsv``         ``record, path, reason`` for each record not used
``<out>.notes.tsv``           ``record, path, note`` for each note on a record used (leads zeroed, samples cut,
                              clipping, ...; :mod:`edfgen.commands.extract_notes`)
``<out>.pca.tsv``             with ``pca``: ``IID, PC1 … PCk``
``<out>.pca_loadings.tsv``    with ``pca``: ``edf, mean, sd, PC1 … PCk`` (project new data with them)
``<out>.manifest.json``       provenance, with the checkpoint sha256 and preprocessing; ``--force``
                              replaces only the files it lists
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import multiprocessing as mp
import os
import signal
import sys
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Sequence

import numpy as np
import pandas as pd

from edfgen import DEFAULT_CHECKPOINT
from edfgen.commands.options import CommandOptions, force_opt, opt, out_opt, threads_opt
from edfgen.formats.paths import file_args
from edfgen.commands.extract_ids import check_fam, pheno_table, read_fam_fids, read_id_map
from edfgen.commands.extract_notes import NOTE_COLUMNS, ordered_notes, report_notes
from edfgen.commands.extract_parts import (check_parts, discard_parts, open_parts, own_file, parts_dir,
                                           record_fingerprints, resume_state, write_chunk)
from edfgen.exceptions import EdfgenError, InputError, OutputError
from edfgen.formats.ecg.records import REJECT_COLUMNS, RecordRef, discover_records, read_records_iter
from edfgen.formats.manifest import anchored, listed_outputs, read_manifest, recording
from edfgen.formats.tables import claimed_out_file, clean_temp_files, write_table
from edfgen.kernels.ecg.preprocess import DEFAULT_QUALITY, QualityThresholds, preprocess_many
from edfgen.commands.extract_quality import HELP as QUALITY_HELP, quality_thresholds
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.kernels.edf import edf_pca, embed_windows
from edfgen.model.device import DEVICES, PRECISIONS, load_model
from edfgen.progress import progress

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- names
def edf_columns(d: int) -> list[str]:
    """``edf_001 … edf_D`` (zero-padded to at least 3 digits)."""
    width = max(3, len(str(d)))
    return [f"edf_{i:0{width}d}" for i in range(1, d + 1)]


# --------------------------------------------------------------------------- workers


def default_workers(cores: int | None = None) -> int:
    """Reader processes when ``--workers`` is not given: ``min(4, cores // 2)`` (1 on 2 cores: reading and
    filtering overlap the model)."""
    return min(4, (cores or os.cpu_count() or 1) // 2)


def default_model_threads(workers: int, cores: int | None = None) -> int:
    """Torch threads for the model beside ``workers`` reader processes: the cores they leave, and at least 2
    on a machine of 2 cores or more (a reader is idle most of the time: the model costs ~4x the reading per
    ECG). Torch's threads wait passively (``edfgen.model`` sets ``OMP_WAIT_POLICY=PASSIVE``), so sharing a core
    with a reader costs little; on 2 quiet cores 1 reader + 2 threads gave 102 ECGs/s against 79 with 1 thread
    (``benchmarks/results/extract_defaults_quiet.md``)."""
    cores = cores or os.cpu_count() or 1
    return max(cores - workers, min(2, cores))


def _load_batch(refs: Sequence[RecordRef], prep: Preprocessing, fs: float | None,
                quality: QualityThresholds) -> tuple[list[str], np.ndarray, list[tuple[str, str, str]],
                                                     list[tuple[str, str, str]]]:
    """Read + preprocess a batch (runs in a worker process): ids, signals, rejects, notes of kept records."""
    b = preprocess_many(read_records_iter(refs, fs=fs), prep, quality=quality)
    return b.record_ids, b.signals, b.rejects, b.notes


def _worker_init(parent_pid: int | None = None) -> None:  # pragma: no cover - runs in children
    """Reader process set-up: die with the parent (a killed run leaves no orphaned readers).

    Readers are forked (fast, and works from scripts without a ``__main__`` guard). They ignore Ctrl-C (SIGINT,
    sent to the whole process group): the parent stops them, instead of every reader printing a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if parent_pid is not None and os.getppid() != parent_pid:  # parent died before prctl
            os._exit(1)
    # readers use numpy/scipy only; torch (its OpenMP pool is not fork-safe) is never touched here


class _Loader:
    """Batches of (ids, signals, rejects, notes) in order, from a process pool with bounded look-ahead."""

    def __init__(self, batches: list[list[RecordRef]], prep, fs, quality, workers: int):
        self.batches, self.prep, self.fs, self.quality, self.workers = batches, prep, fs, quality, workers

    def __iter__(self):
        if self.workers <= 0:
            for b in self.batches:
                yield _load_batch(b, self.prep, self.fs, self.quality)
            return
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_worker_init,
                                    initargs=(os.getpid(),)) as pool:
            pending: deque = deque()
            it = iter(self.batches)
            for b in it:
                pending.append(pool.submit(_load_batch, b, self.prep, self.fs, self.quality))
                if len(pending) >= 2 * self.workers + 1:
                    break
            while pending:
                res = pending.popleft().result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(pool.submit(_load_batch, nxt, self.prep, self.fs, self.quality))
                yield res


def side_files(out: str | os.PathLike, *, pca: int | None = None) -> dict[str, Path]:
    """The side files of the EDF table ``out``, named after it: ``pheno``, ``rejects``, ``notes``, ``manifest``
    (and ``pca``, ``pca_loadings`` with ``pca``)."""
    out = Path(out)
    names = {"pheno": ".pheno", "rejects": ".rejects.tsv", "notes": ".notes.tsv", "manifest": ".manifest.json"}
    if pca:
        names.update(pca=".pca.tsv", pca_loadings=".pca_loadings.tsv")
    return {k: out.with_name(out.name + v) for k, v in names.items()}


# --------------------------------------------------------------------------- main entry
@dataclass(frozen=True)
class ExtractResult:
    """What :func:`extract_edfs` wrote.

    Attributes
    ----------
    table, pheno, rejects, manifest
        Paths of the EDF table, PLINK pheno file, rejects and manifest.
    notes
        Path of the notes on the records used (``<out>.notes.tsv``).
    pca, pca_loadings
        Paths of the PCA outputs (``None`` without ``pca``).
    n_records, n_rejected, n_participants, n_edfs
        Counts: ECG records found, rejected, participants in the table, EDF dimension.
    resumed
        Records taken from a previous, interrupted run.
    checkpoint_sha256, extra
        The sha256 of the encoder checkpoint used (as in the manifest); further values (none yet).
    """

    table: Path
    pheno: Path
    rejects: Path
    manifest: Path
    n_records: int
    n_rejected: int
    n_participants: int
    n_edfs: int
    resumed: int = 0
    pca: Path | None = None
    pca_loadings: Path | None = None
    checkpoint_sha256: str = ""
    notes: Path | None = None
    extra: dict = field(default_factory=dict)


def extract_edfs(ecg: Iterable[str | os.PathLike] | str | os.PathLike, out: str | os.PathLike, *,
                 checkpoint: Any = DEFAULT_CHECKPOINT, batch_size: int = 64, workers: int | None = None, pca: int | None = None,
                 id_map: str | os.PathLike | None = None, fam: str | os.PathLike | None = None,
                 force: bool = False, fs: float | None = None,
                 chunk_size: int = 2048, quality: QualityThresholds = DEFAULT_QUALITY,
                 threads: int | None = None, device: str = "auto", precision: str = "auto",
                 on_chunk: Callable[[int, int], None] | None = None) -> ExtractResult:
    """Extract EDFs for every ECG under ``ecg`` and write the EDF table ``out`` (see module docstring).

    Parameters
    ----------
    ecg
        Files and/or directories (WFDB, ``.npy``, ``.npz``, HDF5; see :mod:`edfgen.formats.ecg.records`).
    out
        EDF table path; ``.parquet`` for parquet, else TSV (``.tsv``, ``.tsv.gz``).
    checkpoint
        Shipped name (default ``"small"``; ``"tiny"``), checkpoint path, or an already loaded model object with
        ``model``, ``preprocessing`` and ``sha256`` attributes.
    batch_size
        ECGs per model call (and per reading task).
    workers
        Processes that read and preprocess ECGs (0: in the main process). Default
        :func:`default_workers`.
    pca
        If given, also write the first ``pca`` principal components of the EDFs and their loadings.
    id_map
        TSV/CSV with columns ``record, IID``: participants with several ECGs get the mean of their
        ECGs' EDFs; records absent from the map are rejected.
    fam
        The genotypes' ``.fam`` or ``.psam``: ``<out>.pheno`` takes its FIDs (:mod:`edfgen.commands.extract_ids`);
        without it FID = IID.
    force
        Overwrite an existing ``out``. (Partial work of an interrupted run is always reused when the
        checkpoint and preprocessing are unchanged.)
    fs
        Sampling rate for files that carry none (``.npy``).
    chunk_size
        Records per durable chunk (resume granularity; bounds memory).
    quality
        Quality-check thresholds (:class:`edfgen.kernels.ecg.preprocess.QualityThresholds`).
    threads
        Torch intra-op threads for the model while extracting (restored afterwards). Default: torch's
        setting without ``workers``, else :func:`default_model_threads`.
    device, precision
        Where the model runs, its autocast type (:func:`edfgen.model.device.load_model`), as
        ``edfgen extract --device --precision``: ``"auto"`` (default) runs on CUDA or MPS when available,
        with bf16/fp16 autocast on CUDA, else the float32 model on the CPU; ``device="cpu"``, ``precision="fp32"``
        gives the same numbers on any machine.
    on_chunk
        Called as ``on_chunk(chunk_index, n_done)`` after each chunk is durably written.

    Returns
    -------
    ExtractResult

    Raises
    ------
    InputError
        Missing input paths, existing ``out`` without ``force``, bad id map, no usable record, another
        ``edfgen extract`` (or command) writing into the same folder.
    """
    if not str(out).strip():  # was: "--out : is a directory; ... (e.g. /edfs.tsv)" (Path('') is '.')
        raise InputError("--out '': empty; give the EDF table's file name (e.g. edfs/edfs.tsv)")
    if str(out).endswith(("/", os.sep)) or Path(out).is_dir():   # (every other command's --out is a folder)
        raise InputError(f"--out {out}: is a directory; give the EDF table's file name (e.g. "
                         f"{str(out).rstrip('/' + os.sep)}/edfs.tsv)")
    # one writer of this folder's EDF table at a time, from the checks to the last file (a second extract into the
    # same --out replaced the first's table, or resumed from chunks the first was still writing)
    with claimed_out_file(out, command="edfgen extract") as out:
        return _extract_locked(ecg, out, checkpoint=checkpoint, batch_size=batch_size, workers=workers, pca=pca,
                               id_map=id_map, fam=fam, force=force, fs=fs, chunk_size=chunk_size, quality=quality,
                               threads=threads, device=device, precision=precision, on_chunk=on_chunk)


def _extract_locked(ecg, out: Path, *, checkpoint, batch_size, workers, pca, id_map, fam, force, fs, chunk_size, quality,
                    threads, device, precision, on_chunk) -> ExtractResult:
    """:func:`extract_edfs` once its folder's write lock is held."""
    import torch

    paths = file_args(ecg, "--ecg")
    _check_out(out, pca=pca, force=force)
    if batch_size < 1 or chunk_size < 1:
        raise InputError(f"--batch-size {batch_size}: must be >= 1")
    if workers is None:
        workers = default_workers()
    old_threads = torch.get_num_threads()
    if not threads and workers > 0:
        threads = default_model_threads(workers)
    try:   # from here on: a bad checkpoint must not leave the caller's torch thread count changed
        if threads:
            torch.set_num_threads(int(threads))
        checkpoint = load_model(checkpoint, device, precision)  # (on the CPU: the float32 model as loaded)
        return _extract(paths, out, checkpoint=checkpoint, batch_size=batch_size, workers=workers, pca=pca,
                        id_map=id_map, fam=fam, fs=fs, chunk_size=chunk_size, quality=quality, on_chunk=on_chunk)
    finally:
        torch.set_num_threads(old_threads)


def _check_out(out: Path, *, pca: int | None, force: bool) -> None:
    """Refuse, before any work, an ``out`` (or side file) that exists without ``force``, or that an
    earlier ``edfgen extract`` did not write (not listed in ``<out>.manifest.json``) even with it, and a
    ``<out>.parts`` it did not write (:func:`~edfgen.commands.extract_parts.check_parts`)."""
    if out.is_dir():
        raise InputError(f"--out {out}: is a directory; give the EDF table's file name (e.g. {out}/edfs.tsv)")
    check_parts(out)
    side = side_files(out, pca=pca)
    if out.parent.is_dir():
        clean_temp_files(out.parent, recursive=False)
    previous = read_manifest(out.parent, name=side["manifest"].name)
    if previous is not None and previous.get("command") != "edfgen extract":
        raise InputError(f"--out {out}: {side['manifest'].name} belongs to '{previous.get('command')}'")
    ours = set(listed_outputs(previous, out.parent))
    # a run killed while it wrote its final files (manifest still in progress, chunks kept) resumes without --force:
    # the files it had renamed into place are its own, rewritten from the same chunks
    resuming = previous is not None and not previous.get("finished") and parts_dir(out).is_dir()
    for p in [out, *(v for k, v in side.items() if k != "manifest")]:
        if p.exists():
            if resuming and anchored(p) in ours:
                continue
            if anchored(p) not in ours:   # (--force would not replace it either: not suggested)
                raise InputError(f"--out {out}: {p.name} exists and was not written by an earlier edfgen extract "
                                 f"(not listed in {side['manifest'].name}); move it away or choose another --out")
            if not force:
                raise InputError(f"--out {out}: {p.name} exists (use --force to replace the files of the earlier "
                                 f"extract listed in {side['manifest'].name})")


def _extract(paths, out: Path, *, checkpoint, batch_size, workers, pca, id_map, fam, fs, chunk_size, quality,
             on_chunk) -> ExtractResult:
    parts = parts_dir(out)
    created = not parts.exists()
    phase = {"encoded": False}   # set once every record is encoded: an error after that keeps the chunks
    try:
        return _extract_into(paths, out, parts, checkpoint=checkpoint, batch_size=batch_size, workers=workers,
                             pca=pca, id_map=id_map, fam=fam, fs=fs, chunk_size=chunk_size, quality=quality,
                             on_chunk=on_chunk, phase=phase)
    except EdfgenError as exc:
        # a run that fails on its input before encoding leaves nothing behind; a killed one, one that could not
        # write (disk full, OutputError), or one refused in its final write (--pca, --fam) keeps its computed
        # chunks, so that the corrected rerun resumes from them
        if created and not isinstance(exc, OutputError) and not phase["encoded"]:
            discard_parts(parts)
        raise


def _check_participants(iids: list[str], fids, *, fam, pca: int | None) -> None:
    """Refuse, before any ECG is encoded, a ``--fam`` that holds none of the participants ``iids`` and a
    ``--pca`` larger than their number (the records' names, or their ``--id-map`` IIDs)."""
    check_fam(iids, fids, fam=fam)
    n = len(set(iids))
    if pca is not None and n and not 1 <= int(pca) <= n:
        raise InputError(f"--pca {pca}: must be between 1 and the number of participants ({n})")


def _extract_into(paths, out: Path, parts: Path, *, checkpoint, batch_size, workers, pca, id_map, fam, fs, chunk_size,
                  quality, on_chunk, phase) -> ExtractResult:
    loaded = checkpoint
    model, prep = loaded.model, loaded.preprocessing
    model.eval()
    sha = str(getattr(loaded, "sha256", ""))

    refs = [r for r in discover_records(paths) if not own_file(r.path, parts)]
    if not refs:
        raise InputError(f"--ecg {', '.join(map(str, paths))}: no ECG records found")
    idmap = read_id_map(Path(id_map)) if id_map is not None else None
    fids = read_fam_fids(fam)
    early_rejects: list[tuple[str, str, str]] = []
    seen: dict[str, str] = {}
    todo_all: list[RecordRef] = []
    for r in refs:
        if r.fmt == "rejected":   # found but unusable (a dangling link, a file outside the folder): listed with its
            early_rejects.append((r.record_id, r.path, r.key[0]))   # reason; it claims no record id, so a
            continue              # usable record of the same name is still read
        if r.record_id in seen:
            this = f" of {r.where}" if r.where != r.path else ""
            early_rejects.append((r.record_id, r.path, f"duplicated record id{this} (also {seen[r.record_id]})"))
            continue
        seen[r.record_id] = r.where
        if idmap is not None and r.record_id not in idmap:
            early_rejects.append((r.record_id, r.path, f"record not in --id-map {id_map}"))
            continue
        todo_all.append(r)
    _check_participants([idmap[r.record_id] if idmap is not None else r.record_id for r in todo_all],
                        fids, fam=fam, pca=pca)

    # ---- resume state
    fps = record_fingerprints(todo_all)
    config = getattr(loaded, "config", None)
    state = resume_state(checkpoint_sha256=sha, model_config=config.to_dict() if hasattr(config, "to_dict") else None,
                         preprocessing=prep.to_dict(), quality=asdict(quality), fs=fs)
    old = open_parts(parts, state)
    # keep only what was computed from the files as they are now (a changed record is recomputed)
    valid = np.array([fps.get(i) == f for i, f in zip(old.ids, old.fps)], dtype=bool)
    done_ids = [i for i, v in zip(old.ids, valid) if v]
    done_arrays = [old.edfs[valid]] if old.edfs is not None and valid.any() else []
    done_rejects = [r for r, f in zip(old.rejects, old.reject_fps) if fps.get(r[0]) == f]
    done_notes = [n for n, f in zip(old.notes, old.note_fps) if fps.get(n[0]) == f]
    next_chunk = old.next_chunk
    done = set(done_ids) | {r[0] for r in done_rejects}
    todo = [r for r in todo_all if r.record_id not in done]
    resumed = len(todo_all) - len(todo)
    stale = len({*old.ids, *(r[0] for r in old.rejects)} & set(fps)) - resumed
    if resumed or stale:
        log.info("resuming: %d of %d records already done in %s; %d changed since, recomputed",
                 resumed, len(todo_all), parts, stale)

    # ---- stream: read/preprocess batches (workers) ▸ embed ▸ durable chunks
    d = None if not done_arrays else done_arrays[0].shape[1]
    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    per_chunk = max(1, chunk_size // batch_size)
    buf_ids: list[str] = []
    buf_edfs: list[np.ndarray] = []
    buf_rej: list[tuple[str, str, str]] = []
    buf_notes: list[tuple[str, str, str]] = []
    n_done, n_batches_in_chunk, chunk = resumed, 0, next_chunk

    def flush() -> None:
        """Make the buffered batches a durable chunk, move them to the done lists, report."""
        nonlocal n_done, n_batches_in_chunk, chunk
        write_chunk(parts, chunk, buf_ids, buf_edfs, d or 0, buf_rej, fps, buf_notes)
        n_done += len(buf_ids) + len(buf_rej)
        done_ids.extend(buf_ids)
        done_arrays.extend(buf_edfs)
        done_rejects.extend(buf_rej)
        done_notes.extend(buf_notes)
        for buf in (buf_ids, buf_edfs, buf_rej, buf_notes):
            buf.clear()
        n_batches_in_chunk = 0
        if on_chunk is not None:
            on_chunk(chunk, n_done)
        chunk += 1

    bar = progress(total=len(todo), desc="extract", unit="ECG")
    try:
        for ids, signals, rejects, notes in _Loader(batches, prep, fs, quality, workers):
            if len(ids):
                e = embed_windows(model, signals, prep)
                d = e.shape[1]
                buf_ids.extend(ids)
                buf_edfs.append(e)
            buf_rej.extend(rejects)
            buf_notes.extend(notes)
            bar.update(len(ids) + len(rejects))
            n_batches_in_chunk += 1
            if n_batches_in_chunk >= per_chunk:
                flush()
        if n_batches_in_chunk:
            flush()
    finally:
        bar.close()
    # ---- assemble (only records listed now, in discovery order)
    wanted = {r.record_id for r in todo_all}
    arr = np.concatenate([a for a in done_arrays if len(a)]) if any(len(a) for a in done_arrays) else None
    if arr is None:
        rej = [*early_rejects, *done_rejects]
        first = f", e.g. {rej[0][0]}: {rej[0][2]}" if rej else ""
        raise InputError(f"--ecg {', '.join(map(str, paths))}: no usable ECG record "
                         f"({len(rej)} rejected{first}; every reason with -v)")
    phase["encoded"] = True   # (EDFs worth keeping: an error from here on keeps the chunks for the rerun)
    row = {rid: i for i, rid in enumerate(done_ids)}
    order = [r.record_id for r in todo_all if r.record_id in row]
    arr = arr[[row[rid] for rid in order]]
    d = arr.shape[1]
    cols = edf_columns(d)
    iids = [idmap[rid] for rid in order] if idmap is not None else order
    frame = pd.DataFrame(arr.astype(np.float64), columns=cols)
    frame.insert(0, "IID", iids)
    if idmap is not None:
        frame = frame.groupby("IID", sort=False).mean().reset_index()  # mean of a participant's ECGs
    rej_rows = early_rejects + [r for r in done_rejects if r[0] in wanted]
    rej_df = pd.DataFrame(rej_rows, columns=REJECT_COLUMNS)
    for rid, p, reason in rej_rows[:20]:
        log.info("rejected %s (%s): %s", rid, p, reason)

    out_dir = out.parent if str(out.parent) else Path(".")
    side = side_files(out, pca=pca)
    pheno, rejects_path, notes_path = side["pheno"], side["rejects"], side["notes"]
    note_rows = ordered_notes(done_notes, order)   # (the notes of the records in the table, resumed ones included)
    note_counts = report_notes(note_rows, notes_name=notes_path.name, window_s=prep.window_s,
                               max_flat_leads=quality.max_flat_leads)
    params = {"ecg": [str(p) for p in paths], "out": str(out), "checkpoint": str(getattr(loaded, "path", checkpoint)),
              "batch_size": batch_size, "workers": workers, "pca": pca, "id_map": str(id_map) if id_map else None,
              "fam": str(fam) if fam else None,
              "fs": fs, "chunk_size": chunk_size,
              # the record-quality thresholds (--quality-threshold, --keep-spike-markers): tables made under other
              # thresholds hold other records, and are told apart by these
              "quality": asdict(quality), "keep_spike_markers": not quality.reject_injected_spikes}
    planned = [out.name, *(p.name for k, p in side.items() if k != "manifest")]
    with recording(out_dir, "edfgen extract", parameters=params, inputs=[id_map, fam], planned=planned,
                   name=side["manifest"].name) as m:
        pheno_frame = pheno_table(frame, fids, fam=fam, name=pheno.name)   # (before any file is written)
        write_table(frame, out, float_format="%.8g")
        write_table(pheno_frame, pheno, float_format="%.8g")
        write_table(rej_df, rejects_path)
        write_table(pd.DataFrame(note_rows, columns=NOTE_COLUMNS), notes_path)
        outputs = [out, pheno, rejects_path, notes_path]
        pca_path = loadings_path = None
        if pca:
            res = edf_pca(frame[cols].to_numpy(), int(pca))
            pcs = [f"PC{i}" for i in range(1, int(pca) + 1)]
            sc = pd.DataFrame(res.scores, columns=pcs)
            sc.insert(0, "IID", frame["IID"].to_numpy())
            pca_path, loadings_path = side["pca"], side["pca_loadings"]
            ld = pd.DataFrame(res.loadings, columns=pcs)
            ld.insert(0, "sd", res.sd)
            ld.insert(0, "mean", res.mean)
            ld.insert(0, "edf", cols)
            write_table(sc, pca_path, float_format="%.8g")
            write_table(ld, loadings_path, float_format="%.10g")
            outputs += [pca_path, loadings_path]
            m.extra["pca_explained_variance_ratio"] = [round(float(v), 6) for v in res.explained_variance_ratio]
        m.outputs = [p.name for p in outputs]
        m.extra.update({
            "checkpoint_sha256": sha, "checkpoint": str(getattr(loaded, "path", "")),
            "model_config": getattr(getattr(loaded, "config", None), "name", None),
            "preprocessing": prep.to_dict(),
            "ecg_records_fingerprint": hashlib.sha256("\n".join(f"{k}\0{v}" for k, v in sorted(fps.items())).encode()).hexdigest(),
            "n_records": len(refs), "n_rejected": len(rej_df), "n_participants": len(frame), "n_edfs": d,
            **note_counts,   # records in the table with each kind of note (edfgen.commands.extract_notes)
            "aggregation": "EDF of an ECG = mean over its crops; participant = mean over accepted ECGs",
        })
    discard_parts(parts)
    return ExtractResult(table=out, pheno=pheno, rejects=rejects_path, manifest=side["manifest"],
                         n_records=len(refs), n_rejected=len(rej_df), n_participants=len(frame), n_edfs=d,
                         resumed=resumed, pca=pca_path, pca_loadings=loadings_path, checkpoint_sha256=sha,
                         notes=notes_path)

# ---------------------------------------------------------------------------------------------- the command
# its options (the only place their defaults, ranges and choices are written) and run(options),
# which the command line and `edfgen run` both call

@dataclass(frozen=True)
class ExtractOptions(CommandOptions):
    """``edfgen extract`` (:func:`edfgen.commands.extract.extract_edfs`)."""

    command: ClassVar[str] = "extract"
    ecg: tuple[str, ...] = opt((), "ECG file(s) or directory(ies): WFDB .hea(+.dat/.mat), .npy, .npz, HDF5, GE "
                               "CardioSoft (UK Biobank) or GE MUSE or HL7 aECG XML (told by content), DICOM ECG (.dcm, .dicom; by content when named), European Data Format "
                               "(.edf, .bdf; EDF, EDF+C, BDF). Repeatable.",
                               multiple=True, required=True, path="any", exists=True)
    out: str | None = out_opt("prefix", "EDF table file: .tsv, .tsv.gz, .csv or .parquet (IID, edf_001 ...), not "
                              "a folder. Side files go beside it.")
    checkpoint: str = opt(DEFAULT_CHECKPOINT, "Shipped checkpoint name (small, tiny) or path (.json).", path="checkpoint")
    batch_size: int = opt(64, "ECGs per model call (larger on a GPU, e.g. 512).", range=(1, None))
    device: str = opt("auto", "Where the encoder runs (auto: CUDA or MPS when available).", choices=DEVICES)
    precision: str = opt("auto", "Autocast type (auto: bf16/fp16 on CUDA, fp32 on CPU/MPS).", choices=PRECISIONS)
    workers: int | None = opt(None, "Processes reading/preprocessing ECGs (0: in the main process; default "
                              "min(4, cores/2)).", range=(0, None))
    pca: int | None = opt(None, "Also write the first K principal components.", range=(1, None))
    id_map: str | None = opt(None, "TSV with columns record, IID: participants with several ECGs get the mean EDF.",
                             path="file", exists=True)
    fam: str | None = opt(None, "The genotypes' PLINK .fam or .psam: <out>.pheno takes its FIDs (default FID = IID, "
                          "which plink matches only to a .fam whose FIDs equal its IIDs).", path="file", exists=True)
    fs: float | None = opt(None, "Sampling rate (Hz) of files that carry none (.npy).", range=(0, None),
                           open=(True, False))
    chunk_size: int = opt(2048, "Records per durable chunk (resume granularity, bounds memory).", range=(1, None))
    threads: int | None = threads_opt("Torch threads for the model (default: cores - --workers, at least 2 on 2 "
                                      "or more cores; torch's own setting with --workers 0).")
    force: bool = force_opt("Replace an existing --out table and the side files its <out>.manifest.json lists (an "
                            "interrupted run's parts are resumed; records whose files changed are recomputed).")
    keep_spike_markers: bool = opt(False, "Keep records whose spikes are alike on every independent lead and break "
                                   "the limb-lead identities (a recorder's pace markers drawn into every stored "
                                   "lead); default: rejected as written into the file, not recorded.")
    quality_threshold: tuple[str, ...] = opt((), QUALITY_HELP, multiple=True, metavar="NAME=VALUE")

    def __post_init__(self):
        if isinstance(self.quality_threshold, str):   # "a=1,b=2" from Python, as on the command line and in a TOML
            object.__setattr__(self, "quality_threshold", (self.quality_threshold,))
        quality_thresholds(self.quality_threshold)   # an unknown name or a bad value: refused before anything is read


def run(o: ExtractOptions):
    """``edfgen extract``: :func:`edfgen.commands.extract.extract_edfs`."""
    return extract_edfs(list(o.ecg), o.out, checkpoint=o.checkpoint, batch_size=o.batch_size, workers=o.workers,
                        pca=o.pca, id_map=o.id_map, fam=o.fam, force=o.force, fs=o.fs, chunk_size=o.chunk_size,
                        threads=o.threads, device=o.device, precision=o.precision,
                        quality=quality_thresholds(o.quality_threshold, keep_spike_markers=o.keep_spike_markers))
