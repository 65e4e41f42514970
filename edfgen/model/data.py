"""ECG inputs for training and evaluation: files, in-memory bundles, on-the-fly simulation, crops.

Three sources, one shape: float32 ``[N, 12, window_samples]`` in mV, band-passed with the
checkpoint's :class:`~edfgen.kernels.ecg.preprocessing_config.Preprocessing`.

* ECG files/directories (WFDB, npy, npz, HDF5) through :mod:`edfgen.formats.ecg.records` and
  :func:`edfgen.kernels.ecg.preprocess.preprocess_many` (bad records -> rejects, never a stop).
* An **ECG bundle**: one ``.npz`` with ``ecg [N, 12, T]`` (raw mV at ``prep.sampling_rate``, canonical lead
  order) and ``iid [N]`` — the fast in-memory path for training; it is band-passed and windowed here.
* Simulated ECGs (:mod:`edfgen.simulate.ecg`), synthesised per batch with fresh noise.
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from edfgen.exceptions import InputError
from edfgen.formats.ecg.records import discover_records, read_records_iter
from edfgen.formats.ecg.units import Z_NOTE
from edfgen.kernels.edf import embed_preprocessed
from edfgen.kernels.ecg.preprocess import _window, bandpass_notch, preprocess_many
from edfgen.kernels.ecg.preprocessing_config import Preprocessing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EcgArray:
    """Preprocessed ECGs in memory.

    Attributes
    ----------
    ids
        Record ids (IIDs), length ``N``.
    signals
        ``float32 [N, 12, window_samples]`` mV.
    rejects
        ``(record_id, path, reason)`` of records that could not be used.
    z_scored
        ``bool [N]``: the record was stored in units ``z`` (per-lead z-score) and rescaled to typical lead
        amplitudes (only when :func:`load_ecgs` was given ``z_scale``); its amplitudes and inter-lead
        ratios are not the patient's. ``None``: no record was.
    """

    ids: list[str]
    signals: np.ndarray
    rejects: list[tuple[str, str, str]]
    z_scored: np.ndarray | None = None


#: what numpy and zipfile raise for an .npz that is not one (truncated, a bad CRC, a member that is no .npy, Python
#: objects under allow_pickle=False)
_NPZ_ERRORS = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error)


@contextmanager
def _readable_npz(path):
    """Turn numpy's and zipfile's errors reading the ``.npz`` ``path`` into one :class:`InputError` naming it."""
    try:
        yield
    except _NPZ_ERRORS as exc:
        raise InputError(f"{path}: unreadable .npz ECG bundle ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None


def is_bundle(path: str | Path) -> bool:
    """True for a ``.npz`` holding ``ecg`` (3-D) and ``iid`` arrays; ``ecg``'s shape is read from its ``.npy``
    header, the array is not loaded (a bundle may be GiBs, and each ``--ecg`` path is asked more than once).

    Raises
    ------
    InputError
        A ``.npz`` that numpy cannot open, or whose ``ecg`` member is no ``.npy`` (one line naming it).
    """
    p = Path(path)
    if p.suffix != ".npz" or not p.is_file():
        return False
    with _readable_npz(p), np.load(p, allow_pickle=False) as z:
        if "ecg" not in z.files or "iid" not in z.files:
            return False
        with z.zip.open("ecg.npy" if "ecg.npy" in z.zip.namelist() else "ecg") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape = read_header(fh)[0]
    return len(shape) == 3


def window_array(x: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """Band-pass/notch and window raw ``[N, 12, T]`` mV arrays like :func:`edfgen.kernels.ecg.preprocess.preprocess`."""
    y = bandpass_notch(np.asarray(x, dtype=np.float32), prep=prep)
    return np.ascontiguousarray(_window(y, prep)[0], dtype=np.float32)


def load_ecgs(paths: Sequence[str | Path], prep: Preprocessing = Preprocessing(), *, chunk: int = 512,
              z_scale=None, refs=None) -> EcgArray:
    """Read and preprocess ECGs from bundles and/or ECG files/directories.

    ``z_scale`` (``{lead: mV per z}``, :data:`edfgen.formats.ecg.units.Z_LEAD_SD_MV`): also read WFDB records
    in units ``z`` (per-lead z-scores), rescaled by it and flagged in :attr:`EcgArray.z_scored`; without it
    they are rejected (pre-training passes it; nothing that measures amplitudes does).

    A record id met again (in another folder or bundle) is rejected with the first one's path, as ``extract``
    does: one ECG counted twice would sit in both training and validation, or be scored twice.

    ``refs``: :func:`~edfgen.formats.ecg.records.discover_records` of the ``paths`` that are not bundles, when the
    caller has it (pre-training discovers once for its resume key and its data); else discovered here.

    Raises
    ------
    InputError
        When no usable record is found (the message names the paths), or a bundle cannot be read (naming it).
    """
    seen: dict[str, str] = {}   # record id -> where it was first read
    ids: list[str] = []
    parts: list[np.ndarray] = []
    rejects: list[tuple[str, str, str]] = []
    files = []
    zflags: list[bool] = []
    for p in paths:
        if is_bundle(p):
            with _readable_npz(p), np.load(p, allow_pickle=False) as z:
                raw, iid = z["ecg"], [str(i) for i in z["iid"]]
            if raw.shape[1] != len(prep.leads) or len(iid) != raw.shape[0]:
                raise InputError(f"{p}: bundle needs ecg [N, {len(prep.leads)}, T] and iid [N], got "
                                 f"{raw.shape} and {len(iid)}")
            first = np.array([_first_time(i, str(p), seen, rejects) for i in iid], dtype=bool)
            raw, iid = raw[first], [i for i, f in zip(iid, first) if f]
            for s in range(0, len(iid), chunk):
                parts.append(window_array(raw[s:s + chunk], prep))
            ids += iid
            zflags += [False] * len(iid)
        else:
            files.append(p)
    if files:
        refs = discover_records(files) if refs is None else refs
        refs = [r for r in refs if r.fmt == "rejected" or _first_time(r.record_id, r.path, seen, rejects,
                                                                      where=r.where)]
        for s in range(0, len(refs), chunk):
            batch = preprocess_many(read_records_iter(refs[s:s + chunk], z_scale=z_scale), prep)
            parts.append(batch.signals)
            ids += batch.record_ids
            rejects += batch.rejects
            z_ids = {rid for rid, _, note in batch.notes if note == Z_NOTE}
            zflags += [rid in z_ids for rid in batch.record_ids]
    if not ids:
        raise InputError(f"--ecg {', '.join(map(str, paths))}: no usable ECG record"
                         + (f" ({len(rejects)} rejected, first: {rejects[0][2]})" if rejects else ""))
    signals = np.concatenate(parts) if len(parts) > 1 else parts[0]
    return EcgArray(ids=ids, signals=signals, rejects=rejects, z_scored=np.array(zflags) if any(zflags) else None)


def _first_time(record_id: str, path: str, seen: dict[str, str], rejects: list, *, where: str | None = None) -> bool:
    """Whether ``record_id`` is new; a repeat is added to ``rejects`` naming both ``where`` (the file, and for HDF5
    the dataset: :attr:`~edfgen.formats.ecg.common.RecordRef.where`; default ``path``)."""
    where = where or path
    if record_id in seen:
        this = f" of {where}" if where != path else ""
        rejects.append((record_id, path, f"duplicated record id{this} (also {seen[record_id]})"))
        return False
    seen[record_id] = where
    return True


def two_crops(x: torch.Tensor, crop: int, *, jitter: int = 0, generator: torch.Generator | None = None) -> torch.Tensor:
    """The two crops of each window: ``[N, 12, W] -> [N, 2, 12, crop]``.

    Without ``jitter`` the crops are ``[0, crop)`` and ``[W - crop, W)`` (the halves of a 10 s window, the
    crops used for EDF extraction). With ``jitter`` each crop start moves inward by up to ``jitter``
    samples (a small time-shift augmentation), independently per recording.
    """
    n, c, w = x.shape
    if jitter <= 0:
        return torch.stack([x[..., :crop], x[..., w - crop:]], dim=1)
    j = torch.randint(0, jitter + 1, (n, 2), generator=generator)
    starts = torch.stack([j[:, 0], (w - crop) - j[:, 1]], dim=1).clamp(0, w - crop)  # [N, 2]
    idx = starts.unsqueeze(-1) + torch.arange(crop)  # [N, 2, crop]
    idx = idx.to(x.device).unsqueeze(2).expand(n, 2, c, crop)
    return torch.gather(x.unsqueeze(1).expand(n, 2, c, w), 3, idx)


def augment(crops: torch.Tensor, *, scale_sd: float = 0.1, noise_mv: float = 0.02, wander_mv: float = 0.0,
            lead_dropout: float = 0.0, fs: float = 500.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Contrastive augmentations on ``[B, 2, 12, T]`` crops, each crop drawn independently.

    * amplitude gain ``exp(N(0, scale_sd))`` per crop;
    * white noise ``N(0, noise_mv)`` mV;
    * baseline wander: per lead, a sinusoid of 0.05–0.5 Hz (below the band-pass, so the residual
      drift real recordings keep), random phase and amplitude ``U(0, wander_mv)`` mV;
    * lead dropout: each lead zeroed with probability ``lead_dropout`` (a disconnected electrode;
      preprocessing zeroes up to 3 flat leads in real records).

    The time-shift/crop augmentation is :func:`two_crops`'s ``jitter``. None of these changes the
    intervals or the heart rate, so signal-derived auxiliary targets stay valid.
    """
    b, k, c, t = crops.shape
    gain = torch.exp(scale_sd * torch.randn(b, k, 1, 1, generator=generator)).to(crops)
    out = crops * gain + noise_mv * torch.randn(crops.shape, generator=generator).to(crops)
    if wander_mv > 0:
        f = 0.05 + 0.45 * torch.rand(b, k, c, 1, generator=generator)
        phase = 2 * torch.pi * torch.rand(b, k, c, 1, generator=generator)
        amp = wander_mv * torch.rand(b, k, c, 1, generator=generator)
        tt = torch.arange(t, dtype=torch.float32) / fs
        out = out + (amp * torch.sin(2 * torch.pi * f * tt + phase)).to(crops)
    if lead_dropout > 0:
        keep = torch.rand(b, k, c, 1, generator=generator) >= lead_dropout
        out = out * keep.to(crops)
    return out


@torch.inference_mode()
def embed_ecgs(model, signals: np.ndarray, crop: int, *, batch_size: int = 256,
               device: str | torch.device = "cpu") -> np.ndarray:
    """Frozen EDFs: mean over time and over the two crops of each window. ``[N, 12, W] -> float32 [N, width]``."""
    model.eval()
    out = []
    for s in range(0, len(signals), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(signals[s:s + batch_size])).to(device)
        c = two_crops(x, crop)
        e = embed_preprocessed(model, c.reshape(-1, *c.shape[2:])).view(c.shape[0], 2, -1).mean(dim=1)
        out.append(e.float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.width), np.float32)
